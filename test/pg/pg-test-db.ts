import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PgDatabase } from '../../src/pg/database.js';
import { isCi } from '../browser/chromium.js';

/** The server the PostgreSQL suites use: MEMVAULT_TEST_DATABASE_URL, else this project's machines' local one. */
export const TEST_DATABASE_URL = process.env.MEMVAULT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export type PgSuitePlan =
  | { readonly action: 'run' }
  | { readonly action: 'skip'; readonly line: string }
  | { readonly action: 'fail'; readonly message: string };

/**
 * Whether a PostgreSQL server answers. Outside CI a machine without one skips the suites with one line; in CI
 * a missing server fails the run, since it would silently drop every PostgreSQL test.
 */
export async function planPgSuite(
  env: Readonly<Record<string, string | undefined>> = process.env,
  url = TEST_DATABASE_URL,
): Promise<PgSuitePlan> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { action: 'run' };
  } catch (error) {
    const why = `no PostgreSQL answers at ${new URL(url).host} (${(error as { code?: string }).code ?? 'error'})`;
    if (isCi(env)) {
      return {
        action: 'fail',
        message: `PostgreSQL suites cannot run in CI: ${why}. Start PostgreSQL 15 (trust auth, database test) or set MEMVAULT_TEST_DATABASE_URL.`,
      };
    }
    return {
      action: 'skip',
      line: `PostgreSQL suites skipped: ${why}. To run them: start PostgreSQL (database test) or set MEMVAULT_TEST_DATABASE_URL.`,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A schema name no other run uses. */
export const uniqueSchema = (prefix = 'mvtest') => `${prefix}_${process.pid}_${randomBytes(5).toString('hex')}`;

/** A migrated database in a fresh schema, and a way to drop it. */
export async function freshDatabase(options: { applicationName?: string; max?: number } = {}): Promise<{
  db: PgDatabase;
  schema: string;
  drop(): Promise<void>;
}> {
  const schema = uniqueSchema();
  const db = await PgDatabase.open({ url: TEST_DATABASE_URL, schema, ...options });
  return {
    db,
    schema,
    drop: async () => {
      await db.close();
      await dropSchema(schema);
    },
  };
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}
