import { validationError } from './errors.js';

/** The levels a token may carry: reading levels 3–4 always needs the person present (TOTP, passkey). */
export type TokenLevel = 1 | 2;

const NAME_SHAPE = /^[\p{L}\p{N} ._()'’-]{1,64}$/u;

/** Checks a token name a person typed: 1–64 letters, digits, spaces and simple punctuation. */
export function parseTokenName(name: unknown): string {
  const trimmed = typeof name === 'string' ? name.trim().normalize('NFC') : '';
  if (!NAME_SHAPE.test(trimmed)) {
    throw validationError(
      'Give the token a name of 1–64 letters, digits, spaces or . _ ( ) - \' (e.g. "Claude Desktop").',
      {
        field: 'name',
      },
    );
  }
  return trimmed;
}

/** Checks requested levels: 1 always, 2 optionally; never 3 or 4 (those need a person present). */
export function parseTokenLevels(levels: readonly number[]): TokenLevel[] {
  const set = new Set(levels.length === 0 ? [1] : levels);
  for (const level of set) {
    if (level === 3 || level === 4) {
      throw validationError(
        `A token can never read level ${level}: secret and ultra-secret memories need you present (code, passkey).`,
        { field: 'levels' },
      );
    }
    if (level !== 1 && level !== 2) throw validationError('Token levels are 1 or 1,2.', { field: 'levels' });
  }
  set.add(1);
  return [...set].sort() as TokenLevel[];
}

const DURATION = /^(\d{1,4})([hdw])$/;
const UNIT_MS: Readonly<Record<string, number>> = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** Parses `--expires 90d` (h, d, w; at most 5 years; "never" for none) into an instant after `now`. */
export function parseExpiry(value: string | undefined, now: Date): Date | null {
  if (value === undefined || value === 'never') return null;
  const match = DURATION.exec(value.trim());
  const ms = match ? Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? 0) : 0;
  if (!match || ms <= 0 || ms > 5 * 366 * 86_400_000) {
    throw validationError('Expiry is a duration like 12h, 90d or 8w (at most five years), or "never".', {
      field: 'expires',
    });
  }
  return new Date(now.getTime() + ms);
}
