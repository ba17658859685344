import { ApiError, api, get, post } from './api.js';
import { createPasskey, supported as passkeysSupported, usePasskey } from './webauthn.js';

/**
 * memvault's web app: one page, hash routes, no build step. Every piece of user content is put in the DOM as
 * text (never as HTML), and a locked level shows only that it is locked.
 */

const CATEGORIES = ['CHRONOLOGICAL', 'GENERAL', 'CONFIDENTIAL', 'SECRET', 'ULTRASECRET'];
const LEVEL_NAMES = { 1: 'Standard', 2: 'Confidential', 3: 'Secret', 4: 'Ultra-secret' };
const lockIcon = () => h('img', { src: '/assets/lock.svg', alt: '', class: 'lock-icon', width: '14', height: '14' });
const label = (category) => category.charAt(0) + category.slice(1).toLowerCase();

/**
 * The server's password rule, stated in the served page: the one constant its policy enforces, never a second
 * copy here that could drift from it.
 */
const PASSWORD_MIN = Number(
  document.querySelector('meta[name="memvault-password-min-length"]')?.getAttribute('content'),
);

/** @type {{ user: any, session: any } | null} */
let me = null;
const main = /** @type {HTMLElement} */ (document.getElementById('main'));

/**
 * Builds an element. `props` keys: attributes, `on*` listeners, `class`, `text`; children: nodes or strings.
 * @returns {HTMLElement}
 */
function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'text') el.textContent = String(value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

let fieldSeq = 0;
/** A labelled form field; returns the wrapper, the control is `wrapper.control`. */
function field(text, control, hint) {
  const id = control.id || `f${++fieldSeq}`;
  control.id = id;
  const hintEl = hint ? h('small', { id: `${id}-hint`, class: 'hint', text: hint }) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  const wrap = h('div', { class: 'field' }, h('label', { for: id, text }), control, hintEl);
  wrap.control = control;
  return wrap;
}

function toast(message, kind = 'ok') {
  const el = /** @type {HTMLElement} */ (document.getElementById('toast'));
  el.textContent = message;
  el.dataset.kind = kind;
  el.classList.add('show');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => el.classList.remove('show'), 4000);
}

/** A server message as a sentence: capitalised, ending in a full stop. */
function sentence(text) {
  const trimmed = String(text).trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?…]$/.test(capital) ? capital : `${capital}.`;
}

/**
 * The fields of `form` a refused request names: schema issues (`details.issues[].path`) and domain refusals
 * (`details.field`), each with the sentence to show next to it. Fields are matched by the control's
 * `data-field` (the API's name for it) or `name`.
 * @returns {{ control: HTMLElement, message: string }[]}
 */
function fieldErrors(error, form) {
  if (!(error instanceof ApiError) || error.code !== 'VALIDATION_ERROR' || !form) return [];
  const named = [];
  if (Array.isArray(error.details?.issues)) {
    for (const issue of error.details.issues) named.push({ name: String(issue.path ?? ''), message: issue.message });
  }
  if (typeof error.details?.field === 'string') named.push({ name: error.details.field, message: error.message });
  const found = [];
  for (const { name, message } of named) {
    const control = [...form.querySelectorAll('input, textarea, select')].find(
      (el) => (el.dataset.field ?? el.getAttribute('name')) === name,
    );
    if (control && !found.some((f) => f.control === control)) found.push({ control, message: sentence(message) });
  }
  return found;
}

/** Clears what `markField` put on a control. */
function unmarkField(control) {
  control.removeAttribute('aria-invalid');
  document.getElementById(`${control.id}-error`)?.remove();
  const described = (control.getAttribute('aria-describedby') ?? '')
    .split(' ')
    .filter((id) => id && id !== `${control.id}-error`);
  if (described.length > 0) control.setAttribute('aria-describedby', described.join(' '));
  else control.removeAttribute('aria-describedby');
}

/** Marks a control invalid and puts the sentence saying why right below it, announced and tied to the field. */
function markField(control, message) {
  unmarkField(control);
  const note = h('p', { id: `${control.id}-error`, class: 'error field-error', role: 'alert', text: message });
  control.after(note);
  control.setAttribute('aria-invalid', 'true');
  const described = (control.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean);
  control.setAttribute('aria-describedby', [...described, note.id].join(' '));
  control.addEventListener('input', () => unmarkField(control), { once: true });
}

/**
 * Shows an error where the person can act on it: next to the field it concerns (marked invalid), else inside
 * the form (role=alert), else as a toast.
 */
function showError(error, where, form) {
  const message = error instanceof ApiError ? error.message : 'Something went wrong. Check your connection.';
  // A 401 from a factor check (wrong password, passkey) is an answer; any other 401 means the session is gone.
  const factorCheck = /^\/v1\/auth\/(sign-in|sign-up|unlock|passkeys|totp)/.test(
    error instanceof ApiError ? error.path : '',
  );
  if (error instanceof ApiError && error.status === 401 && !factorCheck && me) {
    me = null;
    location.hash = '#/signin';
    toast('Your session ended. Sign in again.', 'error');
    return;
  }
  const fields = fieldErrors(error, form);
  if (fields.length > 0) {
    for (const { control, message: text } of fields) markField(control, text);
    fields[0].control.focus();
    return;
  }
  if (where) {
    where.textContent = message;
    where.hidden = false;
  } else toast(message, 'error');
}

/** Runs a form submission: disables the button while busy, shows errors in the form or next to their field. */
function onSubmit(form, run) {
  const alert = h('p', { class: 'error', role: 'alert', hidden: true });
  form.append(alert);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    alert.hidden = true;
    for (const control of form.querySelectorAll('[aria-invalid]')) unmarkField(control);
    const buttons = form.querySelectorAll('button');
    buttons.forEach((b) => {
      b.disabled = true;
    });
    try {
      await run();
    } catch (error) {
      showError(error, alert, form);
    } finally {
      buttons.forEach((b) => {
        b.disabled = false;
      });
    }
  });
  return form;
}

function levelBadge(level, locked = false) {
  return h(
    'span',
    { class: `badge level l${level}`, title: levelTitle(level) },
    locked ? lockIcon() : '',
    `L${level} · ${LEVEL_NAMES[level]}`,
  );
}

/** What each category holds (docs/classification.md), and the level it is kept at. */
const CATEGORY_INFO = {
  CHRONOLOGICAL: { level: 1, about: 'events and experiences, something that happened' },
  GENERAL: { level: 1, about: 'facts, preferences, plans and reminders with nothing sensitive' },
  CONFIDENTIAL: { level: 2, about: 'private matters: health, money, relationships, work, addresses' },
  SECRET: { level: 3, about: 'what lets someone in: passwords, PINs, door codes, card and account numbers' },
  ULTRASECRET: { level: 4, about: 'master keys: seed phrases, private keys, recovery codes, master passwords' },
};

/** What opens each level. */
const LEVEL_OPENS = {
  1: 'open whenever you are signed in',
  2: 'opens with your password',
  3: 'opens with your password and an authenticator code',
  4: 'opens with your password and a passkey',
};

const levelTitle = (level) =>
  `Level ${level} · ${LEVEL_NAMES[level]}: how strongly it is sealed; ${LEVEL_OPENS[level]}.`;
const categoryTitle = (category) =>
  `${label(category)}: what it is about (${CATEGORY_INFO[category].about}). Kept at Level ${CATEGORY_INFO[category].level} · ${LEVEL_NAMES[CATEGORY_INFO[category].level]}.`;

const categoryBadge = (category) =>
  h('span', { class: `badge cat ${category.toLowerCase()}`, title: categoryTitle(category), text: label(category) });

/** One short legend: the category says what a memory is about and fixes its level; the level, how it is sealed. */
function badgeLegend() {
  return h(
    'details',
    { class: 'legend panel' },
    h('summary', { text: 'What the badges mean' }),
    h(
      'p',
      {},
      'Each memory has a ',
      h('strong', { text: 'category' }),
      ' (what it is about, chosen when you write it; you can change it) and a ',
      h('strong', { text: 'level' }),
      ' (how strongly it is sealed). The category decides the level.',
    ),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        {},
        h('caption', { text: 'Categories and the level each is kept at' }),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Category', 'What it holds', 'Level', 'Opens'].map((t) => h('th', { scope: 'col', text: t })),
          ),
        ),
        h(
          'tbody',
          {},
          CATEGORIES.map((c) =>
            h(
              'tr',
              {},
              h('th', { scope: 'row' }, categoryBadge(c)),
              h('td', { text: CATEGORY_INFO[c].about }),
              h('td', {}, levelBadge(CATEGORY_INFO[c].level)),
              h('td', { text: LEVEL_OPENS[CATEGORY_INFO[c].level] }),
            ),
          ),
        ),
      ),
    ),
  );
}

function dayKey(iso) {
  const d = new Date(iso);
  return d.toLocaleDateString(undefined, { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });
}

/** "23 h 59 min", "14 min", "less than a minute" until an ISO time. */
function untilText(iso) {
  const minutes = Math.floor((Date.parse(iso) - Date.now()) / 60_000);
  if (minutes < 1) return 'less than a minute';
  const hours = Math.floor(minutes / 60);
  return hours > 0 ? `${hours} h ${minutes % 60} min` : `${minutes} min`;
}

const timeOf = (iso) => new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });

/** Puts «matched» spans of a search highlight into <mark>, as text. */
function highlighted(text) {
  const parts = text.split(/«|»/);
  return parts.map((part, i) => (i % 2 === 1 ? h('mark', { text: part }) : part));
}

function memoryCard(memory, content = memory.content) {
  return h(
    'li',
    { class: 'memory' },
    h(
      'article',
      { 'aria-label': `${label(memory.category)} memory at ${timeOf(memory.date)}` },
      h(
        'header',
        {},
        h('time', { datetime: memory.date, text: timeOf(memory.date) }),
        categoryBadge(memory.category),
        levelBadge(memory.level),
      ),
      h('p', { class: 'content' }, h('a', { href: `#/memory/${memory.id}` }, content)),
      memory.tags.length > 0
        ? h(
            'ul',
            { class: 'tags', 'aria-label': 'Tags' },
            memory.tags.map((t) => h('li', { text: `#${t}` })),
          )
        : null,
    ),
  );
}

function lockedNotice(count) {
  if (!count) return null;
  return h(
    'p',
    { class: 'locked-notice', role: 'note' },
    lockIcon(),
    ' ',
    `${count} ${count === 1 ? 'memory is' : 'memories are'} in a locked level. `,
    h('a', { href: '#/security', text: 'Unlock levels' }),
    ' to see them.',
  );
}

let firstView = true;
/** Replaces the view. After a navigation, focus moves to its heading so screen readers announce it. */
function page(title, ...children) {
  const heading = h('h1', { tabindex: '-1', text: title });
  main.replaceChildren(heading, ...children);
  // On the first load the document's natural order starts at the skip link; later views take focus.
  if (!firstView) heading.focus();
  firstView = false;
}

function updateChrome() {
  const signedIn = Boolean(me);
  document.getElementById('nav').hidden = !signedIn;
  document.getElementById('session-badge').hidden = !signedIn;
  if (me) {
    const levels = me.session.unlocked;
    document.getElementById('unlocked-levels').textContent = `Unlocked: ${levels.map((l) => `L${l}`).join(' ')}`;
  }
  const route = currentRoute().name;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.route === route) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

async function refreshMe() {
  try {
    me = await get('/v1/me');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) me = null;
    else throw error;
  }
  updateChrome();
}

// ---------------------------------------------------------------- views

function signInView() {
  const phone = h('input', {
    type: 'tel',
    name: 'phone',
    autocomplete: 'tel',
    required: true,
    placeholder: '+14155550134',
  });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const signIn = onSubmit(
    h(
      'form',
      { class: 'panel', 'aria-labelledby': 'signin-h' },
      h('h2', { id: 'signin-h', text: 'Sign in' }),
      field('Phone number', phone),
      field('Password', password),
      h('button', { type: 'submit', class: 'primary', text: 'Sign in' }),
    ),
    async () => {
      await post('/v1/auth/sign-in', { phone: phone.value, password: password.value, session: 'cookie' });
      password.value = '';
      await refreshMe();
      location.hash = '#/';
    },
  );

  const newPhone = h('input', {
    type: 'tel',
    name: 'phone',
    autocomplete: 'tel',
    required: true,
    placeholder: '+14155550134',
  });
  const name = h('input', { type: 'text', name: 'name', autocomplete: 'name' });
  const newPassword = h('input', {
    type: 'password',
    name: 'new-password',
    'data-field': 'password',
    autocomplete: 'new-password',
    required: true,
    // The browser counts UTF-16 units, the server characters: the browser's check only ever lets more through.
    minlength: PASSWORD_MIN > 0 ? String(PASSWORD_MIN) : undefined,
  });
  const timezone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const signUp = onSubmit(
    h(
      'form',
      { class: 'panel', 'aria-labelledby': 'signup-h' },
      h('h2', { id: 'signup-h', text: 'Create an account' }),
      field('Phone number', newPhone, 'International format, e.g. +14155550134.'),
      field('Name (optional)', name),
      field(
        'Choose a password',
        newPassword,
        `${PASSWORD_MIN > 0 ? `At least ${PASSWORD_MIN} characters; it` : 'It'} also encrypts your private levels.`,
      ),
      h('button', { type: 'submit', class: 'primary', text: 'Create account' }),
    ),
    async () => {
      await post('/v1/auth/sign-up', {
        phone: newPhone.value,
        password: newPassword.value,
        ...(name.value.trim() ? { name: name.value.trim() } : {}),
        timezone,
        session: 'cookie',
      });
      newPassword.value = '';
      await refreshMe();
      toast('Welcome to memvault.');
      location.hash = '#/';
    },
  );
  page(
    'Your private memory',
    h('p', { class: 'lead', text: 'Capture what happens in your life; memvault classifies, encrypts and recalls it.' }),
    h('div', { class: 'grid two' }, signIn, signUp),
  );
}

async function timelineView() {
  const text = h('textarea', {
    name: 'text',
    rows: '3',
    required: true,
    maxlength: '20000',
    placeholder: 'Yesterday I hiked to the lake with Sara…',
  });
  const capture = onSubmit(
    h(
      'form',
      { class: 'panel capture', 'aria-label': 'Capture a memory' },
      field('What happened?', text, 'It is classified and sealed at its level automatically.'),
      h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary', text: 'Remember' })),
    ),
    async () => {
      const result = await post('/v1/memories', { text: text.value });
      text.value = '';
      toast(result.reply);
      await loadList();
      text.focus();
    },
  );
  text.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) capture.requestSubmit();
  });

  const filter = h(
    'select',
    { name: 'category' },
    h('option', { value: '', text: 'All categories' }),
    CATEGORIES.map((c) => h('option', { value: c, text: label(c) })),
  );
  const list = h('section', { class: 'timeline', 'aria-label': 'Timeline', 'aria-live': 'polite' });

  async function loadList() {
    const query = new URLSearchParams({ limit: '200' });
    if (filter.value) query.set('categories', filter.value);
    const result = await get(`/v1/memories?${query}`);
    const days = new Map();
    for (const memory of result.memories) {
      const key = dayKey(memory.date);
      if (!days.has(key)) days.set(key, []);
      days.get(key).push(memory);
    }
    const sections = [...days].map(([day, memories]) =>
      h(
        'section',
        { class: 'day' },
        h('h2', { text: day }),
        h(
          'ol',
          { class: 'memories' },
          memories.map((m) => memoryCard(m)),
        ),
      ),
    );
    list.replaceChildren(
      lockedNotice(result.locked) ?? '',
      ...(sections.length > 0
        ? sections
        : [
            h('p', {
              class: 'empty',
              text:
                result.locked > 0
                  ? 'Nothing in the unlocked levels.'
                  : 'Nothing here yet. Write your first memory above.',
            }),
          ]),
    );
  }
  filter.addEventListener('change', () => loadList().catch((e) => showError(e)));

  page('Timeline', capture, h('div', { class: 'toolbar' }, field('Show', filter)), badgeLegend(), list);
  await loadList();
}

async function searchView() {
  const params = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const query = h('input', { type: 'search', name: 'q', required: true, value: params.get('q') ?? '' });
  const from = h('input', { type: 'date', name: 'from' });
  const to = h('input', { type: 'date', name: 'to' });
  const tag = h('input', { type: 'text', name: 'tag', placeholder: 'hiking' });
  const boxes = CATEGORIES.map((c) => h('input', { type: 'checkbox', name: 'category', value: c, id: `cat-${c}` }));
  const categories = h(
    'fieldset',
    { class: 'checks' },
    h('legend', { text: 'Categories' }),
    boxes.map((box) => h('label', { for: box.id }, box, ` ${label(box.value)}`)),
  );
  const results = h('section', { class: 'results', 'aria-label': 'Results', 'aria-live': 'polite' });
  const form = onSubmit(
    h(
      'form',
      { class: 'panel', role: 'search' },
      field('Search your memories', query),
      h('div', { class: 'grid three' }, field('From', from), field('To', to), field('Tag', tag)),
      categories,
      h('button', { type: 'submit', class: 'primary', text: 'Search' }),
    ),
    async () => {
      const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
      const body = {
        query: query.value,
        ...(from.value ? { from: new Date(from.value).toISOString() } : {}),
        ...(to.value ? { to: new Date(new Date(to.value).getTime() + 86_400_000).toISOString() } : {}),
        ...(tag.value.trim() ? { tags: [tag.value.trim()] } : {}),
        ...(chosen.length > 0 ? { categories: chosen } : {}),
      };
      const { results: hits } = await post('/v1/search', body);
      const locked = [2, 3, 4].filter((l) => !me.session.unlocked.includes(l));
      results.replaceChildren(
        h('p', { class: 'count', text: `${hits.length} ${hits.length === 1 ? 'result' : 'results'}` }),
        h(
          'ol',
          { class: 'memories' },
          hits.map((hit) => memoryCard(hit.memory, highlighted(hit.highlighted))),
        ),
        locked.length > 0
          ? h('p', {
              class: 'hint',
              text: `Locked levels (${locked.map((l) => `L${l}`).join(', ')}) were not searched.`,
            })
          : '',
      );
    },
  );
  page('Search', form, results);
  if (query.value) form.requestSubmit();
}

/**
 * A correction as src/services/views.ts `correctionAnalysis` writes it: "Moved by you from A to B on <ISO>. The
 * classifier had said: …".
 */
function correctionOf(analysis) {
  const match = /^Moved by you from (\S+) to (\S+) on (\S+)\. The classifier had said: (.*)$/su.exec(analysis);
  return match ? { from: match[1], to: match[2], at: match[3], classifier: match[4] } : null;
}

/** "Why this category": the person's own move, and when, before the classifier's reasoning it overrode. */
function whyCategory(memory) {
  const correction = correctionOf(memory.analysis);
  if (!correction) {
    return h('dd', { text: `${memory.analysis} (confidence ${Math.round(memory.confidence * 100)}%)` });
  }
  const when = new Date(correction.at);
  return h(
    'dd',
    { class: 'corrected' },
    h(
      'p',
      {},
      `You moved it from ${correction.from} to ${correction.to} on `,
      h('time', { datetime: correction.at, text: when.toLocaleString() }),
      '.',
    ),
    h('p', { class: 'hint', text: `The classifier had said: ${correction.classifier}` }),
  );
}

async function memoryView(id) {
  let memory;
  try {
    ({ memory } = await get(`/v1/memories/${encodeURIComponent(id)}`));
  } catch (error) {
    if (error instanceof ApiError && error.reason === 'insufficient_permissions') {
      const level = Number(error.details?.level);
      page(
        'Locked memory',
        h(
          'div',
          { class: 'panel locked' },
          h(
            'p',
            {},
            Number.isInteger(level) ? levelBadge(level, true) : lockIcon(),
            ' This memory is in a locked level.',
          ),
          h(
            'p',
            {},
            h('a', { href: '#/security', text: 'Unlock it on the Security page' }),
            ' — its content never leaves the vault while it is locked.',
          ),
        ),
      );
      return;
    }
    if (error instanceof ApiError && (error.status === 404 || error.status === 400)) {
      page('Not found', h('p', { class: 'panel', text: 'There is no memory with that id.' }));
      return;
    }
    throw error;
  }

  const select = h(
    'select',
    { name: 'category' },
    CATEGORIES.map((c) =>
      h('option', {
        value: c,
        text: `${label(c)} (L${CATEGORIES.indexOf(c) < 2 ? 1 : CATEGORIES.indexOf(c)})`,
        selected: c === memory.category,
      }),
    ),
  );
  const correct = onSubmit(
    h(
      'form',
      { class: 'row', 'aria-label': 'Change the category' },
      field('Category', select),
      h('button', { type: 'submit', text: 'Change category' }),
    ),
    async () => {
      const result = await api('PATCH', `/v1/memories/${memory.id}`, { category: select.value });
      toast(`Moved to ${label(result.memory.category)}.`);
      await refreshMe();
      await memoryView(memory.id);
    },
  );

  const confirmDelete = h('button', { type: 'button', class: 'danger', hidden: true, text: 'Yes, delete it forever' });
  const askDelete = h('button', { type: 'button', class: 'danger outline', text: 'Delete…' });
  askDelete.addEventListener('click', () => {
    askDelete.hidden = true;
    confirmDelete.hidden = false;
    confirmDelete.focus();
  });
  confirmDelete.addEventListener('click', async () => {
    try {
      await api('DELETE', `/v1/memories/${memory.id}`);
      toast('Memory deleted.');
      location.hash = '#/';
    } catch (error) {
      showError(error);
    }
  });

  const related = h(
    'section',
    { 'aria-labelledby': 'related-h' },
    h('h2', { id: 'related-h', text: 'Related memories' }),
  );
  page(
    label(memory.category),
    h('p', { class: 'back' }, h('a', { href: '#/', text: '← Back to the timeline' })),
    h(
      'article',
      { class: 'panel memory-page' },
      h('header', {}, categoryBadge(memory.category), levelBadge(memory.level)),
      h('p', { class: 'content big', text: memory.content }),
      h(
        'dl',
        { class: 'facts' },
        h('dt', { text: 'Written' }),
        h('dd', {}, h('time', { datetime: memory.date, text: new Date(memory.date).toLocaleString() })),
        memory.eventDate
          ? [h('dt', { text: 'Happened' }), h('dd', { text: new Date(memory.eventDate).toLocaleString() })]
          : null,
        memory.tags.length > 0
          ? [h('dt', { text: 'Tags' }), h('dd', { text: memory.tags.map((t) => `#${t}`).join(' ') })]
          : null,
        memory.emotionalContext ? [h('dt', { text: 'Mood' }), h('dd', { text: memory.emotionalContext })] : null,
        h('dt', { text: 'Why this category' }),
        whyCategory(memory),
        h('dt', { text: 'Via' }),
        h('dd', { text: memory.channel }),
      ),
      correct,
      // Apart from the category form, so a slip of the pointer between the two never starts a deletion.
      h('div', { class: 'row danger-zone' }, askDelete, confirmDelete),
    ),
    related,
  );
  try {
    const { memories } = await get(`/v1/memories/${memory.id}/related`);
    related.append(
      memories.length > 0
        ? h(
            'ol',
            { class: 'memories' },
            memories.map((m) => memoryCard(m)),
          )
        : h('p', { class: 'empty', text: 'No related memories yet.' }),
    );
  } catch (error) {
    showError(error);
  }
}

async function securityView() {
  await refreshMe();
  const s = me.session;
  const status = h(
    'ul',
    { class: 'level-status', 'aria-label': 'Levels' },
    [1, 2, 3, 4].map((level) => {
      const open = s.unlocked.includes(level);
      const until = s.expires[level] ? ` · locks in ${untilText(s.expires[level])} if idle` : '';
      return h(
        'li',
        { class: open ? 'open' : 'closed', 'data-level': level },
        levelBadge(level, !open),
        h('span', { text: open ? `Unlocked${until}` : 'Locked' }),
      );
    }),
  );

  const unlocked = async (level, result) => {
    me.session = result.session;
    updateChrome();
    toast(`${LEVEL_NAMES[level]} unlocked.`);
    await securityView();
  };

  const pw2 = h('input', { type: 'password', autocomplete: 'current-password', required: true });
  const unlock2 = onSubmit(
    h(
      'form',
      { class: 'panel', 'aria-labelledby': 'u2' },
      h('h3', { id: 'u2', text: 'Level 2 · Confidential' }),
      field('Password', pw2),
      h('button', { type: 'submit', text: 'Unlock Confidential' }),
    ),
    async () => unlocked(2, await post('/v1/auth/unlock', { level: 2, password: pw2.value })),
  );

  const pw3 = h('input', { type: 'password', autocomplete: 'current-password', required: true });
  const code3 = h('input', {
    type: 'text',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    pattern: '[0-9]{6,8}',
    required: true,
  });
  const unlock3 = onSubmit(
    h(
      'form',
      { class: 'panel', 'aria-labelledby': 'u3' },
      h('h3', { id: 'u3', text: 'Level 3 · Secret' }),
      field('Password', pw3),
      field(
        'Authenticator code',
        code3,
        s.totpEnrolled ? 'The 6-digit code from your authenticator app.' : 'Set up an authenticator app below first.',
      ),
      h('button', { type: 'submit', text: 'Unlock Secret' }),
    ),
    async () => unlocked(3, await post('/v1/auth/unlock', { level: 3, password: pw3.value, totp: code3.value })),
  );

  const pw4 = h('input', { type: 'password', autocomplete: 'current-password', required: true });
  const unlock4 = onSubmit(
    h(
      'form',
      { class: 'panel', 'aria-labelledby': 'u4' },
      h('h3', { id: 'u4', text: 'Level 4 · Ultra-secret' }),
      field(
        'Password',
        pw4,
        s.passkeys > 0
          ? 'Then confirm with your passkey (fingerprint, face or PIN).'
          : 'Register a passkey below first.',
      ),
      h('button', { type: 'submit', text: 'Unlock Ultra-secret with passkey' }),
    ),
    async () => {
      const options = await post('/v1/auth/passkeys/authentication-options');
      const passkey = await usePasskey(options);
      await unlocked(4, await post('/v1/auth/unlock', { level: 4, password: pw4.value, passkey }));
    },
  );

  const lockAll = h('button', { type: 'button', text: 'Lock all levels above 1' });
  lockAll.addEventListener('click', async () => {
    try {
      me.session = (await post('/v1/auth/lock', {})).session;
      updateChrome();
      toast('Locked.');
      await securityView();
    } catch (error) {
      showError(error);
    }
  });

  // For a lost or stolen device: every session ends, this one too, wherever it was opened.
  const everywhere = h('button', { type: 'button', text: 'Sign out everywhere' });
  everywhere.addEventListener('click', async () => {
    try {
      await post('/v1/auth/sign-out-everywhere');
      me = null;
      updateChrome();
      toast('Every session was signed out, on every device.');
      location.hash = '#/signin';
    } catch (error) {
      showError(error);
    }
  });

  // TOTP enrolment
  const totpArea = h('div', {});
  if (s.totpEnrolled) {
    totpArea.append(h('p', { class: 'ok', text: '✓ Authenticator app set up.' }));
  } else {
    const begin = h('button', { type: 'button', text: 'Set up an authenticator app' });
    begin.addEventListener('click', async () => {
      try {
        const enrollment = await post('/v1/auth/totp/begin');
        const qr = h('img', {
          src: `data:image/svg+xml;base64,${btoa(unescape(encodeURIComponent(enrollment.qrSvg)))}`,
          alt: 'QR code to scan with your authenticator app',
          width: '200',
          height: '200',
          class: 'qr',
        });
        const code = h('input', {
          type: 'text',
          inputmode: 'numeric',
          autocomplete: 'one-time-code',
          pattern: '[0-9]{6,8}',
          required: true,
        });
        const confirm = onSubmit(
          h(
            'form',
            { class: 'row' },
            field('Code from the app', code),
            h('button', { type: 'submit', class: 'primary', text: 'Confirm' }),
          ),
          async () => {
            await post('/v1/auth/totp/confirm', { code: code.value });
            toast('Authenticator app set up.');
            await securityView();
          },
        );
        totpArea.replaceChildren(
          h('p', { text: 'Scan this code with your authenticator app, or type the secret in by hand.' }),
          qr,
          h('p', {}, 'Secret: ', h('code', { id: 'totp-secret', text: enrollment.secret })),
          confirm,
        );
        code.focus();
      } catch (error) {
        showError(error);
      }
    });
    totpArea.append(begin);
  }

  // Passkeys
  const pwReg = h('input', { type: 'password', autocomplete: 'current-password', required: true });
  const register = onSubmit(
    h(
      'form',
      {},
      h('p', { text: `${s.passkeys} passkey${s.passkeys === 1 ? '' : 's'} registered.` }),
      field('Password', pwReg, 'Needed so the passkey can help encrypt your Ultra-secret level.'),
      h('button', { type: 'submit', text: 'Register a passkey' }),
    ),
    async () => {
      if (!passkeysSupported()) throw new ApiError(400, { message: 'This browser does not support passkeys.' });
      const options = await post('/v1/auth/passkeys/registration-options');
      const response = await createPasskey(options);
      await post('/v1/auth/passkeys', { response, password: pwReg.value });
      toast('Passkey registered.');
      await securityView();
    },
  );

  page(
    'Security',
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'status-h' },
      h('h2', { id: 'status-h', text: 'Your levels' }),
      status,
      lockAll,
    ),
    h(
      'section',
      { 'aria-labelledby': 'unlock-h' },
      h('h2', { id: 'unlock-h', text: 'Unlock' }),
      h('div', { class: 'grid three' }, unlock2, unlock3, unlock4),
    ),
    h(
      'div',
      { class: 'grid two' },
      h(
        'section',
        { class: 'panel', 'aria-labelledby': 'totp-h' },
        h('h2', { id: 'totp-h', text: 'Authenticator app (TOTP)' }),
        totpArea,
      ),
      h('section', { class: 'panel', 'aria-labelledby': 'pk-h' }, h('h2', { id: 'pk-h', text: 'Passkeys' }), register),
    ),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'devices-h' },
      h('h2', { id: 'devices-h', text: 'Devices' }),
      h('p', { text: 'Lost a phone or signed in somewhere you should not have? End every session at once.' }),
      everywhere,
    ),
  );
}

const levelName = (level) => (level ? `Level ${level} · ${LEVEL_NAMES[level]}` : '');

/** What each audited action means to the person, as a sentence; `level` is the level concerned, if any. */
const AUDIT_ACTIONS = {
  enroll: () => 'Account created',
  sign_in: () => 'Signed in',
  signin: () => 'Signed in',
  sign_out: () => 'Signed out',
  signout: () => 'Signed out',
  sign_out_everywhere: () => 'Signed out on every device',
  session_expire: () => 'A session ended after being idle',
  unlock: (level) => `Unlocked ${levelName(level)}`,
  unlock_once: (level) => `Opened ${levelName(level)} for one command`,
  lock: () => 'Locked the levels above 1',
  password_change: () => 'Changed the password',
  totp_enroll: () => 'Set up an authenticator app',
  passkey_register: () => 'Registered a passkey',
  memory_read: (level) => `Opened a memory in ${levelName(level)}`,
  search: () => 'Searched your memories',
  memory_corrected: (level) => `Moved a memory to another category (touching ${levelName(level)})`,
  memory_deleted: (level) => `Deleted a memory from ${levelName(level)}`,
  export: () => 'Exported the vault',
  'keys.rotate': () => 'Replaced the encryption keys',
  'keys.finish_rotation': () => 'Finished replacing the encryption keys',
};

/** Why an attempt failed, in words. */
const AUDIT_REASONS = {
  authentication_failed: 'wrong password, code or passkey',
  totp_replayed: 'an authenticator code that had already been used',
  biometric_failed: 'the passkey was not accepted',
  locked_out: 'too many failed attempts; blocked for a while',
  credentials_changed: 'the password had been changed elsewhere',
  second_factor_required: 'a second factor is needed',
  time_restriction: 'not allowed at this time of day',
  rate_limited: 'too many requests',
  no_password: 'the account has no password',
};

/** A refused or failed attempt, said as one ("Tried to unlock…"), never as if it had happened. */
const AUDIT_ATTEMPTS = {
  sign_in: () => 'Tried to sign in',
  signin: () => 'Tried to sign in',
  unlock: (level) => `Tried to unlock ${levelName(level)}`,
  unlock_once: (level) => `Tried to open ${levelName(level)} for one command`,
  password_change: () => 'Tried to change the password',
  totp_enroll: () => 'Tried to set up an authenticator app',
  passkey_register: () => 'Tried to register a passkey',
};

function auditWhat(record) {
  const describe =
    (record.result === 'success' ? undefined : AUDIT_ATTEMPTS[record.action]) ?? AUDIT_ACTIONS[record.action];
  const text = describe
    ? describe(record.level)
    : `${record.action.replaceAll(/[_.]/g, ' ')} ${levelName(record.level)}`;
  return text.trim();
}

function auditResult(record) {
  const outcome = { success: 'Done', failure: 'Failed', denied: 'Refused' }[record.result] ?? record.result;
  if (record.result === 'success' || !record.reason) return outcome;
  return `${outcome}: ${AUDIT_REASONS[record.reason] ?? record.reason.replaceAll('_', ' ')}`;
}

/** The risk score (0–1, docs/security.md) as words; the number stays in the tooltip. */
function auditRisk(risk) {
  if (risk >= 0.7) return 'Unusual';
  if (risk >= 0.3) return 'Somewhat unusual';
  return 'Usual';
}

async function auditView() {
  const { records } = await get('/v1/audit?limit=200');
  const table = h(
    'table',
    {},
    h('caption', {
      text: 'Sign-ins, unlocks, opened sealed memories, searches, category changes and deletions, newest first. The words you search for are never recorded.',
    }),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['When', 'What happened', 'Result', 'From', 'How usual'].map((t) => h('th', { scope: 'col', text: t })),
      ),
    ),
    h(
      'tbody',
      {},
      records.map((r) =>
        h(
          'tr',
          { class: r.result, 'data-action': r.action },
          h('td', { 'data-label': 'When' }, h('time', { datetime: r.at, text: new Date(r.at).toLocaleString() })),
          h('td', { 'data-label': 'What happened', text: auditWhat(r) }),
          h('td', { 'data-label': 'Result', text: auditResult(r) }),
          h('td', { 'data-label': 'From', text: r.ip ?? '' }),
          h('td', {
            'data-label': 'How usual',
            text: auditRisk(r.risk),
            title: `Risk ${r.risk.toFixed(2)} of 1: new device, new network, unusual hour and recent failures raise it.`,
          }),
        ),
      ),
    ),
  );
  page('Audit log', h('div', { class: 'panel table-wrap audit' }, table));
}

// ---------------------------------------------------------------- routing

function currentRoute() {
  const path = location.hash.replace(/^#/, '').split('?')[0] || '/';
  const memory = /^\/memory\/([0-9A-HJKMNP-TV-Z]{26})$/.exec(path);
  if (memory) return { name: 'memory', id: memory[1] };
  const names = {
    '/': 'timeline',
    '/search': 'search',
    '/security': 'security',
    '/audit': 'audit',
    '/signin': 'signin',
  };
  return { name: names[path] ?? 'timeline' };
}

async function render() {
  const route = currentRoute();
  if (!me && route.name !== 'signin') {
    location.hash = '#/signin';
    return;
  }
  if (me && route.name === 'signin') {
    location.hash = '#/';
    return;
  }
  updateChrome();
  main.setAttribute('aria-busy', 'true');
  try {
    if (route.name === 'signin') signInView();
    else if (route.name === 'search') await searchView();
    else if (route.name === 'memory') await memoryView(route.id);
    else if (route.name === 'security') await securityView();
    else if (route.name === 'audit') await auditView();
    else await timelineView();
  } catch (error) {
    showError(error);
  } finally {
    main.removeAttribute('aria-busy');
  }
}

document.getElementById('sign-out').addEventListener('click', async () => {
  try {
    await post('/v1/auth/sign-out');
  } catch {
    // Signing out of an already-dead session is still signing out.
  }
  me = null;
  updateChrome();
  location.hash = '#/signin';
});

// The skip link must not change the hash: the hash is the router's.
document.querySelector('.skip').addEventListener('click', (event) => {
  event.preventDefault();
  main.focus();
});

window.addEventListener('hashchange', () => {
  render();
});

refreshMe()
  .catch(() => {
    me = null;
  })
  .then(render);
