import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewEntry, UserId } from '../../src/core/entry.js';
import { isMemvaultError } from '../../src/core/errors.js';
import { PgAuditLog } from '../../src/pg/pg-audit-log.js';
import { PgDatabase } from '../../src/pg/database.js';
import { MIGRATIONS } from '../../src/pg/migrations.js';
import { PgVault } from '../../src/pg/pg-vault.js';
import { FsVault } from '../../src/vault/fs-vault.js';
import { testOpener, testSealer } from '../vault/fixtures/test-sealer.js';
import { dropSchema, freshDatabase, planPgSuite, TEST_DATABASE_URL, uniqueSchema } from './pg-test-db.js';

const plan = await planPgSuite();
if (plan.action === 'fail') throw new Error(plan.message);
if (plan.action === 'skip') console.warn(plan.line);

const ALICE = '+14155550134' as UserId;
const MASTER = new Uint8Array(32).fill(3);
const entry = (over: Partial<NewEntry> = {}): NewEntry => ({
  date: '2026-11-20T10:00:00.000Z',
  category: 'CHRONOLOGICAL',
  content: 'Walked along the river with Sara.',
  channel: 'cli',
  ...over,
});

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

describe.skipIf(plan.action === 'skip')('PostgreSQL adapters', () => {
  let fx: Awaited<ReturnType<typeof freshDatabase>>;
  beforeEach(async () => {
    fx = await freshDatabase();
  });
  afterEach(async () => {
    await fx.drop();
  });

  describe('migrations', () => {
    it('bring an empty schema to the newest version once, and refuse a schema from a newer memvault', async () => {
      const versions = await fx.db.query<{ version: number }>('x', 'SELECT version FROM mv_schema_migrations');
      expect(versions.map((v) => v.version)).toEqual(MIGRATIONS.map((m) => m.version));
      expect(await fx.db.migrate(MIGRATIONS)).toEqual([]);
      await fx.db.query('x', "INSERT INTO mv_schema_migrations (version, name) VALUES (999, 'future')");
      const error = await caught(PgDatabase.open({ url: TEST_DATABASE_URL, schema: fx.schema }));
      expect(isMemvaultError(error, 'CONFIG_ERROR')).toBe(true);
    });

    it('move a database of the previous version to entry revisions, keeping its memories', async () => {
      const schema = uniqueSchema();
      try {
        const before = MIGRATIONS.filter((m) => m.version < 3);
        const old = await PgDatabase.open({ url: TEST_DATABASE_URL, schema }, before);
        const oldVault = new PgVault({ db: old, sealer: testSealer() });
        await oldVault.createUser({ userId: ALICE });
        const a = await oldVault.append(ALICE, entry({ content: 'written before revisions' }));
        const b = await oldVault.append(ALICE, entry({ content: 'a secret', category: 'SECRET' }));
        // The previous schema holds one row per memory: a second row of an id is refused.
        const dup = await caught(
          old.query(
            'x',
            'INSERT INTO mv_entries (user_id, id, category, pos, revision, unit) VALUES ($1, $2, $3, 9, 9, $4)',
            [ALICE, a.id, 'CHRONOLOGICAL', 'x'],
          ),
        );
        expect(dup).toBeInstanceOf(Error);
        await oldVault.close();
        await old.close();
        const db = await PgDatabase.open({ url: TEST_DATABASE_URL, schema });
        const versions = await db.query<{ version: number }>(
          'x',
          'SELECT version FROM mv_schema_migrations ORDER BY version',
        );
        expect(versions.map((v) => v.version)).toEqual(MIGRATIONS.map((m) => m.version));
        const vault = new PgVault({ db, sealer: testSealer() });
        expect(await vault.get(ALICE, a.id, testOpener())).toEqual(a);
        await vault.update(ALICE, a.id, { content: 'edited after the upgrade' }, testOpener());
        await vault.trash!(ALICE, b.id, testOpener());
        expect((await vault.versions!(ALICE, a.id, testOpener())).map((v) => v.entry)).toEqual([a]);
        expect((await vault.listTrash!(ALICE, testOpener())).map((t) => t.entry)).toEqual([b]);
        expect(await vault.check(ALICE, testOpener())).toMatchObject({ intact: 2, damaged: [] });
        await vault.close();
        await db.close();
      } finally {
        await dropSchema(schema);
      }
    });

    it('run once when several servers start together', async () => {
      const schema = uniqueSchema();
      try {
        const dbs = await Promise.all([1, 2, 3].map(() => PgDatabase.open({ url: TEST_DATABASE_URL, schema, max: 2 })));
        const rows = await dbs[0]!.query<{ n: string }>('x', 'SELECT count(*) AS n FROM mv_schema_migrations');
        expect(Number(rows[0]!.n)).toBe(MIGRATIONS.length);
        await Promise.all(dbs.map((db) => db.close()));
      } finally {
        await dropSchema(schema);
      }
    });

    it('refuse a bad schema name and a URL that is not postgres://, without echoing it', async () => {
      expect(
        isMemvaultError(
          await caught(PgDatabase.open({ url: TEST_DATABASE_URL, schema: 'x; drop' })),
          'VALIDATION_ERROR',
        ),
      ).toBe(true);
      const error = await caught(PgDatabase.open({ url: 'mysql://root:hunter2@db/x' }));
      expect(isMemvaultError(error, 'VALIDATION_ERROR')).toBe(true);
      expect((error as Error).message).not.toContain('hunter2');
    });

    it('answer 503-class STORAGE_ERROR when no server listens', async () => {
      const error = await caught(
        PgDatabase.open({ url: 'postgres://postgres@127.0.0.1:1/test', connectTimeoutMs: 1000 }),
      );
      expect(isMemvaultError(error, 'STORAGE_ERROR')).toBe(true);
      expect((error as { details?: { retryable?: boolean } }).details?.retryable).toBe(true);
    });
  });

  describe('vault across servers', () => {
    it('sees appends, changes and deletes made by another server, and the revision only grows', async () => {
      const other = await PgDatabase.open({ url: TEST_DATABASE_URL, schema: fx.schema });
      const a = new PgVault({ db: fx.db, sealer: testSealer() });
      const b = new PgVault({ db: other, sealer: testSealer() });
      const all = testOpener();
      try {
        await a.createUser({ userId: ALICE });
        const first = await a.append(ALICE, entry({ content: 'one' }));
        expect((await b.read(ALICE, {}, all)).entries.map((e) => e.content)).toEqual(['one']);
        await b.append(ALICE, entry({ content: 'two', date: '2026-11-21T10:00:00.000Z', category: 'SECRET' }));
        await b.update(ALICE, first.id, { tags: ['river'] }, all);
        const seen = await a.read(ALICE, { order: 'asc' }, all);
        expect(seen.entries.map((e) => [e.content, e.tags])).toEqual([
          ['one', ['river']],
          ['two', []],
        ]);
        await b.delete(ALICE, first.id, all);
        expect((await a.read(ALICE, {}, all)).entries.map((e) => e.content)).toEqual(['two']);
        // Parallel appends from both servers: all stored, each revision used once, increasing.
        const before = Number(await a.revision(ALICE));
        await Promise.all(
          Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).append(ALICE, entry({ content: `p${i}` }))),
        );
        expect(Number(await b.revision(ALICE))).toBe(before + 60);
        expect((await a.read(ALICE, {}, all)).total).toBe(61);
        expect((await b.read(ALICE, {}, all)).total).toBe(61);
      } finally {
        await other.close();
      }
    });

    it('exports the file vault’s bytes, and imports them back unchanged', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'memvault-pgexport-'));
      try {
        const sealer = testSealer({ plainLevel1: true });
        const fs = new FsVault({ dataDir: dir, sealer });
        await fs.createUser({ userId: ALICE, name: 'Alice' });
        for (const category of ['CHRONOLOGICAL', 'GENERAL', 'CONFIDENTIAL', 'SECRET', 'ULTRASECRET'] as const) {
          await fs.append(ALICE, entry({ category, content: `about ${category}`, tags: ['x'] }));
        }
        const folder = join(dir, 'users', ALICE);
        const read = (name: string) => readFileSync(join(folder, name), 'utf8');
        const { splitUnits } = await import('../../src/vault/vault-file.js');
        const units = (['CHRONOLOGICAL', 'GENERAL', 'CONFIDENTIAL', 'SECRET', 'ULTRASECRET'] as const).flatMap((c) =>
          splitUnits(read(`${c}.${ALICE}.md`)).units.map((u) => ({
            category: c,
            unit: u.kind === 'block' ? u.text : '',
          })),
        );
        const vault = new PgVault({ db: fx.db, sealer });
        expect(await vault.importFiles(ALICE, read(`USER.${ALICE}.md`), units)).toBe(5);
        const files = await vault.exportFiles(ALICE);
        expect(files.size).toBe(6);
        for (const [name, text] of files) expect(text, name).toBe(read(name));
        expect((await vault.read(ALICE, {}, testOpener())).entries).toEqual(
          (await fs.read(ALICE, {}, testOpener())).entries,
        );
        expect(isMemvaultError(await caught(vault.importFiles(ALICE, read(`USER.${ALICE}.md`), [])), 'CONFLICT')).toBe(
          true,
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('reports a row edited behind its back as damaged, keeping the others readable', async () => {
      const vault = new PgVault({ db: fx.db });
      await vault.createUser({ userId: ALICE });
      const good = await vault.append(ALICE, entry({ content: 'good' }));
      const bad = await vault.append(ALICE, entry({ content: 'bad' }));
      await fx.db.query('x', "UPDATE mv_entries SET unit = replace(unit, 'bad', 'BAD') WHERE id = $1", [bad.id]);
      await fx.db.query('x', 'UPDATE mv_users SET revision = revision + 1');
      const result = await vault.read(ALICE, {}, testOpener());
      expect(result.entries.map((e) => e.id)).toEqual([good.id]);
      expect(result.damaged.map((d) => d.id)).toEqual([bad.id]);
      expect(isMemvaultError(await caught(vault.get(ALICE, bad.id, testOpener())), 'DATA_CORRUPTION')).toBe(true);
    });
  });

  describe('audit log', () => {
    it('chains concurrent appends from two servers into one verifiable log', async () => {
      const other = await PgDatabase.open({ url: TEST_DATABASE_URL, schema: fx.schema });
      try {
        const logs = [
          new PgAuditLog({ db: fx.db, masterKey: MASTER }),
          new PgAuditLog({ db: other, masterKey: MASTER }),
        ];
        await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            logs[i % 2]!.append(ALICE, { action: 'signin', result: 'success', ip: `10.0.0.${i}` }),
          ),
        );
        expect(await logs[0]!.verify(ALICE)).toEqual({ ok: true, records: 40 });
        const page = await logs[1]!.list(ALICE, { limit: 5, before: 40 });
        expect(page.map((r) => r.seq)).toEqual([39, 38, 37, 36, 35]);
      } finally {
        await other.close();
      }
    });

    it('detects an edited row, a removed row, a cut tail and another master key', async () => {
      const log = new PgAuditLog({ db: fx.db, masterKey: MASTER });
      for (let i = 0; i < 5; i++) await log.append(ALICE, { action: 'signin', result: 'success' });
      await fx.db.query('x', `UPDATE mv_audit SET line = replace(line, '"success"', '"failure"') WHERE seq = 3`);
      expect(await log.verify(ALICE)).toMatchObject({ ok: false, badSeq: 3, reason: 'edited' });
      await fx.db.query('x', `UPDATE mv_audit SET line = replace(line, '"failure"', '"success"') WHERE seq = 3`);
      expect(await log.verify(ALICE)).toEqual({ ok: true, records: 5 });
      expect(await new PgAuditLog({ db: fx.db, masterKey: new Uint8Array(32).fill(9) }).verify(ALICE)).toMatchObject({
        ok: false,
      });
      await fx.db.query('x', 'DELETE FROM mv_audit WHERE seq = 5');
      expect(await log.verify(ALICE)).toMatchObject({ ok: false, badSeq: 5, reason: 'truncated' });
      // The next record keeps counting from the head, so the gap stays visible.
      expect((await log.append(ALICE, { action: 'signin', result: 'success' })).seq).toBe(6);
      await fx.db.query('x', 'DELETE FROM mv_audit WHERE seq = 2');
      expect(await log.verify(ALICE)).toMatchObject({ ok: false, badSeq: 2, reason: 'removed' });
    });

    it('commits an entry and its audit record together, or neither when the connection dies in between', async () => {
      const vault = new PgVault({ db: fx.db });
      const log = new PgAuditLog({ db: fx.db, masterKey: MASTER });
      await vault.createUser({ userId: ALICE });
      const kept = await fx.db.atomically('test', async () => {
        const e = await vault.append(ALICE, entry({ content: 'kept' }));
        await log.append(ALICE, { action: 'memory_corrected', result: 'success' });
        return e;
      });
      const killer = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await killer.connect();
      try {
        const error = await caught(
          fx.db.atomically('test', async () => {
            await vault.append(ALICE, entry({ content: 'lost' }));
            // The server ends this very connection between the entry and its audit record.
            const pid = (await fx.db.tx('x', (c) => c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')))
              .rows[0]!.pid;
            await killer.query('SELECT pg_terminate_backend($1)', [pid]);
            await log.append(ALICE, { action: 'memory_corrected', result: 'success' });
          }),
        );
        expect(isMemvaultError(error, 'STORAGE_ERROR')).toBe(true);
      } finally {
        await killer.end();
      }
      const all = testOpener();
      expect((await vault.read(ALICE, {}, all)).entries.map((e) => e.id)).toEqual([kept.id]);
      expect(await log.verify(ALICE)).toEqual({ ok: true, records: 1 });
      // The pool replaced the killed connection by itself.
      await vault.append(ALICE, entry({ content: 'after' }));
      expect((await vault.read(ALICE, {}, all)).total).toBe(2);
    });
  });
});
