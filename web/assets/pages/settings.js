import { ApiError, api, post } from '../api.js';
import { field, h, onSubmit, PASSWORD_MIN, page, showError, toast } from '../dom.js';
import { registerRoute } from '../router.js';
import { registerSettingsSection, settingsSections } from '../settings.js';
import { refreshMe, setMe, state } from '../state.js';
import { createPasskey, supported as passkeysSupported } from '../webauthn.js';

/**
 * Settings: one page of sections (web/assets/settings.js). This module registers the built-in ones: profile,
 * password, two-step verification, passkeys and sessions. Other features register theirs from their own module.
 */

async function settingsView() {
  await refreshMe();
  const nodes = [];
  const redraw = () => settingsView();
  for (const section of settingsSections()) {
    const headingId = `settings-${section.id}-h`;
    const content = await section.render({ redraw });
    nodes.push(
      h(
        'section',
        { class: 'panel settings-section', id: `settings-${section.id}`, 'aria-labelledby': headingId },
        h('h2', { id: headingId, text: section.title }),
        content,
      ),
    );
  }
  const toc = h(
    'nav',
    { class: 'settings-toc', 'aria-label': 'Settings sections' },
    h(
      'ul',
      {},
      settingsSections().map((s) =>
        h(
          'li',
          {},
          h('a', {
            href: `#/settings`,
            'data-section': s.id,
            text: s.title,
            onclick: (event) => {
              event.preventDefault();
              const target = document.getElementById(`settings-${s.id}-h`);
              target?.setAttribute('tabindex', '-1');
              target?.focus();
            },
          }),
        ),
      ),
    ),
  );
  page('Settings', toc, ...nodes);
}

const TIME_ZONES = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
const LOCALES = ['en-US', 'en-GB', 'de-DE', 'es-ES', 'fr-FR', 'it-IT', 'nl-NL', 'pt-BR', 'pt-PT', 'pl-PL', 'ja-JP'];

registerSettingsSection({
  id: 'profile',
  title: 'Profile',
  order: 10,
  render: ({ redraw }) => {
    const user = state.me.user;
    const name = h('input', {
      type: 'text',
      name: 'name',
      autocomplete: 'name',
      maxlength: '200',
      value: user.name ?? '',
    });
    const zone = h('input', {
      type: 'text',
      name: 'timezone',
      list: 'tz-list',
      required: true,
      spellcheck: 'false',
      value: user.timezone,
    });
    const zones = h(
      'datalist',
      { id: 'tz-list' },
      TIME_ZONES.map((z) => h('option', { value: z })),
    );
    const locale = h(
      'select',
      { name: 'locale' },
      h('option', { value: '', text: `Follow this browser (${navigator.language})` }),
      [...new Set([...LOCALES, ...(user.locale ? [user.locale] : [])])].map((tag) =>
        h('option', { value: tag, text: languageName(tag), selected: tag === user.locale }),
      ),
    );
    return onSubmit(
      h(
        'form',
        { 'aria-label': 'Profile' },
        field('Name', name, 'How memvault greets you.'),
        field('Time zone', zone, 'Dates and "today" follow it; e.g. Europe/Lisbon.'),
        zones,
        field('Language and region for dates', locale),
        h('button', { type: 'submit', class: 'primary', text: 'Save profile' }),
      ),
      async () => {
        const me = await api('PATCH', '/v1/me', {
          name: name.value.trim() || null,
          timezone: zone.value.trim(),
          locale: locale.value,
        });
        setMe(me);
        await redraw();
        toast('Profile saved.');
      },
    );
  },
});

function languageName(tag) {
  try {
    const names = new Intl.DisplayNames([tag], { type: 'language' });
    return `${names.of(tag)} (${tag})`;
  } catch {
    return tag;
  }
}

registerSettingsSection({
  id: 'password',
  title: 'Password',
  order: 20,
  render: () => {
    const current = h('input', {
      type: 'password',
      name: 'current-password',
      'data-field': 'current',
      autocomplete: 'current-password',
      required: true,
    });
    const next = h('input', {
      type: 'password',
      name: 'new-password',
      'data-field': 'password',
      autocomplete: 'new-password',
      required: true,
      minlength: PASSWORD_MIN > 0 ? String(PASSWORD_MIN) : undefined,
    });
    return onSubmit(
      h(
        'form',
        { 'aria-label': 'Change the password' },
        h('p', {
          class: 'hint',
          text: 'Your password also encrypts your private levels. Changing it signs you out everywhere, here too.',
        }),
        field('Current password', current),
        field(
          'New password',
          next,
          `${PASSWORD_MIN > 0 ? `At least ${PASSWORD_MIN} characters; it` : 'It'} also encrypts your private levels.`,
        ),
        h('button', { type: 'submit', text: 'Change password' }),
      ),
      async () => {
        await post('/v1/auth/password', { current: current.value, password: next.value });
        current.value = '';
        next.value = '';
        setMe(null);
        toast('Password changed. Sign in with the new one.');
        location.hash = '#/signin';
      },
    );
  },
});

registerSettingsSection({
  id: 'two-step',
  title: 'Two-step verification',
  order: 30,
  render: ({ redraw }) => {
    const s = state.me.session;
    const area = h(
      'div',
      {},
      h('p', { class: 'hint', text: 'An authenticator app’s code, with your password, opens Secret (Level 3).' }),
    );
    if (s.totpEnrolled) {
      area.append(h('p', { class: 'ok', text: '✓ Authenticator app set up.' }));
      return area;
    }
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
            await redraw();
            toast('Authenticator app set up.');
          },
        );
        area.replaceChildren(
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
    area.append(begin);
    return area;
  },
});

registerSettingsSection({
  id: 'passkeys',
  title: 'Passkeys',
  order: 40,
  render: ({ redraw }) => {
    const s = state.me.session;
    const password = h('input', { type: 'password', autocomplete: 'current-password', required: true });
    return onSubmit(
      h(
        'form',
        { 'aria-label': 'Register a passkey' },
        h('p', { text: `${s.passkeys} passkey${s.passkeys === 1 ? '' : 's'} registered.` }),
        field('Password', password, 'Needed so the passkey can help encrypt your Ultra-secret level.'),
        h('button', { type: 'submit', text: 'Register a passkey' }),
      ),
      async () => {
        if (!passkeysSupported()) throw new ApiError(400, { message: 'This browser does not support passkeys.' });
        const options = await post('/v1/auth/passkeys/registration-options');
        const response = await createPasskey(options);
        await post('/v1/auth/passkeys', { response, password: password.value });
        await redraw();
        toast('Passkey registered.');
      },
    );
  },
});

registerSettingsSection({
  id: 'sessions',
  title: 'Sessions',
  order: 90,
  render: () => {
    // For a lost or stolen device: every session ends, this one too, wherever it was opened.
    const everywhere = h('button', { type: 'button', class: 'danger outline', text: 'Sign out everywhere' });
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
    return [
      h('p', { text: 'Lost a phone or signed in somewhere you should not have? End every session at once.' }),
      everywhere,
    ];
  },
});

registerRoute({ name: 'settings', pattern: '/settings', nav: { label: 'Settings', order: 50 }, view: settingsView });
