import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { MemvaultError, storageError } from '../core/errors.js';
import { type Clock, systemClock } from '../ports/clock.js';
import type {
  CounterValue,
  NewSessionRecord,
  SessionRecord,
  SessionStorePort,
  WindowCount,
} from '../ports/session-store.js';

export interface SqliteSessionStoreOptions {
  /** The database file (e.g. `<data dir>/sessions.db`); created with mode 0600. */
  readonly path: string;
  readonly clock?: Clock;
  /** How long a write waits for another process's write lock before failing, in ms (default 5 s). */
  readonly busyTimeoutMs?: number;
}

interface SessionRow {
  token_hash: Buffer;
  id: string;
  user_id: string;
  created_at: number;
  expires_at: number;
  seen: string;
  sealed: Buffer;
  version: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sessions (
  token_hash BLOB PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  user_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  seen TEXT NOT NULL,
  sealed BLOB NOT NULL,
  version INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id);
CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions (expires_at);
CREATE TABLE IF NOT EXISTS counters (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS windows (
  key TEXT PRIMARY KEY,
  count INTEGER NOT NULL,
  reset_at INTEGER NOT NULL
) WITHOUT ROWID;
`;

const toRecord = (row: SessionRow): SessionRecord => ({
  tokenHash: row.token_hash,
  id: row.id,
  userId: row.user_id,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  seen: JSON.parse(row.seen) as Record<string, number>,
  sealed: row.sealed,
  version: row.version,
});

/**
 * The session store for one machine: a SQLite file in the data dir, in WAL mode so several `serve` workers
 * read at once while one writes. Writes that read first (touch, update, incrementWindow) run in an IMMEDIATE
 * transaction, which takes the database's write lock before reading, so two processes cannot interleave them.
 * better-sqlite3 is synchronous: each call holds the event loop for its few microseconds (or up to
 * `busyTimeoutMs` while another process holds the write lock).
 */
export class SqliteSessionStore implements SessionStorePort {
  readonly #db: Database.Database;
  readonly #clock: Clock;
  readonly #stmt;
  readonly #touch;
  readonly #update;
  readonly #increment;

  constructor(options: SqliteSessionStoreOptions) {
    this.#clock = options.clock ?? systemClock;
    try {
      if (!existsSync(options.path)) closeSync(openSync(options.path, 'a', 0o600));
      chmodSync(options.path, 0o600);
      this.#db = new Database(options.path);
      const busyMs = Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000));
      this.#db.pragma(`busy_timeout = ${busyMs}`);
      // Switching a fresh file to WAL needs it to itself, and SQLite answers SQLITE_BUSY at once (no busy handler)
      // when another process is opening it in the same instant: try again until the busy timeout has passed.
      const db = this.#db;
      retryWhileBusy(() => db.pragma('journal_mode = WAL'), busyMs);
      this.#db.pragma('synchronous = NORMAL');
      this.#db.exec(SCHEMA);
      for (const side of ['-wal', '-shm']) {
        if (existsSync(options.path + side)) chmodSync(options.path + side, 0o600);
      }
    } catch (error) {
      throw storageError(
        `Cannot open the session store ${options.path}: ${(error as Error).message}. Check that the data directory is writable.`,
        error,
      );
    }
    const db = this.#db;
    this.#stmt = {
      insert: db.prepare(
        `INSERT INTO sessions (token_hash, id, user_id, created_at, expires_at, seen, sealed, version)
         VALUES (@tokenHash, @id, @userId, @createdAt, @expiresAt, @seen, @sealed, 1)`,
      ),
      get: db.prepare<[Buffer], SessionRow>('SELECT * FROM sessions WHERE token_hash = ?'),
      setSeen: db.prepare<[string, Buffer]>('UPDATE sessions SET seen = ? WHERE token_hash = ?'),
      replace: db.prepare<[Buffer, number | null, string | null, Buffer, number]>(
        `UPDATE sessions SET sealed = ?, expires_at = coalesce(?, expires_at), seen = coalesce(?, seen),
         version = version + 1 WHERE token_hash = ? AND version = ? RETURNING version`,
      ),
      delete: db.prepare<[Buffer]>('DELETE FROM sessions WHERE token_hash = ?'),
      listByUser: db.prepare<[string], SessionRow>('SELECT * FROM sessions WHERE user_id = ?'),
      deleteByUser: db.prepare<[string]>('DELETE FROM sessions WHERE user_id = ?'),
      purge: db.prepare<[number]>('DELETE FROM sessions WHERE expires_at < ?'),
      purgeCounters: db.prepare<[number]>('DELETE FROM counters WHERE expires_at <= ?'),
      purgeWindows: db.prepare<[number]>('DELETE FROM windows WHERE reset_at <= ?'),
      count: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM sessions'),
      readCounter: db.prepare<[string, number], { value: string }>(
        'SELECT value FROM counters WHERE key = ? AND expires_at > ?',
      ),
      putCounter: db.prepare<[string, string, number]>(
        'INSERT INTO counters (key, value, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at',
      ),
      deleteCounter: db.prepare<[string]>('DELETE FROM counters WHERE key = ?'),
      readWindow: db.prepare<[string], { count: number; reset_at: number }>(
        'SELECT count, reset_at FROM windows WHERE key = ?',
      ),
      putWindow: db.prepare<[string, number, number]>(
        'INSERT INTO windows (key, count, reset_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET count = excluded.count, reset_at = excluded.reset_at',
      ),
      ping: db.prepare('SELECT 1'),
    };
    const s = this.#stmt;
    this.#touch = db.transaction((hash: Buffer, seen: Readonly<Record<string, number>>): boolean => {
      const row = s.get.get(hash);
      if (!row) return false;
      const merged = JSON.parse(row.seen) as Record<string, number>;
      for (const [key, at] of Object.entries(seen)) merged[key] = Math.max(merged[key] ?? at, at);
      s.setSeen.run(JSON.stringify(merged), hash);
      return true;
    });
    this.#update = db.transaction(
      (key: string, ttlMs: number, fn: (current: CounterValue | undefined) => CounterValue | undefined) => {
        const now = this.#now();
        const row = s.readCounter.get(key, now);
        const next = fn(row ? (JSON.parse(row.value) as CounterValue) : undefined);
        if (next === undefined) s.deleteCounter.run(key);
        else s.putCounter.run(key, JSON.stringify(next), now + ttlMs);
        return next;
      },
    );
    this.#increment = db.transaction((key: string, windowMs: number): WindowCount => {
      const now = this.#now();
      const row = s.readWindow.get(key);
      const fresh = !row || row.reset_at <= now;
      const count = fresh ? 1 : row.count + 1;
      const resetAt = fresh ? now + windowMs : row.reset_at;
      s.putWindow.run(key, count, resetAt);
      return { count, resetAt };
    });
  }

  #now(): number {
    return this.#clock.now().getTime();
  }

  /** Runs one synchronous database step, turning SQLite failures into typed errors. */
  #run<T>(what: string, step: () => T): Promise<T> {
    try {
      return Promise.resolve(step());
    } catch (error) {
      if (error instanceof MemvaultError) return Promise.reject(error);
      const code = (error as { code?: string }).code ?? '';
      if (code.startsWith('SQLITE_CONSTRAINT')) {
        return Promise.reject(
          new MemvaultError('CONFLICT', `The session store already holds this session (${what}).`, { cause: error }),
        );
      }
      return Promise.reject(
        storageError(`The session store failed to ${what} (${code || 'unknown error'}); retry in a moment.`, error, {
          code,
        }),
      );
    }
  }

  create(record: NewSessionRecord): Promise<void> {
    return this.#run('create a session', () => {
      this.#stmt.insert.run({ ...record, seen: JSON.stringify(record.seen) });
    });
  }

  get(tokenHash: Buffer): Promise<SessionRecord | undefined> {
    return this.#run('read a session', () => {
      const row = this.#stmt.get.get(tokenHash);
      return row ? toRecord(row) : undefined;
    });
  }

  touch(tokenHash: Buffer, seen: Readonly<Record<string, number>>): Promise<boolean> {
    return this.#run('mark a session used', () => this.#touch.immediate(tokenHash, seen));
  }

  replace(
    tokenHash: Buffer,
    expectedVersion: number,
    change: { readonly sealed: Buffer; readonly expiresAt?: number; readonly seen?: Readonly<Record<string, number>> },
  ): Promise<number | undefined> {
    return this.#run('update a session', () => {
      const row = this.#stmt.replace.get(
        change.sealed,
        change.expiresAt ?? null,
        change.seen === undefined ? null : JSON.stringify(change.seen),
        tokenHash,
        expectedVersion,
      ) as { version: number } | undefined;
      return row?.version;
    });
  }

  delete(tokenHash: Buffer): Promise<boolean> {
    return this.#run('delete a session', () => this.#stmt.delete.run(tokenHash).changes > 0);
  }

  listByUser(userId: string): Promise<SessionRecord[]> {
    return this.#run("list a person's sessions", () => this.#stmt.listByUser.all(userId).map(toRecord));
  }

  deleteByUser(userId: string): Promise<number> {
    return this.#run("end a person's sessions", () => this.#stmt.deleteByUser.run(userId).changes);
  }

  purge(before: number): Promise<number> {
    return this.#run('purge expired sessions', () => {
      const now = this.#now();
      this.#stmt.purgeCounters.run(now);
      this.#stmt.purgeWindows.run(now);
      return this.#stmt.purge.run(before).changes;
    });
  }

  count(): Promise<number> {
    return this.#run('count sessions', () => this.#stmt.count.get()?.n ?? 0);
  }

  incrementWindow(key: string, windowMs: number): Promise<WindowCount> {
    return this.#run('count an attempt', () => this.#increment.immediate(key, windowMs));
  }

  update(
    key: string,
    ttlMs: number,
    fn: (current: CounterValue | undefined) => CounterValue | undefined,
  ): Promise<CounterValue | undefined> {
    return this.#run('update a counter', () => this.#update.immediate(key, ttlMs, fn));
  }

  read(key: string): Promise<CounterValue | undefined> {
    return this.#run('read a counter', () => {
      const row = this.#stmt.readCounter.get(key, this.#now());
      return row ? (JSON.parse(row.value) as CounterValue) : undefined;
    });
  }

  ping(): Promise<void> {
    return this.#run('answer', () => {
      this.#stmt.ping.get();
    });
  }

  close(): Promise<void> {
    if (this.#db.open) this.#db.close();
    return Promise.resolve();
  }
}

/** Runs `step`, again every 10 ms while SQLite says the database is busy, for at most `ms`. */
function retryWhileBusy(step: () => unknown, ms: number): void {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      step();
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}
