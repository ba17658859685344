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
  parseEntry,
  parseSealedEntry,
  renderEntry,
  renderSealedEntry,
} from '../vault/markdown-codec.js';
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
  | ({ readonly t: 'plain'; readonly id: string } & Indexed)
  | {
      readonly t: 'sealed';
      readonly id: string;
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
  readonly rows: Map<string, Row>;
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
 * The vault in PostgreSQL (DESIGN §10, docs/scale-out.md): one row per person and one per memory, holding the
 * very unit the category file would hold (plain Markdown or sealed block), so `export` writes the file vault's
 * bytes. Every write runs in one transaction under the person's advisory lock and moves their revision on by
 * one, so appends from any number of servers are serialised per person and never lost. Each process caches
 * parsed entries per person and brings them up to date from the rows changed since its revision (one indexed
 * query), reloading fully only after a delete or a move.
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
      cache.rows.set(entry.id, { rec: made.rec, category: entry.category, pos: to });
      cache.runs?.get(entry.category)?.push(cache.rows.get(entry.id)!);
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
    if (!row) throw notFound(`No memory ${id} in this vault.`, { id });
    return this.#materialize(userId, row, opener, user);
  }

  async update(userId: UserId, id: string, patch: EntryPatch, opener: EntryOpener): Promise<MemoryEntry> {
    this.#assertOpen();
    checkUser(userId);
    checkId(id);
    let next: MemoryEntry | undefined;
    await this.#write(userId, 'change the memory', async (client, revision) => {
      const row = await this.#fetchOne(client, userId, id);
      const current = this.#materialize(userId, row, opener, this.#user(userId));
      next = applyPatch(current, patch, this.#maxContentBytes);
      const made = await this.#record(userId, next);
      const moved = next.category !== row.category;
      // A move takes the next position in its new category, as an append to the other file does.
      await client.query(
        'UPDATE mv_entries SET category = $3, pos = $4, revision = $5, unit = $6 WHERE user_id = $1 AND id = $2',
        [userId, id, next.category, moved ? revision : row.pos, revision, made.unit],
      );
      return { reset: moved };
    });
    return next!;
  }

  async delete(userId: UserId, id: string, opener: EntryOpener): Promise<void> {
    this.#assertOpen();
    checkUser(userId);
    checkId(id);
    await this.#write(userId, 'delete the memory', async (client, revision) => {
      const target = await this.#fetchOne(client, userId, id);
      if (!opener.canOpen(levelOf(target.category))) throw lockedLevel(levelOf(target.category));
      const user = this.#user(userId);
      for (const row of await this.#fetchAll(client, userId)) {
        if (row.rec.id === id || row.rec.t === 'damaged') continue;
        let entry: MemoryEntry;
        if (row.rec.t === 'plain') entry = row.rec.entry;
        else if (opener.canOpen(levelOf(row.category))) {
          try {
            entry = this.#open(userId, row.category, row.rec, opener, user).entry;
          } catch (error) {
            if (isMemvaultError(error, 'SECURITY_ERROR')) throw error;
            continue; // a damaged entry stays as it is
          }
        } else continue; // a locked level keeps a dangling reference, which readers tolerate
        if (!entry.related.includes(id)) continue;
        const { checksum: _, ...rest } = entry;
        const made = await this.#record(
          userId,
          withChecksum({ ...rest, related: entry.related.filter((r) => r !== id) }),
        );
        await client.query('UPDATE mv_entries SET revision = $3, unit = $4 WHERE user_id = $1 AND id = $2', [
          userId,
          row.rec.id,
          revision,
          made.unit,
        ]);
      }
      await client.query('DELETE FROM mv_entries WHERE user_id = $1 AND id = $2', [userId, id]);
      user.opened.delete(id);
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
      const rows = [await this.#fetchOne(client, userId, a), await this.#fetchOne(client, userId, b)];
      const user = this.#user(userId);
      for (const [self, other] of [
        [rows[0]!, b],
        [rows[1]!, a],
      ] as const) {
        const entry = this.#materialize(userId, self, opener, user);
        if (entry.related.includes(other)) continue;
        const next = applyPatch(entry, { related: [...entry.related, other] }, Number.MAX_SAFE_INTEGER);
        const made = await this.#record(userId, next);
        await client.query('UPDATE mv_entries SET revision = $3, unit = $4 WHERE user_id = $1 AND id = $2', [
          userId,
          entry.id,
          revision,
          made.unit,
        ]);
      }
      return { reset: false };
    });
  }

  async check(userId: UserId, opener: EntryOpener): Promise<IntegrityReport> {
    this.#assertOpen();
    checkUser(userId);
    const user = await this.#sync(userId);
    const damaged: DamagedEntry[] = [];
    let intact = 0;
    let locked = 0;
    for (const kind of CATEGORIES) {
      const level = levelOf(kind);
      for (const { rec } of runsOf(user).get(kind) ?? []) {
        if (rec.t === 'damaged') damaged.push({ id: rec.id, category: kind, reason: rec.reason });
        else if (rec.t === 'plain') intact++;
        else if (!opener.canOpen(level)) locked++;
        else {
          try {
            this.#open(userId, kind, rec, opener, user);
            intact++;
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
        if (row.rec.t === 'damaged') continue;
        let entry: MemoryEntry;
        try {
          entry = row.rec.t === 'plain' ? row.rec.entry : this.#open(userId, row.category, row.rec, opener, user).entry;
        } catch (error) {
          if (isMemvaultError(error, 'SECURITY_ERROR')) throw error;
          unopened.push(row.rec.id); // kept byte for byte
          continue;
        }
        const made = await this.#record(userId, entry);
        await client.query('UPDATE mv_entries SET revision = $3, unit = $4 WHERE user_id = $1 AND id = $2', [
          userId,
          entry.id,
          revision,
          made.unit,
        ]);
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
    if (!incremental) user.rows.clear();
    for (const r of rows) {
      if (r.id === null) continue;
      user.rows.set(r.id, this.#parseRow(userId, r));
    }
    user.runs = null;
    user.revision = now;
    return user;
  }

  #user(userId: UserId): UserCache {
    let user = this.#users.get(userId);
    if (user) this.#users.delete(userId);
    else user = { revision: -1, rows: new Map(), runs: null, opened: new Map(), sortKeys: new Map() };
    this.#users.set(userId, user);
    if (this.#users.size > this.#maxCachedUsers) {
      const oldest = this.#users.keys().next().value;
      if (oldest !== undefined && oldest !== userId) this.#users.delete(oldest);
    }
    return user;
  }

  async #fetchOne(client: pg.PoolClient, userId: UserId, id: string): Promise<Row> {
    const result = await client.query<DbRow>(
      'SELECT id, category, pos, unit FROM mv_entries WHERE user_id = $1 AND id = $2',
      [userId, id],
    );
    if (!result.rows[0]) throw notFound(`No memory ${id} in this vault.`, { id });
    return this.#parseRow(userId, result.rows[0]);
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
        rec = { t: 'sealed', id: sealed.id, date: sealed.date, time, payload: sealed.payload };
      } else {
        const entry = parseEntry(r.unit, userId);
        if (entry.category !== kind) {
          throw corruption(`Memory entry ${entry.id} is damaged: it says ${entry.category} but is stored as ${kind}.`);
        }
        rec = { t: 'plain', id: entry.id, ...indexed(entry) };
      }
      if (rec.id !== r.id) throw corruption(`Memory entry ${r.id} is damaged: the stored entry has another id.`);
    } catch (error) {
      rec = { t: 'damaged', id: r.id, reason: reasonOf(error) };
    }
    return { rec, category: kind, pos };
  }

  #open(userId: UserId, kind: Category, rec: SealedRec, opener: EntryOpener, user: UserCache): Opened {
    const level = levelOf(kind);
    if (level <= 2) {
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
    const entry = parseEntry(text, userId);
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
    const opened: Opened = { payload: rec.payload, ...indexed(entry) };
    if (level <= 2) user.opened.set(rec.id, opened);
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

  async #record(userId: UserId, entry: MemoryEntry): Promise<{ rec: Rec; unit: string }> {
    const plain = renderEntry(entry);
    if (!this.#sealer.seals(entry.level)) {
      return { rec: { t: 'plain', id: entry.id, ...indexed(entry) }, unit: plain };
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
      rec: { t: 'sealed', id: entry.id, date, time: date === null ? null : Date.parse(date), payload },
      unit: renderSealedEntry({ id: entry.id, date, payload }),
    };
  }

  #assertOpen(): void {
    if (this.#closed) throw storageError('This vault is closed; open a new one.');
  }
}

/** Rows per category in stored order, built once per change of the cache. */
function runsOf(user: UserCache): Map<Category, Row[]> {
  if (user.runs) return user.runs;
  const runs = new Map<Category, Row[]>(CATEGORIES.map((c) => [c, []]));
  for (const row of user.rows.values()) runs.get(row.category)?.push(row);
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
