import { get } from '../api.js';
import { h, LEVEL_NAMES, page, when } from '../dom.js';
import { registerRoute } from '../router.js';

/** The audit log in words: what happened, whether it worked, from where, how usual it was. */

const levelName = (level) => (level ? `Level ${level} · ${LEVEL_NAMES[level]}` : '');

/** What each audited action means to the person, as a sentence; `level` is the level concerned, if any. */
const AUDIT_ACTIONS = {
  enroll: () => 'Account created',
  sign_in: () => 'Signed in',
  signin: () => 'Signed in',
  sign_out: () => 'Signed out',
  signout: () => 'Signed out',
  sign_out_everywhere: () => 'Signed out on every device',
  session_expire: () => 'A session ended after being idle',
  unlock: (level) => `Unlocked ${levelName(level)}`,
  unlock_once: (level) => `Opened ${levelName(level)} for one command`,
  lock: () => 'Locked the levels above 1',
  password_change: () => 'Changed the password',
  totp_enroll: () => 'Set up an authenticator app',
  passkey_register: () => 'Registered a passkey',
  memory_read: (level) => `Opened a memory in ${levelName(level)}`,
  search: () => 'Searched your memories',
  memory_corrected: (level) => `Moved a memory to another category (touching ${levelName(level)})`,
  memory_deleted: (level) => (level ? `Erased a memory from ${levelName(level)} for good` : 'Emptied the trash'),
  memory_edited: (level) => `Edited a memory's text (touching ${levelName(level)})`,
  memory_trashed: (level) => `Moved a memory from ${levelName(level)} to the trash`,
  memory_restored: (level) => `Restored a memory to ${levelName(level)} from the trash`,
  export: () => 'Exported the vault',
  'keys.rotate': () => 'Replaced the encryption keys',
  'keys.finish_rotation': () => 'Finished replacing the encryption keys',
};

/** Why an attempt failed, in words. */
const AUDIT_REASONS = {
  authentication_failed: 'wrong password, code or passkey',
  totp_replayed: 'an authenticator code that had already been used',
  biometric_failed: 'the passkey was not accepted',
  locked_out: 'too many failed attempts; blocked for a while',
  credentials_changed: 'the password had been changed elsewhere',
  second_factor_required: 'a second factor is needed',
  time_restriction: 'not allowed at this time of day',
  rate_limited: 'too many requests',
  no_password: 'the account has no password',
};

/** A refused or failed attempt, said as one ("Tried to unlock…"), never as if it had happened. */
const AUDIT_ATTEMPTS = {
  sign_in: () => 'Tried to sign in',
  signin: () => 'Tried to sign in',
  unlock: (level) => `Tried to unlock ${levelName(level)}`,
  unlock_once: (level) => `Tried to open ${levelName(level)} for one command`,
  password_change: () => 'Tried to change the password',
  totp_enroll: () => 'Tried to set up an authenticator app',
  passkey_register: () => 'Tried to register a passkey',
};

function auditWhat(record) {
  const describe =
    (record.result === 'success' ? undefined : AUDIT_ATTEMPTS[record.action]) ?? AUDIT_ACTIONS[record.action];
  const text = describe
    ? describe(record.level)
    : `${record.action.replaceAll(/[_.]/g, ' ')} ${levelName(record.level)}`;
  return text.trim();
}

function auditResult(record) {
  const outcome = { success: 'Done', failure: 'Failed', denied: 'Refused' }[record.result] ?? record.result;
  if (record.result === 'success' || !record.reason) return outcome;
  return `${outcome}: ${AUDIT_REASONS[record.reason] ?? record.reason.replaceAll('_', ' ')}`;
}

/** The risk score (0–1, docs/security.md) as words; the number stays in the tooltip. */
function auditRisk(risk) {
  if (risk >= 0.7) return 'Unusual';
  if (risk >= 0.3) return 'Somewhat unusual';
  return 'Usual';
}

async function auditView() {
  const { records } = await get('/v1/audit?limit=200');
  const table = h(
    'table',
    {},
    h('caption', {
      text: 'Sign-ins, unlocks, opened sealed memories, searches, category changes and deletions, newest first. The words you search for are never recorded.',
    }),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['When', 'What happened', 'Result', 'From', 'How usual'].map((t) => h('th', { scope: 'col', text: t })),
      ),
    ),
    h(
      'tbody',
      {},
      records.map((r) =>
        h(
          'tr',
          { class: r.result, 'data-action': r.action },
          h('td', { 'data-label': 'When' }, h('time', { datetime: r.at, text: when(r.at) })),
          h('td', { 'data-label': 'What happened', text: auditWhat(r) }),
          h('td', { 'data-label': 'Result', text: auditResult(r) }),
          h('td', { 'data-label': 'From', text: r.ip ?? '' }),
          h('td', {
            'data-label': 'How usual',
            text: auditRisk(r.risk),
            title: `Risk ${r.risk.toFixed(2)} of 1: new device, new network, unusual hour and recent failures raise it.`,
          }),
        ),
      ),
    ),
  );
  page('Audit log', h('div', { class: 'panel table-wrap audit' }, table));
}

registerRoute({ name: 'audit', pattern: '/audit', nav: { label: 'Audit log', order: 40 }, view: auditView });
