import { ApiError, api, get } from '../api.js';
import { CATEGORY_INFO, categoryBadge, levelBadge, memoryCard } from '../cards.js';
import {
  CATEGORIES,
  field,
  h,
  LEVEL_NAMES,
  label,
  lockIcon,
  onSubmit,
  page,
  showError,
  titleOf,
  toast,
  when,
  whileBusy,
} from '../dom.js';
import { registerRoute } from '../router.js';
import { refreshMe } from '../state.js';

/**
 * One memory: its facts, why it has its category, editing its text (earlier versions kept and listed), changing
 * the category, deleting it (to the trash, with Undo), related memories.
 */

/**
 * A correction as src/services/views.ts `correctionAnalysis` writes it: "Moved by you from A to B on <ISO>. The
 * classifier had said: …".
 */
function correctionOf(analysis) {
  const match = /^Moved by you from (\S+) to (\S+) on (\S+)\. The classifier had said: (.*)$/su.exec(analysis);
  return match ? { from: match[1], to: match[2], at: match[3], classifier: match[4] } : null;
}

/**
 * The importance line the daily processing keeps at the end of the analysis (docs/entry-format.md,
 * src/services/insights-analysis.ts `withImportance`): its score, and the analysis without it.
 */
const IMPORTANCE = /(?:^|\n+)Importance (\d\.\d{2}) of 1: ([^\n]*) \(weights [^)]*\)\.$/u;
export function importanceOf(analysis) {
  const match = IMPORTANCE.exec(analysis);
  if (!match) return { analysis, importance: null };
  return {
    analysis: analysis.slice(0, match.index).trimEnd(),
    importance: { score: Number(match[1]), factors: match[2] },
  };
}

/** "Why this category": the person's own move, and when, before the classifier's reasoning it overrode. */
function whyCategory(full) {
  const memory = { ...full, analysis: importanceOf(full.analysis).analysis };
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

/** Who can read a memory at each level, for the warning before moving it down. */
const READABLE = {
  1: 'whenever you are signed in',
  2: 'with your password',
  3: 'with your password and an authenticator code',
  4: 'with your password and a passkey',
};

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
  // Moving to a less protected level is confirmed first, saying what changes (who can read it, and when).
  const confirmArea = h('div', { class: 'confirm', role: 'group', 'aria-label': 'Confirm the move', hidden: true });
  const levelOfCategory = (c) => CATEGORY_INFO[c].level;
  const move = async () => {
    const previous = memory.category;
    const result = await api('PATCH', `/v1/memories/${memory.id}`, { category: select.value });
    await refreshMe();
    await memoryView(memory.id);
    // Undo puts it back where it was (the audit log keeps both moves).
    toast(`Moved to ${label(result.memory.category)}.`, 'ok', {
      label: 'Undo',
      run: () =>
        api('PATCH', `/v1/memories/${memory.id}`, { category: previous })
          .then(() => memoryView(memory.id))
          .then(() => toast(`Moved back to ${label(previous)}.`))
          .catch((error) => showError(error)),
    });
  };
  const correct = onSubmit(
    h(
      'form',
      { class: 'row', 'aria-label': 'Change the category' },
      field('Category', select),
      h('button', { type: 'submit', text: 'Change category' }),
    ),
    async () => {
      const to = select.value;
      if (to === memory.category) return;
      const from = levelOfCategory(memory.category);
      const next = levelOfCategory(to);
      if (next >= from) {
        await move();
        return;
      }
      const yes = h('button', { type: 'button', class: 'primary', text: `Yes, move it to ${label(to)}` });
      const no = h('button', { type: 'button', text: 'Cancel' });
      confirmArea.replaceChildren(
        h(
          'p',
          { class: 'warning' },
          `This moves it from Level ${from} · ${LEVEL_NAMES[from]} to Level ${next} · ${LEVEL_NAMES[next]}. `,
          `It will be readable ${READABLE[next]}, not only ${READABLE[from]}.`,
        ),
        h('div', { class: 'row' }, yes, no),
      );
      confirmArea.hidden = false;
      yes.focus();
      yes.addEventListener('click', () => whileBusy(yes, move));
      no.addEventListener('click', () => {
        confirmArea.hidden = true;
        select.value = memory.category;
        select.focus();
      });
    },
  );

  // Editing the text: classified again on save (it may move to another level); the earlier text stays a version.
  const textArea = h('textarea', { name: 'text', rows: 4, required: true });
  textArea.value = memory.content;
  const editForm = onSubmit(
    h(
      'form',
      { class: 'edit', 'aria-label': 'Edit the text', hidden: true },
      field('Text', textArea, 'Saved as a new version; the earlier text stays under Versions.'),
      h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary', text: 'Save' })),
    ),
    async () => {
      if (textArea.value === memory.content) return;
      const result = await api('PATCH', `/v1/memories/${memory.id}`, { text: textArea.value });
      await refreshMe();
      await memoryView(memory.id);
      const moved = result.memory.category !== memory.category;
      toast(moved ? `Saved. It now belongs in ${label(result.memory.category)}.` : 'Saved. The earlier text is kept.');
    },
  );
  const askEdit = h('button', { type: 'button', text: 'Edit text' });
  askEdit.addEventListener('click', () => {
    askEdit.hidden = true;
    editForm.hidden = false;
    textArea.focus();
  });

  const confirmDelete = h('button', { type: 'button', class: 'danger', hidden: true, text: 'Yes, delete it' });
  const askDelete = h('button', { type: 'button', class: 'danger outline', text: 'Delete…' });
  askDelete.addEventListener('click', () => {
    askDelete.hidden = true;
    confirmDelete.hidden = false;
    confirmDelete.focus();
  });
  confirmDelete.addEventListener('click', () =>
    whileBusy(confirmDelete, async () => {
      await api('DELETE', `/v1/memories/${memory.id}`);
      location.hash = '#/';
      // It waits in the trash for 30 days: Undo brings it straight back.
      toast('Moved to the trash.', 'ok', {
        label: 'Undo',
        run: () =>
          api('POST', `/v1/memories/${memory.id}/restore`)
            .then(() => {
              location.hash = `#/memory/${memory.id}`;
              toast('Restored.');
            })
            .catch((error) => showError(error)),
      });
    }),
  );

  const versionsPart = h(
    'section',
    { 'aria-labelledby': 'versions-h', hidden: true },
    h('h2', { id: 'versions-h', text: 'Versions' }),
  );
  const { importance } = importanceOf(memory.analysis);
  const related = h(
    'section',
    { 'aria-labelledby': 'related-h' },
    h('h2', { id: 'related-h', text: 'Related memories' }),
  );
  page(
    titleOf(memory.content),
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
        importance
          ? [
              h('dt', { text: 'Importance' }),
              h('dd', { text: `${Math.round(importance.score * 100)}% — ${importance.factors}` }),
            ]
          : null,
        h('dt', { text: 'Via' }),
        h('dd', { text: memory.channel }),
      ),
      h('div', { class: 'row edit-actions' }, askEdit),
      editForm,
      correct,
      confirmArea,
      // Apart from the category form, so a slip of the pointer between the two never starts a deletion.
      h('div', { class: 'row danger-zone' }, askDelete, confirmDelete),
    ),
    versionsPart,
    related,
  );
  await showVersions(memory.id, versionsPart);
  try {
    const { memories, connections = [] } = await get(`/v1/memories/${memory.id}/related`);
    // Why each one is related ("both mention Nadia"), from the daily processing's connections.
    const reasons = new Map(connections.map((c) => [c.id, c.reason]));
    const card = (m) => {
      const li = memoryCard(m);
      const reason = reasons.get(m.id);
      if (reason) li.querySelector('article')?.prepend(h('p', { class: 'reason', text: `Related: ${reason}` }));
      return li;
    };
    related.append(
      memories.length > 0
        ? h('ol', { class: 'memories' }, memories.map(card))
        : h('p', { class: 'empty', text: 'No related memories yet.' }),
    );
  } catch (error) {
    showError(error);
  }
}

/** The earlier texts of a memory, newest first; one sealed in a locked level says so instead of showing it. */
async function showVersions(id, section) {
  let versions;
  try {
    ({ versions } = await get(`/v1/memories/${id}/versions`));
  } catch (error) {
    showError(error);
    return;
  }
  if (versions.length === 0) return;
  section.hidden = false;
  section.append(
    h(
      'ol',
      { class: 'versions' },
      versions.map((v) =>
        h(
          'li',
          {},
          h(
            'p',
            { class: 'hint' },
            categoryBadge(v.category),
            ' Replaced ',
            h('time', { datetime: v.replacedAt, text: when(v.replacedAt) }),
          ),
          v.memory
            ? h('p', { class: 'content', text: v.memory.content })
            : h('p', {}, levelBadge(v.level, true), ` Sealed at Level ${v.level}: unlock it to read this version.`),
        ),
      ),
    ),
  );
}

registerRoute({
  name: 'memory',
  pattern: '/memory/:id',
  params: { id: /^[0-9A-HJKMNP-TV-Z]{26}$/ },
  view: (params) => memoryView(params.id),
});
