import { get, post } from '../api.js';
import { badgeLegend, lockedNotice, memoryCard, sealedCard, ulidTime } from '../cards.js';
import { CATEGORIES, dayKey, field, h, label, onSubmit, page, toast } from '../dom.js';
import { registerRoute } from '../router.js';

/** The timeline: capture a memory, and every memory in the unlocked levels by day. */

async function timelineView(_params, query = new URLSearchParams()) {
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
    CATEGORIES.map((c) => h('option', { value: c, text: label(c), selected: c === query.get('category') })),
  );
  const tag = query.get('tag')?.trim() || '';
  const chips = h('ul', { class: 'chips', 'aria-label': 'Active filters' });
  const list = h('section', { class: 'timeline', 'aria-label': 'Timeline', 'aria-live': 'polite' });

  /** The filters as chips, each with a button that removes it. */
  function drawChips() {
    const active = [
      filter.value ? { text: `Category: ${label(filter.value)}`, clear: () => setFilter({ category: '' }) } : null,
      tag ? { text: `Tag: #${tag}`, clear: () => setFilter({ tag: '' }) } : null,
    ].filter(Boolean);
    chips.replaceChildren(
      ...active.map((chip) =>
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
    chips.hidden = active.length === 0;
  }

  /** Filters live in the hash, so they survive a reload and the back button undoes them. */
  function setFilter(change) {
    const next = new URLSearchParams();
    const category = change.category ?? filter.value;
    const t = change.tag ?? tag;
    if (category) next.set('category', category);
    if (t) next.set('tag', t);
    const qs = next.toString();
    location.hash = qs ? `#/?${qs}` : '#/';
  }

  async function loadList() {
    const params = new URLSearchParams({ limit: '200' });
    if (filter.value) params.set('categories', filter.value);
    if (tag) params.set('tags', tag);
    const result = await get(`/v1/memories?${params}`);
    const now = Date.now();
    // Events still to come get their own section, soonest first; everything else stays by the day it was written.
    const upcoming = result.memories
      .filter((m) => m.eventDate && Date.parse(m.eventDate) > now)
      .sort((a, b) => Date.parse(a.eventDate) - Date.parse(b.eventDate));
    const rest = result.memories
      .filter((m) => !upcoming.includes(m))
      .map((m) => ({ at: m.date, card: () => memoryCard(m) }));
    // Tags are sealed with the content: with a tag filter, which locked memories match is unknown.
    const sealed = tag
      ? []
      : (result.sealed ?? []).map((s) => ({ at: s.date ?? ulidTime(s.id), card: () => sealedCard(s) }));
    const items = [...rest, ...sealed].sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
    const days = new Map();
    for (const item of items) {
      const key = dayKey(item.at);
      if (!days.has(key)) days.set(key, []);
      days.get(key).push(item);
    }
    const sections = [...days].map(([day, dayItems]) =>
      h(
        'section',
        { class: 'day' },
        h('h2', { text: day }),
        h(
          'ol',
          { class: 'memories' },
          dayItems.map((item) => item.card()),
        ),
      ),
    );
    const coming =
      upcoming.length > 0
        ? h(
            'section',
            { class: 'upcoming panel', 'aria-labelledby': 'upcoming-h' },
            h('h2', { id: 'upcoming-h', text: 'Coming up' }),
            h(
              'ol',
              { class: 'memories' },
              upcoming.map((m) => memoryCard(m)),
            ),
          )
        : null;
    list.replaceChildren(
      lockedNotice(result.locked) ?? '',
      coming ?? '',
      ...(sections.length > 0 || coming
        ? sections
        : [
            h('p', {
              class: 'empty',
              text: tag
                ? `No memory in the unlocked levels is tagged #${tag}.`
                : result.locked > 0
                  ? 'Nothing in the unlocked levels.'
                  : 'Nothing here yet. Write your first memory above.',
            }),
          ]),
    );
  }
  filter.addEventListener('change', () => setFilter({ category: filter.value }));
  drawChips();

  page('Timeline', capture, h('div', { class: 'toolbar' }, field('Show', filter), chips), badgeLegend(), list);
  await loadList();
}

registerRoute({
  name: 'timeline',
  pattern: '/',
  fallback: true,
  nav: { label: 'Timeline', order: 10 },
  view: timelineView,
});
