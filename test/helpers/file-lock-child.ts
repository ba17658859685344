/**
 * Another process for file-lock.test.ts: tries to take the lock at argv[2] within argv[3] ms and prints
 * `acquired` or `timed out`.
 */
import { acquireFileLock, LockTimeoutError } from '../../src/infra/file-lock.js';

const [path, timeoutMs] = process.argv.slice(2) as [string, string];
try {
  const lock = await acquireFileLock(path, { timeoutMs: Number(timeoutMs) });
  await lock.release();
  process.stdout.write('acquired\n');
} catch (error) {
  if (!(error instanceof LockTimeoutError)) throw error;
  process.stdout.write('timed out\n');
}
