import { isUserId } from '../core/e164.js';
import type { UserId } from '../core/entry.js';

/**
 * `normalizeUserId` behind a dynamic import: its phone-number metadata (libphonenumber-js) is the largest module
 * a command line needs, and `--version`, `--help` and usage errors need none of it.
 *
 * With `known`, an id already in E.164 form that names an existing person is taken as it is: it was validated
 * when that person was created, and the strict E.164 shape is all that reaches a path. Anything else goes
 * through the full phone-number validation.
 */
export async function normalizeUser(phone: string, known?: (userId: UserId) => Promise<boolean>): Promise<UserId> {
  if (known !== undefined && typeof phone === 'string') {
    const trimmed = phone.trim();
    if (isUserId(trimmed) && (await known(trimmed))) return trimmed;
  }
  const { normalizeUserId } = await import('../core/user-id.js');
  return normalizeUserId(phone);
}
