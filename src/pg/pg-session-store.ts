import { isMemvaultError, MemvaultError } from '../core/errors.js';
import { type Clock, systemClock } from '../ports/clock.js';
import type {
  CounterValue,
  NewSessionRecord,
  SessionRecord,
  SessionStorePort,
  WindowCount,
} from '../ports/session-store.js';
import type { PgDatabase } from './database.js';

interface SessionRow {
  token_hash: Buffer;
  id: string;
  user_id: string;
  created_at: string;
  expires_at: string;
  seen: Record<string, number>;
  sealed: Buffer;
  version: number;
}

const toRecord = (row: SessionRow): SessionRecord => ({
  tokenHash: row.token_hash,
  id: row.id,
  userId: row.user_id,
  createdAt: Number(row.created_at),
  expiresAt: Number(row.expires_at),
  seen: row.seen,
  sealed: row.sealed,
  version: row.version,
});

/** Each key of the stored `seen` and of $2 keeps the larger time: one statement, so two touches never lose one. */
const TOUCH = `
  UPDATE mv_sessions SET seen = (
    SELECT coalesce(jsonb_object_agg(key, at), '{}'::jsonb) FROM (
      SELECT key, max(value::numeric) AS at FROM (
        SELECT key, value FROM jsonb_each_text(mv_sessions.seen)
        UNION ALL
        SELECT key, value FROM jsonb_each_text($2::jsonb)
      ) AS both_sides GROUP BY key
    ) AS merged
  ) WHERE token_hash = $1 RETURNING 1 AS one`;

/**
 * The session store in PostgreSQL (src/ports/session-store.ts), for servers on different hosts: sessions,
 * rate-limit windows and lockout counters in `mv_sessions`, `mv_windows` and `mv_counters`. Every method is one
 * statement, atomic on its own (a touch merges in SQL; an increment is one upsert), except `update`, whose
 * caller-supplied function runs inside a transaction holding an advisory lock on the key. Like the SQLite store it
 * never sees a token or a key: rows hold the token's SHA-256 and the sealed state.
 */
export class PgSessionStore implements SessionStorePort {
  readonly #db: PgDatabase;
  readonly #clock: Clock;
  readonly #closeDatabase: boolean;

  constructor(options: { readonly db: PgDatabase; readonly clock?: Clock; readonly closeDatabase?: boolean }) {
    this.#db = options.db;
    this.#clock = options.clock ?? systemClock;
    // The server shares its database with the vault and closes it itself; a test's own handle is closed here.
    this.#closeDatabase = options.closeDatabase === true;
  }

  #now(): number {
    return this.#clock.now().getTime();
  }

  async create(record: NewSessionRecord): Promise<void> {
    try {
      await this.#db.query(
        'create a session',
        'INSERT INTO mv_sessions (token_hash, id, user_id, created_at, expires_at, seen, sealed, version) ' +
          'VALUES ($1, $2, $3, $4, $5, $6, $7, 1)',
        [
          record.tokenHash,
          record.id,
          record.userId,
          record.createdAt,
          record.expiresAt,
          JSON.stringify(record.seen),
          record.sealed,
        ],
      );
    } catch (error) {
      if (isMemvaultError(error) && error.details?.code === '23505') {
        throw new MemvaultError('CONFLICT', 'The session store already holds this session (create a session).', {
          cause: error,
        });
      }
      throw error;
    }
  }

  async get(tokenHash: Buffer): Promise<SessionRecord | undefined> {
    const rows = await this.#db.query<SessionRow>('read a session', 'SELECT * FROM mv_sessions WHERE token_hash = $1', [
      tokenHash,
    ]);
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  async touch(tokenHash: Buffer, seen: Readonly<Record<string, number>>): Promise<boolean> {
    const rows = await this.#db.query<{ one: number }>('mark a session used', TOUCH, [tokenHash, JSON.stringify(seen)]);
    return rows.length > 0;
  }

  async replace(
    tokenHash: Buffer,
    expectedVersion: number,
    change: { readonly sealed: Buffer; readonly expiresAt?: number; readonly seen?: Readonly<Record<string, number>> },
  ): Promise<number | undefined> {
    const rows = await this.#db.query<{ version: number }>(
      'update a session',
      'UPDATE mv_sessions SET sealed = $1, expires_at = coalesce($2::bigint, expires_at), ' +
        'seen = coalesce($3::jsonb, seen), version = version + 1 WHERE token_hash = $4 AND version = $5 RETURNING version',
      [
        change.sealed,
        change.expiresAt ?? null,
        change.seen === undefined ? null : JSON.stringify(change.seen),
        tokenHash,
        expectedVersion,
      ],
    );
    return rows[0]?.version;
  }

  async delete(tokenHash: Buffer): Promise<boolean> {
    const rows = await this.#db.query<{ one: number }>(
      'delete a session',
      'DELETE FROM mv_sessions WHERE token_hash = $1 RETURNING 1 AS one',
      [tokenHash],
    );
    return rows.length > 0;
  }

  async listByUser(userId: string): Promise<SessionRecord[]> {
    const rows = await this.#db.query<SessionRow>(
      "list a person's sessions",
      'SELECT * FROM mv_sessions WHERE user_id = $1',
      [userId],
    );
    return rows.map(toRecord);
  }

  async deleteByUser(userId: string): Promise<number> {
    return this.#count("end a person's sessions", 'DELETE FROM mv_sessions WHERE user_id = $1', [userId]);
  }

  async purge(before: number): Promise<number> {
    const now = this.#now();
    await this.#db.query('purge expired counters', 'DELETE FROM mv_counters WHERE expires_at <= $1', [now]);
    await this.#db.query('purge expired counters', 'DELETE FROM mv_windows WHERE reset_at <= $1', [now]);
    return this.#count('purge expired sessions', 'DELETE FROM mv_sessions WHERE expires_at < $1', [before]);
  }

  async count(): Promise<number> {
    const rows = await this.#db.query<{ n: string }>('count sessions', 'SELECT count(*) AS n FROM mv_sessions');
    return Number(rows[0]?.n ?? 0);
  }

  async incrementWindow(key: string, windowMs: number): Promise<WindowCount> {
    const rows = await this.#db.query<{ count: number; reset_at: string }>(
      'count an attempt',
      'INSERT INTO mv_windows (key, count, reset_at) VALUES ($1, 1, $2::bigint + $3::bigint) ' +
        'ON CONFLICT (key) DO UPDATE SET ' +
        'count = CASE WHEN mv_windows.reset_at <= $2::bigint THEN 1 ELSE mv_windows.count + 1 END, ' +
        'reset_at = CASE WHEN mv_windows.reset_at <= $2::bigint THEN $2::bigint + $3::bigint ' +
        'ELSE mv_windows.reset_at END RETURNING count, reset_at',
      [key, this.#now(), Math.trunc(windowMs)],
    );
    const row = rows[0]!;
    return { count: row.count, resetAt: Number(row.reset_at) };
  }

  async update(
    key: string,
    ttlMs: number,
    fn: (current: CounterValue | undefined) => CounterValue | undefined,
  ): Promise<CounterValue | undefined> {
    return this.#db.tx('update a counter', async (client) => {
      // A missing row cannot be locked with FOR UPDATE: the key's advisory lock orders creators too.
      await client.query("SELECT pg_advisory_xact_lock(hashtextextended('memvault.counter:' || $1, 0))", [key]);
      const now = this.#now();
      const found = await client.query<{ value: CounterValue }>(
        'SELECT value FROM mv_counters WHERE key = $1 AND expires_at > $2',
        [key, now],
      );
      const next = fn(found.rows[0]?.value);
      if (next === undefined) await client.query('DELETE FROM mv_counters WHERE key = $1', [key]);
      else {
        await client.query(
          'INSERT INTO mv_counters (key, value, expires_at) VALUES ($1, $2, $3) ' +
            'ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at',
          [key, JSON.stringify(next), now + Math.trunc(ttlMs)],
        );
      }
      return next;
    });
  }

  async read(key: string): Promise<CounterValue | undefined> {
    const rows = await this.#db.query<{ value: CounterValue }>(
      'read a counter',
      'SELECT value FROM mv_counters WHERE key = $1 AND expires_at > $2',
      [key, this.#now()],
    );
    return rows[0]?.value;
  }

  async ping(): Promise<void> {
    await this.#db.query('answer', 'SELECT 1');
  }

  async close(): Promise<void> {
    if (this.#closeDatabase) await this.#db.close();
  }

  async #count(action: string, sql: string, params: unknown[]): Promise<number> {
    const rows = await this.#db.query<{ n: string }>(
      action,
      `WITH gone AS (${sql} RETURNING 1) SELECT count(*) AS n FROM gone`,
      params,
    );
    return Number(rows[0]?.n ?? 0);
  }
}
