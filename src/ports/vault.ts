import type { Category, SecurityLevel } from '../core/category.js';
import type { EntryPatch, MemoryEntry, NewEntry, UserId } from '../core/entry.js';
import type { EntryOpener } from './sealer.js';

export interface UserProfile {
  readonly userId: UserId;
  readonly name: string | null;
  /** IANA time zone, e.g. "Europe/Lisbon". */
  readonly timezone: string;
  readonly createdAt: string;
  /** Highest level this user may ever read (seed: the user's maximum level). */
  readonly maxLevel: SecurityLevel;
  readonly email: string | null;
  readonly preferences: Readonly<Record<string, string>>;
}

export interface NewUser {
  readonly userId: UserId;
  readonly name?: string | null;
  readonly timezone?: string;
  readonly email?: string | null;
  readonly maxLevel?: SecurityLevel;
  readonly preferences?: Readonly<Record<string, string>>;
}

/** What a person may change of their own profile; an absent field stays as it is, `name: null` clears it. */
export interface ProfilePatch {
  readonly name?: string | null;
  readonly timezone?: string;
  /** Merged into the preferences; an empty value removes that preference. */
  readonly preferences?: Readonly<Record<string, string>>;
}

export interface EntryFilter {
  readonly categories?: readonly Category[];
  readonly levels?: readonly SecurityLevel[];
  /** Inclusive lower bound (ISO 8601), on `dateField`. */
  readonly from?: string;
  /** Exclusive upper bound (ISO 8601), on `dateField`. */
  readonly to?: string;
  /** Which date the range applies to; default "date" (message date). */
  readonly dateField?: 'date' | 'eventDate';
  /** Entries carrying every one of these tags (case-insensitive). */
  readonly tags?: readonly string[];
  readonly externalId?: string;
  readonly limit?: number;
  readonly offset?: number;
  /** Default "desc": newest first. */
  readonly order?: 'asc' | 'desc';
}

/** A derived note on one entry (see `Vault.annotate`). */
export interface EntryNote {
  readonly id: string;
  /** The new analysis, from the current one (so a person's edit in between is kept). */
  readonly analysis?: (current: string) => string;
  /** Ids to add to, and to remove from, its related memories. */
  readonly link?: readonly string[];
  readonly unlink?: readonly string[];
}

export interface DamagedEntry {
  /** The entry id when the heading survived, else null. */
  readonly id: string | null;
  readonly category: Category;
  readonly reason: string;
}

/** What can be said of an entry in a locked level without opening it. */
export interface LockedEntry {
  readonly id: string;
  readonly category: Category;
  readonly level: SecurityLevel;
  /** The visible message date (levels 1–2); null where the date is sealed too (levels 3–4). */
  readonly date: string | null;
}

export interface ReadResult {
  readonly entries: MemoryEntry[];
  /** Matching entries the caller's opener could not open (their level is locked). */
  readonly locked: number;
  /** Those locked entries, unopened, so a list can show them in place as sealed (adapters may omit it). */
  readonly lockedEntries?: readonly LockedEntry[];
  /** Entries that failed their checksum or could not be parsed or opened; intact ones are still returned. */
  readonly damaged: DamagedEntry[];
  /** Total matches before limit/offset. */
  readonly total: number;
  /** Ids of damaged entries this read replaced by intact copies from backups (automatic recovery), if any. */
  readonly recovered?: readonly string[];
}

/** An earlier version of an entry's text (see `Vault.versions`). */
export interface EntryVersion {
  /** Its revision number (1 for the text as first written). */
  readonly revision: number;
  readonly category: Category;
  readonly level: SecurityLevel;
  /** When this version was written (null for a first version at levels 3–4 whose date is sealed and locked). */
  readonly savedAt: string | null;
  /** When the edit that replaced it was made. */
  readonly replacedAt: string;
  /** The version, or null when its level is locked for the caller. */
  readonly entry: MemoryEntry | null;
}

/** A memory in the trash (see `Vault.trash`). */
export interface TrashedEntry {
  readonly id: string;
  readonly category: Category;
  readonly level: SecurityLevel;
  readonly trashedAt: string;
  /** When it is erased for good unless restored (trashedAt + 30 days). */
  readonly erasedAfter: string;
  /** The memory, or null when its level is locked for the caller. */
  readonly entry: MemoryEntry | null;
}

/** How long a trashed memory is kept before it is erased for good. */
export const TRASH_DAYS = 30;

export interface IntegrityReport {
  readonly userId: UserId;
  readonly intact: number;
  readonly locked: number;
  readonly damaged: DamagedEntry[];
}

/**
 * The seed's MDFileManager as a port (DESIGN §3). The filesystem adapter is the default; a PostgreSQL adapter
 * runs the same contract suite (test/contract/vault.contract.ts).
 */
export interface Vault {
  createUser(user: NewUser): Promise<UserProfile>;
  hasUser(userId: UserId): Promise<boolean>;
  /** @throws NOT_FOUND for an unknown user. */
  getProfile(userId: UserId): Promise<UserProfile>;
  listUsers(): Promise<UserId[]>;
  /** @throws NOT_FOUND for an unknown user; VALIDATION_ERROR naming the field. */
  updateProfile(userId: UserId, patch: ProfilePatch): Promise<UserProfile>;
  /** Appends atomically and durably; returns the stored entry with its id, level and checksum. */
  append(userId: UserId, entry: NewEntry): Promise<MemoryEntry>;
  read(userId: UserId, filter: EntryFilter, opener: EntryOpener): Promise<ReadResult>;
  /** @throws NOT_FOUND; SECURITY_ERROR (insufficient_permissions) when its level is locked. */
  get(userId: UserId, id: string, opener: EntryOpener): Promise<MemoryEntry>;
  /**
   * Changes one entry; a category change moves it to the other file (re-sealed at its new level). The file vault
   * appends a revision and keeps the earlier text as a version when the content changed.
   */
  update(userId: UserId, id: string, patch: EntryPatch, opener: EntryOpener): Promise<MemoryEntry>;
  /** Erases one entry for good (its versions and trash too) and every reference to it. */
  delete(userId: UserId, id: string, opener: EntryOpener): Promise<void>;
  /**
   * Moves an entry to the trash (hidden from read, get and search; restorable for `TRASH_DAYS` days, then erased).
   * Optional: without it, deleting erases at once. @throws NOT_FOUND; SECURITY_ERROR when its level is locked.
   */
  trash?(userId: UserId, id: string, opener: EntryOpener): Promise<MemoryEntry>;
  /** Brings an entry back from the trash. @throws NOT_FOUND when it is not in the trash. */
  restore?(userId: UserId, id: string, opener: EntryOpener): Promise<MemoryEntry>;
  /** The trash, most recently trashed first; levels the opener cannot open are listed without content. */
  listTrash?(userId: UserId, opener: EntryOpener): Promise<TrashedEntry[]>;
  /** Erases every trashed entry the opener can open; returns how many. */
  emptyTrash?(userId: UserId, opener: EntryOpener): Promise<number>;
  /**
   * Earlier versions of an entry's text (before each edit), newest first, each at the level of the file it lives
   * in: a version in a level the opener cannot open comes without its entry. Optional: adapters without history.
   */
  versions?(userId: UserId, id: string, opener: EntryOpener): Promise<EntryVersion[]>;
  /** Links two entries in both directions ("Related Memories"). */
  link(userId: UserId, a: string, b: string, opener: EntryOpener): Promise<void>;
  /**
   * Applies many small notes (analysis, links) under one lock, rewriting each category file at most once: the
   * daily processing's importance and connections. Entries that are gone, damaged or at a level `opener` cannot
   * open are skipped; a note that changes nothing writes nothing. Links are kept in both directions only as far
   * as the notes say so (give both ends). Returns the entries rewritten. Optional: without it, callers fall back
   * to `update` per entry.
   */
  annotate?(userId: UserId, notes: readonly EntryNote[], opener: EntryOpener): Promise<number>;
  /** Names damaged entries by id; the intact ones stay readable. */
  check(userId: UserId, opener: EntryOpener): Promise<IntegrityReport>;
  /**
   * Re-renders every entry of the user through the vault's current sealer (after key rotation, or a change of
   * MEMVAULT_LEVEL1). Needs an opener for every sealed level. Returns the number of entries rewritten.
   * @throws DATA_CORRUPTION after rewriting all it could when some sealed entry did not open (details.unopened,
   *   details.ids): keys that might still open it must not be retired.
   */
  reseal(userId: UserId, opener: EntryOpener): Promise<number>;
  /**
   * Replaces damaged entries of one category file with intact copies of the same ids found in `copy` (the text
   * of that category file from a backup). A copy is taken only when it proves intact: a plain entry passes its
   * checksum; a sealed one opens with `opener` (a level the opener cannot open is never replaced). Returns the
   * ids replaced. Optional: adapters without raw files need not offer it.
   */
  recoverDamaged?(userId: UserId, category: Category, copy: string, opener: EntryOpener): Promise<string[]>;
  /** An opaque string that changes on every write to the user's entries (derived indexes use it to detect staleness). */
  revision(userId: UserId): Promise<string>;
  /** Releases locks, caches and file handles. */
  close(): Promise<void>;
}

/**
 * Which external ids (a chat export's message ids) were imported for a person, so importing the same export
 * again adds nothing — also for messages sealed at levels the importer cannot open, whose external ids are
 * sealed with them. Only one-way digests of the ids are kept.
 */
export interface ImportLedger {
  /** The subset of `externalIds` already imported for this person. */
  known(userId: UserId, externalIds: readonly string[]): Promise<Set<string>>;
  /** Records one imported id durably (after its memory was stored). */
  record(userId: UserId, externalId: string): Promise<void>;
  /**
   * Runs one import of this person alone: two imports of the same export at once would both find nothing
   * recorded and both store every message. @throws CONFLICT while another import of the person runs.
   */
  exclusive<T>(userId: UserId, run: () => Promise<T>): Promise<T>;
}
