import { ApiError, api, get } from '../api.js';
import { categoryBadge, levelBadge, memoryCard } from '../cards.js';
import { CATEGORIES, field, h, label, lockIcon, onSubmit, page, showError, toast, when } from '../dom.js';
import { registerRoute } from '../router.js';
import { refreshMe } from '../state.js';

/** One memory: its facts, why it has its category, changing the category, deleting it, related memories. */

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
  return h(
    'dd',
    { class: 'corrected' },
    h(
      'p',
      {},
      `You moved it from ${correction.from} to ${correction.to} on `,
      h('time', { datetime: correction.at, text: when(correction.at) }),
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
        h('dd', {}, h('time', { datetime: memory.date, text: when(memory.date) })),
        memory.eventDate ? [h('dt', { text: 'Happened' }), h('dd', { text: when(memory.eventDate) })] : null,
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

registerRoute({
  name: 'memory',
  pattern: '/memory/:id',
  params: { id: /^[0-9A-HJKMNP-TV-Z]{26}$/ },
  view: (params) => memoryView(params.id),
});
