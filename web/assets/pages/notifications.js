import { get, post } from '../api.js';
import { h, onSubmit, page, when } from '../dom.js';
import { registerRoute } from '../router.js';

/**
 * Inbox: the getting-started checklist (real steps, each ticked when it really happened; skippable and
 * resumable) and the in-app notifications, newest first, live over server-sent events. The nav link carries the
 * unread count.
 */

let stream = null;

function setBadge(unread) {
  const link = document.querySelector('#nav a[href="#/inbox"]');
  if (!link) return;
  link.textContent = unread > 0 ? `Inbox (${unread})` : 'Inbox';
  link.setAttribute('aria-label', unread > 0 ? `Inbox, ${unread} unread` : 'Inbox');
}

/** One EventSource per tab while signed in: a new notification updates the badge, and the list when shown. */
function listen(onItem) {
  stream?.close();
  stream = new EventSource('/v1/notifications/stream');
  stream.addEventListener('notification', (event) => onItem(JSON.parse(event.data)));
  // A closed session ends the stream; the next page view opens a new one.
  stream.onerror = () => {
    if (stream?.readyState === EventSource.CLOSED) stream = null;
  };
}

function checklist(view, rerender) {
  if (view.skipped) {
    const form = h(
      'form',
      {},
      h('button', { type: 'submit', class: 'secondary', text: 'Show the getting-started steps' }),
    );
    onSubmit(form, async () => {
      await post('/v1/onboarding', { skipped: false });
      await rerender();
    });
    return h('section', { class: 'panel onboarding' }, form);
  }
  const form = h('form', {}, h('button', { type: 'submit', class: 'secondary', text: 'Skip for now' }));
  onSubmit(form, async () => {
    await post('/v1/onboarding', { skipped: true });
    await rerender();
  });
  return h(
    'section',
    { class: 'panel onboarding', 'aria-labelledby': 'onboarding-title' },
    h('h2', { id: 'onboarding-title', text: `Getting started · ${view.completed} of ${view.total}` }),
    h(
      'ul',
      { class: 'checklist' },
      view.steps.map((s) =>
        h(
          'li',
          { class: s.doneAt ? 'done' : 'todo', 'data-step': s.id },
          h('span', { text: s.doneAt ? '✓ ' : '○ ' }),
          s.title,
        ),
      ),
    ),
    form,
  );
}

function item(n, rerender) {
  const read = h('button', { type: 'button', class: 'secondary', text: 'Mark read' });
  read.addEventListener('click', async () => {
    await post('/v1/notifications/read', { id: n.id });
    await rerender();
  });
  return h(
    'li',
    { class: `notification ${n.read ? 'read' : 'unread'}`, 'data-purpose': n.purpose },
    h('h3', { text: n.subject }),
    h('time', { datetime: n.at, text: when(n.at) }),
    ...n.text.split('\n\n').map((p) => h('p', { text: p })),
    n.read ? null : read,
  );
}

async function inboxView() {
  const render = async () => {
    const [list, onboarding] = await Promise.all([get('/v1/notifications'), get('/v1/onboarding')]);
    setBadge(list.unread);
    const readAll = h('button', { type: 'button', class: 'secondary', text: 'Mark all read' });
    readAll.addEventListener('click', async () => {
      await post('/v1/notifications/read', {});
      await render();
    });
    page(
      'Inbox',
      checklist(onboarding, render),
      h(
        'section',
        { class: 'panel', 'aria-live': 'polite' },
        list.items.length === 0
          ? h('p', { text: 'Nothing yet. Digests, security alerts and channel messages appear here.' })
          : h(
              'ul',
              { class: 'notifications' },
              list.items.map((n) => item(n, render)),
            ),
        list.unread > 0 ? readAll : null,
      ),
    );
  };
  await render();
  listen(() => {
    if (location.hash.startsWith('#/inbox')) void render();
    else void get('/v1/notifications').then((l) => setBadge(l.unread));
  });
}

registerRoute({ name: 'inbox', pattern: '/inbox', nav: { label: 'Inbox', order: 35 }, view: inboxView });
