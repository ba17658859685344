import { type CountryCode, parsePhoneNumberWithError } from 'libphonenumber-js/max';
import type { UserId } from './entry.js';
import { E164 } from './e164.js';
import { validationError } from './errors.js';

const MAX_INPUT = 64;
// Digits, spaces and the punctuation people type in phone numbers; nothing else gets near the parser.
const PHONE_SHAPE = /^\+?[0-9 ().-]{3,40}$/;

/**
 * Validates a phone number and normalises it to E.164 ("+1 (415) 555-0134" → "+14155550134").
 * This is the only way a string becomes a `UserId`, and a `UserId` is the only user input that reaches a path.
 * @throws MemvaultError VALIDATION_ERROR for anything that is not a valid phone number.
 */
export function normalizeUserId(input: string, defaultCountry?: CountryCode): UserId {
  const invalid = () =>
    validationError('Not a valid phone number. Use international format, e.g. +14155550134.', { field: 'phone' });
  if (typeof input !== 'string' || input.length === 0 || input.length > MAX_INPUT) throw invalid();
  const trimmed = input.trim();
  if (!PHONE_SHAPE.test(trimmed)) throw invalid();
  let parsed: ReturnType<typeof parsePhoneNumberWithError>;
  try {
    parsed = parsePhoneNumberWithError(trimmed, defaultCountry ? { defaultCountry } : undefined);
  } catch (cause) {
    throw validationError(
      'Not a valid phone number. Use international format, e.g. +14155550134.',
      { field: 'phone' },
      cause,
    );
  }
  if (!parsed.isValid()) throw invalid();
  const e164 = parsed.number;
  if (!E164.test(e164)) throw invalid();
  return e164 as UserId;
}

export { isUserId } from './e164.js';
