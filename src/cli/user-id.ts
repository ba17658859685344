import type { UserId } from '../core/entry.js';

/**
 * `normalizeUserId` behind a dynamic import: its phone-number metadata (libphonenumber-js) is the largest module
 * a command line needs, and `--version`, `--help` and usage errors need none of it.
 */
export async function normalizeUser(phone: string): Promise<UserId> {
  const { normalizeUserId } = await import('../core/user-id.js');
  return normalizeUserId(phone);
}
