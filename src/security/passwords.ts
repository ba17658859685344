import type { UserId } from '../core/entry.js';
import { validationError } from '../core/errors.js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../core/password-rule.js';
import { commonPasswords } from './common-passwords.js';

export { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH };

/** What the policy may check a password against besides the common list. */
export interface PasswordContext {
  readonly userId?: UserId;
  readonly name?: string | null;
}

/**
 * The canonical form every password takes before it reaches the keyring: NFKC, so that the same characters
 * typed on different keyboards or platforms (full-width digits, composed vs decomposed accents) unlock alike.
 */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

const LEET: Readonly<Record<string, string>> = {
  '0': 'o',
  '1': 'i',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '7': 't',
  '8': 'b',
  '@': 'a',
  $: 's',
  '!': 'i',
  '|': 'l',
};

/** Digits and symbols people pad a weak word with ("summer2024!", "!!password1"). */
const PADDING = /^[\p{N}\p{P}\p{S}\s]*(.*?)[\p{N}\p{P}\p{S}\s]*$/u;

function unleet(text: string): string {
  let out = '';
  for (const ch of text) out += LEET[ch] ?? ch;
  return out;
}

/**
 * True when the password is one of the most common passwords, or one of them with digits or symbols around
 * it, or with the usual letter-for-symbol substitutions ("P@ssw0rd123!").
 */
export function isCommonPassword(password: string): boolean {
  const list = commonPasswords();
  const lower = normalizePassword(password).toLowerCase();
  if (list.has(lower)) return true;
  const candidates = new Set<string>([unleet(lower)]);
  const core = PADDING.exec(lower)?.[1] ?? lower;
  candidates.add(core);
  candidates.add(unleet(core));
  const unleetedCore = PADDING.exec(unleet(lower))?.[1];
  if (unleetedCore !== undefined) candidates.add(unleetedCore);
  for (const candidate of candidates) {
    // A core of one or two letters is not a "word" anybody guesses first; the length rule covers the rest.
    if (candidate.length >= 3 && list.has(candidate)) return true;
  }
  return false;
}

function digitsOf(text: string): string {
  return text.replace(/\D+/gu, '');
}

/**
 * Checks a new password against the policy and returns its normalised form (the one to hand to the keyring).
 * Rules: 10–256 characters after NFKC, any characters allowed; not one of the ~49k most common passwords
 * (also padded or with symbol substitutions); not made of one repeated character; not containing the user's
 * phone number or name.
 * @throws MemvaultError VALIDATION_ERROR (`details.field = "password"`, `details.rule`) naming what to change.
 */
export function checkPasswordPolicy(password: string, context: PasswordContext = {}): string {
  const refuse = (rule: string, message: string) => validationError(message, { field: 'password', rule });
  if (typeof password !== 'string') throw refuse('type', 'The password must be text.');
  const normalized = normalizePassword(password);
  const length = [...normalized].length;
  if (length < PASSWORD_MIN_LENGTH) {
    throw refuse(
      'too_short',
      `The password is too short: use at least ${PASSWORD_MIN_LENGTH} characters (a few unrelated words work well).`,
    );
  }
  if (length > PASSWORD_MAX_LENGTH) {
    throw refuse('too_long', `The password is too long: use at most ${PASSWORD_MAX_LENGTH} characters.`);
  }
  if (normalized.trim().length === 0) throw refuse('blank', 'The password cannot be only spaces.');
  if (new Set(normalized).size === 1) {
    throw refuse('repeated', 'The password repeats a single character; choose something harder to guess.');
  }
  if (isCommonPassword(normalized)) {
    throw refuse(
      'common',
      'This password is among the most common passwords and is guessed first by attackers; choose another.',
    );
  }
  if (context.userId !== undefined) {
    // The last 7 digits identify a number in any format the person may type it ("555-0134", "+1 415…").
    const phoneDigits = digitsOf(context.userId);
    const tail = phoneDigits.slice(-7);
    if (tail.length >= 7 && digitsOf(normalized).includes(tail)) {
      throw refuse('contains_phone', 'The password contains your phone number; choose one that does not.');
    }
  }
  const name = context.name?.normalize('NFKC').toLowerCase().trim();
  if (name) {
    const lower = normalized.toLowerCase();
    const compact = name.replace(/[\s.,'’-]+/gu, '');
    const parts = [compact, ...name.split(/[\s.,'’-]+/u)].filter((part) => [...part].length >= 3);
    if (parts.some((part) => lower.includes(part))) {
      throw refuse('contains_name', 'The password contains your name; choose one that does not.');
    }
  }
  return normalized;
}
