import { post } from '../api.js';
import { memoryCard } from '../cards.js';
import { CATEGORIES, field, h, highlighted, label, onSubmit, page } from '../dom.js';
import { registerRoute } from '../router.js';
import { state } from '../state.js';

/** Search with filters; the query in the hash (#/search?q=…) runs at once. */

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
    },
  );
  page('Search', form, results);
  if (query.value) form.requestSubmit();
}

registerRoute({ name: 'search', pattern: '/search', nav: { label: 'Search', order: 20 }, view: searchView });
