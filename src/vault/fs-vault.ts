import { createHash, randomBytes } from 'node:crypto';
import {
  type BigIntStats,
  closeSync,
  constants,
  fdatasync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readSync,
  statSync,
  writeSync,
} from 'node:fs';
import { promisify } from 'node:util';
import { type FileHandle, link, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { monotonicFactory } from 'ulidx';
import { CATEGORIES, type Category, FILE_KINDS, type FileKind, levelOf } from '../core/category.js';
import { withChecksum } from '../core/checksum.js';
import type { EntryPatch, MemoryEntry, NewEntry, UserId } from '../core/entry.js';
import { corruption, isMemvaultError, MemvaultError, notFound, storageError, validationError } from '../core/errors.js';
import { isUserId } from '../core/e164.js';
import { fsyncDirectory, removeTempFiles, writeFileAtomic } from '../infra/atomic-file.js';
import { acquireFileLock, isProcessAlive, type FileLock, LockTimeoutError } from '../infra/file-lock.js';
import { KeyedMutex } from '../infra/keyed-mutex.js';
import { type Clock, systemClock } from '../ports/clock.js';
import { type EntryOpener, type EntrySealer, plainSealer, type SealContext } from '../ports/sealer.js';
import type {
  DamagedEntry,
  EntryNote,
  EntryVersion,
  TrashedEntry,
  EntryFilter,
  IntegrityReport,
  LockedEntry,
  NewUser,
  ProfilePatch,
  ReadResult,
  UserProfile,
  Vault,
} from '../ports/vault.js';
import { applyPatch, buildEntry } from './entry-rules.js';
import {
  bufferedRandom,
  checkFilter,
  checkId,
  type Indexed,
  indexed,
  lockedLevel,
  type Match,
  type Opened,
  reasonOf,
  select,
} from './entry-query.js';
import {
  isStorablePayload,
  own,
  parseRevisionBlock,
  parseSealedEntry,
  type Revision,
  type RevisionKind,
  renderEntry,
  renderSealedEntry,
  sameRevision,
} from './markdown-codec.js';
import {
  applyNote,
  byTrashedAtDesc,
  changeKind,
  erasesLowerCopies,
  latestRevision,
  nextRevision,
  type RevisedBlock,
  revisionNumber,
  trashLapsed,
  trashListing,
  versionBlocks,
} from './revision-rules.js';
import { buildProfile, categoryHeader, parseProfile, renderProfile } from './templates.js';
import { completeLength, endsComplete, splitUnits, TERMINATOR, TERMINATOR_BYTES, type Unit } from './vault-file.js';

export interface FsVaultOptions {
  /** Root of the vault; users live in `<dataDir>/users/<E.164>/`. */
  readonly dataDir: string;
  /** Seals entries of the levels it `seals`; default `plainSealer` (everything plain). */
  readonly sealer?: EntrySealer;
  readonly clock?: Clock;
  /** Largest content accepted, in UTF-8 bytes; default 65,536. */
  readonly maxContentBytes?: number;
  /** How many users' parsed files (and opened level 1–2 entries) stay in memory, least recently used out; default 10,000 (the byte bound below is the one that matters). */
  readonly maxCachedUsers?: number;
  /**
   * About how many bytes of parsed files and opened level 1–2 entries this process keeps across all users before
   * the least recently used users are dropped (they are read again from disk when next asked for); default
   * 128 MiB. One user's state larger than half of it keeps only its parsed files, and opens entries again as they
   * are read (measured in bench/results/vault-cache.md).
   */
  readonly maxCacheBytes?: number;
  /** How long to wait for another process's lock on a user folder before STORAGE_ERROR; default 30 s. */
  readonly lockTimeoutMs?: number;
  /**
   * Compaction rewrites a category file once at least this many superseded blocks could be dropped and they are
   * at least a quarter of its blocks; default 256.
   */
  readonly compactMinimum?: number;
  /**
   * Told, for every write, how long it waited for the user's lock (this process's queue and another process's
   * lock file together), in seconds; the server's `/metrics` reports it as `memvault_vault_lock_wait_seconds`.
   */
  readonly onLockWait?: (seconds: number) => void;
}

/** One unit of a category file, parsed as far as it can be without keys. */
type Rec =
  | ({ readonly t: 'plain'; readonly id: string; readonly revision: Revision | null } & Indexed)
  | {
      readonly t: 'sealed';
      readonly id: string;
      /** The visible revision line (null for revision 1); the same line is inside the seal. */
      readonly revision: Revision | null;
      readonly date: string | null;
      /** `date` in epoch milliseconds, for filtering. */
      readonly time: number | null;
      readonly payload: string;
    }
  | { readonly t: 'damaged'; readonly id: string | null; readonly reason: string; readonly raw: string };

type SealedRec = Extract<Rec, { t: 'sealed' }>;

/** What the vault knows about one category file. Valid while the file's (dev, ino, size, mtime, ctime) hold. */
interface FileState {
  readonly kind: Category;
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  /** Bytes parsed: the file's complete prefix. Bytes after it belong to an append still in flight. */
  parsedBytes: number;
  /** The last bytes of the parsed prefix: a grown file whose bytes there differ was edited, not appended to. */
  probe: Buffer;
  header: string;
  records: Rec[];
  /** The latest block of each id in this file (a later revision supersedes an earlier block of the same id). */
  byId: Map<string, Rec>;
  /** The revision of each id whose latest block here has a revision line: few, only entries changed since written. */
  revised: Map<string, Revision>;
  /** Superseded blocks here that compaction may drop (superseded by an update, trash or restore; not versions). */
  droppable: number;
  /** Bumped on every in-place change, so a load that raced with another one does not commit stale work. */
  version: number;
}

/** The dates of an opened level 3–4 entry; valid while its sealed payload is the same. */
interface SortKey {
  readonly payload: string;
  readonly time: number;
  readonly eventTime: number | null;
}

interface UserState {
  readonly files: Map<Category, FileState>;
  /** Opened level 1–2 entries, by id; valid while the payload is the same. Never written anywhere. */
  readonly opened: Map<string, Opened>;
  /**
   * The dates of level 3–4 entries opened before, by id: a list orders by them and opens only the page it
   * returns (opening every secret on every list cost ~95 ms per 1,000). Dates only — a secret's text, tags and
   * ids of others are never kept — in memory only, never written anywhere.
   */
  readonly sortKeys: Map<string, SortKey>;
  /** Torn tails cut and temp files removed since this state was created. */
  repaired: boolean;
  /** This state's estimated size in bytes when it was last touched (see `#user`). */
  bytes: number;
  /** `#winners` of the files as they were at `key`. */
  winners?: { readonly key: string; readonly map: Map<string, Category> };
}

/**
 * What one opened level 1–2 entry costs in memory beyond its sealed payload (which the parsed file holds anyway):
 * the entry object, its strings and the indexed fields, for an entry of a typical length (measured with
 * bench/vault-cache.bench.ts). A count times a constant keeps the estimate O(1) per touch.
 */
const OPENED_ENTRY_BYTES = 1_200;
/** A level 3–4 entry's remembered dates. */
const SORT_KEY_BYTES = 96;

/** A user's state's estimated size in bytes: the parsed files (their sealed payloads dominate) and what was opened. */
function sizeOf(user: UserState): number {
  let bytes = 0;
  for (const file of user.files.values()) bytes += file.parsedBytes;
  return bytes + OPENED_ENTRY_BYTES * user.opened.size + SORT_KEY_BYTES * user.sortKeys.size;
}

interface Located {
  readonly kind: Category;
  readonly state: FileState;
  readonly rec: Rec;
}

/** The revision number of a record (0 for a damaged one, which never wins). */
const revisionOf = (rec: Rec): number => revisionNumber(blockOf(rec));
/** A record as the revision rules see it. */
const blockOf = (rec: Rec): RevisedBlock =>
  rec.t === 'damaged' ? { damaged: true, revision: null } : { damaged: false, revision: rec.revision };

const LOCK_NAME = '.lock';
const CREATING_PREFIX = '.creating.';
const DEFAULT_MAX_CONTENT = 65_536;
/** Compaction waits until droppable history is at least this share of a file's blocks (and `compactMinimum`). */
const COMPACT_SHARE = 0.25;

const errno = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code;
const sameStat = (s: FileState, st: BigIntStats) =>
  s.ino === st.ino && s.dev === st.dev && s.size === st.size && s.mtimeNs === st.mtimeNs && s.ctimeNs === st.ctimeNs;

/**
 * The Markdown vault on the local file system (DESIGN §3, docs/entry-format.md).
 *
 * - Appends are one `write` of the whole entry with O_APPEND, then `fdatasync`, under the user's lock (in-process
 *   keyed mutex + cross-process lock file). A crash can only leave an unacknowledged torn tail, which is cut
 *   (and kept in `<file>.torn`) the next time the lock is taken or the vault first opens the user.
 * - Every other change rewrites the file: temp → fsync → rename → fsync(dir).
 * - Parsed files are cached per user, validated by (inode, size, mtime, ctime); appends by other processes are
 *   read incrementally from where the cache stopped.
 */
export class FsVault implements Vault {
  readonly #dataDir: string;
  readonly #usersDir: string;
  readonly #sealer: EntrySealer;
  readonly #clock: Clock;
  readonly #maxContentBytes: number;
  readonly #maxCachedUsers: number;
  readonly #maxCacheBytes: number;
  /** Sum of `bytes` over `#users`. */
  #cachedBytes = 0;
  readonly #lockTimeoutMs: number;
  readonly #compactMinimum: number;
  readonly #onLockWait: ((seconds: number) => void) | undefined;
  readonly #mutex = new KeyedMutex<UserId>();
  readonly #users = new Map<UserId, UserState>();
  readonly #ulid = monotonicFactory(bufferedRandom());
  #closed = false;

  constructor(options: FsVaultOptions) {
    if (typeof options?.dataDir !== 'string' || options.dataDir.length === 0) {
      throw validationError('FsVault needs a data directory (option dataDir).', { field: 'dataDir' });
    }
    this.#dataDir = options.dataDir;
    this.#usersDir = join(options.dataDir, 'users');
    this.#sealer = options.sealer ?? plainSealer;
    this.#clock = options.clock ?? systemClock;
    const positive = (value: number | undefined, fallback: number, field: string): number => {
      if (value === undefined) return fallback;
      if (!Number.isSafeInteger(value) || value <= 0) {
        throw validationError(`FsVault option ${field} must be a positive whole number.`, { field });
      }
      return value;
    };
    this.#maxContentBytes = positive(options.maxContentBytes, DEFAULT_MAX_CONTENT, 'maxContentBytes');
    this.#maxCachedUsers = positive(options.maxCachedUsers, 10_000, 'maxCachedUsers');
    this.#maxCacheBytes = positive(options.maxCacheBytes, 128 * 2 ** 20, 'maxCacheBytes');
    this.#lockTimeoutMs = positive(options.lockTimeoutMs, 30_000, 'lockTimeoutMs');
    this.#compactMinimum = positive(options.compactMinimum, 256, 'compactMinimum');
    this.#onLockWait = options.onLockWait;
  }

  // ── users ────────────────────────────────────────────────────────────────────────────────────────────────

  async createUser(user: NewUser): Promise<UserProfile> {
    this.#assertOpen();
    const userId = user?.userId;
    const dir = this.#userDir(userId);
    const profile = buildProfile(user, this.#clock.now().toISOString());
    if (await this.hasUser(userId)) throw this.#conflict(userId);
    try {
      await mkdir(this.#usersDir, { recursive: true, mode: 0o700 });
      await this.#removeAbandonedCreations();
    } catch (error) {
      throw this.#storageFailure(error, 'create the users folder', this.#usersDir);
    }
    // Build the whole folder under a temporary name, then rename it into place: a crash leaves no half user.
    const temp = join(this.#usersDir, `${CREATING_PREFIX}${userId}.${process.pid}.${randomBytes(6).toString('hex')}`);
    try {
      await mkdir(temp, { mode: 0o700 });
      await writeDurable(join(temp, `USER.${userId}.md`), renderProfile(profile));
      for (const category of CATEGORIES) {
        await writeDurable(join(temp, `${category}.${userId}.md`), categoryHeader(userId, category));
      }
      await fsyncDirectory(temp);
      try {
        await rename(temp, dir);
        await fsyncDirectory(this.#usersDir);
      } catch (error) {
        if (errno(error) !== 'ENOTEMPTY' && errno(error) !== 'EEXIST') throw error;
        await this.#adoptFolder(userId, temp);
      }
    } catch (error) {
      await rm(temp, { recursive: true, force: true }).catch(() => undefined);
      throw this.#storageFailure(error, 'create the user folder', this.#usersDir);
    }
    this.#forget(userId);
    return profile;
  }

  async hasUser(userId: UserId): Promise<boolean> {
    this.#assertOpen();
    const path = this.#file(userId, 'USER');
    try {
      return (await stat(path)).isFile();
    } catch (error) {
      if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') return false;
      throw this.#storageFailure(error, 'read', this.#userDir(userId));
    }
  }

  async getProfile(userId: UserId): Promise<UserProfile> {
    this.#assertOpen();
    const path = this.#file(userId, 'USER');
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if (errno(error) === 'ENOENT') throw this.#unknownUser(userId);
      throw this.#storageFailure(error, 'read the profile', this.#userDir(userId));
    }
    return parseProfile(text, userId);
  }

  async updateProfile(userId: UserId, patch: ProfilePatch): Promise<UserProfile> {
    this.#assertOpen();
    return this.#withLock(userId, async () => {
      const current = await this.getProfile(userId);
      const preferences: Record<string, string> = { ...current.preferences };
      for (const [key, value] of Object.entries(patch.preferences ?? {})) {
        if (value === '') delete preferences[key];
        else preferences[key] = value;
      }
      const next = buildProfile(
        {
          userId,
          name: patch.name !== undefined ? patch.name : current.name,
          timezone: patch.timezone ?? current.timezone,
          email: current.email,
          maxLevel: current.maxLevel,
          preferences,
        },
        current.createdAt,
      );
      try {
        await writeFileAtomic(this.#file(userId, 'USER'), renderProfile(next));
      } catch (error) {
        throw this.#storageFailure(error, 'write the profile', this.#userDir(userId));
      }
      return next;
    });
  }

  async listUsers(): Promise<UserId[]> {
    this.#assertOpen();
    let names: string[];
    try {
      names = (await readdir(this.#usersDir, { withFileTypes: true }))
        .filter((d) => d.isDirectory() && isUserId(d.name))
        .map((d) => d.name);
    } catch (error) {
      if (errno(error) === 'ENOENT') return [];
      throw this.#storageFailure(error, 'list users', this.#dataDir);
    }
    return (names as UserId[]).sort();
  }

  // ── entries ──────────────────────────────────────────────────────────────────────────────────────────────

  async append(userId: UserId, input: NewEntry): Promise<MemoryEntry> {
    this.#assertOpen();
    this.#userDir(userId);
    const entry = buildEntry(userId, this.#ulid(this.#clock.now().getTime()), input, this.#maxContentBytes);
    // A key rotation's re-seal runs under the person's lock after the new keys are stored, so what is written
    // under the lock must be sealed to the keys current while the lock is held: then it is on disk before that
    // re-seal reads the file. Sealing is the slow part, so it happens before the lock, and the keys' generation,
    // read before the seal and again under the lock, tells whether it must be done again (rarely: a rotation
    // in between). A sealer that cannot tell its generation seals under the lock.
    const sealer = this.#sealer;
    const sealed = sealer.seals(entry.level);
    const checked = sealed && sealer.keyGeneration !== undefined;
    const before = checked ? await sealer.keyGeneration!(userId) : undefined;
    let made = sealed && !checked ? undefined : await this.#record(userId, entry);
    return this.#withLock(userId, async () => {
      if (made === undefined || (checked && (await sealer.keyGeneration!(userId)) !== before)) {
        made = await this.#record(userId, entry);
      }
      await this.#appendLocked(userId, entry.category, [made]);
      this.#remember(userId, entry.category, made.rec, entry);
      return entry;
    });
  }

  async read(userId: UserId, filter: EntryFilter, opener: EntryOpener): Promise<ReadResult> {
    this.#assertOpen();
    const f = checkFilter(filter ?? {});
    await this.#ready(userId);
    const user = this.#user(userId);
    const kinds = CATEGORIES.filter(
      (c) => (f.categories === null || f.categories.has(c)) && (f.levels === null || f.levels.has(levelOf(c))),
    );
    // Every file, not only the ones asked for: an entry whose text edit moved it to another category has its
    // current revision there, and its earlier block here must not be shown.
    const all = await Promise.all(CATEGORIES.map((kind) => this.#load(userId, kind)));
    const states = all.filter((state) => kinds.includes(state.kind));
    const winners = this.#winners(user, all);

    const runs: Match[][] = [];
    const damaged: DamagedEntry[] = [];
    let locked = 0;
    const lockedEntries: LockedEntry[] = [];
    const byEvent = f.dateField === 'eventDate';
    const from = f.from === null ? Number.NEGATIVE_INFINITY : Date.parse(f.from);
    const to = f.to === null ? Number.POSITIVE_INFINITY : Date.parse(f.to);
    const ranged = f.from !== null || f.to !== null;
    const accept = (x: Indexed): boolean => {
      if (ranged) {
        const when = byEvent ? x.eventTime : x.time;
        if (when === null || when < from || when >= to) return false;
      }
      if (f.externalId !== null && x.entry.externalId !== f.externalId) return false;
      for (const tag of f.tags) if (!x.tagsLower.includes(tag)) return false;
      return true;
    };
    const match = (x: Indexed): Match => ({
      key: byEvent ? (x.eventTime ?? x.time) : x.time,
      id: x.entry.id,
      entry: x.entry,
    });
    // Tags and external ids are inside the sealed text: a filter on them has to open every level 3–4 entry.
    const datesSuffice = f.externalId === null && f.tags.length === 0;
    const inRange = (time: number, eventTime: number | null): boolean => {
      if (!ranged) return true;
      const when = byEvent ? eventTime : time;
      return when !== null && when >= from && when < to;
    };
    const lazy: { rec: SealedRec; kind: Category }[] = [];

    for (const state of states) {
      const kind = state.kind;
      const level = levelOf(kind);
      const canOpen = opener.canOpen(level);
      const matches: Match[] = [];
      runs.push(matches);
      const revised = state.revised.size > 0 || winners.size > 0;
      for (const rec of state.records) {
        if (rec.t === 'damaged') {
          damaged.push({ id: rec.id, category: kind, reason: rec.reason });
          continue;
        }
        // History (superseded revisions, versions) and the trash are never listed.
        if (revised && (!this.#current(state, rec, winners) || rec.revision?.kind === 'trash')) continue;
        if (rec.t === 'plain') {
          if (!accept(rec)) continue;
          if (canOpen) matches.push(match(rec));
          else {
            locked++;
            lockedEntries.push({ id: rec.id, category: kind, level, date: rec.entry.date });
          }
          continue;
        }
        // Sealed: the visible date (levels 1–2) filters before anything is opened.
        if (!byEvent && rec.time !== null && (rec.time < from || rec.time >= to)) continue;
        if (!canOpen) {
          locked++;
          lockedEntries.push({ id: rec.id, category: kind, level, date: rec.date });
          continue;
        }
        if (datesSuffice && !byEvent && rec.time !== null) {
          // Levels 1–2 show their date: ordered by it, opened below only if it lands on the page (the date
          // inside is checked against the visible one when it is opened).
          if (level <= 2 && user.opened.get(rec.id)?.payload !== rec.payload) {
            matches.push({ key: rec.time, id: rec.id, entry: null });
            lazy.push({ rec, kind });
            continue;
          }
        }
        const known = level >= 3 && datesSuffice ? user.sortKeys.get(rec.id) : undefined;
        if (known && known.payload === rec.payload) {
          // Ordered by the dates seen when it was last opened; opened below only if it lands on the page.
          if (!inRange(known.time, known.eventTime)) continue;
          matches.push({ key: byEvent ? (known.eventTime ?? known.time) : known.time, id: rec.id, entry: null });
          lazy.push({ rec, kind });
          continue;
        }
        let opened: Opened;
        try {
          opened = this.#open(userId, kind, rec, opener, user);
        } catch (error) {
          if (isMemvaultError(error, 'SECURITY_ERROR')) throw error;
          damaged.push({ id: rec.id, category: kind, reason: reasonOf(error) });
          continue;
        }
        if (level >= 3) {
          user.sortKeys.set(rec.id, { payload: rec.payload, time: opened.time, eventTime: opened.eventTime });
        }
        if (accept(opened)) matches.push(match(opened));
      }
    }
    const total = runs.reduce((n, run) => n + run.length, 0);
    const page = select(runs, f.order, f.offset, f.limit);
    const pending = new Map(lazy.map((x) => [x.rec.id, x]));
    const entries: MemoryEntry[] = [];
    for (const m of page) {
      if (m.entry) {
        entries.push(m.entry);
        continue;
      }
      const { rec, kind } = pending.get(m.id)!;
      try {
        entries.push(this.#open(userId, kind, rec, opener, user).entry);
      } catch (error) {
        // The same payload opened before; a failure now is reported like any damaged entry.
        if (isMemvaultError(error, 'SECURITY_ERROR')) throw error;
        user.sortKeys.delete(rec.id);
        damaged.push({ id: rec.id, category: kind, reason: reasonOf(error) });
      }
    }
    this.#account(userId, user);
    return { entries, locked, lockedEntries, damaged, total };
  }

  async get(userId: UserId, id: string, opener: EntryOpener): Promise<MemoryEntry> {
    this.#assertOpen();
    checkId(id);
    await this.#ready(userId);
    return this.#materialize(userId, await this.#locate(userId, id), opener);
  }

  /**
   * Changes one entry by appending a new revision of it (docs/entry-format.md, "Revisions"): to the same file, or
   * to the file of its new category. A changed text is an `edit` (the earlier block stays as a version, sealed at
   * the level of the file it is in); anything else an `update`. Moving an entry up to a more protected level
   * without changing its text erases its copies at the lower levels (the person said it is more sensitive).
   */
  async update(userId: UserId, id: string, patch: EntryPatch, opener: EntryOpener): Promise<MemoryEntry> {
    this.#assertOpen();
    checkId(id);
    return this.#withLock(userId, async () => {
      await this.#expireTrash(userId);
      const found = await this.#locate(userId, id);
      const current = this.#materialize(userId, found, opener);
      const next = applyPatch(current, patch, this.#maxContentBytes);
      const kind = changeKind(current, next, found.kind);
      if (kind === null) return current;
      await this.#revise(userId, found, next, kind);
      return next;
    });
  }

  /**
   * Moves an entry to the trash: a `trash` revision holding the entry (sealed like it) hides it from read, get and
   * search until `restore`; after 30 days it is erased for good (see `#expireTrash`).
   */
  async trash(userId: UserId, id: string, opener: EntryOpener): Promise<MemoryEntry> {
    this.#assertOpen();
    checkId(id);
    return this.#withLock(userId, async () => {
      await this.#expireTrash(userId);
      const found = await this.#locate(userId, id);
      const entry = this.#materialize(userId, found, opener);
      await this.#revise(userId, found, entry, 'trash');
      return entry;
    });
  }

  /** Brings an entry back from the trash, unchanged. @throws NOT_FOUND when it is not in the trash (any more). */
  async restore(userId: UserId, id: string, opener: EntryOpener): Promise<MemoryEntry> {
    this.#assertOpen();
    checkId(id);
    return this.#withLock(userId, async () => {
      await this.#expireTrash(userId);
      const found = await this.#locate(userId, id, true);
      if (found.rec.t === 'damaged' || found.rec.revision?.kind !== 'trash') {
        throw notFound(`Memory ${id} is not in the trash.`, { id });
      }
      const entry = this.#materialize(userId, found, opener);
      await this.#revise(userId, found, entry, 'restore');
      return entry;
    });
  }

  /**
   * The trash, most recently trashed first. Entries at levels the opener cannot open are listed without their
   * content. Erases what has been in the trash for more than 30 days first.
   */
  async listTrash(userId: UserId, opener: EntryOpener): Promise<TrashedEntry[]> {
    this.#assertOpen();
    return this.#withLock(userId, async () => {
      await this.#expireTrash(userId);
      const user = this.#user(userId);
      const out: TrashedEntry[] = [];
      for (const { state, rec } of await this.#trashed(userId)) {
        if (rec.t === 'damaged' || rec.revision === null) continue;
        const level = levelOf(state.kind);
        let entry: MemoryEntry | null = null;
        if (opener.canOpen(level)) {
          try {
            entry = rec.t === 'plain' ? rec.entry : this.#open(userId, state.kind, rec, opener, user).entry;
          } catch (error) {
            if (isMemvaultError(error, 'SECURITY_ERROR')) throw error;
            continue; // damaged: reported by check and reads of the file, never shown as trash
          }
        }
        out.push(trashListing(rec.id, state.kind, rec.revision, entry));
      }
      return out.sort(byTrashedAtDesc);
    });
  }

  /** Erases every trashed entry the opener can open, now. Returns how many. */
  async emptyTrash(userId: UserId, opener: EntryOpener): Promise<number> {
    this.#assertOpen();
    return this.#withLock(userId, async () => {
      const ids = new Set<string>();
      for (const { state, rec } of await this.#trashed(userId)) {
        if (rec.t !== 'damaged' && opener.canOpen(levelOf(state.kind))) ids.add(rec.id);
      }
      for (const id of ids) await this.#erase(userId, id, opener);
      return ids.size;
    });
  }

  /**
   * The earlier versions of an entry's text, newest first: each block that a text edit replaced, opened where the
   * opener can open the level of the file it lives in (else listed with `entry: null`). Needs the entry's current
   * level unlocked, like `get`.
   */
  async versions(userId: UserId, id: string, opener: EntryOpener): Promise<EntryVersion[]> {
    this.#assertOpen();
    checkId(id);
    await this.#ready(userId);
    const found = await this.#locate(userId, id);
    this.#materialize(userId, found, opener);
    const user = this.#user(userId);
    const chain: { kind: Category; rec: Exclude<Rec, { t: 'damaged' }> }[] = [];
    for (const kind of CATEGORIES) {
      const state = await this.#load(userId, kind);
      if (!state.byId.has(id)) continue;
      for (const rec of state.records) if (rec.t !== 'damaged' && rec.id === id) chain.push({ kind, rec });
    }
    chain.sort((a, b) => revisionOf(a.rec) - revisionOf(b.rec));
    const out: EntryVersion[] = [];
    for (const { block, replacedAt } of versionBlocks(chain, (c) => blockOf(c.rec))) {
      const { kind, rec } = block;
      const level = levelOf(kind);
      let entry: MemoryEntry | null = null;
      if (opener.canOpen(level)) {
        try {
          entry = rec.t === 'plain' ? rec.entry : this.#open(userId, kind, rec, opener, user, false).entry;
        } catch (error) {
          if (isMemvaultError(error, 'SECURITY_ERROR')) throw error;
          continue; // a damaged version is reported by check, not shown
        }
      }
      const savedAt = rec.revision?.at ?? entry?.date ?? (rec.t === 'sealed' ? rec.date : null);
      out.push({ revision: revisionOf(rec), category: kind, level, savedAt, replacedAt, entry });
    }
    return out;
  }

  /** Erases an entry for good: every block of it in every file (versions and trash included), and every reference to it. */
  async delete(userId: UserId, id: string, opener: EntryOpener): Promise<void> {
    this.#assertOpen();
    checkId(id);
    await this.#withLock(userId, async () => {
      await this.#expireTrash(userId);
      const found = await this.#locate(userId, id, true);
      if (!opener.canOpen(levelOf(found.kind))) throw lockedLevel(levelOf(found.kind));
      await this.#erase(userId, id, opener);
    });
  }

  async link(userId: UserId, a: string, b: string, opener: EntryOpener): Promise<void> {
    this.#assertOpen();
    checkId(a);
    checkId(b);
    if (a === b) throw validationError('A memory cannot be related to itself.', { field: 'related' });
    await this.#withLock(userId, async () => {
      for (const [self, other] of [
        [a, b],
        [b, a],
      ] as const) {
        const found = await this.#locate(userId, self);
        const entry = this.#materialize(userId, found, opener);
        if (entry.related.includes(other)) continue;
        const next = applyPatch(entry, { related: [...entry.related, other] }, Number.MAX_SAFE_INTEGER);
        await this.#revise(userId, found, next, 'update');
      }
    });
  }

  /**
   * The daily processing's importance and links, as appended `update` revisions: one write + fdatasync per
   * category file for all of a day's notes, whatever the size of the file (it used to rewrite the whole file).
   */
  async annotate(userId: UserId, notes: readonly EntryNote[], opener: EntryOpener): Promise<number> {
    this.#assertOpen();
    for (const note of notes) checkId(note.id);
    if (notes.length === 0) return 0;
    return this.#withLock(userId, async () => {
      await this.#expireTrash(userId);
      const work = new Map<string, { kind: Category; n: number; original: string; entry: MemoryEntry }>();
      for (const note of notes) {
        let w = work.get(note.id);
        if (!w) {
          let found: Located;
          try {
            found = await this.#locate(userId, note.id);
          } catch (error) {
            if (isMemvaultError(error, 'NOT_FOUND')) continue; // deleted or trashed since the notes were made
            throw error;
          }
          if (found.rec.t === 'damaged' || !opener.canOpen(levelOf(found.kind))) continue;
          let entry: MemoryEntry;
          try {
            entry = this.#materialize(userId, found, opener);
          } catch (error) {
            if (isMemvaultError(error, 'DATA_CORRUPTION')) continue; // a damaged entry stays as it is
            throw error;
          }
          w = { kind: found.kind, n: revisionOf(found.rec), original: entry.checksum, entry };
          work.set(note.id, w);
        }
        w.entry = applyNote(w.entry, note);
      }
      const at = this.#clock.now().toISOString();
      const changes = new Map<Category, { rec: Rec; text: string; entry: MemoryEntry }[]>();
      for (const w of work.values()) {
        if (w.entry.checksum === w.original) continue; // nothing changed: nothing written
        const made = await this.#record(userId, w.entry, { n: w.n + 1, kind: 'update', at });
        const file = changes.get(w.kind) ?? [];
        file.push({ ...made, entry: w.entry });
        changes.set(w.kind, file);
      }
      let written = 0;
      for (const [kind, file] of changes) {
        await this.#appendLocked(userId, kind, file);
        const user = this.#user(userId);
        for (const c of file) {
          user.opened.delete(c.entry.id);
          this.#remember(userId, kind, c.rec, c.entry);
        }
        written += file.length;
        await this.#compactIfDue(userId, kind);
      }
      return written;
    });
  }

  /**
   * Names damaged blocks (history included: a damaged version is reported too) and counts the current entries,
   * trashed ones included. The same id current in two files at the same revision (a crash in the middle of a move
   * made before revisions) is reported as damaged.
   */
  async check(userId: UserId, opener: EntryOpener): Promise<IntegrityReport> {
    this.#assertOpen();
    await this.#ready(userId);
    const user = this.#user(userId);
    const damaged: DamagedEntry[] = [];
    const states = await Promise.all(CATEGORIES.map((kind) => this.#load(userId, kind)));
    const winners = this.#winners(user, states);
    const seen = new Map<string, { kind: Category; n: number }>();
    let intact = 0;
    let locked = 0;
    for (const state of states) {
      const kind = state.kind;
      const level = levelOf(kind);
      for (const rec of state.records) {
        if (rec.t === 'damaged') {
          damaged.push({ id: rec.id, category: kind, reason: rec.reason });
          continue;
        }
        const latest = state.byId.get(rec.id) === rec;
        if (latest) {
          const first = seen.get(rec.id);
          if (first !== undefined && first.n === revisionOf(rec)) {
            damaged.push({ id: rec.id, category: kind, reason: `the same entry id also appears in ${first.kind}` });
            continue;
          }
          if (first === undefined || revisionOf(rec) > first.n) seen.set(rec.id, { kind, n: revisionOf(rec) });
        }
        const counted = latest && (winners.get(rec.id) ?? kind) === kind;
        if (rec.t === 'plain') {
          if (counted) intact++;
        } else if (!opener.canOpen(level)) {
          if (counted) locked++;
        } else {
          try {
            this.#open(userId, kind, rec, opener, user, counted);
            if (counted) intact++;
          } catch (error) {
            if (isMemvaultError(error, 'SECURITY_ERROR')) throw error;
            damaged.push({ id: rec.id, category: kind, reason: reasonOf(error) });
          }
        }
      }
    }
    return { userId, intact, locked, damaged };
  }

  async reseal(userId: UserId, opener: EntryOpener): Promise<number> {
    this.#assertOpen();
    return this.#withLock(userId, async () => {
      const user = this.#user(userId);
      const states = await Promise.all(CATEGORIES.map((kind) => this.#load(userId, kind)));
      // Refuse before writing anything when some sealed level cannot be opened.
      for (const state of states) {
        const level = levelOf(state.kind);
        if (!opener.canOpen(level) && state.records.some((r) => r.t === 'sealed')) throw lockedLevel(level);
      }
      let count = 0;
      const unopened: string[] = [];
      for (const state of states) {
        const replaced = new Map<Rec, Rec>();
        for (const rec of state.records) {
          if (rec.t === 'damaged') continue;
          let entry: MemoryEntry;
          try {
            entry = rec.t === 'plain' ? rec.entry : this.#open(userId, state.kind, rec, opener, user, false).entry;
          } catch (error) {
            if (isMemvaultError(error, 'SECURITY_ERROR')) throw error;
            unopened.push(rec.id); // kept byte for byte
            continue;
          }
          // Every block, history included, keeps its revision line.
          replaced.set(rec, (await this.#record(userId, entry, rec.revision)).rec);
        }
        if (replaced.size === 0) continue;
        await this.#rewrite(userId, state, (rec) => replaced.get(rec) ?? rec);
        count += replaced.size;
      }
      user.opened.clear();
      if (unopened.length > 0) {
        // After a key rotation the caller must not retire the old keys while some entry might still need them.
        throw corruption(
          `Re-sealed ${count} memories, but ${unopened.length} sealed ${unopened.length === 1 ? 'memory does' : 'memories do'} not open with the keys given and ${unopened.length === 1 ? 'was' : 'were'} left as ${unopened.length === 1 ? 'it was' : 'they were'}: ${unopened.slice(0, 5).join(', ')}${unopened.length > 5 ? ', …' : ''}.`,
          { resealed: count, unopened: unopened.length, ids: unopened.slice(0, 20) },
        );
      }
      return count;
    });
  }

  async recoverDamaged(userId: UserId, category: Category, copy: string, opener: EntryOpener): Promise<string[]> {
    this.#assertOpen();
    if (!(CATEGORIES as readonly string[]).includes(category)) {
      throw validationError('Unknown category.', { field: 'category' });
    }
    return this.#withLock(userId, async () => {
      const state = await this.#load(userId, category);
      const user = this.#user(userId);
      const level = levelOf(category);
      // Checked again here, under the lock: only an entry that is damaged now is ever replaced.
      const opens = (rec: SealedRec) => {
        try {
          this.#open(userId, category, rec, opener, user);
          return true;
        } catch {
          return false;
        }
      };
      const wanted = new Set<string>();
      for (const rec of state.records) {
        if (rec.t === 'damaged' && rec.id !== null) wanted.add(rec.id);
        else if (rec.t === 'sealed' && opener.canOpen(level) && !opens(rec)) wanted.add(rec.id);
      }
      if (wanted.size === 0) return [];
      const found = new Map<string, Rec>();
      const bytes = Buffer.from(copy, 'utf8');
      const { units } = splitUnits(bytes.subarray(0, completeLength(bytes)).toString('utf8'));
      for (const unit of units) {
        if (unit.kind !== 'block' || !wanted.has(unit.id) || found.has(unit.id)) continue;
        const rec = this.#parseUnit(userId, category, unit);
        if (rec.t === 'damaged') continue;
        // A sealed copy proves itself only by opening (a copy sealed to keys since rotated does not).
        if (rec.t === 'sealed' && (!opener.canOpen(level) || !opens(rec))) continue;
        found.set(unit.id, rec);
      }
      if (found.size === 0) return [];
      await this.#rewrite(userId, state, (rec) => {
        if (rec.t === 'plain' || !wanted.has(rec.id ?? '')) return rec;
        return (rec.id !== null && found.get(rec.id)) || rec;
      });
      return [...found.keys()];
    });
  }

  async revision(userId: UserId): Promise<string> {
    this.#assertOpen();
    const hash = createHash('sha256');
    for (const kind of CATEGORIES) {
      const path = this.#file(userId, kind);
      try {
        const st = await stat(path, { bigint: true });
        hash.update(`${kind}:${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs};`);
      } catch (error) {
        if (errno(error) === 'ENOENT' && !(await this.hasUser(userId))) throw this.#unknownUser(userId);
        if (errno(error) === 'ENOENT') hash.update(`${kind}:missing;`);
        else throw this.#storageFailure(error, 'read', this.#userDir(userId));
      }
    }
    return hash.digest('hex').slice(0, 32);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#mutex.idle();
    this.#users.clear();
    this.#cachedBytes = 0;
  }

  /** How much parsed and opened state this process holds (estimated bytes, users); for tests and benchmarks. */
  cacheStats(): { bytes: number; users: number } {
    return { bytes: this.#cachedBytes, users: this.#users.size };
  }

  // ── locking and repair ───────────────────────────────────────────────────────────────────────────────────

  async #withLock<T>(userId: UserId, fn: () => Promise<T>): Promise<T> {
    const dir = this.#userDir(userId);
    const asked = performance.now();
    return this.#mutex.run(userId, async () => {
      this.#assertOpen();
      const lockPath = join(dir, LOCK_NAME);
      let lock: FileLock;
      try {
        lock = await acquireFileLock(lockPath, { timeoutMs: this.#lockTimeoutMs });
        this.#onLockWait?.((performance.now() - asked) / 1000);
      } catch (error) {
        if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') throw this.#unknownUser(userId);
        if (error instanceof LockTimeoutError) {
          throw storageError(
            `Timed out after ${this.#lockTimeoutMs} ms waiting for the lock on ${dir}` +
              `${error.owner ? ` (held by process ${error.owner.pid} on ${error.owner.host})` : ''}. ` +
              `If no memvault process is running, delete ${lockPath}.`,
            error,
          );
        }
        throw this.#storageFailure(error, 'lock the user folder', dir);
      }
      try {
        const user = this.#user(userId);
        if (!user.repaired) await this.#repair(userId, user);
        return await fn();
      } finally {
        await lock.release().catch(() => undefined);
      }
    });
  }

  /** The first time this process touches a user: clean interrupted writes (needs the lock; skipped when read-only). */
  async #ready(userId: UserId): Promise<void> {
    const user = this.#user(userId);
    if (user.repaired) return;
    try {
      await this.#withLock(userId, async () => undefined);
    } catch (error) {
      const code = errno((error as MemvaultError).cause);
      if (isMemvaultError(error, 'STORAGE_ERROR') && (code === 'EACCES' || code === 'EROFS' || code === 'EPERM')) {
        // A read-only vault can still be read: incomplete tails are ignored by the parser.
        user.repaired = true;
        return;
      }
      throw error;
    }
  }

  async #repair(userId: UserId, user: UserState): Promise<void> {
    const dir = this.#userDir(userId);
    try {
      const ours = new Set(FILE_KINDS.map((kind) => `${kind}.${userId}.md`));
      await removeTempFiles(dir, (target) => ours.has(target));
      for (const kind of CATEGORIES) {
        const path = this.#file(userId, kind);
        let fd: number;
        try {
          fd = openSync(path, constants.O_RDWR | constants.O_APPEND);
        } catch (error) {
          if (errno(error) === 'ENOENT') continue;
          throw error;
        }
        try {
          repairTail(fd, path, fstatSync(fd).size);
        } finally {
          closeSync(fd);
        }
      }
    } catch (error) {
      throw this.#storageFailure(error, 'repair', dir);
    }
    user.repaired = true;
  }

  // ── file state ───────────────────────────────────────────────────────────────────────────────────────────

  /** A user's cached state, made the most recently used (and its size counted again: see `#account`). */
  #user(userId: UserId): UserState {
    let user = this.#users.get(userId);
    if (user) {
      this.#users.delete(userId);
    } else {
      user = { files: new Map(), opened: new Map(), sortKeys: new Map(), repaired: false, bytes: 0 };
    }
    this.#users.set(userId, user);
    this.#account(userId, user);
    return user;
  }

  /**
   * Re-estimates a cached user's size after it may have grown (a touch, a file loaded, a page opened), then drops
   * the users least recently touched while the cache is over its bounds. One user larger than half the byte bound
   * keeps its parsed files but lets go of the entries it opened.
   */
  #account(userId: UserId, user: UserState): void {
    if (this.#users.get(userId) !== user) return;
    this.#cachedBytes -= user.bytes;
    if (user.opened.size > 0 && sizeOf(user) > this.#maxCacheBytes / 2) user.opened.clear();
    user.bytes = sizeOf(user);
    this.#cachedBytes += user.bytes;
    for (const [id, other] of this.#users) {
      if (id === userId) continue;
      if (this.#users.size <= this.#maxCachedUsers && this.#cachedBytes <= this.#maxCacheBytes) break;
      this.#users.delete(id);
      this.#cachedBytes -= other.bytes;
    }
  }

  /** Drops a user's cached state (the files are read again on the next touch). */
  #forget(userId: UserId): void {
    const user = this.#users.get(userId);
    if (!user) return;
    this.#users.delete(userId);
    this.#cachedBytes -= user.bytes;
  }

  /** The current parsed state of a category file: from cache, extended by a tail read, or parsed afresh. */
  async #load(userId: UserId, kind: Category): Promise<FileState> {
    const path = this.#file(userId, kind);
    const user = this.#user(userId);
    // Fast path: one synchronous stat (microseconds on a local disk) instead of open + fstat + close on the
    // thread pool, which under load costs milliseconds per file and dominated warm reads.
    const cached = user.files.get(kind);
    if (cached) {
      try {
        if (sameStat(cached, statSync(path, { bigint: true }))) return cached;
      } catch {
        // Missing or unreadable: the slow path below reports it properly.
      }
    }
    for (;;) {
      const prev = user.files.get(kind);
      const version = prev?.version;
      let handle: FileHandle;
      try {
        handle = await open(path, 'r');
      } catch (error) {
        if (errno(error) === 'ENOENT' && !(await this.hasUser(userId))) throw this.#unknownUser(userId);
        if (errno(error) === 'ENOENT') {
          throw storageError(`The file ${path} is missing. Restore the user's folder from a backup.`, error);
        }
        throw this.#storageFailure(error, 'read', this.#userDir(userId));
      }
      let next: FileState | null = null;
      try {
        const st = await handle.stat({ bigint: true });
        if (prev && sameStat(prev, st)) return prev;
        const size = Number(st.size);
        if (prev && prev.ino === st.ino && prev.dev === st.dev && size > prev.parsedBytes) {
          // Grown in place: normally appends by another process. Read from just before where the cache stopped,
          // check those bytes are unchanged, and parse only the new complete units.
          const from = prev.parsedBytes - prev.probe.length;
          const buf = Buffer.alloc(size - from);
          const { bytesRead } = await handle.read(buf, 0, buf.length, from);
          if (buf.subarray(0, prev.probe.length).equals(prev.probe)) {
            const tail = buf.subarray(prev.probe.length, bytesRead);
            const complete = completeLength(tail);
            if (user.files.get(kind) !== prev || prev.version !== version) continue;
            const { lead, units } = splitUnits(tail.subarray(0, complete).toString('utf8'));
            if (lead.trim().length > 0) {
              addRecord(prev, { t: 'damaged', id: null, reason: 'unrecognised text between entries', raw: own(lead) });
            }
            for (const unit of units) addRecord(prev, this.#parseUnit(userId, kind, unit));
            if (complete > 0) prev.probe = probeOf(buf.subarray(0, prev.probe.length + complete));
            prev.parsedBytes += complete;
            Object.assign(prev, { dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs });
            prev.version++;
            this.#account(userId, user);
            return prev;
          }
        }
        const whole = Buffer.alloc(size);
        const { bytesRead } = await handle.read(whole, 0, size, 0);
        const complete = completeLength(whole.subarray(0, bytesRead));
        next = this.#parseFile(userId, kind, whole.subarray(0, complete), st);
      } catch (error) {
        if (error instanceof MemvaultError) throw error;
        throw this.#storageFailure(error, 'read', this.#userDir(userId));
      } finally {
        await handle.close();
      }
      if (user.files.get(kind) !== prev || prev?.version !== version) continue;
      user.files.set(kind, next);
      this.#account(userId, user);
      return next;
    }
  }

  #parseFile(userId: UserId, kind: Category, bytes: Buffer, st: BigIntStats): FileState {
    const { lead, units } = splitUnits(bytes.toString('utf8'));
    return this.#parsedState(
      kind,
      st,
      bytes,
      own(lead),
      units.map((unit) => this.#parseUnit(userId, kind, unit)),
    );
  }

  #parseUnit(userId: UserId, kind: Category, unit: Unit): Rec {
    if (unit.kind === 'broken') return { t: 'damaged', id: unit.id, reason: unit.reason, raw: own(unit.raw) };
    try {
      if (unit.sealed) {
        const sealed = parseSealedEntry(unit.text);
        if ((sealed.date !== null) !== levelOf(kind) <= 2) {
          throw corruption(
            `Memory entry ${sealed.id} is damaged: a sealed level ${levelOf(kind)} entry must ${levelOf(kind) <= 2 ? '' : 'not '}show its date.`,
          );
        }
        const time = sealed.date === null ? null : Date.parse(sealed.date);
        return {
          t: 'sealed',
          id: sealed.id,
          date: sealed.date,
          time,
          payload: sealed.payload,
          revision: sealed.revision ?? null,
        };
      }
      const { entry, revision } = parseRevisionBlock(unit.text, userId);
      if (entry.category !== kind) {
        throw corruption(
          `Memory entry ${entry.id} is damaged: it says ${entry.category} but sits in the ${kind} file.`,
        );
      }
      return { t: 'plain', id: entry.id, revision, ...indexed(entry) };
    } catch (error) {
      return { t: 'damaged', id: unit.id, reason: reasonOf(error), raw: own(`${unit.text}\n`) };
    }
  }

  /**
   * Opens a sealed record; levels 1–2 are served from (and kept in) the per-user cache of opened entries (`cache`
   * false for history blocks, which would only push the current revision out).
   */
  #open(userId: UserId, kind: Category, rec: SealedRec, opener: EntryOpener, user: UserState, cache = true): Opened {
    const level = levelOf(kind);
    if (level <= 2 && cache) {
      const hit = user.opened.get(rec.id);
      if (hit && hit.payload === rec.payload) return hit;
    }
    const ctx: SealContext = { userId, level, category: kind, entryId: rec.id };
    let text: string;
    try {
      text = opener.open(ctx, rec.payload);
    } catch (error) {
      if (isMemvaultError(error, 'DATA_CORRUPTION') || isMemvaultError(error, 'SECURITY_ERROR')) throw error;
      throw corruption(`Memory entry ${rec.id} is damaged: its sealed payload does not open.`, { id: rec.id }, error);
    }
    const { entry, revision } = parseRevisionBlock(text, userId);
    if (entry.id !== rec.id) {
      throw corruption(`Memory entry ${rec.id} is damaged: the sealed entry inside has another id.`, { id: rec.id });
    }
    if (entry.category !== kind) {
      throw corruption(`Memory entry ${rec.id} is damaged: the sealed entry belongs to ${entry.category}.`, {
        id: rec.id,
      });
    }
    if (rec.date !== null && rec.date !== entry.date) {
      throw corruption(`Memory entry ${rec.id} is damaged: its visible date differs from the sealed one.`, {
        id: rec.id,
      });
    }
    // The revision line is visible (so compaction and the trash work without keys) and repeated inside the seal:
    // a visible line edited, or a payload moved from another revision of the same entry, does not open.
    if (!sameRevision(revision, rec.revision)) {
      throw corruption(`Memory entry ${rec.id} is damaged: its visible revision differs from the sealed one.`, {
        id: rec.id,
      });
    }
    const opened: Opened = { payload: rec.payload, ...indexed(entry) };
    if (level <= 2 && cache) user.opened.set(rec.id, opened);
    return opened;
  }

  /**
   * The current block of an entry: the highest revision of its id over every category file (a text edit that
   * re-classified it appends the new revision to another file). A trashed entry is NOT_FOUND unless `trashed`.
   */
  async #locate(userId: UserId, id: string, trashed = false): Promise<Located> {
    const states = await Promise.all(CATEGORIES.map((kind) => this.#load(userId, kind)));
    const heads: Located[] = [];
    for (const state of states) {
      const rec = state.byId.get(id);
      if (rec) heads.push({ kind: state.kind, state, rec });
    }
    const best = latestRevision(heads, (h) => blockOf(h.rec));
    if (best === undefined || (!trashed && best.rec.t !== 'damaged' && best.rec.revision?.kind === 'trash')) {
      throw notFound(`No memory ${id} in this vault.`, { id });
    }
    return best;
  }

  /**
   * For ids revised in some file: the category whose block is current (the highest revision). Ids absent from it
   * were never revised, and their one block per file is current. Cached while no file changed.
   */
  #winners(user: UserState, states: readonly FileState[]): Map<string, Category> {
    const key = states.map((s) => `${s.kind}:${s.ino}:${s.size}:${s.mtimeNs}:${s.version}`).join(';');
    if (user.winners?.key === key) return user.winners.map;
    const best = new Map<string, { kind: Category; n: number }>();
    for (const state of states) {
      for (const [id, revision] of state.revised) {
        const seen = best.get(id);
        if (seen === undefined || revision.n > seen.n) best.set(id, { kind: state.kind, n: revision.n });
      }
    }
    const map = new Map<string, Category>();
    for (const [id, w] of best) map.set(id, w.kind);
    user.winners = { key, map };
    return map;
  }

  /** True when `rec` is the current block of its entry (trashed or not). */
  #current(state: FileState, rec: Rec, winners: ReadonlyMap<string, Category>): boolean {
    if (rec.t === 'damaged') return false;
    if (state.revised.size > 0 && state.byId.get(rec.id) !== rec) return false;
    return (winners.get(rec.id) ?? state.kind) === state.kind;
  }

  /** The entry of a located record, for a caller allowed to read its level. */
  #materialize(userId: UserId, found: Located, opener: EntryOpener): MemoryEntry {
    const level = levelOf(found.kind);
    if (!opener.canOpen(level)) throw lockedLevel(level);
    const rec = found.rec;
    if (rec.t === 'damaged') {
      throw corruption(`Memory entry ${rec.id} is damaged (${rec.reason}). Restore it from a backup.`, { id: rec.id });
    }
    if (rec.t === 'plain') return rec.entry;
    return this.#open(userId, found.kind, rec, opener, this.#user(userId)).entry;
  }

  /**
   * Appends `next` as the next revision of a located entry, to the file of its category. Call only under the lock.
   * A move up to a more protected level that leaves the text as it was erases the copies at lower levels.
   */
  async #revise(userId: UserId, found: Located, next: MemoryEntry, kind: RevisionKind): Promise<void> {
    const revision = nextRevision(revisionOf(found.rec), kind, this.#clock.now().toISOString());
    const made = await this.#record(userId, next, revision);
    await this.#appendLocked(userId, next.category, [made]);
    const user = this.#user(userId);
    user.opened.delete(next.id);
    this.#remember(userId, next.category, made.rec, next);
    if (erasesLowerCopies(kind, found.kind, next.category)) {
      for (const lower of CATEGORIES) {
        if (levelOf(lower) >= levelOf(next.category)) continue;
        const state = await this.#load(userId, lower);
        if (state.byId.has(next.id)) await this.#rewrite(userId, state, (rec) => (rec.id === next.id ? null : rec));
      }
    }
    await this.#compactIfDue(userId, next.category);
  }

  /**
   * Removes every block of `id` from every file and, where `opener` can open them, the references to it from the
   * current blocks of other entries (a locked level keeps a dangling reference, which readers tolerate). One
   * rewrite per file that changes. Call only under the lock.
   */
  async #erase(userId: UserId, id: string, opener: EntryOpener | null): Promise<void> {
    const user = this.#user(userId);
    const all = await Promise.all(CATEGORIES.map((kind) => this.#load(userId, kind)));
    const winners = this.#winners(user, all);
    for (const kind of CATEGORIES) {
      // Found by id in the very state that is rewritten: another person's read may evict this one's parsed files
      // while this awaits, and the reload builds new records (matching by object identity once removed nothing).
      const state = await this.#load(userId, kind);
      const level = levelOf(kind);
      const replaced = new Map<Rec, Rec>();
      if (opener?.canOpen(level)) {
        for (const rec of state.records) {
          if (rec.t === 'damaged' || rec.id === id || !this.#current(state, rec, winners)) continue;
          let entry: MemoryEntry;
          try {
            entry = rec.t === 'plain' ? rec.entry : this.#open(userId, kind, rec, opener, user).entry;
          } catch (error) {
            if (isMemvaultError(error, 'SECURITY_ERROR')) throw error;
            continue; // a damaged entry stays as it is
          }
          if (!entry.related.includes(id)) continue;
          const { checksum: _, ...rest } = entry;
          const next = withChecksum({ ...rest, related: entry.related.filter((r) => r !== id) });
          replaced.set(rec, (await this.#record(userId, next, rec.revision)).rec);
        }
      }
      if (!state.byId.has(id) && replaced.size === 0) continue;
      await this.#rewrite(userId, state, (rec) => (rec.id === id ? null : (replaced.get(rec) ?? rec)));
    }
    user.opened.delete(id);
    user.sortKeys.delete(id);
  }

  /** The current blocks that are trash revisions, with their files. */
  async #trashed(userId: UserId): Promise<{ state: FileState; rec: Rec }[]> {
    const all = await Promise.all(CATEGORIES.map((kind) => this.#load(userId, kind)));
    const winners = this.#winners(this.#user(userId), all);
    const out: { state: FileState; rec: Rec }[] = [];
    for (const state of all) {
      for (const [id, revision] of state.revised) {
        if (revision.kind !== 'trash' || (winners.get(id) ?? state.kind) !== state.kind) continue;
        const rec = state.byId.get(id);
        if (rec) out.push({ state, rec });
      }
    }
    return out;
  }

  /**
   * Erases for good what has been in the trash for more than 30 days. Runs under the lock at the start of every
   * change but a new memory (update, edit, annotate — the daily processing runs it every day —, trash, restore,
   * delete) and when the trash is listed; appends of new memories skip it to stay O(1).
   */
  async #expireTrash(userId: UserId): Promise<void> {
    const now = this.#clock.now().getTime();
    const expired = new Set<string>();
    for (const { rec } of await this.#trashed(userId)) {
      if (rec.t !== 'damaged' && trashLapsed(blockOf(rec), now)) expired.add(rec.id);
    }
    for (const id of expired) await this.#erase(userId, id, null);
  }

  /** Compacts a file when its droppable history passes a share of it (see `#compact`). Call only under the lock. */
  async #compactIfDue(userId: UserId, kind: Category): Promise<void> {
    const state = await this.#load(userId, kind);
    if (state.droppable < this.#compactMinimum || state.droppable < state.records.length * COMPACT_SHARE) return;
    await this.#compact(userId, state);
  }

  /**
   * Rewrites a file without the history nobody sees: a block superseded in the same file by an `update`, `trash`
   * or `restore` revision, unless the block is itself an `edit` (then it is the text after an edit, and the block
   * before it is the version that edit replaced). Versions, damaged blocks and current blocks stay.
   */
  async #compact(userId: UserId, state: FileState): Promise<void> {
    const drop = new Set<Rec>();
    const after = new Map<string, RevisionKind>();
    for (let i = state.records.length - 1; i >= 0; i--) {
      const rec = state.records[i]!;
      if (rec.t === 'damaged') continue;
      const next = after.get(rec.id);
      if (next !== undefined && next !== 'edit' && rec.revision?.kind !== 'edit') drop.add(rec);
      if (rec.revision) after.set(rec.id, rec.revision.kind);
      else after.delete(rec.id);
    }
    if (drop.size === 0) return;
    await this.#rewrite(userId, state, (rec) => (drop.has(rec) ? null : rec));
  }

  /** Renders an entry as the vault's sealer wants it stored. */
  async #record(
    userId: UserId,
    entry: MemoryEntry,
    revision: Revision | null = null,
  ): Promise<{ rec: Rec; text: string }> {
    const plain = renderEntry(entry, revision);
    if (!this.#sealer.seals(entry.level)) {
      return { rec: { t: 'plain', id: entry.id, revision, ...indexed(entry) }, text: plain };
    }
    const ctx: SealContext = { userId, level: entry.level, category: entry.category, entryId: entry.id };
    const payload = await this.#sealer.seal(ctx, plain);
    if (typeof payload !== 'string' || !isStorablePayload(payload)) {
      throw storageError(
        'The sealer returned a payload the vault cannot store (it must be printable ASCII without back-ticks).',
      );
    }
    const date = entry.level <= 2 ? entry.date : null;
    return {
      rec: { t: 'sealed', id: entry.id, date, time: date === null ? null : Date.parse(date), payload, revision },
      text: renderSealedEntry({ id: entry.id, date, payload, revision }),
    };
  }

  /** Keeps a just-written level 1–2 plaintext in the opened cache, so the next read does not open it again. */
  #remember(userId: UserId, kind: Category, rec: Rec, entry: MemoryEntry): void {
    if (rec.t === 'sealed' && levelOf(kind) <= 2) {
      this.#user(userId).opened.set(rec.id, { payload: rec.payload, ...indexed(entry) });
    }
  }

  /**
   * One durable append (one write + fdatasync) of rendered units, in order. Call only under the user's lock. A crash
   * can leave a prefix of them (whole units; a torn one is cut on the next lock), never an earlier block changed.
   */
  async #appendLocked(
    userId: UserId,
    kind: Category,
    units: readonly { readonly rec: Rec; readonly text: string }[],
  ): Promise<void> {
    const path = this.#file(userId, kind);
    const bytes = Buffer.from(units.map((u) => `${u.text}\n`).join(''), 'utf8');
    // Everything here but fdatasync touches only metadata and the page cache and takes microseconds, so it
    // runs synchronously: on a busy machine each thread-pool round trip costs more than the work itself.
    // fdatasync, the one call that waits for the disk, goes to the thread pool.
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDWR | constants.O_APPEND);
    } catch (error) {
      if (errno(error) === 'ENOENT' && !(await this.hasUser(userId))) throw this.#unknownUser(userId);
      if (errno(error) === 'ENOENT') {
        throw storageError(`The file ${path} is missing. Restore the user's folder from a backup.`, error);
      }
      throw this.#storageFailure(error, 'write', this.#userDir(userId));
    }
    try {
      const size = repairTail(fd, path, fstatSync(fd).size);
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
      await fdatasyncAsync(fd);
      const after = fstatSync(fd, { bigint: true });
      const state = this.#user(userId).files.get(kind);
      if (state && state.ino === after.ino && state.dev === after.dev && state.parsedBytes === size) {
        for (const unit of units) addRecord(state, unit.rec);
        state.parsedBytes = size + bytes.length;
        state.probe = probeOf(bytes);
        Object.assign(state, { size: after.size, mtimeNs: after.mtimeNs, ctimeNs: after.ctimeNs });
        state.version++;
      }
    } catch (error) {
      throw this.#storageFailure(error, 'write', this.#userDir(userId));
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Rewrites a category file with `map` applied to each record (null drops it): temp → fsync → rename →
   * fsync(dir). Damaged units are kept byte for byte. Call only under the user's lock.
   */
  async #rewrite(userId: UserId, state: FileState, map: (rec: Rec) => Rec | null): Promise<void> {
    const path = this.#file(userId, state.kind);
    const records: Rec[] = [];
    const parts: string[] = [state.header];
    for (const rec of state.records) {
      const next = map(rec);
      if (next === null) continue;
      records.push(next);
      if (next.t === 'plain') parts.push(renderEntry(next.entry, next.revision), '\n');
      else if (next.t === 'sealed') parts.push(renderSealedEntry(next), '\n');
      else parts.push(next.raw);
    }
    let text = parts.join('');
    // A damaged unit may lack its terminator; never let one end the file, or it would read as a torn append.
    if (text.length > 0 && !text.endsWith(TERMINATOR)) text += text.endsWith('\n') ? '---\n\n' : '\n---\n\n';
    const bytes = Buffer.from(text, 'utf8');
    try {
      await writeFileAtomic(path, bytes, { mode: 0o600 });
      const st = await stat(path, { bigint: true });
      const fresh = this.#parsedState(state.kind, st, bytes, state.header, records);
      this.#user(userId).files.set(state.kind, fresh);
    } catch (error) {
      this.#user(userId).files.delete(state.kind);
      throw this.#storageFailure(error, 'write', this.#userDir(userId));
    }
  }

  #parsedState(kind: Category, st: BigIntStats, bytes: Buffer, header: string, records: Rec[]): FileState {
    const state: FileState = {
      kind,
      dev: st.dev,
      ino: st.ino,
      size: st.size,
      mtimeNs: st.mtimeNs,
      ctimeNs: st.ctimeNs,
      parsedBytes: bytes.length,
      probe: probeOf(bytes),
      header,
      records: [],
      byId: new Map(),
      revised: new Map(),
      droppable: 0,
      version: 0,
    };
    for (const rec of records) addRecord(state, rec);
    return state;
  }

  /**
   * The user's folder already exists without a profile (another component wrote its own file there first):
   * move the vault's files in one by one under the user's lock, each with link(2), which never overwrites; the
   * profile goes last, since its presence is what makes the user exist. A profile already there is CONFLICT.
   */
  async #adoptFolder(userId: UserId, temp: string): Promise<void> {
    await this.#withLock(userId, async () => {
      const dir = this.#userDir(userId);
      if (await this.hasUser(userId)) throw this.#conflict(userId);
      const names = [...CATEGORIES, 'USER' as const].map((kind) => `${kind}.${userId}.md`);
      for (const name of names) {
        try {
          await link(join(temp, name), join(dir, name));
        } catch (error) {
          // A category file left by an earlier, interrupted adoption is kept: it may already hold entries.
          if (errno(error) !== 'EEXIST' || name.startsWith('USER.')) throw error;
        }
      }
      await fsyncDirectory(dir);
      await rm(temp, { recursive: true, force: true });
    });
  }

  /** Removes `.creating.*` folders of createUser calls whose process died. */
  async #removeAbandonedCreations(): Promise<void> {
    for (const name of await readdir(this.#usersDir)) {
      if (!name.startsWith(CREATING_PREFIX)) continue;
      const pid = Number(name.split('.')[3]);
      if (!isProcessAlive(pid)) await rm(join(this.#usersDir, name), { recursive: true, force: true });
    }
  }

  // ── paths and errors ─────────────────────────────────────────────────────────────────────────────────────

  /** The user's folder. The id is re-checked here, as defence in depth: nothing else reaches a path. */
  #userDir(userId: UserId): string {
    if (typeof userId !== 'string' || !isUserId(userId)) {
      throw validationError('Not a valid user id: expected an E.164 phone number such as +14155550134.', {
        field: 'userId',
      });
    }
    return join(this.#usersDir, userId);
  }

  #file(userId: UserId, kind: FileKind): string {
    if (!(FILE_KINDS as readonly string[]).includes(kind)) {
      throw validationError('Unknown vault file kind.', { field: 'kind' });
    }
    return join(this.#userDir(userId), `${kind}.${userId}.md`);
  }

  #assertOpen(): void {
    if (this.#closed) throw storageError('This vault is closed; open a new one.');
  }

  #unknownUser(userId: UserId): MemvaultError {
    return notFound(`No user ${userId} in this vault. Create the user first.`, { userId });
  }

  #conflict(userId: UserId): MemvaultError {
    return new MemvaultError('CONFLICT', `User ${userId} already exists.`, { details: { userId } });
  }

  #storageFailure(error: unknown, action: string, dir: string): MemvaultError {
    if (error instanceof MemvaultError) return error;
    const code = errno(error) ?? 'unknown error';
    const hint =
      code === 'EACCES' || code === 'EPERM'
        ? ' Check that this process may read and write it.'
        : code === 'ENOSPC'
          ? ' The disk is full.'
          : code === 'EROFS'
            ? ' The file system is read-only.'
            : code === 'ENOTDIR'
              ? ' A path component is a file, not a folder: check the data directory.'
              : '';
    return storageError(`Cannot ${action} in ${dir} (${code}).${hint}`, error, { code });
  }
}

const fdatasyncAsync = promisify(fdatasync);

/**
 * Cuts an incomplete tail (an append torn by a crash; never acknowledged) back to the last complete unit and
 * keeps the cut bytes in `<file>.torn` (0600). Returns the file's size afterwards. Call only under the user's
 * lock. The common case reads six bytes; the rest runs only after a crash.
 */
function repairTail(fd: number, path: string, size: number): number {
  if (size === 0) return 0;
  const last = Buffer.alloc(Math.min(size, TERMINATOR_BYTES.length));
  readSync(fd, last, 0, last.length, size - last.length);
  if (endsComplete(last)) return size;
  const whole = Buffer.alloc(size);
  let got = 0;
  while (got < size) {
    const n = readSync(fd, whole, got, size - got, got);
    if (n === 0) break;
    got += n;
  }
  const keep = completeLength(whole.subarray(0, got));
  const torn = openSync(`${path}.torn`, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND, 0o600);
  try {
    writeSync(torn, whole.subarray(keep, got));
    fsyncSync(torn);
  } finally {
    closeSync(torn);
  }
  ftruncateSync(fd, keep);
  fsyncSync(fd);
  return keep;
}

const PROBE_BYTES = 64;
const probeOf = (bytes: Buffer) => Buffer.from(bytes.subarray(Math.max(0, bytes.length - PROBE_BYTES)));

function addRecord(state: FileState, rec: Rec): void {
  const existing = rec.id === null ? undefined : state.byId.get(rec.id);
  if (rec.t !== 'damaged' && existing !== undefined && existing.t !== 'damaged') {
    if (rec.revision !== null && rec.revision.n > revisionOf(existing)) {
      // A later revision: it becomes current; the earlier block stays as history (a version or droppable).
      if (rec.revision.kind !== 'edit' && existing.revision?.kind !== 'edit') state.droppable++;
      state.records.push(rec);
      state.byId.set(rec.id, rec);
      state.revised.set(rec.id, rec.revision);
      return;
    }
    const raw =
      rec.t === 'plain'
        ? `${renderEntry(rec.entry, rec.revision)}\n`
        : `${renderSealedEntry({ id: rec.id, date: rec.date, payload: rec.payload, revision: rec.revision })}\n`;
    rec = { t: 'damaged', id: rec.id, reason: 'another entry in this file has the same id', raw };
  }
  state.records.push(rec);
  // A damaged entry is findable by id too (so `get` says DATA_CORRUPTION, not NOT_FOUND), unless an intact one is.
  if (rec.id !== null && (existing === undefined || (existing.t === 'damaged' && rec.t !== 'damaged'))) {
    state.byId.set(rec.id, rec);
    if (rec.t !== 'damaged' && rec.revision !== null) state.revised.set(rec.id, rec.revision);
  }
}

/** Writes a new file and fsyncs it (used while building a user folder under a temporary name). */
async function writeDurable(path: string, text: string): Promise<void> {
  const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.chmod(0o600);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
