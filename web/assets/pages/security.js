import { ApiError, post } from '../api.js';
import { levelBadge } from '../cards.js';
import { field, h, LEVEL_NAMES, onSubmit, page, showError, toast, untilText } from '../dom.js';
import { registerRoute } from '../router.js';
import { refreshMe, setSession, state } from '../state.js';
import { usePasskey } from '../webauthn.js';

/**
 * The levels: which are open, one unlock form that opens every level the given factors allow (the password
 * alone opens Confidential; with an authenticator code, Secret too; with the passkey, Ultra-secret), and locking.
 * Setting up the factors lives in Settings.
 */

async function securityView() {
  await refreshMe();
  const s = state.me.session;
  const status = h(
    'ul',
    { class: 'level-status', 'aria-label': 'Levels' },
    [1, 2, 3, 4].map((level) => {
      const open = s.unlocked.includes(level);
      const until = s.expires[level] ? ` · locks in ${untilText(s.expires[level])} if idle` : '';
      return h(
        'li',
        { class: open ? 'open' : 'closed', 'data-level': level },
        levelBadge(level, !open),
        h('span', { text: open ? `Unlocked${until}` : 'Locked' }),
      );
    }),
  );

  const locked = [2, 3, 4].filter((l) => !s.unlocked.includes(l));
  const lockAll = h('button', { type: 'button', text: 'Lock all levels above 1', disabled: locked.length === 3 });
  lockAll.addEventListener('click', async () => {
    try {
      setSession((await post('/v1/auth/lock', {})).session);
      toast('Locked.');
      await securityView();
    } catch (error) {
      showError(error);
    }
  });

  page(
    'Security',
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'status-h' },
      h('h2', { id: 'status-h', text: 'Your levels' }),
      status,
      lockAll,
    ),
    locked.length > 0
      ? unlockForm(s, locked)
      : h('p', { class: 'panel ok', role: 'status', text: '✓ Every level is open.' }),
    h(
      'p',
      { class: 'hint' },
      'Set up an authenticator app or a passkey, change your password or sign out everywhere in ',
      h('a', { href: '#/settings', text: 'Settings' }),
      '.',
    ),
  );
}

/** One form for every locked level: the fields shown are those the locked levels need. */
function unlockForm(s, locked) {
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const needs3 = locked.includes(3);
  const needs4 = locked.includes(4);
  const code = needs3
    ? h('input', {
        type: 'text',
        name: 'totp',
        inputmode: 'numeric',
        autocomplete: 'one-time-code',
        pattern: '[0-9]{6,8}',
      })
    : null;
  const usePk =
    needs4 && s.passkeys > 0 ? h('input', { type: 'checkbox', name: 'passkey', id: 'unlock-passkey' }) : null;
  const opens = [
    locked.includes(2) ? 'Your password opens Confidential.' : null,
    needs3 ? 'With an authenticator code it also opens Secret.' : null,
    needs4 ? 'With your passkey it also opens Ultra-secret.' : null,
  ].filter(Boolean);
  const form = onSubmit(
    h(
      'form',
      { class: 'panel', 'aria-labelledby': 'unlock-h' },
      h('h2', { id: 'unlock-h', text: 'Unlock' }),
      h('p', { class: 'hint', text: opens.join(' ') }),
      field('Password', password),
      code
        ? field(
            'Authenticator code (optional)',
            code,
            s.totpEnrolled
              ? 'The 6-digit code from your authenticator app; leave it empty to keep Secret locked.'
              : 'Set up an authenticator app in Settings first.',
          )
        : null,
      usePk
        ? h(
            'div',
            { class: 'field check' },
            h('label', { for: usePk.id }, usePk, ' Also open Ultra-secret with my passkey'),
          )
        : needs4
          ? h('p', { class: 'hint', text: 'Register a passkey in Settings to open Ultra-secret.' })
          : null,
      h('button', { type: 'submit', class: 'primary', text: 'Unlock' }),
    ),
    async () => {
      // Lowest first: a wrong password stops at the first level, before a code or the passkey is spent.
      const opened = [];
      try {
        if (locked.includes(2)) {
          setSession((await post('/v1/auth/unlock', { level: 2, password: password.value })).session);
          opened.push(2);
        }
        if (code?.value.trim()) {
          const totp = code.value.trim();
          setSession((await post('/v1/auth/unlock', { level: 3, password: password.value, totp })).session);
          opened.push(3);
        }
        if (usePk?.checked) {
          const options = await post('/v1/auth/passkeys/authentication-options');
          const passkey = await usePasskey(options);
          setSession((await post('/v1/auth/unlock', { level: 4, password: password.value, passkey })).session);
          opened.push(4);
        }
      } finally {
        if (opened.length > 0) {
          toast(`Unlocked ${opened.map((l) => LEVEL_NAMES[l]).join(', ')}.`);
        }
      }
      if (opened.length === 0 && !locked.includes(2)) {
        throw new ApiError(400, {
          message: 'Nothing more to open: enter an authenticator code or choose the passkey.',
        });
      }
      password.value = '';
      await securityView();
    },
  );
  return form;
}

registerRoute({ name: 'security', pattern: '/security', nav: { label: 'Security', order: 30 }, view: securityView });
