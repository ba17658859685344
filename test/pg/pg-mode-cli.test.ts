import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memvault } from '../helpers/cli.js';
import { freshDatabase, planPgSuite, TEST_DATABASE_URL } from './pg-test-db.js';

const plan = await planPgSuite();
if (plan.action === 'fail') throw new Error(plan.message);
if (plan.action === 'skip') console.warn(plan.line);

const PHONE = '+14155550134';

describe.skipIf(plan.action === 'skip')('MEMVAULT_DATABASE_URL mode, through the CLI', () => {
  let fx: Awaited<ReturnType<typeof freshDatabase>>;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  beforeEach(async () => {
    fx = await freshDatabase();
    dir = mkdtempSync(join(tmpdir(), 'memvault-pgmode-'));
    env = {
      MEMVAULT_DATABASE_URL: TEST_DATABASE_URL,
      MEMVAULT_DATABASE_SCHEMA: fx.schema,
      MEMVAULT_MASTER_KEY: randomBytes(32).toString('base64'),
    };
  });
  afterEach(async () => {
    await fx.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores memories and their audit records in the database, not in Markdown files', async () => {
    expect((await memvault(['user', 'create', '--phone', PHONE, '--data-dir', dir], { env })).code).toBe(0);
    const add = await memvault(
      ['add', '--user', PHONE, '--data-dir', dir, '--json', 'Walked along the river with Sara'],
      { env },
    );
    expect(add.code).toBe(0);
    const id = add.json<{ entry: { id: string } }>().entry.id;
    const rows = await fx.db.query<{ id: string }>('x', 'SELECT id FROM mv_entries');
    expect(rows.map((r) => r.id)).toEqual([id]);
    expect(existsSync(join(dir, 'users', PHONE, `CHRONOLOGICAL.${PHONE}.md`))).toBe(false);
    // Delete moves it to the trash (a revision row), as in file mode; --permanent erases every row of it.
    const trashed = await memvault(['delete', '--user', PHONE, '--data-dir', dir, '--json', id], { env });
    expect(trashed.json()).toEqual({ deleted: id, trashed: true });
    const listed = await memvault(['trash', '--user', PHONE, '--data-dir', dir, '--json'], { env });
    expect(listed.stdout).toContain(id);
    expect((await fx.db.query('x', 'SELECT id FROM mv_entries')).length).toBe(2);
    expect((await memvault(['delete', '--user', PHONE, '--data-dir', dir, '--permanent', id], { env })).code).toBe(0);
    expect(await fx.db.query('x', 'SELECT id FROM mv_entries')).toEqual([]);
    const audit = await fx.db.query<{ line: string }>('x', 'SELECT line FROM mv_audit ORDER BY seq');
    expect(audit.map((r) => JSON.parse(r.line).action)).toContain('memory_deleted');
  }, 120_000);

  it('deletes an account from the database: every row of the person, nobody else’s, and their folder here', async () => {
    const OTHER = '+14155550199';
    for (const phone of [PHONE, OTHER]) {
      expect((await memvault(['user', 'create', '--phone', phone, '--data-dir', dir], { env })).code).toBe(0);
      expect((await memvault(['add', '--user', phone, '--data-dir', dir, 'Walked with Sara'], { env })).code).toBe(0);
    }
    const owned = async (phone: string) => {
      const counts: Record<string, number> = {};
      for (const [table, column] of [
        ['mv_users', 'user_id'],
        ['mv_entries', 'user_id'],
        ['mv_audit', 'user_id'],
        ['mv_audit_head', 'user_id'],
        ['mv_documents', 'owner'],
      ] as const) {
        const rows = await fx.db.query<{ n: string }>('x', `SELECT count(*) AS n FROM ${table} WHERE ${column} = $1`, [
          phone,
        ]);
        counts[table] = Number(rows[0]!.n);
      }
      return counts;
    };
    const before = await owned(PHONE);
    expect(before.mv_entries).toBe(1);
    expect(before.mv_documents).toBeGreaterThan(0); // the keyring
    const deleted = await memvault(['user', 'delete', '--user', PHONE, '--yes', '--data-dir', dir, '--json'], { env });
    expect(deleted.stderr).toBe('');
    expect(deleted.code).toBe(0);
    expect(await owned(PHONE)).toEqual({ mv_users: 0, mv_entries: 0, mv_audit: 0, mv_audit_head: 0, mv_documents: 0 });
    expect((await owned(OTHER)).mv_entries).toBe(1);
    expect(existsSync(join(dir, 'users', PHONE))).toBe(false);
    const again = await memvault(['user', 'delete', '--user', PHONE, '--yes', '--data-dir', dir], { env });
    expect(again.code).not.toBe(0);
  }, 120_000);
});
