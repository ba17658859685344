import { existsSync, readdirSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Memvault } from '../../src/app/container.js';
import { memvault, snapshot } from '../helpers/cli.js';
import { ANA, BEN, KEY, openApp } from './fixture.js';

const PASSWORD = 'correct horse battery staple 42';
const meta = { channel: 'cli' };
let root: string;
let D: string;
let app: Memvault;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'memvault-account-'));
  D = join(root, 'data');
  app = await openApp(D);
  await app.memory.signUp({ phone: ANA, password: PASSWORD });
  await app.memory.signUp({ phone: BEN, password: PASSWORD });
  for (const userId of [ANA, BEN]) {
    await app.vault.append(userId, {
      date: new Date().toISOString(),
      category: 'GENERAL',
      content: 'Oat milk',
      channel: 'cli',
    });
    await app.backups.create(userId);
  }
});
afterEach(async () => {
  await app.close();
  await rm(root, { recursive: true, force: true });
});

describe('account deletion', () => {
  it('erases every file, backup and session of the person, records it without naming them, and nothing of others', async () => {
    const { token, opener } = await app.auth.signIn(ANA, PASSWORD, meta);
    // A loaded search index and personal model must not write the person's folder back after it is gone.
    await app.memory.search({ userId: ANA, opener, meta }, { text: 'oat' });
    await app.memory.remember({ userId: ANA, opener, meta }, 'Lunch with Sara at noon', {
      channel: 'cli',
      category: 'GENERAL',
    });
    const benBefore = snapshot(join(D, 'users', BEN));
    const benBackups = await app.backups.list(BEN);

    const report = await app.account.deleteAccount(ANA, { password: PASSWORD }, meta);
    expect(report).toEqual({ deleted: true, backups: 1, subject: app.instanceAudit.subjectOf(ANA) });
    expect(existsSync(join(D, 'users', ANA))).toBe(false);
    expect(existsSync(join(D, 'backups', ANA))).toBe(false);
    expect(await app.vault.listUsers()).toEqual([BEN]);
    await expect(app.auth.resolve(token, meta)).rejects.toMatchObject({ code: 'SECURITY_ERROR' });
    // Ben untouched, file for file.
    expect(snapshot(join(D, 'users', BEN))).toEqual(benBefore);
    expect(await app.backups.list(BEN)).toEqual(benBackups);

    const log = await readFile(join(D, 'INSTANCE-AUDIT.log'), 'utf8');
    expect(log).not.toContain(ANA.slice(1));
    expect(await app.instanceAudit.list()).toMatchObject([
      { seq: 1, action: 'account.deleted', subject: report.subject },
    ]);
    expect(await app.instanceAudit.verify()).toEqual({ ok: true, records: 1 });
    await app.close();
    app = await openApp(D);
    expect(existsSync(join(D, 'users', ANA)) ? readdirSync(join(D, 'users', ANA)) : []).toEqual([]);
    // The phone number is free again.
    await app.memory.signUp({ phone: ANA, password: PASSWORD });
    expect((await app.vault.read(ANA, {}, await app.operatorOpener(ANA))).entries).toEqual([]);
  });

  it('a wrong password, or the operator for a person who has one, deletes nothing', async () => {
    const before = snapshot(D);
    await expect(app.account.deleteAccount(ANA, { password: 'not it at all' }, meta)).rejects.toMatchObject({
      code: 'SECURITY_ERROR',
      reason: 'authentication_failed',
    });
    await expect(app.account.deleteAccount(ANA, { operator: true }, meta)).rejects.toMatchObject({
      code: 'SECURITY_ERROR',
    });
    const after = snapshot(D);
    // Only the audit log recorded the failed attempt, and the lockout counters (AUTH, and the shared session
    // store where every server process counts attempts) moved.
    const changed = Object.keys(after).filter((f) => after[f] !== before[f]);
    expect(changed.filter((f) => !/AUDIT|AUTH|\/sessions\.db(-wal|-shm)?$/.test(f))).toEqual([]);
    expect(existsSync(join(D, 'users', ANA, `KEYRING.${ANA}.json`))).toBe(true);
    expect(await app.instanceAudit.list()).toEqual([]);
  });

  it('the instance audit log refuses an edited record and cuts a torn last line before the next append', async () => {
    await app.account.deleteAccount(ANA, { password: PASSWORD }, meta);
    const file = join(D, 'INSTANCE-AUDIT.log');
    await appendFile(file, '{"seq":2,"at":"20');
    await app.account.deleteAccount(BEN, { password: PASSWORD }, meta);
    expect(await app.instanceAudit.verify()).toEqual({ ok: true, records: 2 });
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('account.deleted', 'account.recovered'));
    expect(await app.instanceAudit.verify()).toMatchObject({ ok: false, badSeq: 1 });
  });

  it('a deletion killed after its rename is finished by the next start', async () => {
    await app.close();
    const leftover = join(D, 'users', `.deleting.${ANA}.999999.abcd1234`);
    await mkdir(leftover, { recursive: true });
    await writeFile(join(leftover, `GENERAL.${ANA}.md`), 'x');
    app = await openApp(D);
    expect(existsSync(leftover)).toBe(false);
  });
});

describe('memvault user delete / instance-audit, DELETE /v1/account', () => {
  it('the CLI needs the password of a person who has one; --yes for one who has none', async () => {
    await app.close();
    const env = { MEMVAULT_MASTER_KEY: KEY };
    const run = (args: string[], stdin?: string) =>
      memvault([...args, '--data-dir', D], { env, ...(stdin ? { stdin } : {}) });
    expect((await run(['user', 'delete', '--user', ANA])).code).toBe(65);
    expect((await run(['user', 'delete', '--user', ANA, '--yes'])).code).toBe(77);
    const done = await run(['user', 'delete', '--user', ANA, '--password-stdin', '--json'], `${PASSWORD}\n`);
    expect(done.code, done.stderr).toBe(0);
    expect(done.json()).toMatchObject({ deleted: true, backups: 1 });
    expect((await run(['user', 'create', '--phone', '+14155550100'])).code).toBe(0);
    expect((await run(['user', 'delete', '--user', '+14155550100', '--yes'])).code).toBe(0);
    const listed = await run(['instance-audit', 'list', '--json']);
    expect(listed.json<{ records: unknown[] }>().records).toHaveLength(2);
    expect((await run(['instance-audit', 'verify', '--json'])).json()).toEqual({ ok: true, records: 2 });
    app = await openApp(D);
  });

  it('DELETE /v1/account takes the password, clears the cookies, and ends the session', async () => {
    const { startRealServer } = await import('../server/real.js');
    const server = await startRealServer();
    try {
      const signUp = await fetch(`${server.url}/v1/auth/sign-up`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ phone: ANA, password: PASSWORD, session: 'bearer' }),
      });
      const { token } = (await signUp.json()) as { token: string };
      const del = (password: string) =>
        fetch(`${server.url}/v1/account`, {
          method: 'DELETE',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ password }),
        });
      expect((await del('wrong password here')).status).toBe(401);
      expect(existsSync(join(server.dataDir, 'users', ANA))).toBe(true);
      const ok = await del(PASSWORD);
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ deleted: true, backups: 0 });
      expect(existsSync(join(server.dataDir, 'users', ANA))).toBe(false);
      const me = await fetch(`${server.url}/v1/me`, { headers: { authorization: `Bearer ${token}` } });
      expect(me.status).toBe(401);
    } finally {
      await server.close();
    }
  });
});
