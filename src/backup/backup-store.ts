import { createHash, randomBytes } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, readFile, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
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
  type BackupFileSink,
  BackupKeys,
  type BackupManifest,
  type BackupSource,
  EntryCounter,
  backupError,
  backupFileNames,
  keyringSummary,
  packBackupStream,
  readBackup,
  requiredFileNames,
  revisionOf,
} from './archive.js';

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
  /**
   * Writes one staged file of a restore durably from its chunks as they are unpacked; injectable so tests can
   * make the disk full mid-restore.
   */
  readonly writeStaged?: StagedWriter;
  /** Runs after a backup's snapshot is taken and its locks released, before the archive is written (tests). */
  readonly afterSnapshot?: (userId: UserId) => Promise<void>;
}

export type StagedWriter = (path: string, data: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) => Promise<void>;

const SUFFIX = '.mvbackup';
const BACKUP_NAME = /^(\+[1-9]\d{1,14})-(\d{8}T\d{9}Z)-[0-9a-f]{6}\.mvbackup$/;
const STAGING_PREFIX = '.restoring.';
const PREVIOUS_PREFIX = '.previous.';
const DELETING_PREFIX = '.deleting.';
const JOURNAL_PREFIX = '.restore.';
/** Files are hashed and packed in reads of this size. */
const READ_BYTES = 1024 ** 2;

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

/** Writes chunks to a new file, gathered into writes of about 1 MiB, and makes it durable (staging of a restore). */
async function writeDurable(path: string, data: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<void> {
  const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    let parts: Uint8Array[] = [];
    let bytes = 0;
    const flush = async () => {
      const buffer = Buffer.concat(parts, bytes);
      let done = 0;
      while (done < buffer.length) done += (await handle.write(buffer, done, buffer.length - done)).bytesWritten;
      parts = [];
      bytes = 0;
    };
    for await (const chunk of data) {
      parts.push(chunk);
      bytes += chunk.byteLength;
      if (bytes >= READ_BYTES) await flush();
    }
    if (bytes > 0) await flush();
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** One file of a snapshot: an open descriptor and the length and hash its bytes had under the locks. */
interface SnapshotFile {
  readonly name: string;
  readonly handle: FileHandle;
  readonly size: number;
  readonly sha256: string;
  readonly entries: number | null;
  /** The keyring's bytes (small), for the manifest's public-key fingerprints. */
  readonly bytes?: Buffer;
}

/** A file changed in place between the snapshot and the packing (a torn tail cut by the next append). */
class SnapshotMoved extends Error {}

/** Reads `size` bytes of an open file from the start, in 1 MiB reads. */
async function* readRange(handle: FileHandle, size: number): AsyncGenerator<Buffer> {
  let position = 0;
  while (position < size) {
    const buffer = Buffer.allocUnsafe(Math.min(READ_BYTES, size - position));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) throw new SnapshotMoved(`a file became shorter than its snapshot`);
    position += bytesRead;
    yield bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
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
  readonly #writeStaged: StagedWriter;
  readonly #afterSnapshot: ((userId: UserId) => Promise<void>) | undefined;

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
    this.#afterSnapshot = options.afterSnapshot;
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
    const inBackupDir = options.out === undefined;
    try {
      return await this.#pack(userId, target, createdAt, inBackupDir, false);
    } catch (error) {
      if (!(error instanceof SnapshotMoved)) throw error;
      // A file changed in place after the snapshot (only a torn tail's repair does that, at the next append):
      // once more, holding the locks until the archive is written.
      try {
        return await this.#pack(userId, target, createdAt, inBackupDir, true);
      } catch (again) {
        if (!(again instanceof SnapshotMoved)) throw again;
        throw storageError(
          `${userId}'s files changed while they were backed up under their locks (${again.message}); nothing was written. Run \`memvault doctor --user ${userId}\` and try again.`,
          again,
        );
      }
    }
  }

  /**
   * One snapshot under the vault's, the keyring's and the audit log's locks — an append, a rotation or an audit
   * record is wholly in it or wholly out of it — taken as open descriptors with each file's length and SHA-256
   * at that instant, so the locks are held only for reading and hashing, never for compressing and encrypting,
   * and no file is ever whole in memory. Afterwards appends only add bytes past the recorded length and rewrites
   * replace the file by a rename (the descriptor keeps the old one), so the recorded bytes stay as they were;
   * each file is hashed again as it is packed, and a mismatch throws `SnapshotMoved` rather than write it.
   */
  async #pack(
    userId: UserId,
    target: string,
    createdAt: string,
    inBackupDir: boolean,
    holdLocks: boolean,
  ): Promise<BackupSummary> {
    const files: SnapshotFile[] = [];
    const write = async () => {
      const manifest = this.#manifest(userId, createdAt, files);
      await this.#writeArchive(target, inBackupDir, packBackupStream(this.#keys, manifest, files.map(packedSource)));
      return summary(target, manifest);
    };
    try {
      if (holdLocks) {
        return await this.#withUserLocks(userId, async () => {
          await this.#snapshot(userId, files);
          return write();
        });
      }
      await this.#withUserLocks(userId, () => this.#snapshot(userId, files));
      await this.#afterSnapshot?.(userId);
      return await write();
    } finally {
      for (const f of files) await f.handle.close().catch(() => undefined);
    }
  }

  async #writeArchive(target: string, inBackupDir: boolean, archive: AsyncIterable<Uint8Array>): Promise<void> {
    try {
      await mkdir(dirname(target), { recursive: true, mode: 0o700 });
      if (inBackupDir) await this.#removeDeadTemps(dirname(target));
      await this.#write(target, archive);
    } catch (error) {
      if (error instanceof MemvaultError || error instanceof SnapshotMoved) throw error;
      const code = errno(error);
      throw storageError(
        code === 'ENOSPC'
          ? `The backup destination is full (${dirname(target)}); nothing was written and earlier backups are intact. Free space or prune old backups.`
          : `Could not write the backup to ${target} (${code ?? 'error'}); earlier backups are intact.`,
        error,
        { file: target },
      );
    }
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
    await this.#checkArchive(path);
    // Hashed and counted as it passes, then dropped: nothing is written and nothing is kept.
    const manifest = await readBackup(this.#keys, this.#archiveBytes(path), () => async (_name, data) => {
      for await (const _ of data);
    });
    return summary(path, manifest);
  }

  async contents(file: string): Promise<{ summary: BackupSummary; files: ReadonlyMap<string, Uint8Array> }> {
    const path = this.#inPath(file);
    await this.#checkArchive(path);
    const files = new Map<string, Uint8Array>();
    const manifest = await readBackup(this.#keys, this.#archiveBytes(path), () => async (name, data) => {
      const parts: Buffer[] = [];
      for await (const chunk of data) parts.push(chunk);
      files.set(name, Buffer.concat(parts));
    });
    return { summary: summary(path, manifest), files };
  }

  async restore(file: string, options: { readonly userId?: UserId } = {}): Promise<BackupSummary> {
    const path = this.#inPath(file);
    await this.#checkArchive(path);
    // Set once the manifest is checked (the staging folder exists from then on).
    const staged: { userId?: UserId; dir?: string; previous?: string } = {};
    let manifest: BackupManifest;
    try {
      // One pass: decrypted, unpacked and hashed as it streams into a staging folder. The manifest is checked
      // before the first file arrives, each file when it has passed, the whole when the archive ends; any
      // refusal removes the staging folder, and nothing else has been touched by then.
      manifest = await readBackup(this.#keys, this.#archiveBytes(path), async (m): Promise<BackupFileSink> => {
        const owner = m.userId as UserId;
        if (options.userId !== undefined && options.userId !== owner) {
          throw backupError(
            'wrong_person',
            `This backup belongs to another person, not to ${options.userId}; a backup restores only its owner.`,
          );
        }
        staged.userId = owner;
        await this.recover();
        await mkdir(this.#usersDir, { recursive: true, mode: 0o700 });
        const tag = `${owner}.${process.pid}.${randomBytes(6).toString('hex')}`;
        const dir = join(this.#usersDir, `${STAGING_PREFIX}${tag}`);
        await mkdir(dir, { mode: 0o700 });
        staged.dir = dir;
        staged.previous = join(this.#usersDir, `${PREVIOUS_PREFIX}${tag}`);
        return (name, data) => this.#writeStaged(join(dir, stagedName(name)), data);
      });
    } catch (error) {
      if (staged.dir !== undefined) await rm(staged.dir, { recursive: true, force: true }).catch(() => undefined);
      if (error instanceof MemvaultError) throw error;
      throw storageError(
        `Could not restore ${staged.userId ?? 'the backup'} (${errno(error) ?? 'error'}); nothing was changed. ${errno(error) === 'ENOSPC' ? 'The disk is full: free space and try again.' : ''}`.trim(),
        error,
      );
    }
    if (staged.dir === undefined || staged.previous === undefined) {
      throw backupError('bad_manifest', 'The backup holds no manifest.');
    }
    return this.#swap(path, manifest, manifest.userId as UserId, staged.dir, staged.previous);
  }

  /** Puts a complete, verified staging folder in the person's place through the journal. */
  async #swap(path: string, manifest: BackupManifest, userId: UserId, staging: string, previous: string) {
    const current = this.#userDir(userId);
    const journal = join(this.#usersDir, `${JOURNAL_PREFIX}${userId}.json`);
    let journaled = false;
    try {
      const swap = async () => {
        for (const name of [`AUDIT.${userId}.log`, `AUDIT.${userId}.head`]) {
          // The audit log is history, not state: the current one is kept; the backup's only when there is none.
          const kept = (await exists(current)) ? await openIfExists(join(current, name)) : null;
          const fromBackup = join(staging, stagedName(name));
          if (kept) {
            try {
              await this.#writeStaged(join(staging, name), readRange(kept, (await kept.stat()).size));
            } finally {
              await kept.close();
            }
            await unlink(fromBackup).catch((e) => (errno(e) === 'ENOENT' ? undefined : Promise.reject(e)));
          } else if (await exists(fromBackup)) {
            await rename(fromBackup, join(staging, name));
          }
        }
        // Bytes cut from torn appends are forensic evidence of the current folder, not state: they stay too.
        const torn = new Set(CATEGORIES.map((c) => `${c}.${userId}.md.torn`));
        for (const name of await this.#readdirOrEmpty(current)) {
          if (!torn.has(name)) continue;
          const handle = await openIfExists(join(current, name));
          if (!handle) continue;
          try {
            await this.#writeStaged(join(staging, name), readRange(handle, (await handle.stat()).size));
          } finally {
            await handle.close();
          }
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
      if (outcome.finished.includes(userId)) return summary(path, manifest);
      throw storageError(
        `Could not restore ${userId} (${detail}); ${outcome.undone.includes(userId) ? 'the folder was put back as it was before' : 'run `memvault doctor --repair`'}.`,
        error,
      );
    }
    return summary(path, manifest);
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

  #manifest(userId: UserId, createdAt: string, files: readonly SnapshotFile[]): BackupManifest {
    const byName = new Map(files.map((f) => [f.name, f]));
    const counts = Object.fromEntries(
      CATEGORIES.map((c) => [c, byName.get(`${c}.${userId}.md`)?.entries ?? 0]),
    ) as Record<Category, number>;
    return {
      format: BACKUP_FORMAT,
      version: BACKUP_FORMAT_VERSION,
      createdAt,
      userId,
      revision: revisionOf(userId, new Map(files.map((f) => [f.name, f.sha256]))),
      files: files.map((f) => ({ name: f.name, size: f.size, sha256: f.sha256 })),
      counts,
      keyring: keyringSummary(byName.get(`KEYRING.${userId}.json`)?.bytes),
    };
  }

  /** Opens, measures, hashes and counts the person's files (call under their locks); pushes each onto `into`. */
  async #snapshot(userId: UserId, into: SnapshotFile[]): Promise<void> {
    const dir = this.#userDir(userId);
    const required = new Set(requiredFileNames(userId));
    const categories = new Set(CATEGORIES.map((c) => `${c}.${userId}.md`));
    const keyring = `KEYRING.${userId}.json`;
    for (const name of backupFileNames(userId)) {
      const path = join(dir, name);
      let handle: FileHandle | null;
      try {
        handle = await openIfExists(path);
        if (!handle) {
          if (!required.has(name)) continue;
          throw Object.assign(new Error(`ENOENT: ${name}`), { code: 'ENOENT' });
        }
      } catch (error) {
        throw storageError(
          errno(error) === 'ENOENT'
            ? `${name} is missing from ${dir}; run \`memvault doctor --user ${userId}\` before backing up.`
            : `Could not read ${path} for the backup.`,
          error,
        );
      }
      try {
        const { size } = await handle.stat();
        const hash = createHash('sha256');
        const counter = categories.has(name) ? new EntryCounter() : null;
        const kept: Buffer[] | null = name === keyring ? [] : null;
        for await (const chunk of readRange(handle, size)) {
          hash.update(chunk);
          counter?.update(chunk);
          kept?.push(chunk);
        }
        into.push({
          name,
          handle,
          size,
          sha256: hash.digest('hex'),
          entries: counter ? counter.count : null,
          ...(kept ? { bytes: Buffer.concat(kept) } : {}),
        });
      } catch (error) {
        await handle.close().catch(() => undefined);
        throw storageError(`Could not read ${path} for the backup.`, error);
      }
    }
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

  /** The archive to read must be an existing regular file. */
  async #checkArchive(path: string): Promise<void> {
    try {
      if (!(await stat(path)).isFile()) throw validationError(`${path} is not a file.`);
    } catch (error) {
      if (error instanceof MemvaultError) throw error;
      if (errno(error) === 'ENOENT') throw notFound(`No backup file at ${path}.`);
      throw storageError(`Could not read ${path}.`, error);
    }
  }

  /** The archive's bytes in 1 MiB reads; a read failure is a typed error. */
  async *#archiveBytes(path: string): AsyncGenerator<Buffer> {
    const stream = createReadStream(path, { highWaterMark: READ_BYTES });
    try {
      for await (const chunk of stream) yield chunk as Buffer;
    } catch (error) {
      if (errno(error) === 'ENOENT') throw notFound(`No backup file at ${path}.`);
      throw storageError(`Could not read ${path}.`, error);
    } finally {
      stream.destroy();
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

/** Files of the backup's audit log are staged under another name until the swap decides which log is kept. */
const stagedName = (name: string) => (name.startsWith('AUDIT.') ? `.from-backup.${name}` : name);

async function openIfExists(path: string): Promise<FileHandle | null> {
  try {
    return await open(path, 'r');
  } catch (error) {
    if (errno(error) === 'ENOENT') return null;
    throw error;
  }
}

/** A snapshot file as the packer reads it: the recorded bytes, hashed again on the way. */
function packedSource(file: SnapshotFile): BackupSource {
  return {
    name: file.name,
    size: file.size,
    async *read() {
      const hash = createHash('sha256');
      for await (const chunk of readRange(file.handle, file.size)) {
        hash.update(chunk);
        yield chunk;
      }
      if (hash.digest('hex') !== file.sha256) throw new SnapshotMoved(`${file.name} changed after the snapshot`);
    },
  };
}

function summary(file: string, manifest: BackupManifest): BackupSummary {
  return {
    file,
    version: manifest.version,
    userId: manifest.userId as UserId,
    createdAt: manifest.createdAt,
    revision: manifest.revision,
    files: manifest.files.length,
    bytes: manifest.files.reduce((n, f) => n + f.size, 0),
    counts: manifest.counts,
    keyring: manifest.keyring,
  };
}
