import { get, post } from '../api.js';
import { badgeLegend, lockedNotice, memoryCard } from '../cards.js';
import { CATEGORIES, dayKey, field, h, label, onSubmit, page, showError, toast } from '../dom.js';
import { registerRoute } from '../router.js';

/** The timeline: capture a memory, and every memory in the unlocked levels by day. */

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

registerRoute({
  name: 'timeline',
  pattern: '/',
  fallback: true,
  nav: { label: 'Timeline', order: 10 },
  view: timelineView,
});
