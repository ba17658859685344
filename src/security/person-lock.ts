import { join } from 'node:path';
import type { UserId } from '../core/entry.js';
import { storageError } from '../core/errors.js';
import { ensurePrivateDir, KeyedMutex, userDir, withFileLock } from './crypto-fs.js';

/**
 * Shared by every instance in this process: two stores over one data dir (the server's and a test's, or a
 * command run in-process) must queue behind each other too, not only behind the lock file.
 */
const queue = new KeyedMutex<string>();

/**
 * Runs `fn` as the only writer of one per-person file (`dataDir/users/<E164>/<name>`): queued behind every
 * other caller in this process, and holding `<name>.lock` against every other memvault process on this host
 * (the CLI beside the server). Every read-modify-write of a per-person file goes through here, and the read
 * happens inside `fn`: a value read before the lock may already be stale when it is written back.
 * @throws STORAGE_ERROR when the folder cannot be created or another live process holds the lock too long.
 */
export async function withPersonFile<T>(
  dataDir: string,
  userId: UserId,
  name: string,
  fn: () => Promise<T>,
): Promise<T> {
  if (name.includes('/') || name.includes('\\') || name.startsWith('.')) {
    // Names are constants of the code, never typed by a person; this guards a future caller's mistake.
    throw storageError('A per-person file name must be a plain file name.');
  }
  const dir = userDir(dataDir, userId);
  const file = join(dir, name);
  return queue.run(file, async () => {
    await ensurePrivateDir(dir).catch((error: unknown) => {
      throw storageError('Could not create the person’s folder.', error, { userId });
    });
    return withFileLock(file, fn);
  });
}
