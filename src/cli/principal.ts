import type { SecurityLevel } from '../core/category.js';
import { isUserId } from '../core/e164.js';
import type { UserId } from '../core/entry.js';
import { validationError } from '../core/errors.js';
import type { Principal } from '../services/types.js';
import { readPassword } from './io.js';
import { normalizeUser } from './user-id.js';
import type { CliApp, CliRuntime, GlobalOptions } from './runtime.js';

export interface UnlockOptions {
  readonly passwordStdin?: boolean;
  readonly totp?: string;
}

/**
 * The principal for one command. The local operator reads level 1 (and level 2 of a person who has set no
 * password); `--password-stdin` unlocks level 2 and, with `--totp CODE`, level 3. Level 4 needs a passkey,
 * which only the web app can present.
 */
export async function cliPrincipal(
  app: CliApp,
  runtime: CliRuntime,
  userId: UserId,
  options: UnlockOptions,
): Promise<Principal> {
  const meta = { channel: 'cli', userAgent: `memvault-cli/${runtime.version}` };
  if (options.totp !== undefined && !options.passwordStdin) {
    throw validationError('--totp needs --password-stdin too: SECRET takes the password and a code.');
  }
  if (!options.passwordStdin) {
    const opener = await app.operatorOpener(userId);
    await app.resumeRotation(userId);
    return { userId, opener, meta };
  }
  const password = await readPassword(runtime.stdin);
  const levels: SecurityLevel[] = options.totp === undefined ? [1, 2] : [1, 2, 3];
  const opener = await app.auth.openerFor(
    userId,
    levels,
    { password, ...(options.totp === undefined ? {} : { totp: options.totp }) },
    meta,
  );
  // Only after the sign-in checked the password (with its lockout and audit): an interrupted key rotation is
  // finished with it, so the entries still sealed to the old keys open again.
  await app.resumeRotation(userId, password);
  return { userId, opener, meta };
}

/** Runs `fn` on an opened memvault and closes it however `fn` ends. */
export async function withApp<T>(
  runtime: CliRuntime,
  options: GlobalOptions,
  fn: (app: CliApp) => Promise<T>,
): Promise<T> {
  const app = await runtime.open(options);
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}

/**
 * The common shape of a per-person command: validate `--user` before touching anything, open the memvault,
 * build the principal from the unlock options, run, close.
 */
export async function asUser<T>(
  runtime: CliRuntime,
  options: GlobalOptions & UnlockOptions & { readonly user: string },
  fn: (app: CliApp, principal: Principal) => Promise<T>,
): Promise<T> {
  if (isUserId(options.user.trim())) {
    // Already E.164: a known person needs no phone-number metadata (see normalizeUser).
    return withApp(runtime, options, async (app) => {
      const userId = await normalizeUser(options.user, (id) => app.hasUser(id));
      return fn(app, await cliPrincipal(app, runtime, userId, options));
    });
  }
  const userId = await normalizeUser(options.user);
  return withApp(runtime, options, async (app) => fn(app, await cliPrincipal(app, runtime, userId, options)));
}
