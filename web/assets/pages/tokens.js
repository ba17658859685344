import { ApiError, api, get, post } from '../api.js';
import { field, h, onSubmit, showError, toast, when } from '../dom.js';
import { registerSettingsSection } from '../settings.js';
import { state } from '../state.js';

/**
 * Settings → Access tokens: personal access tokens for assistants and scripts (docs/mcp.md), and the apps
 * connected with OAuth. A new token is shown once, here, and never again; revoking works at once.
 */

function tokenRow(token, redraw) {
  const revoke = h('button', {
    type: 'button',
    class: 'danger outline',
    text: token.kind === 'oauth' ? 'Disconnect' : 'Revoke',
    'aria-label': `${token.kind === 'oauth' ? 'Disconnect' : 'Revoke'} ${token.name}`,
  });
  revoke.addEventListener('click', async () => {
    try {
      await api('DELETE', `/v1/tokens/${encodeURIComponent(token.id)}`);
      toast(`${token.name}: revoked.`);
      await redraw();
    } catch (error) {
      showError(error);
    }
  });
  const levels = token.levels.includes(2) ? 'Levels 1–2' : 'Level 1';
  const expires = token.expiresAt ? `expires ${when(token.expiresAt)}` : 'never expires';
  const used = token.lastUsedAt ? `last used ${when(token.lastUsedAt)}` : 'never used';
  return h(
    'li',
    { class: 'token-row', 'data-token': token.id },
    h('strong', { text: token.name }),
    ' ',
    h('span', {
      class: 'hint',
      text: `${token.kind === 'oauth' ? 'Connected app' : 'Token'} · ${levels} · ${expires} · ${used}`,
    }),
    ' ',
    revoke,
  );
}

registerSettingsSection({
  id: 'tokens',
  title: 'Access tokens',
  order: 70,
  render: async ({ redraw }) => {
    let tokens;
    try {
      ({ tokens } = await get('/v1/tokens'));
    } catch (error) {
      // A server without access tokens (embedded without them) has no such route: say so, keep the page.
      if (error instanceof ApiError && error.status === 404) {
        return h('p', { class: 'hint', text: 'This server does not offer access tokens.' });
      }
      throw error;
    }
    const level2Open = state.me.session.unlocked.includes(2);
    const name = h('input', {
      type: 'text',
      name: 'token-name',
      required: true,
      maxlength: '64',
      placeholder: 'Claude Desktop',
    });
    const level2 = h('input', { type: 'checkbox', name: 'token-level2', disabled: !level2Open });
    const days = h('input', { type: 'number', name: 'token-days', min: '1', max: '1830', placeholder: 'never' });
    const shown = h('div', { class: 'token-shown', 'aria-live': 'polite' });
    const form = onSubmit(
      h(
        'form',
        { 'aria-label': 'Create an access token' },
        field('Token name', name, 'So you recognise it later, e.g. the assistant it is for.'),
        h(
          'label',
          { class: 'check' },
          level2,
          level2Open
            ? ' Also Confidential (Level 2)'
            : ' Also Confidential (Level 2) — unlock Level 2 under Security first',
        ),
        field('Expires after (days)', days, 'Leave empty for a token that does not expire.'),
        h('button', { type: 'submit', class: 'primary', text: 'Create token' }),
      ),
      async () => {
        const body = { name: name.value, levels: level2.checked ? [1, 2] : [1] };
        if (days.value !== '') body.expiresInDays = Number(days.value);
        const created = await post('/v1/tokens', body);
        const list = await get('/v1/tokens');
        listEl.replaceChildren(...list.tokens.map((t) => tokenRow(t, redraw)));
        empty.hidden = true;
        shown.replaceChildren(
          h('p', { text: 'Copy the token now: it is shown only once.' }),
          h('code', { class: 'token-secret', id: 'new-token', text: created.token }),
        );
        form.reset();
        toast(`Token ${created.info.name} created.`);
      },
    );
    const listEl = h(
      'ul',
      { class: 'token-list' },
      tokens.map((t) => tokenRow(t, redraw)),
    );
    const empty = h('p', { class: 'hint', text: 'No tokens yet.', hidden: tokens.length > 0 });
    return [
      h('p', {
        text:
          'Tokens let an assistant (Claude Desktop, Cursor…) or a script read and add memories without your password. ' +
          'They never open Secret or Ultra-secret memories.',
      }),
      empty,
      listEl,
      form,
      shown,
    ];
  },
});
