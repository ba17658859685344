import type { UserId } from './entry.js';

/**
 * The shape of a normalised user id: E.164, "+" and 7–15 digits. Kept apart from `normalizeUserId` so that code
 * reading ids back (folder names, records) does not load the phone-number metadata.
 */
export const E164 = /^\+[1-9][0-9]{6,14}$/;

/** True for a string that is already a normalised E.164 user id (used when reading folder names back). */
export function isUserId(value: string): value is UserId {
  return E164.test(value);
}
