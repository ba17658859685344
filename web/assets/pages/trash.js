import { api, get } from '../api.js';
import { categoryBadge, levelBadge } from '../cards.js';
import { h, page, toast, when, whileBusy } from '../dom.js';
import { registerRoute } from '../router.js';
import { refreshMe } from '../state.js';

/**
 * The trash (issue 13): deleted memories wait here for 30 days, then are erased for good. Each can be restored;
 * "Empty trash" erases them now (those in levels this session has unlocked).
 */

async function trashView() {
  const { memories } = await get('/v1/trash');
  const list = h(
    'ol',
    { class: 'memories trash' },
    memories.map((t) => {
      const restore = h('button', { type: 'button', text: 'Restore' });
      restore.addEventListener('click', () =>
        whileBusy(restore, async () => {
          await api('POST', `/v1/memories/${t.id}/restore`);
          await refreshMe();
          await trashView();
          toast('Restored.', 'ok', {
            label: 'Open it',
            run: () => {
              location.hash = `#/memory/${t.id}`;
            },
          });
        }),
      );
      return h(
        'li',
        {},
        h(
          'article',
          { class: 'card' },
          h('header', {}, categoryBadge(t.category), levelBadge(t.level)),
          t.memory
            ? h('p', { class: 'content', text: t.memory.content })
            : h('p', {}, levelBadge(t.level, true), ` Sealed at Level ${t.level}: unlock it to see what it says.`),
          h(
            'p',
            { class: 'hint' },
            'Deleted ',
            h('time', { datetime: t.trashedAt, text: when(t.trashedAt) }),
            ' · erased for good after ',
            h('time', { datetime: t.erasedAfter, text: when(t.erasedAfter) }),
          ),
          h('div', { class: 'row' }, restore),
        ),
      );
    }),
  );

  const confirmEmpty = h('button', { type: 'button', class: 'danger', hidden: true, text: 'Yes, erase them now' });
  const askEmpty = h('button', { type: 'button', class: 'danger outline', text: 'Empty trash…' });
  askEmpty.addEventListener('click', () => {
    askEmpty.hidden = true;
    confirmEmpty.hidden = false;
    confirmEmpty.focus();
  });
  confirmEmpty.addEventListener('click', () =>
    whileBusy(confirmEmpty, async () => {
      const { erased } = await api('DELETE', '/v1/trash');
      await trashView();
      toast(`Erased ${erased} ${erased === 1 ? 'memory' : 'memories'} for good.`);
    }),
  );

  page(
    'Trash',
    h('p', { class: 'hint', text: 'Deleted memories stay here for 30 days, then they are erased for good.' }),
    ...(memories.length > 0
      ? [list, h('div', { class: 'row danger-zone' }, askEmpty, confirmEmpty)]
      : [h('p', { class: 'empty', text: 'The trash is empty.' })]),
  );
}

registerRoute({
  name: 'trash',
  pattern: '/trash',
  view: () => trashView(),
  nav: { label: 'Trash', order: 45 },
});
