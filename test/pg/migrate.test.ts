import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CATEGORIES } from '../../src/core/category.js';
import type { UserId } from '../../src/core/entry.js';
import { migrateStore } from '../../src/app/store-migration.js';
import { PgAuditLog } from '../../src/pg/pg-audit-log.js';
import { PgDocuments } from '../../src/pg/pg-documents.js';
import { PgVault } from '../../src/pg/pg-vault.js';
import { NotificationStore } from '../../src/channels/notifications.js';
import { OnboardingStore } from '../../src/channels/onboarding.js';
import { ChannelRegistry } from '../../src/channels/registry.js';
import { PersonalModelStore } from '../../src/classify/personal-model.js';
import { FileDocuments } from '../../src/security/file-documents.js';
import { AccessTokenStore, newSecret } from '../../src/security/access-tokens.js';
import { FileAuditLog } from '../../src/security/audit-log.js';
import { AuthStore } from '../../src/security/auth-store.js';
import { KeyringStore } from '../../src/security/keyring.js';
import { FsVault } from '../../src/vault/fs-vault.js';
import { memvault } from '../helpers/cli.js';
import { testOpener, testSealer } from '../vault/fixtures/test-sealer.js';
import { freshDatabase, planPgSuite, TEST_DATABASE_URL } from './pg-test-db.js';

const plan = await planPgSuite();
if (plan.action === 'fail') throw new Error(plan.message);
if (plan.action === 'skip') console.warn(plan.line);

const MASTER = new Uint8Array(32).fill(5);
const person = (i: number) => `+1415555${String(1000 + i).padStart(4, '0')}` as UserId;
const files = (dir: string, userId: UserId) =>
  [
    `USER.${userId}.md`,
    ...CATEGORIES.map((c) => `${c}.${userId}.md`),
    `AUDIT.${userId}.log`,
    `AUDIT.${userId}.head`,
  ].map((name) => readFileSync(join(dir, 'users', userId, name), 'utf8'));

/** A person's vault files (profile and categories), as the file vault holds them. */
const files_ = (dir: string, userId: UserId) =>
  [`USER.${userId}.md`, ...CATEGORIES.map((c) => `${c}.${userId}.md`)].map((name) =>
    readFileSync(join(dir, 'users', userId, name), 'utf8'),
  );

/** A file-mode data dir with `people` people, each with memories at every level and an audit log. */
async function fileVault(dir: string, people: number, perPerson: number): Promise<UserId[]> {
  const vault = new FsVault({ dataDir: dir, sealer: testSealer({ plainLevel1: true }) });
  const audit = new FileAuditLog({ dataDir: dir, masterKey: MASTER });
  const ids: UserId[] = [];
  for (let p = 0; p < people; p++) {
    const userId = person(p);
    ids.push(userId);
    await vault.createUser({ userId, name: `Person ${p}` });
    for (let i = 0; i < perPerson; i++) {
      const category = CATEGORIES[i % CATEGORIES.length]!;
      await vault.append(userId, {
        date: '2026-11-20T10:00:00.000Z',
        category,
        content: `memory ${p}/${i}`,
        channel: 'cli',
      });
    }
    await audit.append(userId, { action: 'signin', result: 'success' });
    await audit.append(userId, { action: 'memory_read', result: 'success', level: 2 });
  }
  await vault.close();
  return ids;
}

describe.skipIf(plan.action === 'skip')('memvault migrate', () => {
  let fx: Awaited<ReturnType<typeof freshDatabase>>;
  let dir: string;
  beforeEach(async () => {
    fx = await freshDatabase();
    dir = mkdtempSync(join(tmpdir(), 'memvault-migrate-'));
  });
  afterEach(async () => {
    await fx.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('copies a data dir into the database and back, byte for byte, and a second run changes nothing', async () => {
    const ids = await fileVault(dir, 3, 7);
    const there = await migrateStore('to-postgres', { dataDir: dir, db: fx.db });
    expect(there).toMatchObject({ people: 3, copied: 3, alreadyThere: 0, entries: 21, auditRecords: 6 });
    const again = await migrateStore('to-postgres', { dataDir: dir, db: fx.db });
    expect(again).toMatchObject({ copied: 0, alreadyThere: 3, checksum: there.checksum });
    // The database serves the same memories, and the audit chains verify under the same master key.
    const vault = new PgVault({ db: fx.db, sealer: testSealer({ plainLevel1: true }) });
    const fsVault = new FsVault({ dataDir: dir, sealer: testSealer({ plainLevel1: true }) });
    expect((await vault.read(ids[1]!, {}, testOpener())).entries).toEqual(
      (await fsVault.read(ids[1]!, {}, testOpener())).entries,
    );
    expect(await new PgAuditLog({ db: fx.db, masterKey: MASTER }).verify(ids[0]!)).toEqual({ ok: true, records: 2 });

    const back = mkdtempSync(join(tmpdir(), 'memvault-migrate-back-'));
    try {
      const home = await migrateStore('to-files', { dataDir: back, db: fx.db });
      expect(home).toMatchObject({ people: 3, copied: 3, entries: 21, auditRecords: 6, checksum: there.checksum });
      for (const userId of ids) expect(files(back, userId)).toEqual(files(dir, userId));
      expect(await new FileAuditLog({ dataDir: back, masterKey: MASTER }).verify(ids[2]!)).toEqual({
        ok: true,
        records: 2,
      });
      expect((await migrateStore('to-files', { dataDir: back, db: fx.db })).alreadyThere).toBe(3);
    } finally {
      rmSync(back, { recursive: true, force: true });
    }
  });

  it('refuses to overwrite a person who differs at the destination', async () => {
    const [alice] = await fileVault(dir, 1, 2);
    const vault = new PgVault({ db: fx.db });
    await vault.createUser({ userId: alice!, name: 'Someone else' });
    await expect(migrateStore('to-postgres', { dataDir: dir, db: fx.db })).rejects.toMatchObject({ code: 'CONFLICT' });
    expect((await vault.read(alice!, {}, testOpener())).total).toBe(0);
  });

  it('copies every revision both ways byte for byte: versions, the trash and notes read the same in both modes', async () => {
    const [alice] = await fileVault(dir, 1, 10);
    const sealer = testSealer({ plainLevel1: true });
    const files = new FsVault({ dataDir: dir, sealer });
    const all = testOpener();
    const listed = (await files.read(alice!, {}, all)).entries;
    const chrono = listed.find((e) => e.category === 'CHRONOLOGICAL')!;
    const secret = listed.find((e) => e.category === 'SECRET')!;
    const gone = listed.find((e) => e.category === 'CONFIDENTIAL')!;
    // An edit (a version), an edit that re-classifies it up (its version stays at level 1), daily notes, a link,
    // a sealed edit, and one memory in the trash.
    await files.update(alice!, chrono.id, { content: 'memory 0/0, edited' }, all);
    await files.update(alice!, chrono.id, { content: 'memory 0/0, edited again', category: 'GENERAL' }, all);
    await files.annotate!(alice!, [{ id: secret.id, analysis: () => 'important' }], all);
    await files.update(alice!, secret.id, { content: 'a secret, edited' }, all);
    await files.link(alice!, chrono.id, secret.id, all);
    await files.trash!(alice!, gone.id, all);
    const before = {
      read: await files.read(alice!, {}, all),
      chronoVersions: await files.versions!(alice!, chrono.id, all),
      secretVersions: await files.versions!(alice!, secret.id, all),
      trash: await files.listTrash!(alice!, all),
    };
    await files.close();
    const sourceBytes = files_(dir, alice!);

    const report = await migrateStore('to-postgres', { dataDir: dir, db: fx.db });
    expect(report).toMatchObject({ copied: 1, entries: 10 });
    const pgVault = new PgVault({ db: fx.db, sealer });
    const read = await pgVault.read(alice!, {}, all);
    expect(read.entries).toEqual(before.read.entries);
    expect([read.total, read.damaged]).toEqual([9, []]);
    expect(await pgVault.versions!(alice!, chrono.id, all)).toEqual(before.chronoVersions);
    expect(before.chronoVersions.map((v) => v.entry?.content)).toEqual(['memory 0/0, edited', chrono.content]);
    expect(await pgVault.versions!(alice!, secret.id, all)).toEqual(before.secretVersions);
    expect(await pgVault.listTrash!(alice!, all)).toEqual(before.trash);
    expect(before.trash.map((t) => t.id)).toEqual([gone.id]);
    // The copy carries on in PostgreSQL: restore it there, then migrate back into an empty data dir.
    await pgVault.restore!(alice!, gone.id, all);
    expect((await pgVault.get(alice!, gone.id, all)).content).toBe(gone.content);
    await pgVault.close();

    const back = mkdtempSync(join(tmpdir(), 'memvault-migrate-back-'));
    try {
      const returned = await migrateStore('to-files', { dataDir: back, db: fx.db });
      expect(returned).toMatchObject({ copied: 1, entries: 10 });
      const fresh = new FsVault({ dataDir: back, sealer });
      expect((await fresh.get(alice!, gone.id, all)).content).toBe(gone.content);
      expect(await fresh.versions!(alice!, chrono.id, all)).toEqual(before.chronoVersions);
      expect(await fresh.listTrash!(alice!, all)).toEqual([]);
      await fresh.close();
      // Byte for byte: everything the source held is still a prefix of each file (only the restore was added).
      const backBytes = files_(back, alice!);
      for (const [i, text] of sourceBytes.entries()) expect(backBytes[i]!.startsWith(text)).toBe(true);
      expect(backBytes.join('').length).toBeGreaterThan(sourceBytes.join('').length);
    } finally {
      rmSync(back, { recursive: true, force: true });
    }
  });

  it('round-trips a vault with history unchanged: to the database and back gives the same bytes', async () => {
    const [alice] = await fileVault(dir, 1, 5);
    const sealer = testSealer({ plainLevel1: true });
    const files = new FsVault({ dataDir: dir, sealer });
    const all = testOpener();
    for (const e of (await files.read(alice!, {}, all)).entries) {
      await files.update(alice!, e.id, { content: `${e.content} (edited)` }, all);
      await files.annotate!(alice!, [{ id: e.id, analysis: () => 'noted' }], all);
    }
    await files.close();
    const source = files_(dir, alice!);
    const there = await migrateStore('to-postgres', { dataDir: dir, db: fx.db });
    const back = mkdtempSync(join(tmpdir(), 'memvault-migrate-back-'));
    try {
      const returned = await migrateStore('to-files', { dataDir: back, db: fx.db });
      expect(returned.checksum).toBe(there.checksum);
      expect(files_(back, alice!)).toEqual(source);
    } finally {
      rmSync(back, { recursive: true, force: true });
    }
  });

  it('finishes after being killed midway: every person once, identical to the files', async () => {
    const ids = await fileVault(dir, 40, 10);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'migrate-child.ts'), dir, TEST_DATABASE_URL, fx.schema],
      { stdio: 'ignore' },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let copiedBeforeKill = 0;
    for (let i = 0; i < 600; i++) {
      const rows = await fx.db.query<{ n: string }>('x', 'SELECT count(*) AS n FROM mv_users');
      copiedBeforeKill = Number(rows[0]!.n);
      if (copiedBeforeKill >= 3) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    await exited;
    expect(copiedBeforeKill).toBeGreaterThan(0);
    const report = await migrateStore('to-postgres', { dataDir: dir, db: fx.db });
    expect(report.people).toBe(40);
    expect(report.copied + report.alreadyThere).toBe(40);
    expect(report.alreadyThere).toBeGreaterThan(0);
    const counts = await fx.db.query<{ n: string }>('x', 'SELECT count(*) AS n FROM mv_entries');
    expect(Number(counts[0]!.n)).toBe(400);
    const vault = new PgVault({ db: fx.db });
    for (const userId of [ids[0]!, ids[39]!]) {
      const exported = await vault.exportFiles(userId);
      expect([...exported.values()]).toEqual(files(dir, userId).slice(0, 6));
    }
    // 14 s on an idle machine (400 appends, a child process, two migrations): 60 s is too little on two busy cores.
  }, 180_000);

  it('the command says which way, and needs MEMVAULT_DATABASE_URL', async () => {
    const neither = await memvault(['migrate', '--data-dir', dir]);
    expect(neither.code).not.toBe(0);
    expect(neither.stderr).toContain('--to-postgres or --to-files');
    const noUrl = await memvault(['migrate', '--to-postgres', '--data-dir', dir], {
      env: { MEMVAULT_DATABASE_URL: undefined },
    });
    expect(noUrl.stderr).toContain('MEMVAULT_DATABASE_URL');
    await fileVault(dir, 1, 3);
    const ok = await memvault(['migrate', '--to-postgres', '--data-dir', dir, '--json'], {
      env: {
        MEMVAULT_DATABASE_URL: TEST_DATABASE_URL,
        MEMVAULT_DATABASE_SCHEMA: fx.schema,
        MEMVAULT_MASTER_KEY: Buffer.from(MASTER).toString('base64'),
      },
    });
    expect(ok.stderr).toBe('');
    expect(ok.json()).toMatchObject({ direction: 'to-postgres', people: 1, copied: 1, entries: 3 });
  });

  it('moves keyrings, sign-in factors and tokens too, also for people whose memories are already there', async () => {
    const FAST = { memoryCost: 64, timeCost: 1, parallelism: 1 };
    const ids = await fileVault(dir, 2, 3);
    const [alice, bob] = [ids[0]!, ids[1]!];
    const fileKeyring = new KeyringStore({ dataDir: dir, masterKey: MASTER, kdf: FAST });
    await fileKeyring.create(alice, 'alice password is long enough');
    await fileKeyring.create(bob, 'bob password is long enough too');
    await new AuthStore({ dataDir: dir, masterKey: MASTER }).update(alice, (r) => {
      r.credentialEpoch = 3;
    });
    const token = newSecret('personal');
    await new AccessTokenStore({ dataDir: dir, masterKey: MASTER }).createGrant({
      userId: alice,
      kind: 'personal',
      name: 'backup script',
      levels: [1],
      expiresAt: null,
      generation: 1,
      level2Key: null,
      secrets: [{ token, role: 'access', expiresAt: null }],
    });
    // A database filled by an earlier memvault, which copied memories only: Bob's are there, his keyring is not.
    const memoriesOnly = await migrateStore('to-postgres', { dataDir: dir, db: fx.db });
    await fx.db.query('x', 'DELETE FROM mv_documents');
    const report = await migrateStore('to-postgres', { dataDir: dir, db: fx.db });
    expect(report).toMatchObject({ copied: 0, alreadyThere: 2, checksum: memoriesOnly.checksum });
    // Two keyrings with their generation records, Alice's factors, and the token store.
    expect(report.documents).toBe(6);
    expect((await migrateStore('to-postgres', { dataDir: dir, db: fx.db })).documents).toBe(0);

    const documents = new PgDocuments({ db: fx.db });
    const dbKeyring = new KeyringStore({ documents, masterKey: MASTER, kdf: FAST });
    await expect(
      dbKeyring.unwrapMany(bob, [2], { password: 'bob password is long enough too' }),
    ).resolves.toBeDefined();
    expect(await new AuthStore({ documents, masterKey: MASTER }).credentialEpoch(alice)).toBe(3);
    expect((await new AccessTokenStore({ documents, masterKey: MASTER }).resolve(token, 'access')).userId).toBe(alice);

    // Changed in the database, then refused rather than overwritten by another copy from the files.
    await dbKeyring.changePassword(bob, 'bob password is long enough too', 'bob changed it in the database');
    await expect(migrateStore('to-postgres', { dataDir: dir, db: fx.db })).rejects.toMatchObject({ code: 'CONFLICT' });

    // And back into an empty data dir, byte for byte as the database holds them.
    const back = mkdtempSync(join(tmpdir(), 'memvault-migrate-docs-'));
    try {
      const home = await migrateStore('to-files', { dataDir: back, db: fx.db });
      expect(home.documents).toBe(6);
      const name = `KEYRING.${bob}.json`;
      expect(readFileSync(join(back, 'users', bob, name), 'utf8')).toBe((await documents.read(bob, name))?.text);
      const restored = new KeyringStore({ dataDir: back, masterKey: MASTER, kdf: FAST });
      await expect(
        restored.unwrapMany(bob, [2], { password: 'bob changed it in the database' }),
      ).resolves.toBeDefined();
      expect((await new AccessTokenStore({ dataDir: back, masterKey: MASTER }).list(alice)).map((g) => g.name)).toEqual(
        ['backup script'],
      );
    } finally {
      rmSync(back, { recursive: true, force: true });
    }
  });

  it('moves channel links, onboarding, notifications and personal models both ways, byte for byte', async () => {
    const [alice] = await fileVault(dir, 1, 2);
    const fileDocs = new FileDocuments(dir);
    const AT = new Date('2026-11-30T12:00:00Z');
    await new ChannelRegistry(fileDocs).link(alice!, 'telegram', '4242', true, AT);
    await new OnboardingStore(fileDocs).mark(alice!, 'link_channel', AT);
    await new NotificationStore(fileDocs).add(alice!, { purpose: 'notice', subject: 'hi', text: 'hello' }, AT);
    await new PersonalModelStore({ documents: new FileDocuments(dir) }).learn({
      userId: alice!,
      entryId: '01JDEMO',
      text: 'dinner with the book club',
      from: 'GENERAL',
      to: 'CONFIDENTIAL',
      at: AT.toISOString(),
    });
    const names = ['CHANNELS.json', 'ONBOARDING.json', 'NOTIFICATIONS.json', `MODEL.${alice}.json`];
    const there = await migrateStore('to-postgres', { dataDir: dir, db: fx.db });
    expect(there.documents).toBe(4);
    const rows = new PgDocuments({ db: fx.db });
    for (const name of names) {
      expect((await rows.read(alice!, name))?.text).toBe(readFileSync(join(dir, 'users', alice!, name), 'utf8'));
    }
    expect((await new ChannelRegistry(rows).get(alice!)).links).toMatchObject([{ kind: 'telegram', address: '4242' }]);
    const back = mkdtempSync(join(tmpdir(), 'memvault-migrate-channels-'));
    try {
      expect((await migrateStore('to-files', { dataDir: back, db: fx.db })).documents).toBe(4);
      for (const name of names) {
        expect(readFileSync(join(back, 'users', alice!, name), 'utf8')).toBe(
          readFileSync(join(dir, 'users', alice!, name), 'utf8'),
        );
      }
    } finally {
      rmSync(back, { recursive: true, force: true });
    }
  });
});
