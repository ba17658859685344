import { api, get, post } from '../api.js';
import { h, onSubmit, showError, timeOf, toast } from '../dom.js';
import { registerSettingsSection } from '../settings.js';

/**
 * Settings → Channels: the linked messengers (unlink), linking Telegram from here (a t.me deep link whose token
 * links the chat once the person shares their own contact), and where digests and security alerts go, which
 * chats may show level 2, and quiet hours (GET/PATCH /v1/settings/channels, docs/channels.md).
 */

const NAMES = { telegram: 'Telegram', whatsapp: 'WhatsApp', sms: 'SMS', email: 'E-mail' };
const KINDS = ['telegram', 'whatsapp', 'sms', 'email'];
const CHATS = ['telegram', 'whatsapp', 'sms'];

function linkLine(link, redraw) {
  const what = link.kind === 'telegram' ? 'Telegram' : `${NAMES[link.kind]} · ${link.address}`;
  const state = !link.verified
    ? ' · waiting for the code sent there'
    : link.stopped
      ? ' · stopped (send START there to resume)'
      : ' · linked';
  const unlink = h('button', {
    type: 'button',
    class: 'secondary',
    text: 'Unlink',
    'aria-label': `Unlink ${NAMES[link.kind]}`,
  });
  unlink.addEventListener('click', async () => {
    try {
      await api('DELETE', `/v1/settings/channels/${link.kind}`);
      toast(`${NAMES[link.kind]} unlinked.`);
      await redraw();
    } catch (error) {
      showError(error);
    }
  });
  return h('li', { 'data-kind': link.kind }, h('span', { text: `${what}${state}` }), ' ', unlink);
}

function telegramStarter(redraw) {
  const area = h('div', { class: 'telegram-link' });
  const start = h('button', { type: 'button', text: 'Link Telegram' });
  start.addEventListener('click', async () => {
    try {
      const link = await post('/v1/channels/telegram/link');
      const done = h('button', { type: 'button', class: 'secondary', text: 'I have shared my number' });
      done.addEventListener('click', () => redraw());
      area.replaceChildren(
        h('p', {}, h('a', { href: link.url, target: '_blank', rel: 'noopener', text: 'Open Telegram to link it' })),
        h('p', {
          class: 'hint',
          text: `In Telegram tap Start, then "Share my phone number". The link works once, until ${timeOf(link.expiresAt)}.`,
        }),
        done,
      );
    } catch (error) {
      showError(error);
    }
  });
  area.append(start);
  return area;
}

/** The secret address that stores what is mailed to it, and a way to replace it when it leaked. */
function mailAddressBox(address, redraw) {
  const renew = h('button', { type: 'button', class: 'secondary', text: 'New address' });
  renew.addEventListener('click', async () => {
    try {
      await post('/v1/settings/channels/mail-address');
      toast('New address made; the old one no longer works.');
      await redraw();
    } catch (error) {
      showError(error);
    }
  });
  return h(
    'div',
    { class: 'mail-address' },
    h('p', {}, 'Write memories by e-mail to ', h('code', { id: 'mail-address', text: address }), '.'),
    h('p', {
      class: 'hint',
      text: 'Keep it private: whatever is mailed to it is saved to your memvault. If it leaks, make a new one.',
    }),
    renew,
  );
}

/** A group of checkboxes, one per kind; all checked when `chosen` is null (every channel). */
function choices(legend, name, kinds, chosen) {
  return h(
    'fieldset',
    { class: 'checks' },
    h('legend', { text: legend }),
    kinds.map((kind) =>
      h(
        'label',
        {},
        h('input', {
          type: 'checkbox',
          name,
          value: kind,
          checked: chosen === null || chosen.includes(kind),
        }),
        ` ${NAMES[kind]}`,
      ),
    ),
  );
}

registerSettingsSection({
  id: 'channels',
  title: 'Channels',
  order: 50,
  async render({ redraw }) {
    const view = await get('/v1/settings/channels');
    const available = KINDS.filter((k) => view.available[k]);
    const nodes = [];
    const lines = view.links.map((link) => linkLine(link, redraw));
    if (view.available.email) {
      lines.push(
        h(
          'li',
          { 'data-kind': 'email' },
          view.email ? `E-mail · ${view.email}` : 'E-mail · no address in your profile',
        ),
      );
    }
    if (view.links.length === 0) nodes.push(h('p', { text: 'No messenger is linked yet.' }));
    if (lines.length > 0) nodes.push(h('ul', { class: 'linked-channels', 'aria-label': 'Linked channels' }, lines));
    if (view.mailAddress) nodes.push(mailAddressBox(view.mailAddress, redraw));
    if (available.length === 0) {
      nodes.push(
        h('p', {
          class: 'hint',
          text: 'This server has no messenger or e-mail set up: notifications arrive in your Inbox only.',
        }),
      );
      return nodes;
    }
    const telegramLinked = view.links.some((l) => l.kind === 'telegram' && l.verified);
    if (view.available.telegram && !telegramLinked) nodes.push(telegramStarter(redraw));
    if (view.available.whatsapp || view.available.sms) {
      nodes.push(
        h('p', {
          class: 'hint',
          text: 'WhatsApp or SMS: write to memvault’s number from your phone and reply with the code you receive.',
        }),
      );
    }

    const s = view.settings;
    const notify = choices('Digests and notices go to', 'notify', available, s.notify);
    const alerts = choices('Security alerts go to', 'alerts', available, s.alerts);
    const chats = CHATS.filter((k) => view.available[k]);
    const level2 =
      chats.length > 0 ? choices('Chats that may show Confidential (level 2)', 'level2', chats, s.level2) : null;
    const quiet = h('input', { type: 'checkbox', name: 'quiet', checked: s.quietHours !== null });
    const from = h('input', { type: 'time', name: 'quiet-start', value: s.quietHours?.start ?? '22:00' });
    const to = h('input', { type: 'time', name: 'quiet-end', value: s.quietHours?.end ?? '07:00' });
    const picked = (group) => [...group.querySelectorAll('input:checked')].map((i) => i.value);
    const form = onSubmit(
      h(
        'form',
        { 'aria-label': 'Channel preferences' },
        notify,
        alerts,
        level2,
        level2
          ? h('p', {
              class: 'hint',
              text: 'Level 2 shows in a chat only while no password guards it (a chat cannot ask for your password). Secret and ultra-secret memories never show in a chat.',
            })
          : null,
        h(
          'fieldset',
          { class: 'checks' },
          h('legend', { text: 'Quiet hours (your time zone)' }),
          h('label', {}, quiet, ' Hold digests and notices'),
          h('label', {}, 'from ', from),
          h('label', {}, 'to ', to),
        ),
        h('p', {
          class: 'hint',
          text: 'Security alerts and codes are sent at any hour. The Inbox always gets everything.',
        }),
        h('button', { type: 'submit', class: 'primary', text: 'Save channel preferences' }),
      ),
      async () => {
        const all = (list) => (available.every((k) => list.includes(k)) ? null : list);
        await api('PATCH', '/v1/settings/channels', {
          notify: all(picked(notify)),
          alerts: all(picked(alerts)),
          ...(level2 ? { level2: picked(level2) } : {}),
          quietHours: quiet.checked ? { start: from.value, end: to.value } : null,
        });
        toast('Channel preferences saved.');
        await redraw();
      },
    );
    nodes.push(form);
    return nodes;
  },
});
