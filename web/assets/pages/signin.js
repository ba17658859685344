import { post } from '../api.js';
import { field, h, onSubmit, PASSWORD_MIN, page, toast } from '../dom.js';
import { registerRoute } from '../router.js';
import { refreshMe } from '../state.js';
import { showRecoveryKit } from './account.js';

/** Sign in, or create an account: the one page reachable signed out. */

function signInView() {
  const phone = h('input', {
    type: 'tel',
    name: 'phone',
    autocomplete: 'tel',
    required: true,
    placeholder: '+14155550134',
  });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const signIn = onSubmit(
    h(
      'form',
      { class: 'panel', 'aria-labelledby': 'signin-h' },
      h('h2', { id: 'signin-h', text: 'Sign in' }),
      field('Phone number', phone),
      field('Password', password),
      h('button', { type: 'submit', class: 'primary', text: 'Sign in' }),
      h('p', { class: 'hint' }, h('a', { href: '#/recover', text: 'Forgot your password?' })),
    ),
    async () => {
      await post('/v1/auth/sign-in', { phone: phone.value, password: password.value, session: 'cookie' });
      password.value = '';
      await refreshMe();
      location.hash = '#/';
    },
  );

  const newPhone = h('input', {
    type: 'tel',
    name: 'phone',
    autocomplete: 'tel',
    required: true,
    placeholder: '+14155550134',
  });
  const name = h('input', { type: 'text', name: 'name', autocomplete: 'name' });
  const newPassword = h('input', {
    type: 'password',
    name: 'new-password',
    'data-field': 'password',
    autocomplete: 'new-password',
    required: true,
    // The browser counts UTF-16 units, the server characters: the browser's check only ever lets more through.
    minlength: PASSWORD_MIN > 0 ? String(PASSWORD_MIN) : undefined,
  });
  const timezone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const signUp = onSubmit(
    h(
      'form',
      { class: 'panel', 'aria-labelledby': 'signup-h' },
      h('h2', { id: 'signup-h', text: 'Create an account' }),
      field('Phone number', newPhone, 'International format, e.g. +14155550134.'),
      field('Name (optional)', name),
      field(
        'Choose a password',
        newPassword,
        `${PASSWORD_MIN > 0 ? `At least ${PASSWORD_MIN} characters; it` : 'It'} also encrypts your private levels.`,
      ),
      h('p', {
        class: 'hint',
        text: 'Right after the account is made you get a recovery code, shown once: if you forget your password, it brings back your Confidential and Secret memories. Ultra-secret memories open only with your passkey: lose it and nobody, not even the operator, can open them.',
      }),
      h('button', { type: 'submit', class: 'primary', text: 'Create account' }),
    ),
    async () => {
      // The recovery kit is made within the sign-up and its code shown right away, once (issue 12 §5).
      const made = await post('/v1/auth/sign-up', {
        phone: newPhone.value,
        password: newPassword.value,
        ...(name.value.trim() ? { name: name.value.trim() } : {}),
        timezone,
        session: 'cookie',
        recoveryKit: true,
      });
      newPassword.value = '';
      await refreshMe();
      if (made?.recoveryKit) {
        showRecoveryKit(made.recoveryKit, { next: '#/', signUp: true });
        return;
      }
      // The account is made but the kit could not be: say so, and offer it where it lives.
      toast('Welcome to memvault. Make your recovery kit now, in case you forget your password.', 'ok', {
        label: 'Make it',
        run: () => {
          location.hash = '#/settings';
        },
      });
      location.hash = '#/';
    },
  );
  page(
    'Your private memory',
    h('p', { class: 'lead', text: 'Capture what happens in your life; memvault classifies, encrypts and recalls it.' }),
    h('div', { class: 'grid two' }, signIn, signUp),
  );
}

registerRoute({ name: 'signin', pattern: '/signin', public: true, view: signInView });
