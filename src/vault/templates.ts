import {
  type Category,
  categoryLabel,
  LEVEL_NAMES,
  levelOf,
  type SecurityLevel,
  isSecurityLevel,
} from '../core/category.js';
import type { UserId } from '../core/entry.js';
import { corruption, validationError } from '../core/errors.js';
import type { NewUser, UserProfile } from '../ports/vault.js';
import { decodeInline, encodeInline, hasUnsafeCharacters, isIsoUtc } from './markdown-codec.js';

/** Version of the file format written in every file header (docs/entry-format.md). */
export const FORMAT_VERSION = 1;

const PURPOSE: Readonly<Record<Category, string>> = {
  CHRONOLOGICAL: 'Timeline events: what happened and when, in the order it was recorded.',
  GENERAL: 'Reusable facts and preferences: what stays true about your life.',
  CONFIDENTIAL: 'Private matters: health, money, relationships, legal. Reading them takes your password.',
  SECRET:
    'Restricted data: credentials, identity and account numbers. Reading them takes your password and a one-time ' +
    'code; even their dates stay sealed.',
  ULTRASECRET:
    'The most sensitive memories. Reading them takes your password and your passkey (biometric); even their ' +
    'dates stay sealed.',
};

/**
 * The header a category file starts with. It ends with a `---` line and a blank line, like every entry, so a
 * file is always a sequence of complete units (see "Durability" in docs/entry-format.md).
 */
export function categoryHeader(userId: UserId, category: Category): string {
  const level = levelOf(category);
  return [
    `# ${categoryLabel(category)} memories of ${userId}`,
    '',
    PURPOSE[category],
    '',
    `- **Security Level**: ${level} (${LEVEL_NAMES[level]})`,
    `- **Format**: memvault entry format ${FORMAT_VERSION} (docs/entry-format.md). New entries are appended below.`,
    '  Each carries a checksum: change entries with `memvault`, not in an editor.',
    '',
    '---',
    '',
    '',
  ].join('\n');
}

import { isTimeZone } from '../core/time-zone.js';

export { isTimeZone };

const EMAIL = /^[^\s@"<>,;]+@[^\s@"<>,;]+\.[^\s@"<>,;]+$/;
const PREFERENCE_KEY = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Validates a new user's data and builds the profile.
 * @throws MemvaultError VALIDATION_ERROR naming the field.
 */
export function buildProfile(user: NewUser, createdAt: string): UserProfile {
  let name: string | null = null;
  if (user.name !== undefined && user.name !== null) {
    if (typeof user.name !== 'string') throw validationError('The name must be text.', { field: 'name' });
    const trimmed = user.name.trim();
    if (trimmed.length > 200 || trimmed.includes('\n') || hasUnsafeCharacters(trimmed)) {
      throw validationError('The name must be one line of at most 200 characters.', { field: 'name' });
    }
    name = trimmed.length > 0 ? trimmed : null;
  }
  const timezone = user.timezone ?? 'UTC';
  if (!isTimeZone(timezone)) {
    throw validationError('Unknown time zone. Use an IANA name such as Europe/Lisbon.', { field: 'timezone' });
  }
  let email: string | null = null;
  if (user.email !== undefined && user.email !== null && user.email !== '') {
    if (typeof user.email !== 'string' || user.email.length > 254 || !EMAIL.test(user.email)) {
      throw validationError('Not a valid e-mail address.', { field: 'email' });
    }
    email = user.email;
  }
  const maxLevel = user.maxLevel ?? 4;
  if (!isSecurityLevel(maxLevel)) throw validationError('The maximum level must be 1 to 4.', { field: 'maxLevel' });
  const preferences: Record<string, string> = {};
  for (const [key, value] of Object.entries(user.preferences ?? {})) {
    if (!PREFERENCE_KEY.test(key)) {
      throw validationError('Preference names use letters, digits, "_", "." and "-" (at most 64).', {
        field: 'preferences',
      });
    }
    if (typeof value !== 'string' || value.length > 1000) {
      throw validationError('Preference values must be text of at most 1000 characters.', { field: 'preferences' });
    }
    preferences[key] = value;
  }
  return { userId: user.userId, name, timezone, createdAt, maxLevel, email, preferences };
}

const PROFILE_FIELDS = {
  phone: '- **Phone**: ',
  name: '- **Name**: ',
  timezone: '- **Time Zone**: ',
  email: '- **Email**: ',
  maxLevel: '- **Maximum Level**: ',
  createdAt: '- **Created**: ',
} as const;

const nullable = (value: string | null) => (value === null ? 'none' : encodeInline(value));

/** Renders the USER file: profile and preferences, in plain Markdown (it holds no memories). */
export function renderProfile(profile: UserProfile): string {
  const prefs = Object.entries(profile.preferences).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return [
    `# Memory profile of ${profile.userId}`,
    '',
    'Who this vault belongs to and how memvault should treat them. Security level 1 (Standard).',
    `Format: memvault entry format ${FORMAT_VERSION} (docs/entry-format.md).`,
    '',
    '## Profile',
    '',
    `${PROFILE_FIELDS.phone}${profile.userId}`,
    `${PROFILE_FIELDS.name}${nullable(profile.name)}`,
    `${PROFILE_FIELDS.timezone}${profile.timezone}`,
    `${PROFILE_FIELDS.email}${nullable(profile.email)}`,
    `${PROFILE_FIELDS.maxLevel}${profile.maxLevel} (${LEVEL_NAMES[profile.maxLevel]})`,
    `${PROFILE_FIELDS.createdAt}${profile.createdAt}`,
    '',
    '## Preferences',
    '',
    ...(prefs.length === 0 ? ['_none_'] : prefs.map(([key, value]) => `- **${key}**: ${encodeInline(value)}`)),
    '',
    '---',
    '',
    '',
  ].join('\n');
}

/**
 * Parses the USER file.
 * @throws MemvaultError DATA_CORRUPTION naming the file's problem.
 */
export function parseProfile(text: string, userId: UserId): UserProfile {
  const lines = text.split('\n');
  const damaged = (what: string) =>
    corruption(`The profile of ${userId} is damaged: ${what}. Restore it from a backup.`, { userId });
  const field = (prefix: string): string => {
    const line = lines.find((l) => l.startsWith(prefix));
    if (line === undefined) throw damaged(`"${prefix.slice(2).trim()}" is missing`);
    return line.slice(prefix.length);
  };
  if (field(PROFILE_FIELDS.phone) !== userId) throw damaged('it names another phone number');
  const nameText = field(PROFILE_FIELDS.name);
  const emailText = field(PROFILE_FIELDS.email);
  const timezone = field(PROFILE_FIELDS.timezone);
  if (!isTimeZone(timezone)) throw damaged('unknown time zone');
  const maxLevel = Number(field(PROFILE_FIELDS.maxLevel).split(' ')[0]) as SecurityLevel;
  if (!isSecurityLevel(maxLevel)) throw damaged('bad maximum level');
  const createdAt = field(PROFILE_FIELDS.createdAt);
  if (!isIsoUtc(createdAt)) throw damaged('bad creation time');
  const preferences: Record<string, string> = {};
  const start = lines.indexOf('## Preferences');
  for (let i = start + 1; start >= 0 && i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line === '---') break;
    const match = /^- \*\*([A-Za-z0-9_.-]{1,64})\*\*: (.+)$/.exec(line);
    if (match?.[1] && match[2] !== undefined) preferences[match[1]] = decodeInline(match[2], 'preference');
  }
  return {
    userId,
    name: nameText === 'none' ? null : decodeInline(nameText, 'name'),
    timezone,
    createdAt,
    maxLevel,
    email: emailText === 'none' ? null : decodeInline(emailText, 'email'),
    preferences,
  };
}
