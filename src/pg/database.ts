import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import { MemvaultError, storageError, validationError } from '../core/errors.js';
import { MIGRATIONS, type Migration } from './migrations.js';

/** How memvault reaches its PostgreSQL database (MEMVAULT_DATABASE_URL mode, docs/scale-out.md). */
export interface PgOptions {
  /** `postgres://user@host:5432/db`. Never logged: it may carry a password. */
  readonly url: string;
  /** The schema memvault's tables live in (created when missing); default "memvault". */
  readonly schema?: string;
  /** Shown in pg_stat_activity; lets an operator (or a fault test) find this server's connections. */
  readonly applicationName?: string;
  /** Pool size per process; default 10. */
  readonly max?: number;
  /** How long a request waits for a connection (a new one, or a free one of the pool) before 503; default 10 s. */
  readonly connectTimeoutMs?: number;
  /** Called when an idle connection breaks (the pool drops it and opens another on the next request). */
  readonly onIdleError?: (error: Error) => void;
}

const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;

/** SQLSTATEs and socket errors that mean "the database is away", not "this request is wrong". */
const UNAVAILABLE_STATES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '53400',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
]);
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND']);
/** Retried inside `tx`: PostgreSQL asks for it, and nothing was committed. */
const RETRY_STATES = new Set(['40001', '40P01']);

/** Whether an error from `pg` means the server is unreachable, restarting, or killed this connection. */
export function isUnavailable(error: unknown): boolean {
  const e = error as { code?: string; message?: string } | undefined;
  if (e?.code !== undefined && (UNAVAILABLE_STATES.has(e.code) || UNAVAILABLE_ERRNO.has(e.code))) return true;
  const message = e?.message ?? '';
  return (
    message.includes('Connection terminated') ||
    message.includes('timeout exceeded when trying to connect') ||
    message.includes('Client has encountered a connection error') ||
    message.includes('Connection ended unexpectedly') ||
    // The database refuses new connections (ALTER DATABASE … ALLOW_CONNECTIONS false, during maintenance).
    message.includes('is not currently accepting connections')
  );
}

/**
 * Turns a `pg` failure into a typed error. The database being away is STORAGE_ERROR with `retryable` (HTTP
 * 503): nothing was committed, and the pool reconnects by itself. SQL text, parameters and the URL never
 * reach the message.
 */
export function dbFailure(error: unknown, action: string): MemvaultError {
  if (error instanceof MemvaultError) return error;
  const message = (error as { message?: string } | undefined)?.message ?? '';
  const code =
    (error as { code?: string } | undefined)?.code ??
    (message.includes('timeout') ? 'no connection free within the timeout' : 'connection lost');
  if (isUnavailable(error)) {
    return storageError(
      `The database is unavailable, so memvault could not ${action} (${code}). Nothing was saved by this ` +
        'request; try again in a moment. Operators: check that PostgreSQL is running and reachable.',
      error,
      { code, retryable: true },
    );
  }
  return storageError(`The database could not ${action} (SQLSTATE ${code}).`, error, { code });
}

/** A pool over one schema, with the schema migrated before the first use. */
export class PgDatabase {
  readonly pool: pg.Pool;
  readonly schema: string;
  /** The transaction `atomically` opened for the work running inside it. */
  readonly #ambient = new AsyncLocalStorage<pg.PoolClient>();
  #closed = false;

  private constructor(pool: pg.Pool, schema: string) {
    this.pool = pool;
    this.schema = schema;
  }

  /**
   * Connects and brings the schema to the newest migration (under an advisory lock, so servers starting together
   * migrate once). @throws VALIDATION_ERROR for a bad schema name; STORAGE_ERROR when the server does not answer.
   */
  static async open(options: PgOptions, migrations: readonly Migration[] = MIGRATIONS): Promise<PgDatabase> {
    const schema = options.schema ?? 'memvault';
    if (!SCHEMA.test(schema)) {
      throw validationError('The database schema name must be lowercase letters, digits and _ (at most 63).', {
        field: 'schema',
      });
    }
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw validationError('MEMVAULT_DATABASE_URL is not a URL (expected postgres://user@host:5432/database).', {
        variable: 'MEMVAULT_DATABASE_URL',
      });
    }
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
      throw validationError('MEMVAULT_DATABASE_URL must start with postgres:// or postgresql://.', {
        variable: 'MEMVAULT_DATABASE_URL',
      });
    }
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.max ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      idleTimeoutMillis: 30_000,
      application_name: options.applicationName ?? 'memvault',
      // Every connection works in memvault's schema only.
      options: `-c search_path=${schema}`,
    });
    // An idle connection killed by the server emits here; without a listener it would end the process.
    pool.on('error', (error) => options.onIdleError?.(error));
    const db = new PgDatabase(pool, schema);
    try {
      await db.migrate(migrations);
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw dbFailure(error, 'prepare its tables');
    }
    return db;
  }

  /** Applies the migrations not applied yet, each in its own transaction, in order. Returns their versions. */
  async migrate(migrations: readonly Migration[]): Promise<number[]> {
    const applied: number[] = [];
    const client = await this.pool.connect();
    let broken: Error | undefined;
    client.on('error', (error: Error) => {
      broken = error;
    });
    try {
      await client.query('BEGIN');
      // One migrator at a time across every server; the lock ends with the transaction.
      await client.query("SELECT pg_advisory_xact_lock(hashtextextended('memvault.migrate', 0))");
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      await client.query(
        'CREATE TABLE IF NOT EXISTS mv_schema_migrations (version integer PRIMARY KEY, name text NOT NULL, ' +
          'applied_at timestamptz NOT NULL DEFAULT now())',
      );
      const done = new Set(
        (await client.query<{ version: number }>('SELECT version FROM mv_schema_migrations')).rows.map(
          (r) => r.version,
        ),
      );
      const known = new Set(migrations.map((m) => m.version));
      const unknown = [...done].filter((v) => !known.has(v));
      if (unknown.length > 0) {
        throw new MemvaultError(
          'CONFIG_ERROR',
          `The database schema ${this.schema} has migration ${Math.max(...unknown)}, newer than this memvault ` +
            'knows. Run the newer memvault version, or point MEMVAULT_DATABASE_SCHEMA at another schema.',
        );
      }
      for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
        if (done.has(m.version)) continue;
        await client.query(m.sql);
        await client.query('INSERT INTO mv_schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        applied.push(m.version);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release(broken);
    }
    return applied;
  }

  /** One statement on a pooled connection (inside `atomically`, on its transaction's). */
  async query<R extends pg.QueryResultRow>(action: string, text: string, params: unknown[] = []): Promise<R[]> {
    this.#assertOpen();
    const ambient = this.#ambient.getStore();
    try {
      if (ambient) return (await ambient.query<R>(text, params)).rows;
    } catch (error) {
      throw dbFailure(error, action);
    }
    return this.#withClient(action, async (client) => (await client.query<R>(text, params)).rows);
  }

  /**
   * Runs `fn` in one transaction: committed when it returns, rolled back when it throws. A serialization
   * failure or deadlock is retried (up to 3 times); a lost connection is not (the request fails with 503, and
   * nothing it wrote was committed).
   */
  async tx<T>(action: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    this.#assertOpen();
    // Inside `atomically`: join its transaction (its commit or rollback decides for this work too).
    const ambient = this.#ambient.getStore();
    if (ambient) return fn(ambient);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#withClient(action, async (client) => {
          await client.query('BEGIN');
          try {
            const result = await fn(client);
            await client.query('COMMIT');
            return result;
          } catch (error) {
            if (!isUnavailable(error)) await client.query('ROLLBACK').catch(() => undefined);
            throw error;
          }
        });
      } catch (error) {
        const code = (error as MemvaultError).details?.code;
        if (typeof code === 'string' && RETRY_STATES.has(code) && attempt < 3) continue;
        throw error;
      }
    }
  }

  /**
   * Lends a pooled connection to `fn`. A connection the server ends meanwhile (restart, pg_terminate_backend)
   * emits 'error', which is heard here (unheard, it would end the process), and is destroyed on release rather
   * than handed to the next request. Failures come out as typed errors (dbFailure).
   */
  async #withClient<T>(action: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let broken: Error | undefined;
    const onError = (error: Error) => {
      broken = error;
    };
    let client: pg.PoolClient;
    try {
      // The callback form, so the listener is on before anything else runs: a connection killed right as it
      // opened can report it in the same network read as its "ready", before an awaited promise resumes.
      client = await new Promise<pg.PoolClient>((resolve, reject) => {
        this.pool.connect((error, lent) => {
          if (error || !lent) reject(error ?? new Error('Connection terminated'));
          else {
            lent.on('error', onError);
            resolve(lent);
          }
        });
      });
    } catch (error) {
      throw dbFailure(error, action);
    }
    try {
      return await fn(client);
    } catch (error) {
      if (isUnavailable(error)) broken ??= error as Error;
      throw dbFailure(error, action);
    } finally {
      // A broken connection keeps the listener: its socket may report the same loss again while it closes.
      if (!broken) client.removeListener('error', onError);
      client.release(broken);
    }
  }

  /**
   * Runs `fn` so that every `tx` inside it (a vault write, its audit record) joins one transaction: all of it
   * is committed, or none (a connection killed between the entry and its audit record leaves neither).
   */
  async atomically<T>(action: string, fn: () => Promise<T>): Promise<T> {
    if (this.#ambient.getStore()) return fn();
    return this.tx(action, (client) => this.#ambient.run(client, fn));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.pool.end();
  }

  #assertOpen(): void {
    if (this.#closed) throw storageError('This database connection is closed; open a new one.');
  }
}

/** The advisory-lock key of one person: every write to their vault takes it for its transaction. */
export const PERSON_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtextextended('memvault.person:' || $1, 0))";
