import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { UserId } from '../core/entry.js';
import { MemvaultError, storageError, validationError } from '../core/errors.js';
import { isUserId } from '../core/e164.js';
import { LockTimeoutError, withFileLock } from '../infra/file-lock.js';
import type { ImportLedger } from '../ports/vault.js';

const DIGEST = /^[0-9a-f]{64}$/;

/**
 * The import ledger as an append-only file in the person's folder, `IMPORTS.<E164>.log`: one SHA-256 of
 * (user id, external id) per line, never the id itself. A torn last line (a crash mid-append) is ignored; the
 * message it belonged to is stored, and at worst imported once more by the next run.
 */
export class FsImportLedger implements ImportLedger {
  readonly #dataDir: string;

  constructor(options: { readonly dataDir: string }) {
    this.#dataDir = options.dataDir;
  }

  path(userId: UserId): string {
    // The user id is the only part of the path that varies, and it must be an E.164 number.
    if (!isUserId(userId)) throw validationError('Not a user id: expected an E.164 phone number.');
    return join(this.#dataDir, 'users', userId, `IMPORTS.${userId}.log`);
  }

  async known(userId: UserId, externalIds: readonly string[]): Promise<Set<string>> {
    let text: string;
    try {
      text = await readFile(this.path(userId), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
      throw storageError(`Could not read the import ledger of ${userId}.`, error);
    }
    const digests = new Set(text.split('\n').filter((l) => DIGEST.test(l)));
    return new Set(externalIds.filter((id) => digests.has(digestOf(userId, id))));
  }

  async exclusive<T>(userId: UserId, run: () => Promise<T>): Promise<T> {
    const lock = `${this.path(userId)}.lock`;
    try {
      // A short wait covers a lock being released; an import in progress holds it for minutes.
      return await withFileLock(lock, run, { timeoutMs: 2_000 });
    } catch (error) {
      // Only this lock's timeout means another import; any other (the vault's own locks) stays what it is.
      if (!(error instanceof LockTimeoutError) || error.path !== lock) throw error;
      throw new MemvaultError(
        'CONFLICT',
        `Another import for ${userId} is running. Let it finish, then run this one again: it skips what is already imported.`,
      );
    }
  }

  async record(userId: UserId, externalId: string): Promise<void> {
    const file = this.path(userId);
    try {
      const handle = await open(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
      try {
        // A line starting on a fresh line even after a torn write: the torn fragment stays its own bad line.
        await handle.write(`\n${digestOf(userId, externalId)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (error) {
      throw storageError(`Could not record the import in ${file}.`, error);
    }
  }
}

function digestOf(userId: UserId, externalId: string): string {
  return createHash('sha256').update(`memvault-import\u0000${userId}\u0000${externalId}`, 'utf8').digest('hex');
}
