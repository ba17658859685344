import type pg from 'pg';
import { monotonicFactory } from 'ulidx';
import { CATEGORIES, type Category, isCategory, levelOf } from '../core/category.js';
import { withChecksum } from '../core/checksum.js';
import type { EntryPatch, MemoryEntry, NewEntry, UserId } from '../core/entry.js';
import { corruption, isMemvaultError, MemvaultError, notFound, storageError, validationError } from '../core/errors.js';
import { isUserId } from '../core/e164.js';
import { KeyedMutex } from '../infra/keyed-mutex.js';
import { type Clock, systemClock } from '../ports/clock.js';
import { type EntryOpener, type EntrySealer, plainSealer, type SealContext } from '../ports/sealer.js';
import type {
  DamagedEntry,
  EntryFilter,
  EntryNote,
  EntryVersion,
  TrashedEntry,
  IntegrityReport,
  NewUser,
  ReadResult,
  UserProfile,
  Vault,
  ProfilePatch,
} from '../ports/vault.js';
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
} from '../vault/entry-query.js';
import { applyPatch, buildEntry } from '../vault/entry-rules.js';
import {
  isSealedBlock,
  isStorablePayload,
  parseRevisionBlock,
  parseSealedEntry,
  type Revision,
  type RevisionKind,
  renderEntry,
  renderSealedEntry,
  sameRevision,
} from '../vault/markdown-codec.js';
import {
  applyNote,
  byTrashedAtDesc,
  changeKind,
  erasesLowerCopies,
  isTrashed,
  latestRevision,
  nextRevision,
  type RevisedBlock,
  revisionNumber,
  trashLapsed,
  trashListing,
  versionBlocks,
} from '../vault/revision-rules.js';
import { buildProfile, categoryHeader, parseProfile, renderProfile } from '../vault/templates.js';
import { PERSON_LOCK_SQL, type PgDatabase } from './database.js';

export interface PgVaultOptions {
  readonly db: PgDatabase;
  readonly sealer?: EntrySealer;
  readonly clock?: Clock;
  readonly maxContentBytes?: number;
  /** How many people's parsed entries stay in this process's memory, least recently used out; default 32. */
  readonly maxCachedUsers?: number;
  /** Told, for every write, how long it waited for the person's lock (this process's queue and the advisory lock). */
  readonly onLockWait?: (seconds: number) => void;
}

/** One stored unit, parsed as far as it can be without keys (as the file vault's records). */
type Rec =
  | ({ readonly t: 'plain'; readonly id: string; readonly revision: Revision | null } & Indexed)
  | {
      readonly t: 'sealed';
      readonly id: string;
      /** The visible revision line (null for revision 1); the same line is inside the seal. */
      readonly revision: Revision | null;
      readonly date: string | null;
      readonly time: number | null;
      readonly payload: string;
    }
  | { readonly t: 'damaged'; readonly id: string; readonly reason: string };

type SealedRec = Extract<Rec, { t: 'sealed' }>;

interface Row {
  readonly rec: Rec;
  readonly category: Category;
  readonly pos: number;
}

interface SortKey {
  readonly payload: string;
  readonly time: number;
  readonly eventTime: number | null;
}

/** What this process knows of one person's entries, valid at `revision`. */
interface UserCache {
  revision: number;
  /** The current row of each entry (trashed ones too): see `currentOf`. */
  readonly rows: Map<string, Row>;
  /** For the few ids with rows in more than one category (moved by an edit): the latest row in each. */
  readonly spread: Map<string, Row[]>;
  /** Ids whose current row is a trash revision, so the trash is found without going over every entry. */
  readonly trashed: Set<string>;
  /** Rows per category in stored order; rebuilt after a change. */
  runs: Map<Category, Row[]> | null;
  readonly opened: Map<string, Opened>;
  readonly sortKeys: Map<string, SortKey>;
}

interface DbRow {
  id: string;
  category: string;
  pos: string;
  unit: string;
}

const DEFAULT_MAX_CONTENT = 65_536;

/**
 * The vault in PostgreSQL (DESIGN §10, docs/scale-out.md): one row per person and one per block of a memory
 * (each revision, as the file vault appends them: docs/entry-format.md, "Revisions"), holding the very unit the
 * category file would hold (plain Markdown or sealed block), so `export` writes the file vault's bytes. A change
 * inserts the next revision; the current row of an id is decided by the file vault's rules (vault/revision-rules.ts). Every write runs in one transaction under the person's advisory lock and moves their revision on by
 * one, so appends from any number of servers are serialised per person and never lost. Each process caches
 * parsed entries per person and brings them up to date from the rows changed since its revision (one indexed
 * query), reloading fully only after rows were removed (a delete, a move up, an expiry).
 */
export class PgVault implements Vault {
  readonly #db: PgDatabase;
  readonly #sealer: EntrySealer;
  readonly #clock: Clock;
  readonly #maxContentBytes: number;
  readonly #maxCachedUsers: number;
  readonly #onLockWait: ((seconds: number) => void) | undefined;
  readonly #users = new Map<UserId, UserCache>();
  /** One write per person at a time in this process: the others wait here, not holding a pooled connection. */
  readonly #mutex = new KeyedMutex<UserId>();
  readonly #ulid = monotonicFactory(bufferedRandom());
  #closed = false;

  constructor(options: PgVaultOptions) {
    this.#db = options.db;
    this.#sealer = options.sealer ?? plainSealer;
    this.#clock = options.clock ?? systemClock;
    this.#maxContentBytes = options.maxContentBytes ?? DEFAULT_MAX_CONTENT;
    this.#maxCachedUsers = options.maxCachedUsers ?? 32;
    this.#onLockWait = options.onLockWait;
  }

  // ── users ────────────────────────────────────────────────────────────────────────────────────────────────

  async createUser(user: NewUser): Promise<UserProfile> {
    this.#assertOpen();
    const userId = checkUser(user?.userId);
    const profile = buildProfile(user, this.#clock.now().toISOString());
    const rows = await this.#db.query(
      'create the user',
      'INSERT INTO mv_users (user_id, profile) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING RETURNING user_id',
      [userId, renderProfile(profile)],
    );
    if (rows.length === 0) {
      throw new MemvaultError('CONFLICT', `User ${userId} already exists.`, { details: { userId } });
    }
    this.#users.delete(userId);
    return profile;
  }

  async hasUser(userId: UserId): Promise<boolean> {
    this.#assertOpen();
    checkUser(userId);
    const rows = await this.#db.query('read the user', 'SELECT 1 FROM mv_users WHERE user_id = $1', [userId]);
    return rows.length > 0;
  }

  async getProfile(userId: UserId): Promise<UserProfile> {
    this.#assertOpen();
    checkUser(userId);
    // Read every time: another server may have changed it (updateProfile), and it is one primary-key lookup.
    const rows = await this.#db.query<{ profile: string }>(
      'read the profile',
      'SELECT profile FROM mv_users WHERE user_id = $1',
      [userId],
    );
    const row = rows[0];
    if (!row) throw unknownUser(userId);
    return parseProfile(row.profile, userId);
  }

  async updateProfile(userId: UserId, patch: ProfilePatch): Promise<UserProfile> {
    this.#assertOpen();
    checkUser(userId);
    return this.#db.tx('update the profile', async (client) => {
      const found = await client.query<{ profile: string }>(
        'SELECT profile FROM mv_users WHERE user_id = $1 FOR UPDATE',
        [userId],
      );
      const row = found.rows[0];
      if (!row) throw unknownUser(userId);
      const current = parseProfile(row.profile, userId);
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
      await client.query('UPDATE mv_users SET profile = $2 WHERE user_id = $1', [userId, renderProfile(next)]);
      return next;
    });
  }

  async listUsers(): Promise<UserId[]> {
    this.#assertOpen();
    const rows = await this.#db.query<{ user_id: string }>(
      'list users',
      'SELECT user_id FROM mv_users ORDER BY user_id COLLATE "C"',
    );
    return rows.map((r) => r.user_id).filter(isUserId);
  }

  // ── entries ──────────────────────────────────────────────────────────────────────────────────────────────

  async append(userId: UserId, input: NewEntry): Promise<MemoryEntry> {
    this.#assertOpen();
    checkUser(userId);
    const entry = buildEntry(userId, this.#ulid(this.#clock.now().getTime()), input, this.#maxContentBytes);
    // As in the file vault: seal before the lock, and again under it if a key rotation happened in between.
    const sealer = this.#sealer;
    const sealed = sealer.seals(entry.level);
    const checked = sealed && sealer.keyGeneration !== undefined;
    const before = checked ? await sealer.keyGeneration!(userId) : undefined;
    let made = sealed && !checked ? undefined : await this.#record(userId, entry);
    const { from, to } = await this.#write(userId, 'save the memory', async (client, revision) => {
      if (made === undefined || (checked && (await sealer.keyGeneration!(userId)) !== before)) {
        made = await this.#record(userId, entry);
      }
      await client.query(
        'INSERT INTO mv_entries (user_id, id, category, pos, revision, unit) VALUES ($1, $2, $3, $4, $4, $5)',
        [userId, entry.id, entry.category, revision, made.unit],
      );
      return { reset: false };
    });
    // Keep this process's cache current when nothing else wrote in between (else the next read catches up).
    const cache = this.#users.get(userId);
    if (cache && cache.revision === from && made) {
      const row: Row = { rec: made.rec, category: entry.category, pos: to };
      place(cache, row);
      cache.runs?.get(entry.category)?.push(row);
      cache.revision = to;
      if (made.rec.t === 'sealed' && entry.level <= 2)
        cache.opened.set(entry.id, { payload: made.rec.payload, ...indexed(entry) });
    }
    return entry;
  }

  async read(userId: UserId, filter: EntryFilter, opener: EntryOpener): Promise<ReadResult> {
    this.#assertOpen();
    const f = checkFilter(filter ?? {});
    checkUser(userId);
    const user = await this.#sync(userId);
    const kinds = CATEGORIES.filter(
      (c) => (f.categories === null || f.categories.has(c)) && (f.levels === null || f.levels.has(levelOf(c))),
    );
    const runsByKind = runsOf(user);
    const runs: Match[][] = [];
    const damaged: DamagedEntry[] = [];
    let locked = 0;
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
    const datesSuffice = f.externalId === null && f.tags.length === 0;
    const inRange = (time: number, eventTime: number | null): boolean => {
      if (!ranged) return true;
      const when = byEvent ? eventTime : time;
      return when !== null && when >= from && when < to;
    };
    const lazy = new Map<string, { rec: SealedRec; kind: Category }>();
    for (const kind of kinds) {
      const level = levelOf(kind);
      const canOpen = opener.canOpen(level);
      const matches: Match[] = [];
      runs.push(matches);
      for (const { rec } of runsByKind.get(kind) ?? []) {
        if (rec.t === 'damaged') {
          damaged.push({ id: rec.id, category: kind, reason: rec.reason });
          continue;
        }
        if (rec.t === 'plain') {
          if (!accept(rec)) continue;
          if (canOpen) matches.push(match(rec));
          else locked++;
          continue;
        }
        if (!byEvent && rec.time !== null && (rec.time < from || rec.time >= to)) continue;
        if (!canOpen) {
          locked++;
          continue;
        }
        const known = level >= 3 && datesSuffice ? user.sortKeys.get(rec.id) : undefined;
        if (known && known.payload === rec.payload) {
          if (!inRange(known.time, known.eventTime)) continue;
          matches.push({ key: byEvent ? (known.eventTime ?? known.time) : known.time, id: rec.id, entry: null });
          lazy.set(rec.id, { rec, kind });
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
    const entries: MemoryEntry[] = [];
    for (const m of select(runs, f.order, f.offset, f.limit)) {
      if (m.entry) {
        entries.push(m.entry);
        continue;
      }
      const { rec, kind } = lazy.get(m.id)!;
      try {
        entries.push(this.#open(userId, kind, rec, opener, user).entry);
      } catch (error) {
        if (isMemvaultError(error, 'SECURITY_ERROR')) throw error;
        user.sortKeys.delete(rec.id);
        damaged.push({ id: rec.id, category: kind, reason: reasonOf(error) });
      }
    }
    return { entries, locked, damaged, total };
  }

  async get(userId: UserId, id: string, opener: EntryOpener): Promise<MemoryEntry> {
    this.#assertOpen();
    checkUser(userId);
    checkId(id);
    const user = await this.#sync(userId);
    const row = user.rows.get(id);
    if (!row || isTrashed(rowBlock(row))) throw notFound(`No memory ${id} in this vault.`, { id });
    return this.#materialize(userId, row, opener, user);
  }

  /**
   * Changes one entry by inserting its next revision (docs/entry-format.md, "Revisions"), in the category after
   * the change: a changed text is an `edit` (the row before stays as a version), anything else an `update`. A move
   * up to a more protected level without a change of text erases the rows at the lower levels.
   */
  async update(userId: UserId, id: string, patch: EntryPatch, opener: EntryOpener): Promise<MemoryEntry> {
    this.#assertOpen();
    checkUser(userId);
    checkId(id);
    const lapsing = await this.#lapsing(userId);
    let result: MemoryEntry | undefined;
    await this.#write(userId, 'change the memory', async (client, revision) => {
      const erased = await this.#expire(client, userId, lapsing);
      const found = await this.#current(client, userId, id, false);
      const current = this.#materialize(userId, found, opener, this.#user(userId));
      const next = applyPatch(current, patch, this.#maxContentBytes);
      const kind = changeKind(current, next, found.category);
      result = kind === null ? current : next;
      const moved = kind !== null && (await this.#revise(client, userId, found, next, kind, revision));
      return { reset: moved || erased };
    });
    return result!;
  }

  /** Moves an entry to the trash: a `trash` revision hides it from read, get and search until `restore` (30 days). */
  async trash(userId: UserId, id: string, opener: EntryOpener): Promise<MemoryEntry> {
    this.#assertOpen();
    checkUser(userId);
    checkId(id);
    const lapsing = await this.#lapsing(userId);
    let entry: MemoryEntry | undefined;
    await this.#write(userId, 'move the memory to the trash', async (client, revision) => {
      const erased = await this.#expire(client, userId, lapsing);
      const found = await this.#current(client, userId, id, false);
      entry = this.#materialize(userId, found, opener, this.#user(userId));
      await this.#revise(client, userId, found, entry, 'trash', revision);
      return { reset: erased };
    });
    return entry!;
  }

  /** Brings an entry back from the trash, unchanged. @throws NOT_FOUND when it is not in the trash (any more). */
  async restore(userId: UserId, id: string, opener: EntryOpener): Promise<MemoryEntry> {
    this.#assertOpen();
    checkUser(userId);
    checkId(id);
    const lapsing = await this.#lapsing(userId);
    let entry: MemoryEntry | undefined;
    await this.#write(userId, 'restore the memory', async (client, revision) => {
      const erased = await this.#expire(client, userId, lapsing);
      const found = await this.#current(client, userId, id, true);
      if (!isTrashed(rowBlock(found))) throw notFound(`Memory ${id} is not in the trash.`, { id });
      entry = this.#materialize(userId, found, opener, this.#user(userId));
      await this.#revise(client, userId, found, entry, 'restore', revision);
      return { reset: erased };
    });
    return entry!;
  }

  /** The trash, most recently trashed first; levels the opener cannot open without content. Erases lapsed trash first. */
  async listTrash(userId: UserId, opener: EntryOpener): Promise<TrashedEntry[]> {
    this.#assertOpen();
    checkUser(userId);
    const lapsing = await this.#lapsing(userId);
    if (lapsing.length > 0) {
      await this.#write(userId, 'erase the lapsed trash', async (client) => ({
        reset: await this.#expire(client, userId, lapsing),
      }));
    }
    const user = await this.#sync(userId);
    const out: TrashedEntry[] = [];
    for (const row of trashedRows(user)) {
      const rec = row.rec;
      if (rec.t === 'damaged') continue;
      let entry: MemoryEntry | null = null;
      if (opener.canOpen(levelOf(row.category))) {
        try {
          entry = this.#materialize(userId, row, opener, user);
        } catch (error) {
          if (isMemvaultError(error, 'SECURITY_ERROR')) throw error;
          continue; // damaged: reported by check, never shown as trash
        }
      }
      out.push(trashListing(rec.id, row.category, rec.revision!, entry));
    }
    return out.sort(byTrashedAtDesc);
  }

  /** Erases every trashed entry the opener can open, now. Returns how many. */
  async emptyTrash(userId: UserId, opener: EntryOpener): Promise<number> {
    this.#assertOpen();
    checkUser(userId);
    const user = await this.#sync(userId);
    const ids = trashedRows(user)
      .filter((row) => opener.canOpen(levelOf(row.category)))
      .map((row) => row.rec.id);
    if (ids.length === 0) return 0;
    let count = 0;
    await this.#write(userId, 'empty the trash', async (client, revision) => {
      const chains = await this.#chains(client, userId, ids);
      const gone = new Set<string>();
      for (const id of ids) {
        const found = currentOf(chains.get(id) ?? []);
        if (found && isTrashed(rowBlock(found)) && opener.canOpen(levelOf(found.category))) gone.add(id);
      }
      await this.#erase(client, userId, gone, opener, revision);
      count = gone.size;
      return { reset: gone.size > 0 };
    });
    return count;
  }

  /**
   * The earlier versions of an entry's text, newest first: each row a text edit replaced, opened where the opener
   * can open the level of its category (else listed with `entry: null`). Needs the entry's level unlocked, like `get`.
   */
  async versions(userId: UserId, id: string, opener: EntryOpener): Promise<EntryVersion[]> {
    this.#assertOpen();
    checkUser(userId);
    checkId(id);
    const rows = await this.#db.query<DbRow>(
      'read the versions',
      'SELECT id, category, pos, unit FROM mv_entries WHERE user_id = $1 AND id = $2 ORDER BY pos',
      [userId, id],
    );
    const chain = rows.map((r) => this.#parseRow(userId, r));
    const found = currentOf(chain);
    if (!found || isTrashed(rowBlock(found))) throw notFound(`No memory ${id} in this vault.`, { id });
    const user = this.#user(userId);
    this.#materialize(userId, found, opener, user);
    const intact = chain
      .filter((row) => row.rec.t !== 'damaged')
      .sort((a, b) => revisionNumber(rowBlock(a)) - revisionNumber(rowBlock(b)));
    const out: EntryVersion[] = [];
    for (const { block, replacedAt } of versionBlocks(intact, rowBlock)) {
      const rec = block.rec;
      if (rec.t === 'damaged') continue;
      const level = levelOf(block.category);
      let entry: MemoryEntry | null = null;
      if (opener.canOpen(level)) {
        try {
          entry = rec.t === 'plain' ? rec.entry : this.#open(userId, block.category, rec, opener, user, false).entry;
        } catch (error) {
          if (isMemvaultError(error, 'SECURITY_ERROR')) throw error;
          continue; // a damaged version is reported by check, not shown
        }
      }
      const savedAt = rec.revision?.at ?? entry?.date ?? (rec.t === 'sealed' ? rec.date : null);
      out.push({
        revision: revisionNumber(rowBlock(block)),
        category: block.category,
        level,
        savedAt,
        replacedAt,
        entry,
      });
    }
    return out;
  }

  /** Erases an entry for good: every row of it (versions and trash included), and every reference to it. */
  async delete(userId: UserId, id: string, opener: EntryOpener): Promise<void> {
    this.#assertOpen();
    checkUser(userId);
    checkId(id);
    const lapsing = await this.#lapsing(userId);
    await this.#write(userId, 'delete the memory', async (client, revision) => {
      await this.#expire(client, userId, lapsing);
      const found = await this.#current(client, userId, id, true);
      if (!opener.canOpen(levelOf(found.category))) throw lockedLevel(levelOf(found.category));
      await this.#erase(client, userId, new Set([id]), opener, revision);
      return { reset: true };
    });
  }

  async link(userId: UserId, a: string, b: string, opener: EntryOpener): Promise<void> {
    this.#assertOpen();
    checkUser(userId);
    checkId(a);
    checkId(b);
    if (a === b) throw validationError('A memory cannot be related to itself.', { field: 'related' });
    await this.#write(userId, 'link the memories', async (client, revision) => {
      const rows = [await this.#current(client, userId, a, false), await this.#current(client, userId, b, false)];
      const user = this.#user(userId);
      for (const [self, other] of [
        [rows[0]!, b],
        [rows[1]!, a],
      ] as const) {
        const entry = this.#materialize(userId, self, opener, user);
        if (entry.related.includes(other)) continue;
        const next = applyPatch(entry, { related: [...entry.related, other] }, Number.MAX_SAFE_INTEGER);
        await this.#revise(client, userId, self, next, 'update', revision);
      }
      return { reset: false };
    });
  }

  /**
   * The daily processing's importance and links, as inserted `update` revisions (one statement for a day's notes),
   * never rewriting a row. Entries gone, trashed, damaged or at a locked level are skipped.
   */
  async annotate(userId: UserId, notes: readonly EntryNote[], opener: EntryOpener): Promise<number> {
    this.#assertOpen();
    checkUser(userId);
    for (const note of notes) checkId(note.id);
    if (notes.length === 0) return 0;
    const lapsing = await this.#lapsing(userId);
    let written = 0;
    await this.#write(userId, 'note the memories', async (client, revision) => {
      const erased = await this.#expire(client, userId, lapsing);
      const chains = await this.#chains(
        client,
        userId,
        notes.map((n) => n.id),
      );
      const user = this.#user(userId);
      const work = new Map<string, { found: Row; original: string; entry: MemoryEntry }>();
      for (const note of notes) {
        let w = work.get(note.id);
        if (!w) {
          const found = currentOf(chains.get(note.id) ?? []);
          if (!found || found.rec.t === 'damaged' || isTrashed(rowBlock(found))) continue;
          if (!opener.canOpen(levelOf(found.category))) continue;
          let entry: MemoryEntry;
          try {
            entry = this.#materialize(userId, found, opener, user);
          } catch (error) {
            if (isMemvaultError(error, 'DATA_CORRUPTION')) continue; // a damaged entry stays as it is
            throw error;
          }
          w = { found, original: entry.checksum, entry };
          work.set(note.id, w);
        }
        w.entry = applyNote(w.entry, note);
      }
      const at = this.#clock.now().toISOString();
      const ids: string[] = [];
      const categories: string[] = [];
      const units: string[] = [];
      for (const w of work.values()) {
        if (w.entry.checksum === w.original) continue; // nothing changed: nothing written
        const made = await this.#record(userId, w.entry, nextRevision(revisionNumber(rowBlock(w.found)), 'update', at));
        ids.push(w.entry.id);
        categories.push(w.found.category);
        units.push(made.unit);
        user.opened.delete(w.entry.id);
      }
      if (ids.length > 0) {
        await client.query(
          'INSERT INTO mv_entries (user_id, id, category, pos, revision, unit) ' +
            'SELECT $1, id, category, $2, $2, unit FROM unnest($3::text[], $4::text[], $5::text[]) AS t(id, category, unit)',
          [userId, revision, ids, categories, units],
        );
      }
      written = ids.length;
      return { reset: erased };
    });
    return written;
  }

  /**
   * Names damaged rows (history included: a damaged version is reported too) and counts the current entries,
   * trashed ones included.
   */
  async check(userId: UserId, opener: EntryOpener): Promise<IntegrityReport> {
    this.#assertOpen();
    checkUser(userId);
    const user = await this.#sync(userId);
    const stored = await this.#db.query<DbRow>(
      'check the vault',
      'SELECT id, category, pos, unit FROM mv_entries WHERE user_id = $1 ORDER BY pos, id',
      [userId],
    );
    const rows = stored.map((r) => this.#parseRow(userId, r));
    const current = new Set(currentRows(rows).values());
    const damaged: DamagedEntry[] = [];
    let intact = 0;
    let locked = 0;
    for (const kind of CATEGORIES) {
      const level = levelOf(kind);
      for (const row of rows) {
        const rec = row.rec;
        if (row.category !== kind) continue;
        const counted = current.has(row);
        if (rec.t === 'damaged') damaged.push({ id: rec.id, category: kind, reason: rec.reason });
        else if (rec.t === 'plain') intact += counted ? 1 : 0;
        else if (!opener.canOpen(level)) locked += counted ? 1 : 0;
        else {
          try {
            this.#open(userId, kind, rec, opener, user, counted);
            intact += counted ? 1 : 0;
          } catch (error) {
            if (isMemvaultError(error, 'SECURITY_ERROR')) throw error;
            damaged.push({ id: rec.id, category: kind, reason: reasonOf(error) });
          }
        }
      }
    }
    return { userId, intact, locked, damaged };
  }

  /** Re-renders every row (history included, each with its own revision line) through the current sealer. */
  async reseal(userId: UserId, opener: EntryOpener): Promise<number> {
    this.#assertOpen();
    checkUser(userId);
    let count = 0;
    const unopened: string[] = [];
    await this.#write(userId, 're-seal the memories', async (client, revision) => {
      const rows = await this.#fetchAll(client, userId);
      for (const row of rows) {
        const level = levelOf(row.category);
        if (row.rec.t === 'sealed' && !opener.canOpen(level)) throw lockedLevel(level);
      }
      const user = this.#user(userId);
      for (const row of rows) {
        const rec = row.rec;
        if (rec.t === 'damaged') continue;
        let entry: MemoryEntry;
        try {
          entry = rec.t === 'plain' ? rec.entry : this.#open(userId, row.category, rec, opener, user, false).entry;
        } catch (error) {
          if (isMemvaultError(error, 'SECURITY_ERROR')) throw error;
          unopened.push(rec.id); // kept byte for byte
          continue;
        }
        const made = await this.#record(userId, entry, rec.revision);
        await client.query(
          'UPDATE mv_entries SET revision = $4, unit = $5 WHERE user_id = $1 AND id = $2 AND pos = $3',
          [userId, rec.id, row.pos, revision, made.unit],
        );
        count++;
      }
      user.opened.clear();
      return { reset: false };
    });
    if (unopened.length > 0) {
      throw corruption(
        `Re-sealed ${count} memories, but ${unopened.length} sealed ${unopened.length === 1 ? 'memory does' : 'memories do'} not open with the keys given and ${unopened.length === 1 ? 'was' : 'were'} left as ${unopened.length === 1 ? 'it was' : 'they were'}: ${unopened.slice(0, 5).join(', ')}${unopened.length > 5 ? ', …' : ''}.`,
        { resealed: count, unopened: unopened.length, ids: unopened.slice(0, 20) },
      );
    }
    return count;
  }

  async revision(userId: UserId): Promise<string> {
    this.#assertOpen();
    checkUser(userId);
    const rows = await this.#db.query<{ revision: string }>(
      'read the vault revision',
      'SELECT revision FROM mv_users WHERE user_id = $1',
      [userId],
    );
    if (!rows[0]) throw unknownUser(userId);
    return rows[0].revision;
  }

  /**
   * The person's files as the file vault would hold them, byte for byte: `USER.<id>.md` and one file per
   * category (header, then each unit in stored order). For `memvault migrate --to-files` and checksums.
   */
  async exportFiles(userId: UserId): Promise<Map<string, string>> {
    this.#assertOpen();
    checkUser(userId);
    const files = new Map<string, string>();
    await this.#db.tx('export the vault', async (client) => {
      await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      const profile = await client.query<{ profile: string }>('SELECT profile FROM mv_users WHERE user_id = $1', [
        userId,
      ]);
      if (!profile.rows[0]) throw unknownUser(userId);
      files.set(`USER.${userId}.md`, profile.rows[0].profile);
      const units = await client.query<{ category: string; unit: string }>(
        'SELECT category, unit FROM mv_entries WHERE user_id = $1 ORDER BY pos, id',
        [userId],
      );
      const parts = new Map<Category, string[]>(CATEGORIES.map((c) => [c, [categoryHeader(userId, c)]]));
      for (const row of units.rows) {
        if (isCategory(row.category)) parts.get(row.category)!.push(row.unit, '\n');
      }
      for (const [category, text] of parts) files.set(`${category}.${userId}.md`, text.join(''));
    });
    return files;
  }

  /**
   * Stores a person exactly as their files hold them (the inverse of `exportFiles`), in one transaction:
   * the profile and every unit, byte for byte. A person already present is CONFLICT (nothing is overwritten).
   * Returns the number of entries stored.
   */
  async importFiles(
    userId: UserId,
    profile: string,
    units: ReadonlyArray<{ category: Category; unit: string }>,
  ): Promise<number> {
    this.#assertOpen();
    checkUser(userId);
    parseProfile(profile, userId);
    return this.#db.tx('import the vault', async (client) => {
      const made = await client.query(
        'INSERT INTO mv_users (user_id, profile, revision) VALUES ($1, $2, $3) ON CONFLICT (user_id) DO NOTHING RETURNING user_id',
        [userId, profile, units.length],
      );
      if (made.rowCount === 0) {
        throw new MemvaultError('CONFLICT', `User ${userId} already exists in the database.`, { details: { userId } });
      }
      const batch = 500;
      for (let i = 0; i < units.length; i += batch) {
        const slice = units.slice(i, i + batch);
        const ids = slice.map((u) => idOfUnit(u.unit));
        await client.query(
          'INSERT INTO mv_entries (user_id, id, category, pos, revision, unit) ' +
            'SELECT $1, id, category, pos, pos, unit FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[]) ' +
            'AS t(id, category, pos, unit)',
          [userId, ids, slice.map((u) => u.category), slice.map((_, j) => i + j + 1), slice.map((u) => u.unit)],
        );
      }
      return units.length;
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#mutex.idle();
    this.#users.clear();
  }

  // ── transactions and cache ───────────────────────────────────────────────────────────────────────────────

  /**
   * One write: a transaction holding the person's advisory lock, with their revision moved on by one. `fn`
   * gets the new revision; `reset` says rows were removed or moved (caches older than it must reload).
   * Returns the revision before and after.
   */
  async #write(
    userId: UserId,
    action: string,
    fn: (client: pg.PoolClient, revision: number) => Promise<{ reset: boolean }>,
  ): Promise<{ from: number; to: number }> {
    const asked = performance.now();
    // `atomically`: what the sealer reads under the lock (the keyring's version, in PostgreSQL mode a row too) runs
    // on this transaction's connection instead of waiting for a second one from the pool.
    return this.#mutex.run(userId, () =>
      this.#db.atomically(action, () =>
        this.#db.tx(action, async (client) => {
          await client.query(PERSON_LOCK_SQL, [userId]);
          this.#onLockWait?.((performance.now() - asked) / 1000);
          const head = await client.query<{ revision: string }>('SELECT revision FROM mv_users WHERE user_id = $1', [
            userId,
          ]);
          if (!head.rows[0]) throw unknownUser(userId);
          const from = Number(head.rows[0].revision);
          const to = from + 1;
          const { reset } = await fn(client, to);
          await client.query(
            `UPDATE mv_users SET revision = $2${reset ? ', reset_revision = $2' : ''} WHERE user_id = $1`,
            [userId, to],
          );
          return { from, to };
        }),
      ),
    );
  }

  /** This process's view of a person's entries, brought up to their current revision. */
  async #sync(userId: UserId): Promise<UserCache> {
    const head = await this.#db.query<{ revision: string; reset_revision: string }>(
      'read the vault',
      'SELECT revision, reset_revision FROM mv_users WHERE user_id = $1',
      [userId],
    );
    if (!head[0]) {
      this.#users.delete(userId);
      throw unknownUser(userId);
    }
    const user = this.#user(userId);
    const revision = Number(head[0].revision);
    if (user.revision === revision) return user;
    const incremental = user.revision >= 0 && user.revision >= Number(head[0].reset_revision);
    // One statement, so the revision and the rows come from the same snapshot.
    const rows = await this.#db.query<DbRow & { u_revision: string; u_reset: string }>(
      'read the vault',
      'SELECT u.revision AS u_revision, u.reset_revision AS u_reset, e.id, e.category, e.pos, e.unit FROM mv_users u ' +
        'LEFT JOIN mv_entries e ON e.user_id = u.user_id AND e.revision > $2 WHERE u.user_id = $1',
      [userId, incremental ? user.revision : -1],
    );
    if (!rows[0]) throw unknownUser(userId);
    const now = Number(rows[0].u_revision);
    if (incremental && Number(rows[0].u_reset) > user.revision) {
      // A delete or move committed between the two queries: start again from nothing.
      user.revision = -1;
      return this.#sync(userId);
    }
    // Another sync of this person may have finished meanwhile with a newer snapshot: never go back.
    if (now <= user.revision) return user;
    if (!incremental) {
      user.rows.clear();
      user.spread.clear();
      user.trashed.clear();
    }
    for (const r of rows) {
      if (r.id === null) continue;
      place(user, this.#parseRow(userId, r));
    }
    user.runs = null;
    user.revision = now;
    return user;
  }

  #user(userId: UserId): UserCache {
    let user = this.#users.get(userId);
    if (user) this.#users.delete(userId);
    else
      user = {
        revision: -1,
        rows: new Map(),
        spread: new Map(),
        trashed: new Set(),
        runs: null,
        opened: new Map(),
        sortKeys: new Map(),
      };
    this.#users.set(userId, user);
    if (this.#users.size > this.#maxCachedUsers) {
      const oldest = this.#users.keys().next().value;
      if (oldest !== undefined && oldest !== userId) this.#users.delete(oldest);
    }
    return user;
  }

  /** Every row of one id, in stored order (read in the write's transaction). */
  async #chain(client: pg.PoolClient, userId: UserId, id: string): Promise<Row[]> {
    const result = await client.query<DbRow>(
      'SELECT id, category, pos, unit FROM mv_entries WHERE user_id = $1 AND id = $2 ORDER BY pos',
      [userId, id],
    );
    return result.rows.map((r) => this.#parseRow(userId, r));
  }

  /** Every row of each of `ids`, by id, in stored order. */
  async #chains(client: pg.PoolClient, userId: UserId, ids: readonly string[]): Promise<Map<string, Row[]>> {
    const result = await client.query<DbRow>(
      'SELECT id, category, pos, unit FROM mv_entries WHERE user_id = $1 AND id = ANY($2::text[]) ORDER BY pos',
      [userId, [...new Set(ids)]],
    );
    const chains = new Map<string, Row[]>();
    for (const r of result.rows) {
      const row = this.#parseRow(userId, r);
      const chain = chains.get(r.id);
      if (chain) chain.push(row);
      else chains.set(r.id, [row]);
    }
    return chains;
  }

  /** The current row of an entry (read in the write's transaction). A trashed entry is NOT_FOUND unless `trashed`. */
  async #current(client: pg.PoolClient, userId: UserId, id: string, trashed: boolean): Promise<Row> {
    const found = currentOf(await this.#chain(client, userId, id));
    if (!found || (!trashed && isTrashed(rowBlock(found)))) throw notFound(`No memory ${id} in this vault.`, { id });
    return found;
  }

  /**
   * Inserts `next` as the next revision of a found entry, in its category after the change, at the write's
   * position. A move up without a change of text erases the lower rows: returns true then (caches must reload).
   */
  async #revise(
    client: pg.PoolClient,
    userId: UserId,
    found: Row,
    next: MemoryEntry,
    kind: RevisionKind,
    revision: number,
  ): Promise<boolean> {
    const line = nextRevision(revisionNumber(rowBlock(found)), kind, this.#clock.now().toISOString());
    const made = await this.#record(userId, next, line);
    await client.query(
      'INSERT INTO mv_entries (user_id, id, category, pos, revision, unit) VALUES ($1, $2, $3, $4, $4, $5)',
      [userId, next.id, next.category, revision, made.unit],
    );
    this.#user(userId).opened.delete(next.id);
    if (!erasesLowerCopies(kind, found.category, next.category)) return false;
    const lower = CATEGORIES.filter((c) => levelOf(c) < levelOf(next.category));
    await client.query('DELETE FROM mv_entries WHERE user_id = $1 AND id = $2 AND category = ANY($3::text[])', [
      userId,
      next.id,
      lower,
    ]);
    return true;
  }

  /**
   * Removes every row of `ids` and, where `opener` can open them, the references to them from the current rows of
   * other entries (rewritten in place, keeping their revision lines; a locked level keeps a dangling reference,
   * which readers tolerate).
   */
  async #erase(
    client: pg.PoolClient,
    userId: UserId,
    ids: ReadonlySet<string>,
    opener: EntryOpener | null,
    revision: number,
  ): Promise<void> {
    if (ids.size === 0) return;
    const user = this.#user(userId);
    if (opener) {
      for (const row of currentRows(await this.#fetchAll(client, userId)).values()) {
        const rec = row.rec;
        if (rec.t === 'damaged' || ids.has(rec.id) || !opener.canOpen(levelOf(row.category))) continue;
        let entry: MemoryEntry;
        try {
          entry = this.#materialize(userId, row, opener, user);
        } catch (error) {
          if (isMemvaultError(error, 'SECURITY_ERROR')) throw error;
          continue; // a damaged entry stays as it is
        }
        if (!entry.related.some((r) => ids.has(r))) continue;
        const { checksum: _, ...rest } = entry;
        const made = await this.#record(
          userId,
          withChecksum({ ...rest, related: entry.related.filter((r) => !ids.has(r)) }),
          rec.revision,
        );
        await client.query(
          'UPDATE mv_entries SET revision = $4, unit = $5 WHERE user_id = $1 AND id = $2 AND pos = $3',
          [userId, rec.id, row.pos, revision, made.unit],
        );
      }
    }
    await client.query('DELETE FROM mv_entries WHERE user_id = $1 AND id = ANY($2::text[])', [userId, [...ids]]);
    for (const id of ids) {
      user.opened.delete(id);
      user.sortKeys.delete(id);
    }
  }

  /**
   * Ids this process saw in the trash for more than 30 days (read before the lock; `#expire` checks them again
   * under it). Every change but a new memory, and listing the trash, erases them first.
   */
  async #lapsing(userId: UserId): Promise<string[]> {
    const user = await this.#sync(userId);
    const now = this.#clock.now().getTime();
    const ids: string[] = [];
    for (const row of trashedRows(user)) if (trashLapsed(rowBlock(row), now)) ids.push(row.rec.id);
    return ids;
  }

  /** Erases for good those of `ids` still in the trash for more than 30 days. True when something was erased. */
  async #expire(client: pg.PoolClient, userId: UserId, ids: readonly string[]): Promise<boolean> {
    if (ids.length === 0) return false;
    const now = this.#clock.now().getTime();
    const chains = await this.#chains(client, userId, ids);
    const gone = new Set<string>();
    for (const [id, chain] of chains) {
      const found = currentOf(chain);
      if (found && trashLapsed(rowBlock(found), now)) gone.add(id);
    }
    await this.#erase(client, userId, gone, null, 0);
    return gone.size > 0;
  }

  async #fetchAll(client: pg.PoolClient, userId: UserId): Promise<Row[]> {
    const result = await client.query<DbRow>(
      'SELECT id, category, pos, unit FROM mv_entries WHERE user_id = $1 ORDER BY pos, id',
      [userId],
    );
    return result.rows.map((r) => this.#parseRow(userId, r));
  }

  #parseRow(userId: UserId, r: DbRow): Row {
    const pos = Number(r.pos);
    if (!isCategory(r.category)) {
      const rec: Rec = { t: 'damaged', id: r.id, reason: 'the stored category is unknown' };
      return { rec, category: 'CHRONOLOGICAL', pos };
    }
    const kind = r.category;
    let rec: Rec;
    try {
      if (isSealedBlock(r.unit)) {
        const sealed = parseSealedEntry(r.unit);
        if ((sealed.date !== null) !== levelOf(kind) <= 2) {
          throw corruption(
            `Memory entry ${sealed.id} is damaged: a sealed level ${levelOf(kind)} entry must ${levelOf(kind) <= 2 ? '' : 'not '}show its date.`,
          );
        }
        const time = sealed.date === null ? null : Date.parse(sealed.date);
        rec = {
          t: 'sealed',
          id: sealed.id,
          revision: sealed.revision ?? null,
          date: sealed.date,
          time,
          payload: sealed.payload,
        };
      } else {
        const { entry, revision } = parseRevisionBlock(r.unit, userId);
        if (entry.category !== kind) {
          throw corruption(`Memory entry ${entry.id} is damaged: it says ${entry.category} but is stored as ${kind}.`);
        }
        rec = { t: 'plain', id: entry.id, revision, ...indexed(entry) };
      }
      if (rec.id !== r.id) throw corruption(`Memory entry ${r.id} is damaged: the stored entry has another id.`);
    } catch (error) {
      rec = { t: 'damaged', id: r.id, reason: reasonOf(error) };
    }
    return { rec, category: kind, pos };
  }

  /** Opens a sealed row; levels 1–2 are served from (and kept in) the opened cache unless `cache` is false (history). */
  #open(userId: UserId, kind: Category, rec: SealedRec, opener: EntryOpener, user: UserCache, cache = true): Opened {
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
    // As in the file vault: the visible revision line must be the sealed one (a payload moved from another
    // revision of the same entry, or an edited line, does not open).
    if (!sameRevision(revision, rec.revision)) {
      throw corruption(`Memory entry ${rec.id} is damaged: its visible revision differs from the sealed one.`, {
        id: rec.id,
      });
    }
    const opened: Opened = { payload: rec.payload, ...indexed(entry) };
    if (level <= 2 && cache) user.opened.set(rec.id, opened);
    return opened;
  }

  #materialize(userId: UserId, row: Row, opener: EntryOpener, user: UserCache): MemoryEntry {
    const level = levelOf(row.category);
    if (!opener.canOpen(level)) throw lockedLevel(level);
    const rec = row.rec;
    if (rec.t === 'damaged') {
      throw corruption(`Memory entry ${rec.id} is damaged (${rec.reason}). Restore it from a backup.`, { id: rec.id });
    }
    if (rec.t === 'plain') return rec.entry;
    return this.#open(userId, row.category, rec, opener, user).entry;
  }

  async #record(
    userId: UserId,
    entry: MemoryEntry,
    revision: Revision | null = null,
  ): Promise<{ rec: Rec; unit: string }> {
    const plain = renderEntry(entry, revision);
    if (!this.#sealer.seals(entry.level)) {
      return { rec: { t: 'plain', id: entry.id, revision, ...indexed(entry) }, unit: plain };
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
      rec: { t: 'sealed', id: entry.id, revision, date, time: date === null ? null : Date.parse(date), payload },
      unit: renderSealedEntry({ id: entry.id, date, payload, revision }),
    };
  }

  #assertOpen(): void {
    if (this.#closed) throw storageError('This vault is closed; open a new one.');
  }
}

/** A row as the revision rules see it. */
const rowBlock = (row: Row): RevisedBlock =>
  row.rec.t === 'damaged' ? { damaged: true, revision: null } : { damaged: false, revision: row.rec.revision };

/**
 * The current row among rows of one id, as in the file vault: the latest row of each category (by position, as
 * the latest block of a file), then the highest revision over the categories (`latestRevision`).
 */
function currentOf(rows: readonly Row[]): Row | undefined {
  const heads = new Map<Category, Row>();
  for (const row of rows) {
    const head = heads.get(row.category);
    if (head === undefined || row.pos >= head.pos) heads.set(row.category, row);
  }
  return latestRevision(
    CATEGORIES.flatMap((c) => heads.get(c) ?? []),
    rowBlock,
  );
}

/** The current row of every id among `rows`. */
function currentRows(rows: readonly Row[]): Map<string, Row> {
  const chains = new Map<string, Row[]>();
  for (const row of rows) {
    const chain = chains.get(row.rec.id);
    if (chain) chain.push(row);
    else chains.set(row.rec.id, [row]);
  }
  const out = new Map<string, Row>();
  for (const [id, chain] of chains) out.set(id, currentOf(chain)!);
  return out;
}

/** Takes one more row of a person into the cache (in any order: positions decide within a category). */
function place(user: UserCache, row: Row): void {
  const id = row.rec.id;
  const current = user.rows.get(id);
  let next = row;
  if (current !== undefined) {
    const heads = user.spread.get(id) ?? [current];
    const i = heads.findIndex((h) => h.category === row.category);
    if (i < 0) heads.push(row);
    else if (row.pos >= heads[i]!.pos) heads[i] = row;
    if (heads.length > 1) user.spread.set(id, heads);
    else user.spread.delete(id);
    next = currentOf(heads)!;
  }
  user.rows.set(id, next);
  if (isTrashed(rowBlock(next))) user.trashed.add(id);
  else user.trashed.delete(id);
}

/** The current rows that are trash revisions. */
function trashedRows(user: UserCache): Row[] {
  const out: Row[] = [];
  for (const id of user.trashed) {
    const row = user.rows.get(id);
    if (row && isTrashed(rowBlock(row))) out.push(row);
  }
  return out;
}

/** Rows per category in stored order (trashed entries left out), built once per change of the cache. */
function runsOf(user: UserCache): Map<Category, Row[]> {
  if (user.runs) return user.runs;
  const runs = new Map<Category, Row[]>(CATEGORIES.map((c) => [c, []]));
  for (const row of user.rows.values()) if (!isTrashed(rowBlock(row))) runs.get(row.category)?.push(row);
  for (const run of runs.values()) run.sort((a, b) => a.pos - b.pos);
  user.runs = runs;
  return runs;
}

function checkUser(userId: unknown): UserId {
  if (typeof userId !== 'string' || !isUserId(userId)) {
    throw validationError('Not a valid user id: expected an E.164 phone number such as +14155550134.', {
      field: 'userId',
    });
  }
  return userId;
}

function unknownUser(userId: UserId): MemvaultError {
  return notFound(`No user ${userId} in this vault. Create the user first.`, { userId });
}

const HEADING = /^## Memory Entry #([0-9A-HJKMNP-TV-Z]{26})\n/;

function idOfUnit(unit: string): string {
  const id = HEADING.exec(unit)?.[1];
  if (id === undefined) throw corruption('A unit to import has no "## Memory Entry #<ULID>" heading.');
  return id;
}
