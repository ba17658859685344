import { post } from '../api.js';
import { memoryCard } from '../cards.js';
import { CATEGORIES, field, h, highlighted, label, onSubmit, page, showError } from '../dom.js';
import { registerRoute } from '../router.js';
import { state } from '../state.js';

/**
 * Search as you type: results follow the words after a short pause, matches are highlighted, categories are
 * toggle chips, the active filters show as chips that remove themselves, and recent searches (kept in this
 * browser only, clearable) are one click away. The query in the hash (#/search?q=…) runs at once.
 */

const DEBOUNCE_MS = 300;
const RECENT_MAX = 8;
const recentKey = () => `mv_recent_searches:${state.me?.user?.userId ?? ''}`;

function loadRecent() {
  try {
    const list = JSON.parse(localStorage.getItem(recentKey()) ?? '[]');
    return Array.isArray(list) ? list.filter((q) => typeof q === 'string').slice(0, RECENT_MAX) : [];
  } catch {
    return [];
  }
}

function saveRecent(query) {
  const list = [query, ...loadRecent().filter((q) => q !== query)].slice(0, RECENT_MAX);
  try {
    localStorage.setItem(recentKey(), JSON.stringify(list));
  } catch {
    // Private mode or a full quota: recent searches are a convenience.
  }
}

async function searchView(_params, params = new URLSearchParams()) {
  const query = h('input', {
    type: 'search',
    name: 'q',
    required: true,
    autocomplete: 'off',
    value: params.get('q') ?? '',
  });
  const from = h('input', { type: 'date', name: 'from' });
  const to = h('input', { type: 'date', name: 'to' });
  const tag = h('input', { type: 'text', name: 'tag', placeholder: 'hiking' });
  const chosen = new Set();
  const toggles = CATEGORIES.map((c) =>
    h('button', {
      type: 'button',
      class: 'chip-toggle',
      'aria-pressed': 'false',
      'data-category': c,
      text: label(c),
      onclick: (event) => {
        const button = event.currentTarget;
        if (chosen.has(c)) chosen.delete(c);
        else chosen.add(c);
        button.setAttribute('aria-pressed', String(chosen.has(c)));
        schedule(0);
      },
    }),
  );
  const categories = h(
    'div',
    { class: 'chip-group', role: 'group', 'aria-labelledby': 'cats-l' },
    h('span', { id: 'cats-l', class: 'group-label', text: 'Categories' }),
    toggles,
  );
  const active = h('ul', { class: 'chips', 'aria-label': 'Active filters', hidden: true });
  const recent = h('div', { class: 'recent' });
  const results = h('section', { class: 'results', 'aria-label': 'Results', 'aria-live': 'polite' });

  let timer;
  let seq = 0;
  /** Runs the search after `delay` ms of quiet; an older answer never replaces a newer one. */
  function schedule(delay = DEBOUNCE_MS) {
    clearTimeout(timer);
    timer = setTimeout(() => {
      run().catch((error) => showError(error, undefined, form));
    }, delay);
  }

  function drawActive() {
    const chips = [
      ...[...chosen].map((c) => ({
        text: `Category: ${label(c)}`,
        clear: () => toggles.find((b) => b.dataset.category === c)?.click(),
      })),
      from.value ? { text: `From ${from.value}`, clear: () => clearField(from) } : null,
      to.value ? { text: `To ${to.value}`, clear: () => clearField(to) } : null,
      tag.value.trim() ? { text: `Tag: #${tag.value.trim()}`, clear: () => clearField(tag) } : null,
    ].filter(Boolean);
    active.replaceChildren(
      ...chips.map((chip) =>
        h(
          'li',
          { class: 'chip' },
          h('span', { text: chip.text }),
          h('button', {
            type: 'button',
            class: 'chip-remove',
            'aria-label': `Remove filter ${chip.text}`,
            text: '×',
            onclick: chip.clear,
          }),
        ),
      ),
    );
    active.hidden = chips.length === 0;
  }

  function clearField(input) {
    input.value = '';
    schedule(0);
  }

  function drawRecent() {
    const list = loadRecent();
    if (list.length === 0) {
      recent.replaceChildren();
      return;
    }
    const clear = h('button', { type: 'button', class: 'link', text: 'Clear recent searches' });
    clear.addEventListener('click', () => {
      try {
        localStorage.removeItem(recentKey());
      } catch {
        // Nothing stored.
      }
      drawRecent();
    });
    recent.replaceChildren(
      h('h2', { class: 'small', id: 'recent-h', text: 'Recent searches' }),
      h(
        'ul',
        { class: 'chips', 'aria-labelledby': 'recent-h' },
        list.map((q) =>
          h(
            'li',
            {},
            h('button', {
              type: 'button',
              class: 'chip-toggle',
              text: q,
              onclick: () => {
                query.value = q;
                schedule(0);
              },
            }),
          ),
        ),
      ),
      clear,
    );
  }

  async function run() {
    drawActive();
    const words = query.value.trim();
    if (!words) {
      results.replaceChildren();
      return;
    }
    const mine = ++seq;
    const body = {
      query: words,
      ...(from.value ? { from: new Date(from.value).toISOString() } : {}),
      ...(to.value ? { to: new Date(new Date(to.value).getTime() + 86_400_000).toISOString() } : {}),
      ...(tag.value.trim() ? { tags: [tag.value.trim()] } : {}),
      ...(chosen.size > 0 ? { categories: [...chosen] } : {}),
    };
    results.setAttribute('aria-busy', 'true');
    let hits;
    try {
      ({ results: hits } = await post('/v1/search', body));
    } finally {
      if (mine === seq) results.removeAttribute('aria-busy');
    }
    if (mine !== seq) return;
    saveRecent(words);
    drawRecent();
    // The hash keeps the words, so reload and back return to this search (replaceState: no history entry per key).
    history.replaceState(null, '', `#/search?q=${encodeURIComponent(words)}`);
    const locked = [2, 3, 4].filter((l) => !state.me.session.unlocked.includes(l));
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
  }

  const form = onSubmit(
    h(
      'form',
      { class: 'panel', role: 'search' },
      field('Search your memories', query, 'Results appear as you type.'),
      h('div', { class: 'grid three' }, field('From', from), field('To', to), field('Tag', tag)),
      categories,
      h('button', { type: 'submit', class: 'primary', text: 'Search' }),
    ),
    async () => {
      clearTimeout(timer);
      await run();
    },
  );
  query.addEventListener('input', () => schedule());
  tag.addEventListener('input', () => schedule());
  from.addEventListener('change', () => schedule(0));
  to.addEventListener('change', () => schedule(0));
  page('Search', form, active, recent, results);
  drawRecent();
  if (query.value) form.requestSubmit();
}

registerRoute({ name: 'search', pattern: '/search', nav: { label: 'Search', order: 20 }, view: searchView });
