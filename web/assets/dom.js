import { ApiError } from './api.js';
import { setMe, state } from './state.js';

/**
 * The web app's building blocks: element construction (user content always as text, never as HTML), labelled
 * fields, toasts, error display, form submission, the page frame, and the constants and formatting every page
 * shares.
 */

export const CATEGORIES = ['CHRONOLOGICAL', 'GENERAL', 'CONFIDENTIAL', 'SECRET', 'ULTRASECRET'];
export const LEVEL_NAMES = { 1: 'Standard', 2: 'Confidential', 3: 'Secret', 4: 'Ultra-secret' };
export const lockIcon = () =>
  h('img', { src: '/assets/lock.svg', alt: '', class: 'lock-icon', width: '14', height: '14' });
export const label = (category) => category.charAt(0) + category.slice(1).toLowerCase();

/**
 * The server's password rule, stated in the served page: the one constant its policy enforces, never a second
 * copy here that could drift from it.
 */
export const PASSWORD_MIN = Number(
  document.querySelector('meta[name="memvault-password-min-length"]')?.getAttribute('content'),
);

/** @type {{ user: any, session: any } | null} */
const main = /** @type {HTMLElement} */ (document.getElementById('main'));

/**
 * Builds an element. `props` keys: attributes, `on*` listeners, `class`, `text`; children: nodes or strings.
 * @returns {HTMLElement}
 */
export function h(tag, props = {}, ...children) {
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
export function field(text, control, hint) {
  const id = control.id || `f${++fieldSeq}`;
  control.id = id;
  const hintEl = hint ? h('small', { id: `${id}-hint`, class: 'hint', text: hint }) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  const wrap = h('div', { class: 'field' }, h('label', { for: id, text }), control, hintEl);
  wrap.control = control;
  return wrap;
}

const TOAST_MS = 5000;
let toastTimer;
let toastHeld = false;

/**
 * Says something briefly at the bottom of the screen. It stays while the pointer is over it or focus is in it;
 * `action` adds one button (e.g. Undo), and such a toast stays twice as long.
 * @param {string} message
 * @param {'ok' | 'error'} [kind]
 * @param {{ label: string, run: () => void | Promise<void> }} [action]
 */
export function toast(message, kind = 'ok', action) {
  const el = /** @type {HTMLElement} */ (document.getElementById('toast'));
  if (!el.dataset.wired) {
    el.dataset.wired = '1';
    const hold = () => {
      toastHeld = true;
      clearTimeout(toastTimer);
    };
    const release = () => {
      toastHeld = false;
      armToast(el, TOAST_MS);
    };
    el.addEventListener('mouseenter', hold);
    el.addEventListener('focusin', hold);
    el.addEventListener('mouseleave', release);
    el.addEventListener('focusout', release);
  }
  el.replaceChildren(h('span', { text: message }));
  if (action) {
    const button = h('button', { type: 'button', class: 'toast-action', text: action.label });
    button.addEventListener('click', async () => {
      el.classList.remove('show');
      toastHeld = false;
      await action.run();
    });
    el.append(button);
  }
  el.dataset.kind = kind;
  el.classList.add('show');
  armToast(el, action ? TOAST_MS * 2 : TOAST_MS);
}

function armToast(el, ms) {
  clearTimeout(toastTimer);
  if (toastHeld) return;
  toastTimer = setTimeout(() => el.classList.remove('show'), ms);
}

/** Marks a button busy: disabled, a spinner, `aria-busy` for assistive technology. Returns the undo. */
export function busy(button) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.classList.add('busy');
  return () => {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.classList.remove('busy');
  };
}

/** Runs `run` with `button` busy; an error is shown with showError. */
export async function whileBusy(button, run) {
  const done = busy(button);
  try {
    await run();
  } catch (error) {
    showError(error);
  } finally {
    done();
  }
}

/** A memory's first words as a title: up to ~60 characters, cut at a word, with an ellipsis when cut. */
export function titleOf(content) {
  const line = String(content).split('\n')[0].trim();
  if (line.length <= 60) return line;
  const cut = line.slice(0, 60);
  const space = cut.lastIndexOf(' ');
  return `${(space > 30 ? cut.slice(0, space) : cut).replace(/[\s,.;:]+$/, '')}…`;
}

let pendingSkeleton;
/** Shows a skeleton in <main> if no page is drawn within `ms`; `page()` and the returned function cancel it. */
export function skeletonSoon(ms = 120) {
  clearTimeout(pendingSkeleton);
  pendingSkeleton = setTimeout(() => main.replaceChildren(skeleton()), ms);
  return () => clearTimeout(pendingSkeleton);
}

/** A grey placeholder of a page's shape while it loads. */
export function skeleton(lines = 4) {
  return h(
    'div',
    { class: 'skeleton', 'aria-hidden': 'true' },
    h('div', { class: 'sk sk-title' }),
    Array.from({ length: lines }, () => h('div', { class: 'sk sk-card' })),
  );
}

/** A server message as a sentence: capitalised, ending in a full stop. */
export function sentence(text) {
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
export function fieldErrors(error, form) {
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
export function unmarkField(control) {
  control.removeAttribute('aria-invalid');
  document.getElementById(`${control.id}-error`)?.remove();
  const described = (control.getAttribute('aria-describedby') ?? '')
    .split(' ')
    .filter((id) => id && id !== `${control.id}-error`);
  if (described.length > 0) control.setAttribute('aria-describedby', described.join(' '));
  else control.removeAttribute('aria-describedby');
}

/** Marks a control invalid and puts the sentence saying why right below it, announced and tied to the field. */
export function markField(control, message) {
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
export function showError(error, where, form) {
  const message = error instanceof ApiError ? error.message : 'Something went wrong. Check your connection.';
  // A 401 from a factor check (wrong password, passkey) is an answer; any other 401 means the session is gone.
  const factorCheck = /^\/v1\/auth\/(sign-in|sign-up|unlock|passkeys|totp|password)/.test(
    error instanceof ApiError ? error.path : '',
  );
  if (error instanceof ApiError && error.status === 401 && !factorCheck && state.me) {
    setMe(null);
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
export function onSubmit(form, run) {
  const alert = h('p', { class: 'error', role: 'alert', hidden: true });
  form.append(alert);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    alert.hidden = true;
    for (const control of form.querySelectorAll('[aria-invalid]')) unmarkField(control);
    // The button that submitted shows the spinner; every other button of the form waits too.
    const submitter = event.submitter ?? form.querySelector('button[type=submit]');
    const others = [...form.querySelectorAll('button')].filter((b) => b !== submitter);
    const done = submitter ? busy(submitter) : () => undefined;
    for (const b of others) b.disabled = true;
    try {
      await run();
    } catch (error) {
      showError(error, alert, form);
    } finally {
      done();
      for (const b of others) b.disabled = false;
    }
  });
  return form;
}

/** The person's language and time zone from Settings; unset, the browser's. */
const locale = () => state.me?.user?.locale || undefined;
const zone = () => state.me?.user?.timezone || undefined;

/** A date and time in the person's language and time zone; `options` as for toLocaleString. */
export function when(iso, options = {}) {
  return new Date(iso).toLocaleString(locale(), { timeZone: zone(), ...options });
}

export function dayKey(iso) {
  return when(iso, { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });
}

/** "23 h 59 min", "14 min", "less than a minute" until an ISO time. */
export function untilText(iso) {
  const minutes = Math.floor((Date.parse(iso) - Date.now()) / 60_000);
  if (minutes < 1) return 'less than a minute';
  const hours = Math.floor(minutes / 60);
  return hours > 0 ? `${hours} h ${minutes % 60} min` : `${minutes} min`;
}

export const timeOf = (iso) => when(iso, { hour: '2-digit', minute: '2-digit' });

/** Puts «matched» spans of a search highlight into <mark>, as text. */
export function highlighted(text) {
  const parts = text.split(/«|»/);
  return parts.map((part, i) => (i % 2 === 1 ? h('mark', { text: part }) : part));
}

let firstView = true;
/** Replaces the view. After a navigation, focus moves to its heading so screen readers announce it. */
export function page(title, ...children) {
  clearTimeout(pendingSkeleton);
  const heading = h('h1', { tabindex: '-1', text: title });
  main.replaceChildren(heading, ...children);
  // On the first load the document's natural order starts at the skip link; later views take focus.
  if (!firstView) heading.focus();
  firstView = false;
}
