import { api, get, post } from '../api.js';
import { field, h, onSubmit, page, toast, when } from '../dom.js';
import { registerRoute } from '../router.js';
import { registerSettingsSection } from '../settings.js';
import { setMe, state } from '../state.js';

/**
 * The person's own data (issue 12): "Download my data", the recovery kit with its printable page, and "Delete my
 * account". Server side: GET /v1/export, /v1/account/recovery-kit, DELETE /v1/account (docs/backup.md).
 */

/**
 * The code of a kit just made, and where "Continue" goes: kept in memory only until the person confirms they
 * saved it (never in the URL or storage).
 */
let freshKit = null;

/**
 * Shows the printable page of a kit just made: from Settings, or right after sign-up (the sign-up request makes
 * the kit and answers its code once), where "Continue" then goes on to the app.
 * @param {{ code: string, createdAt: string }} made
 * @param {{ next?: string, signUp?: boolean }} [options]
 */
export function showRecoveryKit(made, options = {}) {
  freshKit = { ...made, next: options.next ?? '#/settings', signUp: options.signUp ?? false };
  location.hash = '#/recovery-kit';
}

function passwordInput(name) {
  return h('input', {
    type: 'password',
    name,
    'data-field': 'password',
    autocomplete: 'current-password',
    required: true,
  });
}

function downloadPart() {
  const unlocked = state.me?.session?.unlocked ?? [1];
  const levels = unlocked.length === 4 ? 'every level' : `levels ${unlocked.join(', ')}`;
  return [
    h('h3', { text: 'Download my data' }),
    h('p', {
      text: `A zip of your memories in plain text, of what this session has unlocked (${levels}). Unlock more on the Security page first to include them. Keep the file safe: it is not encrypted.`,
    }),
    h(
      'p',
      { class: 'actions' },
      h('a', {
        class: 'button',
        href: '/v1/export?format=markdown',
        download: '',
        text: 'Download as Markdown',
      }),
      ' ',
      h('a', { class: 'button', href: '/v1/export?format=json', download: '', text: 'Download as JSON' }),
    ),
  ];
}

async function kitPart() {
  const status = await get('/v1/account/recovery-kit').catch(() => null);
  const password = passwordInput('kit-password');
  const said = !status?.exists
    ? 'You have no recovery kit. Without one, a forgotten password locks your private levels away for good.'
    : status.stale
      ? `Your recovery kit (made ${when(status.createdAt)}) no longer fits your keys: make a new one.`
      : `You have a recovery kit, made ${when(status.createdAt)}. Making a new one replaces it.`;
  return [
    h('h3', { text: 'Recovery kit' }),
    h('p', { text: said }),
    h('p', {
      class: 'hint',
      text: 'A recovery code, shown once, replaces a forgotten password and brings back your Confidential and Secret memories. Ultra-secret memories can only ever be opened with your passkey: keep it safe too.',
    }),
    onSubmit(
      h(
        'form',
        { 'aria-label': 'Make a recovery kit' },
        field('Your password', password),
        h('button', { type: 'submit', class: 'primary', text: 'Make a recovery kit' }),
      ),
      async () => {
        const made = await post('/v1/account/recovery-kit', { password: password.value });
        password.value = '';
        showRecoveryKit(made);
      },
    ),
  ];
}

function deletePart() {
  const password = passwordInput('delete-password');
  const sure = h('input', { type: 'checkbox', name: 'sure', required: true });
  return [
    h('h3', { text: 'Delete my account' }),
    h('p', {
      text: 'Erases every memory, your keys, factors, audit log and the server’s backups of you, and signs you out everywhere. This cannot be undone; download your data first if you want to keep it.',
    }),
    onSubmit(
      h(
        'form',
        { 'aria-label': 'Delete my account' },
        field('Your password', password, 'The confirmation that it is you and that you mean it.'),
        h('div', { class: 'field check' }, h('label', {}, sure, ' I understand that everything is erased for good')),
        h('button', { type: 'submit', class: 'danger', text: 'Delete my account' }),
      ),
      async () => {
        await api('DELETE', '/v1/account', { password: password.value });
        password.value = '';
        setMe(null);
        location.hash = '#/signin';
        toast('Your account and everything in it were deleted.');
      },
    ),
  ];
}

registerSettingsSection({
  id: 'your-data',
  title: 'Your data',
  order: 80,
  render: async () => [...downloadPart(), ...(await kitPart()), ...deletePart()],
});

/** The printable page of a kit just made. Printing hides the app's chrome (style.css @media print). */
function recoveryKitView() {
  if (!freshKit) {
    page(
      'Recovery kit',
      h('p', { text: 'A recovery code is shown only once, right after it is made. Make a new kit in Settings.' }),
      h('p', {}, h('a', { href: '#/settings', text: 'Go to Settings' })),
    );
    return;
  }
  const { code, createdAt, next, signUp } = freshKit;
  const phone = state.me?.user?.userId ?? '';
  const saved = h('input', { type: 'checkbox', name: 'saved' });
  const done = h('button', { type: 'button', class: 'primary', disabled: true, text: 'Continue' });
  saved.addEventListener('change', () => {
    done.disabled = !saved.checked;
  });
  done.addEventListener('click', () => {
    freshKit = null;
    toast('Recovery kit saved. Keep it apart from your password.');
    location.hash = next;
  });
  page(
    'Recovery kit',
    ...(signUp
      ? [
          h('p', {
            class: 'lead no-print',
            text: 'Your account is ready. Before you start, save your recovery code: it is shown only this once.',
          }),
        ]
      : []),
    h(
      'section',
      { class: 'panel kit', 'aria-labelledby': 'kit-h' },
      h('h2', { id: 'kit-h', text: `memvault recovery code${phone ? ` for ${phone}` : ''}` }),
      h('p', { class: 'kit-code', 'data-testid': 'recovery-code', text: code }),
      h('p', { class: 'hint', text: `Made ${when(createdAt)}. This page shows it once; it is not stored anywhere.` }),
      h(
        'ul',
        {},
        h('li', { text: 'If you forget your password, “Forgot password?” with this code sets a new one.' }),
        h('li', { text: 'It brings back your Confidential and Secret memories.' }),
        h('li', {
          text: 'Ultra-secret memories open only with your passkey — this code never opens them.',
        }),
        h('li', {
          text: 'Using it signs you out everywhere and asks you to set up two-step verification again. It works once.',
        }),
        h('li', { text: 'Print it or write it down, and keep it apart from your password.' }),
      ),
      h(
        'p',
        { class: 'actions no-print' },
        h('button', { type: 'button', text: 'Print', onclick: () => window.print() }),
      ),
      h(
        'div',
        { class: 'no-print' },
        h('div', { class: 'field check' }, h('label', {}, saved, ' I have saved it')),
        ' ',
        done,
      ),
    ),
  );
}

registerRoute({ name: 'recovery-kit', pattern: '/recovery-kit', view: recoveryKitView });

/** "Forgot password?": the code and a new password; public, like sign-in. */
function recoverView() {
  const phone = h('input', { type: 'tel', name: 'phone', autocomplete: 'tel', required: true });
  const code = h('input', {
    type: 'text',
    name: 'code',
    'data-field': 'code',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
  });
  const next = h('input', {
    type: 'password',
    name: 'new-password',
    'data-field': 'newPassword',
    autocomplete: 'new-password',
    required: true,
  });
  page(
    'Forgot your password?',
    h('p', {
      text: 'Your recovery code sets a new password. Every session ends, and you set up two-step verification again.',
    }),
    onSubmit(
      h(
        'form',
        { class: 'panel', 'aria-label': 'Recover with the code' },
        field('Phone number', phone),
        field('Recovery code', code, '13 groups of 4 letters and digits, as printed.'),
        field('New password', next),
        h('button', { type: 'submit', class: 'primary', text: 'Set the new password' }),
      ),
      async () => {
        await post('/v1/auth/recover', { phone: phone.value, code: code.value, newPassword: next.value });
        code.value = '';
        next.value = '';
        toast('Your new password is set. Sign in with it, then make a new recovery kit.');
        location.hash = '#/signin';
      },
    ),
  );
}

registerRoute({ name: 'recover', pattern: '/recover', public: true, view: recoverView });
