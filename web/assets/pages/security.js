import { ApiError, post } from '../api.js';
import { levelBadge } from '../cards.js';
import { field, h, LEVEL_NAMES, onSubmit, page, showError, toast, untilText } from '../dom.js';
import { registerRoute } from '../router.js';
import { refreshMe, setMe, setSession, state } from '../state.js';
import { createPasskey, supported as passkeysSupported, usePasskey } from '../webauthn.js';

/** The levels: their state, unlocking and locking, the authenticator app, passkeys, signing out everywhere. */

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

  const unlocked = async (level, result) => {
    setSession(result.session);
    toast(`${LEVEL_NAMES[level]} unlocked.`);
    await securityView();
  };

  const pw2 = h('input', { type: 'password', autocomplete: 'current-password', required: true });
  const unlock2 = onSubmit(
    h(
      'form',
      { class: 'panel', 'aria-labelledby': 'u2' },
      h('h3', { id: 'u2', text: 'Level 2 · Confidential' }),
      field('Password', pw2),
      h('button', { type: 'submit', text: 'Unlock Confidential' }),
    ),
    async () => unlocked(2, await post('/v1/auth/unlock', { level: 2, password: pw2.value })),
  );

  const pw3 = h('input', { type: 'password', autocomplete: 'current-password', required: true });
  const code3 = h('input', {
    type: 'text',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    pattern: '[0-9]{6,8}',
    required: true,
  });
  const unlock3 = onSubmit(
    h(
      'form',
      { class: 'panel', 'aria-labelledby': 'u3' },
      h('h3', { id: 'u3', text: 'Level 3 · Secret' }),
      field('Password', pw3),
      field(
        'Authenticator code',
        code3,
        s.totpEnrolled ? 'The 6-digit code from your authenticator app.' : 'Set up an authenticator app below first.',
      ),
      h('button', { type: 'submit', text: 'Unlock Secret' }),
    ),
    async () => unlocked(3, await post('/v1/auth/unlock', { level: 3, password: pw3.value, totp: code3.value })),
  );

  const pw4 = h('input', { type: 'password', autocomplete: 'current-password', required: true });
  const unlock4 = onSubmit(
    h(
      'form',
      { class: 'panel', 'aria-labelledby': 'u4' },
      h('h3', { id: 'u4', text: 'Level 4 · Ultra-secret' }),
      field(
        'Password',
        pw4,
        s.passkeys > 0
          ? 'Then confirm with your passkey (fingerprint, face or PIN).'
          : 'Register a passkey below first.',
      ),
      h('button', { type: 'submit', text: 'Unlock Ultra-secret with passkey' }),
    ),
    async () => {
      const options = await post('/v1/auth/passkeys/authentication-options');
      const passkey = await usePasskey(options);
      await unlocked(4, await post('/v1/auth/unlock', { level: 4, password: pw4.value, passkey }));
    },
  );

  const lockAll = h('button', { type: 'button', text: 'Lock all levels above 1' });
  lockAll.addEventListener('click', async () => {
    try {
      setSession((await post('/v1/auth/lock', {})).session);
      toast('Locked.');
      await securityView();
    } catch (error) {
      showError(error);
    }
  });

  // For a lost or stolen device: every session ends, this one too, wherever it was opened.
  const everywhere = h('button', { type: 'button', text: 'Sign out everywhere' });
  everywhere.addEventListener('click', async () => {
    try {
      await post('/v1/auth/sign-out-everywhere');
      setMe(null);
      toast('Every session was signed out, on every device.');
      location.hash = '#/signin';
    } catch (error) {
      showError(error);
    }
  });

  // TOTP enrolment
  const totpArea = h('div', {});
  if (s.totpEnrolled) {
    totpArea.append(h('p', { class: 'ok', text: '✓ Authenticator app set up.' }));
  } else {
    const begin = h('button', { type: 'button', text: 'Set up an authenticator app' });
    begin.addEventListener('click', async () => {
      try {
        const enrollment = await post('/v1/auth/totp/begin');
        const qr = h('img', {
          src: `data:image/svg+xml;base64,${btoa(unescape(encodeURIComponent(enrollment.qrSvg)))}`,
          alt: 'QR code to scan with your authenticator app',
          width: '200',
          height: '200',
          class: 'qr',
        });
        const code = h('input', {
          type: 'text',
          inputmode: 'numeric',
          autocomplete: 'one-time-code',
          pattern: '[0-9]{6,8}',
          required: true,
        });
        const confirm = onSubmit(
          h(
            'form',
            { class: 'row' },
            field('Code from the app', code),
            h('button', { type: 'submit', class: 'primary', text: 'Confirm' }),
          ),
          async () => {
            await post('/v1/auth/totp/confirm', { code: code.value });
            toast('Authenticator app set up.');
            await securityView();
          },
        );
        totpArea.replaceChildren(
          h('p', { text: 'Scan this code with your authenticator app, or type the secret in by hand.' }),
          qr,
          h('p', {}, 'Secret: ', h('code', { id: 'totp-secret', text: enrollment.secret })),
          confirm,
        );
        code.focus();
      } catch (error) {
        showError(error);
      }
    });
    totpArea.append(begin);
  }

  // Passkeys
  const pwReg = h('input', { type: 'password', autocomplete: 'current-password', required: true });
  const register = onSubmit(
    h(
      'form',
      {},
      h('p', { text: `${s.passkeys} passkey${s.passkeys === 1 ? '' : 's'} registered.` }),
      field('Password', pwReg, 'Needed so the passkey can help encrypt your Ultra-secret level.'),
      h('button', { type: 'submit', text: 'Register a passkey' }),
    ),
    async () => {
      if (!passkeysSupported()) throw new ApiError(400, { message: 'This browser does not support passkeys.' });
      const options = await post('/v1/auth/passkeys/registration-options');
      const response = await createPasskey(options);
      await post('/v1/auth/passkeys', { response, password: pwReg.value });
      toast('Passkey registered.');
      await securityView();
    },
  );

  page(
    'Security',
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'status-h' },
      h('h2', { id: 'status-h', text: 'Your levels' }),
      status,
      lockAll,
    ),
    h(
      'section',
      { 'aria-labelledby': 'unlock-h' },
      h('h2', { id: 'unlock-h', text: 'Unlock' }),
      h('div', { class: 'grid three' }, unlock2, unlock3, unlock4),
    ),
    h(
      'div',
      { class: 'grid two' },
      h(
        'section',
        { class: 'panel', 'aria-labelledby': 'totp-h' },
        h('h2', { id: 'totp-h', text: 'Authenticator app (TOTP)' }),
        totpArea,
      ),
      h('section', { class: 'panel', 'aria-labelledby': 'pk-h' }, h('h2', { id: 'pk-h', text: 'Passkeys' }), register),
    ),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'devices-h' },
      h('h2', { id: 'devices-h', text: 'Devices' }),
      h('p', { text: 'Lost a phone or signed in somewhere you should not have? End every session at once.' }),
      everywhere,
    ),
  );
}

registerRoute({ name: 'security', pattern: '/security', nav: { label: 'Security', order: 30 }, view: securityView });
