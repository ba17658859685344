import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { CATEGORIES, type Category } from '../core/category.js';
import type { UserId } from '../core/entry.js';
import { MemvaultError, notFound, storageError, validationError } from '../core/errors.js';
import { isUserId } from '../core/e164.js';
import { fsyncDirectory, tempTarget, writeFileAtomic } from '../infra/atomic-file.js';
import { type FileLock, LockTimeoutError, acquireFileLock, isProcessAlive } from '../infra/file-lock.js';
import type { BackupListing, BackupStore, BackupSummary, RecoveryReport } from '../ports/backup.js';
import { type Clock, systemClock } from '../ports/clock.js';
import {
  BACKUP_FORMAT,
  BACKUP_FORMAT_VERSION,
  type BackupFile,
  BackupKeys,
  type BackupManifest,
  backupError,
  backupFileNames,
  contentRevision,
  countEntries,
  keyringSummary,
  packBackupStream,
  requiredFileNames,
  sha256Hex,
  unpackBackup,
} from './archive.js';

/** Writes a finished archive; injectable so tests can make the disk full. Must leave no partial file behind. */
/** Writes an archive's chunks, as they are produced, to a new file (tests inject a full disk here). */
export type ArchiveWriter = (path: string, archive: AsyncIterable<Uint8Array>) => Promise<void>;

export interface FsBackupStoreOptions {
  readonly dataDir: string;
  readonly masterKey: Uint8Array;
  /** Default `<dataDir>/backups`. */
  readonly backupDir?: string;
  /** Further age recipients (`age1…`) every backup is also encrypted to, e.g. an offline key. */
  readonly extraRecipients?: readonly string[];
  readonly clock?: Clock;
  readonly lockTimeoutMs?: number;
  readonly writeArchive?: ArchiveWriter;
  /** Writes one staged file of a restore durably; injectable so tests can make the disk full mid-restore. */
  readonly writeStaged?: (path: string, bytes: Uint8Array) => Promise<void>;
}

const SUFFIX = '.mvbackup';
const BACKUP_NAME = /^(\+[1-9]\d{1,14})-(\d{8}T\d{9}Z)-[0-9a-f]{6}\.mvbackup$/;
const STAGING_PREFIX = '.restoring.';
const PREVIOUS_PREFIX = '.previous.';
const DELETING_PREFIX = '.deleting.';
const JOURNAL_PREFIX = '.restore.';
/** Archives are checked in memory; anything larger than this is no backup of ours. */
const MAX_ARCHIVE_BYTES = 2 * 1024 ** 3 - 1;

const errno = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code;

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (errno(error) === 'ENOENT') return false;
    throw error;
  }
}

async function defaultWriter(path: string, archive: AsyncIterable<Uint8Array>): Promise<void> {
  // Exclusive: a backup never replaces another file.
  if (!(await writeFileAtomic(path, archive, { exclusive: true }))) {
    throw new MemvaultError('CONFLICT', `${path} already exists; choose another --out file.`);
  }
}

/** Writes `bytes` to a new file and makes it durable (staging of a restore). */
async function writeDurable(path: string, bytes: Uint8Array): Promise<void> {
  const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

const stamp = (d: Date) => d.toISOString().replace(/[-:.]/g, '');
const fromStamp = (s: string) =>
  `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}.${s.slice(15, 18)}Z`;

interface Journal {
  readonly userId: UserId;
  readonly staging: string;
  readonly previous: string;
}

/**
 * Per-person backups on the local file system (DESIGN §8, docs/backup.md): `<backupDir>/<E164>/<E164>-<time>-<rand>.mvbackup`,
 * each age(gzip(tar)) of the person's folder with a MAC'd manifest; restores swap whole folders through a journal.
 */
export class FsBackupStore implements BackupStore {
  readonly #dataDir: string;
  readonly #usersDir: string;
  readonly #backupDir: string;
  readonly #keys: BackupKeys;
  readonly #clock: Clock;
  readonly #lockTimeoutMs: number;
  readonly #write: ArchiveWriter;
  readonly #writeStaged: (path: string, bytes: Uint8Array) => Promise<void>;

  constructor(options: FsBackupStoreOptions) {
    this.#dataDir = resolve(options.dataDir);
    this.#usersDir = join(this.#dataDir, 'users');
    this.#backupDir = resolve(options.backupDir ?? join(this.#dataDir, 'backups'));
    for (const r of options.extraRecipients ?? []) {
      if (!/^age1[02-9ac-hj-np-z]{58}$/.test(r)) {
        throw validationError('MEMVAULT_BACKUP_RECIPIENT must be age X25519 recipients (age1…), comma-separated.', {
          variable: 'MEMVAULT_BACKUP_RECIPIENT',
        });
      }
    }
    this.#keys = new BackupKeys(options.masterKey, options.extraRecipients);
    this.#clock = options.clock ?? systemClock;
    this.#lockTimeoutMs = options.lockTimeoutMs ?? 30_000;
    this.#write = options.writeArchive ?? defaultWriter;
    this.#writeStaged = options.writeStaged ?? writeDurable;
  }

  /** The age recipient this instance encrypts backups to. */
  recipient(): Promise<string> {
    return this.#keys.recipient();
  }

  async create(userId: UserId, options: { readonly out?: string } = {}): Promise<BackupSummary> {
    const dir = this.#userDir(userId);
    if (!(await exists(join(dir, `USER.${userId}.md`)))) throw notFound(`No person ${userId} in this vault.`);
    const target = options.out === undefined ? await this.#newBackupPath(userId) : this.#outPath(options.out);
    const createdAt = this.#clock.now().toISOString();
    // One snapshot under the vault's, the keyring's and the audit log's locks: an append, a rotation or an
    // audit record is wholly in it or wholly out of it.
    const files = await this.#withUserLocks(userId, () => this.#readFolder(userId));
    const manifest = this.#manifest(userId, createdAt, files);
    const archive = packBackupStream(this.#keys, manifest, files);
    try {
      await mkdir(dirname(target), { recursive: true, mode: 0o700 });
      if (options.out === undefined) await this.#removeDeadTemps(dirname(target));
      await this.#write(target, archive);
    } catch (error) {
      if (error instanceof MemvaultError) throw error;
      const code = errno(error);
      throw storageError(
        code === 'ENOSPC'
          ? `The backup destination is full (${dirname(target)}); nothing was written and earlier backups are intact. Free space or prune old backups.`
          : `Could not write the backup to ${target} (${code ?? 'error'}); earlier backups are intact.`,
        error,
        { file: target },
      );
    }
    return summary(target, manifest);
  }

  async list(userId?: UserId): Promise<BackupListing[]> {
    const people = userId === undefined ? await this.#readdirOrEmpty(this.#backupDir) : [userId];
    const out: BackupListing[] = [];
    for (const person of people) {
      if (!isUserId(person)) continue;
      const dir = join(this.#backupDir, person);
      for (const name of await this.#readdirOrEmpty(dir)) {
        const m = BACKUP_NAME.exec(name);
        if (!m || m[1] !== person) continue;
        const file = join(dir, name);
        try {
          out.push({ file, userId: person as UserId, createdAt: fromStamp(m[2] ?? ''), size: (await stat(file)).size });
        } catch (error) {
          if (errno(error) !== 'ENOENT') throw storageError(`Could not read ${file}.`, error);
        }
      }
    }
    return out.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
  }

  async verify(file: string): Promise<BackupSummary> {
    const path = this.#inPath(file);
    const { manifest, files } = await unpackBackup(this.#keys, await this.#readArchive(path));
    return summary(path, manifest, files);
  }

  async contents(file: string): Promise<{ summary: BackupSummary; files: ReadonlyMap<string, Uint8Array> }> {
    const path = this.#inPath(file);
    const { manifest, files } = await unpackBackup(this.#keys, await this.#readArchive(path));
    return { summary: summary(path, manifest, files), files: new Map(files.map((f) => [f.name, f.bytes])) };
  }

  async restore(file: string, options: { readonly userId?: UserId } = {}): Promise<BackupSummary> {
    const path = this.#inPath(file);
    // Everything is checked before the first byte is written.
    const { manifest, files } = await unpackBackup(this.#keys, await this.#readArchive(path));
    const userId = manifest.userId as UserId;
    if (options.userId !== undefined && options.userId !== userId) {
      throw backupError(
        'wrong_person',
        `This backup belongs to another person, not to ${options.userId}; a backup restores only its owner.`,
      );
    }
    await this.recover();
    const current = this.#userDir(userId);
    await mkdir(this.#usersDir, { recursive: true, mode: 0o700 });
    const tag = `${userId}.${process.pid}.${randomBytes(6).toString('hex')}`;
    const staging = join(this.#usersDir, `${STAGING_PREFIX}${tag}`);
    const previous = join(this.#usersDir, `${PREVIOUS_PREFIX}${tag}`);
    const journal = join(this.#usersDir, `${JOURNAL_PREFIX}${userId}.json`);
    let journaled = false;
    try {
      await mkdir(staging, { mode: 0o700 });
      for (const f of files) {
        // The audit log is history, not state: the current one is carried over below.
        if (f.name.startsWith('AUDIT.')) continue;
        await this.#writeStaged(join(staging, f.name), f.bytes);
      }
      const swap = async () => {
        for (const name of [`AUDIT.${userId}.log`, `AUDIT.${userId}.head`]) {
          const bytes = (await exists(current))
            ? await readFile(join(current, name)).catch((e) => (errno(e) === 'ENOENT' ? null : Promise.reject(e)))
            : null;
          const fromBackup = files.find((f) => f.name === name)?.bytes ?? null;
          const chosen = bytes ?? fromBackup;
          if (chosen) await this.#writeStaged(join(staging, name), chosen);
        }
        // Bytes cut from torn appends are forensic evidence of the current folder, not state: they stay too.
        const torn = new Set(CATEGORIES.map((c) => `${c}.${userId}.md.torn`));
        for (const name of await this.#readdirOrEmpty(current)) {
          if (torn.has(name)) await this.#writeStaged(join(staging, name), await readFile(join(current, name)));
        }
        await fsyncDirectory(staging);
        // The journal names both folders before either moves, so `recover` can finish or undo the swap.
        await writeFileAtomic(
          journal,
          JSON.stringify({ userId, staging: basename(staging), previous: basename(previous) }),
        );
        journaled = true;
        const hadCurrent = await exists(current);
        if (hadCurrent) await rename(current, previous);
        await rename(staging, current);
        await fsyncDirectory(this.#usersDir);
        // Only now, with the new folder durable, does the old one go.
        await rm(previous, { recursive: true, force: true });
        await unlink(journal);
        await fsyncDirectory(this.#usersDir);
      };
      if (await exists(current)) await this.#withUserLocks(userId, swap);
      else await swap();
      this.#recordRestoredKeyringGeneration(userId);
    } catch (error) {
      const detail = errno(error) ?? (error instanceof MemvaultError ? error.code : 'error');
      if (!journaled) {
        // Nothing had moved: the staging copy is all there is to undo.
        await rm(staging, { recursive: true, force: true }).catch(() => undefined);
        if (error instanceof MemvaultError) throw error;
        throw storageError(
          `Could not restore ${userId} (${detail}); nothing was changed. ${errno(error) === 'ENOSPC' ? 'The disk is full: free space and try again.' : ''}`.trim(),
          error,
        );
      }
      // The swap had begun: the journal decides, exactly as after a crash.
      const outcome = await this.recover();
      if (outcome.finished.includes(userId)) return summary(path, manifest, files);
      throw storageError(
        `Could not restore ${userId} (${detail}); ${outcome.undone.includes(userId) ? 'the folder was put back as it was before' : 'run `memvault doctor --repair`'}.`,
        error,
      );
    }
    return summary(path, manifest, files);
  }

  /**
   * The one place a restore has to tell the keyring that an older generation is now legitimate. The keyring's
   * generation record (`KEYRING.<E164>.json.generation`, added by the keyring-generations work) travels inside
   * the backup and is restored beside the keyring it describes, so nothing more is needed today; if that record
   * moves out of the person's folder, write it here through the keyring's API.
   */
  #recordRestoredKeyringGeneration(_userId: UserId): void {}

  async recover(): Promise<RecoveryReport> {
    const finished: UserId[] = [];
    const undone: UserId[] = [];
    let removedStaging = 0;
    const names = await this.#readdirOrEmpty(this.#usersDir);
    const journaled = new Set<string>();
    for (const name of names) {
      if (!name.startsWith(JOURNAL_PREFIX) || !name.endsWith('.json')) continue;
      const path = join(this.#usersDir, name);
      let j: Journal;
      try {
        j = parseJournal(await readFile(path, 'utf8'));
      } catch {
        // A journal is written atomically; one we cannot parse is not ours to act on.
        continue;
      }
      journaled.add(j.staging).add(j.previous);
      const current = this.#userDir(j.userId);
      const staging = join(this.#usersDir, j.staging);
      const previous = join(this.#usersDir, j.previous);
      // Do not touch a swap that a live process is still doing.
      const pid = Number(j.staging.split('.')[3]);
      if (pid !== process.pid && isProcessAlive(pid)) continue;
      if (await exists(staging)) {
        if (await exists(current)) {
          // The swap never began: the old folder is whole. Drop the staging copy.
          await rm(staging, { recursive: true, force: true });
          undone.push(j.userId);
        } else {
          // The old folder was moved aside but the new one not yet in: the staging copy is complete and durable.
          await rename(staging, current);
          finished.push(j.userId);
        }
      } else if (await exists(current)) {
        finished.push(j.userId);
      } else if (await exists(previous)) {
        await rename(previous, current);
        undone.push(j.userId);
      }
      await fsyncDirectory(this.#usersDir);
      await rm(previous, { recursive: true, force: true });
      await unlink(path).catch(() => undefined);
      await fsyncDirectory(this.#usersDir);
    }
    for (const name of names) {
      // An account deletion killed between its rename and its removal: the person was already gone.
      if (!name.startsWith(DELETING_PREFIX)) continue;
      const pid = Number(name.split('.')[3]);
      if (pid !== process.pid && isProcessAlive(pid)) continue;
      await rm(join(this.#usersDir, name), { recursive: true, force: true });
    }
    for (const name of names) {
      if (!name.startsWith(STAGING_PREFIX) || journaled.has(name)) continue;
      const pid = Number(name.split('.')[3]);
      if (isProcessAlive(pid)) continue;
      await rm(join(this.#usersDir, name), { recursive: true, force: true });
      removedStaging++;
    }
    for (const name of names) {
      // A kill while the journal itself was being written leaves its temp file (`.<journal>.<pid>.<hex>.tmp`);
      // no swap began then, so it is only litter once its writer is gone.
      const target = tempTarget(name);
      if (target === null || !target.startsWith(JOURNAL_PREFIX)) continue;
      const pid = Number(name.slice(target.length + 2).split('.')[0]);
      if (pid !== process.pid && isProcessAlive(pid)) continue;
      await unlink(join(this.#usersDir, name)).catch(() => undefined);
    }
    return { finished, undone, removedStaging };
  }

  async erase(userId: UserId, options: { readonly backups: boolean }): Promise<{ backups: number }> {
    const dir = this.#userDir(userId);
    if (!(await exists(join(dir, `USER.${userId}.md`)))) throw notFound(`No person ${userId} in this vault.`);
    const doomed = join(this.#usersDir, `${DELETING_PREFIX}${userId}.${process.pid}.${randomBytes(4).toString('hex')}`);
    try {
      // Under the same locks as a backup or restore: none of them sees half a person. After the rename the
      // person no longer exists for anyone; a crash before the removal leaves only the renamed folder, which
      // the next start removes (`recover`).
      await this.#withUserLocks(userId, async () => {
        await rename(dir, doomed);
        await fsyncDirectory(this.#usersDir);
      });
      await rm(doomed, { recursive: true, force: true });
      let backups = 0;
      if (options.backups) {
        const folder = join(this.#backupDir, userId);
        backups = (await this.#readdirOrEmpty(folder)).filter((name) => BACKUP_NAME.test(name)).length;
        await rm(folder, { recursive: true, force: true });
      }
      return { backups };
    } catch (error) {
      if (error instanceof MemvaultError) throw error;
      throw storageError(`Could not erase ${userId}'s files (${errno(error) ?? 'error'}).`, error);
    }
  }

  async remove(file: string): Promise<void> {
    const path = this.#inPath(file);
    const rel = relative(this.#backupDir, path);
    if (rel.startsWith('..') || rel.split(sep).length !== 2 || !BACKUP_NAME.test(basename(path))) {
      throw validationError('Only backups inside the backup directory can be pruned.');
    }
    await unlink(path).catch((error) => {
      if (errno(error) !== 'ENOENT') throw storageError(`Could not delete ${path}.`, error);
    });
  }

  // ── internals ──────────────────────────────────────────────────────────────────────────────────────────

  #manifest(userId: UserId, createdAt: string, files: readonly BackupFile[]): BackupManifest {
    const counts = Object.fromEntries(
      CATEGORIES.map((c) => [
        c,
        countEntries(files.find((f) => f.name === `${c}.${userId}.md`)?.bytes.toString() ?? ''),
      ]),
    ) as Record<Category, number>;
    return {
      format: BACKUP_FORMAT,
      version: BACKUP_FORMAT_VERSION,
      createdAt,
      userId,
      revision: contentRevision(userId, files),
      files: files.map((f) => ({ name: f.name, size: f.bytes.length, sha256: sha256Hex(f.bytes) })),
      counts,
      keyring: keyringSummary(files.find((f) => f.name === `KEYRING.${userId}.json`)?.bytes),
    };
  }

  async #readFolder(userId: UserId): Promise<BackupFile[]> {
    const dir = this.#userDir(userId);
    const required = new Set(requiredFileNames(userId));
    const files: BackupFile[] = [];
    for (const name of backupFileNames(userId)) {
      try {
        files.push({ name, bytes: await readFile(join(dir, name)) });
      } catch (error) {
        if (errno(error) === 'ENOENT' && !required.has(name)) continue;
        throw storageError(
          errno(error) === 'ENOENT'
            ? `${name} is missing from ${dir}; run \`memvault doctor --user ${userId}\` before backing up.`
            : `Could not read ${join(dir, name)} for the backup.`,
          error,
        );
      }
    }
    return files;
  }

  /** Vault, keyring and audit locks, in that order (the only order anything takes more than one of them). */
  async #withUserLocks<T>(userId: UserId, fn: () => Promise<T>): Promise<T> {
    const dir = this.#userDir(userId);
    const held: FileLock[] = [];
    try {
      for (const name of ['.lock', `KEYRING.${userId}.json.lock`, `AUDIT.${userId}.log.lock`]) {
        try {
          held.push(await acquireFileLock(join(dir, name), { timeoutMs: this.#lockTimeoutMs }));
        } catch (error) {
          if (error instanceof LockTimeoutError) {
            throw storageError(
              `Timed out after ${this.#lockTimeoutMs} ms waiting for ${error.path}` +
                `${error.owner ? ` (held by process ${error.owner.pid})` : ''}; try again when the vault is idle.`,
              error,
            );
          }
          if (errno(error) === 'ENOENT') throw notFound(`No person ${userId} in this vault.`);
          throw storageError(`Could not lock ${dir}.`, error);
        }
      }
      return await fn();
    } finally {
      // After a swap the lock files went away with the old folder; release tolerates that.
      for (const lock of held.reverse()) await lock.release().catch(() => undefined);
    }
  }

  /** Temp files of backups whose writer was killed (a kill -9 mid-write leaves one; never a partial backup). */
  async #removeDeadTemps(dir: string): Promise<void> {
    for (const name of await this.#readdirOrEmpty(dir)) {
      const target = tempTarget(name);
      if (target === null || !BACKUP_NAME.test(target)) continue;
      const pid = Number(name.slice(target.length + 2).split('.')[0]);
      if (!isProcessAlive(pid)) await unlink(join(dir, name)).catch(() => undefined);
    }
  }

  async #newBackupPath(userId: UserId): Promise<string> {
    const name = `${userId}-${stamp(this.#clock.now())}-${randomBytes(3).toString('hex')}${SUFFIX}`;
    return join(this.#backupDir, userId, name);
  }

  /** A path the operator typed for a new archive: resolved, never inside a person's folder, never a device. */
  #outPath(out: string): string {
    const path = this.#checkedPath(out, '--out');
    if (!path.endsWith(SUFFIX)) throw validationError(`--out must name a file ending in ${SUFFIX}.`);
    return path;
  }

  #inPath(file: string): string {
    return this.#checkedPath(file, 'The backup file');
  }

  #checkedPath(input: string, what: string): string {
    if (typeof input !== 'string' || input.length === 0 || input.length > 4096 || input.includes('\0')) {
      throw validationError(`${what} must be a file path.`);
    }
    const path = resolve(input);
    const rel = relative(this.#usersDir, path);
    if (rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep))) {
      throw validationError(`${what} may not be inside the vault's users folder.`);
    }
    return path;
  }

  async #readArchive(path: string): Promise<Buffer> {
    try {
      const st = await stat(path);
      if (!st.isFile()) throw validationError(`${path} is not a file.`);
      if (st.size > MAX_ARCHIVE_BYTES) throw backupError('not_a_backup', `${path} is too large to be a backup.`);
      return await readFile(path);
    } catch (error) {
      if (error instanceof MemvaultError) throw error;
      if (errno(error) === 'ENOENT') throw notFound(`No backup file at ${path}.`);
      throw storageError(`Could not read ${path}.`, error);
    }
  }

  async #readdirOrEmpty(dir: string): Promise<string[]> {
    try {
      return await readdir(dir);
    } catch (error) {
      if (errno(error) === 'ENOENT') return [];
      throw storageError(`Could not read ${dir}.`, error);
    }
  }

  #userDir(userId: UserId): string {
    if (typeof userId !== 'string' || !isUserId(userId)) {
      throw validationError('Not a valid user id: expected an E.164 phone number such as +14155550134.', {
        field: 'userId',
      });
    }
    return join(this.#usersDir, userId);
  }
}

function parseJournal(text: string): Journal {
  const j = JSON.parse(text) as Partial<Journal>;
  const tagged = (s: unknown, prefix: string): s is string =>
    typeof s === 'string' && s.startsWith(`${prefix}${j.userId}.`) && !s.includes('/') && !s.includes('\\');
  if (typeof j.userId !== 'string' || !isUserId(j.userId)) throw new Error('bad journal');
  if (!tagged(j.staging, STAGING_PREFIX) || !tagged(j.previous, PREVIOUS_PREFIX)) throw new Error('bad journal');
  return { userId: j.userId as UserId, staging: j.staging, previous: j.previous };
}

function summary(file: string, manifest: BackupManifest, files?: readonly BackupFile[]): BackupSummary {
  return {
    file,
    version: manifest.version,
    userId: manifest.userId as UserId,
    createdAt: manifest.createdAt,
    revision: manifest.revision,
    files: manifest.files.length,
    bytes: files ? files.reduce((n, f) => n + f.bytes.length, 0) : manifest.files.reduce((n, f) => n + f.size, 0),
    counts: manifest.counts,
    keyring: manifest.keyring,
  };
}
