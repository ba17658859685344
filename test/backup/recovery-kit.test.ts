import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.js';
import { createMemvault, type Memvault } from '../../src/app/container.js';
import type { SecurityLevel } from '../../src/core/category.js';
import { AuthStore } from '../../src/security/auth-store.js';
import { KeyringStore } from '../../src/security/keyring.js';
import { loadMasterKey } from '../../src/security/master-key.js';
import { formatCode, parseCode } from '../../src/security/recovery-kit.js';
import { createOpener } from '../../src/security/seal.js';
import type { RecoveryAlert } from '../../src/services/recovery-service.js';
import { memvault } from '../helpers/cli.js';
import { ANA, KEY } from './fixture.js';

const PASSWORD = 'correct horse battery staple 42';
const NEW_PASSWORD = 'a brand new long passphrase 77';
const meta = { channel: 'web' };
let root: string;
let D: string;
let app: Memvault;
let alerts: RecoveryAlert[];

async function keyring(): Promise<KeyringStore> {
  return new KeyringStore({
    dataDir: D,
    masterKey: await loadMasterKey({ env: { MEMVAULT_MASTER_KEY: KEY }, dataDir: D }),
  });
}

/** Contents of the entries `levels` open with `password` (levels 2–3 need only the password). */
async function readWith(password: string, levels: readonly SecurityLevel[], prf?: Uint8Array): Promise<string[]> {
  const keys = await (await keyring()).unwrapMany(ANA, levels, { password, ...(prf ? { prf } : {}) });
  const read = await app.vault.read(ANA, { levels }, createOpener(ANA, keys));
  return read.entries.map((e) => e.content).sort();
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'memvault-recovery-'));
  D = join(root, 'data');
  alerts = [];
  const config = loadConfig({ MEMVAULT_DATA_DIR: D, MEMVAULT_MASTER_KEY: KEY, MEMVAULT_LOG_LEVEL: 'silent' });
  app = await createMemvault(config, {
    logger: pino({ level: 'silent' }),
    onRecoveryAlert: (a) => void alerts.push(a),
  });
  await app.memory.signUp({ phone: ANA, password: PASSWORD });
  const at = new Date().toISOString();
  await app.vault.append(ANA, { date: at, category: 'CONFIDENTIAL', content: 'Salary is 4200', channel: 'cli' });
  await app.vault.append(ANA, { date: at, category: 'SECRET', content: 'Safe code 31-7-22', channel: 'cli' });
});
afterEach(async () => {
  await app.close();
  await rm(root, { recursive: true, force: true });
});

describe('recovery kit', () => {
  it('replaces a forgotten password: levels 2–3 open with the new one, sessions end, TOTP goes, audited and alerted', async () => {
    const { token } = await app.auth.signIn(ANA, PASSWORD, meta);
    const { code } = await app.recovery.createKit(ANA, PASSWORD, meta);
    expect(code).toMatch(/^([0-9A-HJKMNP-TV-Z]{4}-){12}[0-9A-HJKMNP-TV-Z]{4}$/);
    // A TOTP enrolment, to see it removed.
    const authStore = new AuthStore({ dataDir: D, masterKey: Buffer.from(KEY, 'hex') });
    await authStore.update(ANA, (r) => {
      r.totp = { sealed: 'x', lastStep: null, enrolledAt: new Date().toISOString() };
    });

    // Typed back by hand: lower case, spaces instead of dashes, O for 0.
    const typed = code.toLowerCase().replace(/-/g, ' ').replace(/0/g, 'o');
    await app.recovery.recover(ANA, typed, NEW_PASSWORD, meta);

    expect(await readWith(NEW_PASSWORD, [2, 3])).toEqual(['Safe code 31-7-22', 'Salary is 4200']);
    await expect(app.auth.signIn(ANA, PASSWORD, meta)).rejects.toMatchObject({ code: 'SECURITY_ERROR' });
    await expect(app.auth.resolve(token, meta)).rejects.toMatchObject({ code: 'SECURITY_ERROR' });
    expect((await authStore.load(ANA)).totp).toBeNull();
    const records = await app.audit.list(ANA);
    expect(records.find((r) => r.action === 'recovery.used')).toMatchObject({ result: 'success' });
    expect(await app.instanceAudit.list()).toMatchObject([
      { action: 'account.recovered', subject: app.instanceAudit.subjectOf(ANA) },
    ]);
    expect(alerts).toEqual([{ userId: ANA, kind: 'recovery.used', at: expect.any(String), channel: 'web' }]);
    expect(JSON.stringify(alerts)).not.toContain(code);

    // Used once.
    await expect(app.recovery.recover(ANA, code, 'yet another passphrase 99', meta)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(await app.recovery.status(ANA)).toEqual({ exists: false, createdAt: null, stale: false });
  });

  it('a wrong code changes nothing and is audited; the right one still works afterwards', async () => {
    const { code } = await app.recovery.createKit(ANA, PASSWORD, meta);
    const wrong = formatCode(randomBytes(32));
    await expect(app.recovery.recover(ANA, wrong, NEW_PASSWORD, meta)).rejects.toMatchObject({
      code: 'SECURITY_ERROR',
      reason: 'authentication_failed',
    });
    await expect(app.recovery.recover(ANA, 'not a code', NEW_PASSWORD, meta)).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
    });
    // A weak new password is refused before the kit is spent.
    await expect(app.recovery.recover(ANA, code, 'short', meta)).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    expect(await readWith(PASSWORD, [2])).toEqual(['Salary is 4200']);
    expect(
      (await app.audit.list(ANA)).filter((r) => r.action === 'recovery.used' && r.result === 'failure'),
    ).toHaveLength(1);
    await app.recovery.recover(ANA, code, NEW_PASSWORD, meta);
    expect(await readWith(NEW_PASSWORD, [2])).toEqual(['Salary is 4200']);
  });

  it('survives a password change (it wraps keys, not the password); a key rotation makes it stale and refused', async () => {
    const { code } = await app.recovery.createKit(ANA, PASSWORD, meta);
    await app.auth.changePassword(ANA, PASSWORD, 'the second passphrase here 5', meta);
    expect(await app.recovery.status(ANA)).toMatchObject({ exists: true, stale: false });
    await app.recovery.recover(ANA, code, NEW_PASSWORD, meta);
    expect(await readWith(NEW_PASSWORD, [2, 3])).toHaveLength(2);

    const second = await app.recovery.createKit(ANA, NEW_PASSWORD, meta);
    await app.rotateKeys(ANA, NEW_PASSWORD);
    expect(await app.recovery.status(ANA)).toMatchObject({ exists: true, stale: true });
    await expect(app.recovery.recover(ANA, second.code, 'after rotation passphrase 1', meta)).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    expect(await readWith(NEW_PASSWORD, [2, 3])).toHaveLength(2);
  });

  it('level 4 stays passkey-only: after recovery it opens with the new password and the passkey, never without it', async () => {
    await app.vault.append(ANA, {
      date: new Date().toISOString(),
      category: 'ULTRASECRET',
      content: 'Seed words',
      channel: 'cli',
    });
    const prf = randomBytes(32);
    await (await keyring()).enrollPrf(ANA, PASSWORD, prf);
    const { code } = await app.recovery.createKit(ANA, PASSWORD, meta);
    await app.recovery.recover(ANA, code, NEW_PASSWORD, meta);
    expect(await readWith(NEW_PASSWORD, [4], prf)).toEqual(['Seed words']);
    await expect(readWith(NEW_PASSWORD, [4])).rejects.toMatchObject({ reason: 'biometric_failed' });
    await expect(readWith(NEW_PASSWORD, [4], randomBytes(32))).rejects.toMatchObject({ reason: 'biometric_failed' });
  });

  it('codes round-trip through their written form (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        expect(parseCode(formatCode(bytes))).toEqual(Buffer.from(bytes));
      }),
    );
  });
});

describe('memvault recovery-kit / recover, and over HTTP', () => {
  it('the CLI makes a kit with the password and recovers with code and new password on stdin', async () => {
    await app.close();
    const env = { MEMVAULT_MASTER_KEY: KEY };
    const run = (args: string[], stdin?: string) =>
      memvault([...args, '--data-dir', D], { env, ...(stdin ? { stdin } : {}) });
    expect((await run(['recovery-kit', '--user', ANA])).code).toBe(65);
    const made = await run(['recovery-kit', '--user', ANA, '--password-stdin', '--json'], `${PASSWORD}\n`);
    expect(made.code, made.stderr).toBe(0);
    const { code } = made.json<{ code: string }>();
    expect((await run(['recovery-kit', '--user', ANA, '--status', '--json'])).json()).toMatchObject({ exists: true });
    const done = await run(['recover', '--user', ANA, '--json'], `${code}\n${NEW_PASSWORD}\n`);
    expect(done.code, done.stderr).toBe(0);
    expect((await run(['recover', '--user', ANA], `${code}\n${NEW_PASSWORD}\n`)).code).toBe(66);
    const listed = await run(['list', '--user', ANA, '--json', '--password-stdin'], `${NEW_PASSWORD}\n`);
    expect(listed.json<{ entries: unknown[] }>().entries).toHaveLength(1);
    const config = loadConfig({ MEMVAULT_DATA_DIR: D, MEMVAULT_MASTER_KEY: KEY, MEMVAULT_LOG_LEVEL: 'silent' });
    app = await createMemvault(config, { logger: pino({ level: 'silent' }) });
  });

  it('POST /v1/account/recovery-kit gives the code once; POST /v1/auth/recover replaces the password', async () => {
    const { startRealServer } = await import('../server/real.js');
    const server = await startRealServer();
    try {
      const json = { 'content-type': 'application/json' };
      const signUp = await fetch(`${server.url}/v1/auth/sign-up`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ phone: ANA, password: PASSWORD, session: 'bearer' }),
      });
      const { token } = (await signUp.json()) as { token: string };
      const auth = { authorization: `Bearer ${token}` };
      const kit = await fetch(`${server.url}/v1/account/recovery-kit`, {
        method: 'POST',
        headers: { ...auth, ...json },
        body: JSON.stringify({ password: PASSWORD }),
      });
      expect(kit.status).toBe(201);
      const { code } = (await kit.json()) as { code: string };
      const status = await fetch(`${server.url}/v1/account/recovery-kit`, { headers: auth });
      expect(await status.json()).toMatchObject({ exists: true, stale: false });
      const recover = (c: string) =>
        fetch(`${server.url}/v1/auth/recover`, {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ phone: ANA, code: c, newPassword: NEW_PASSWORD }),
        });
      expect((await recover(formatCode(randomBytes(32)))).status).toBe(401);
      expect((await recover(code)).status).toBe(204);
      expect((await fetch(`${server.url}/v1/me`, { headers: auth })).status).toBe(401);
      const signIn = await fetch(`${server.url}/v1/auth/sign-in`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ phone: ANA, password: NEW_PASSWORD, session: 'bearer' }),
      });
      expect(signIn.status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('sign-up with recoveryKit: true makes the kit within the request and answers its code once', async () => {
    const { startRealServer } = await import('../server/real.js');
    const server = await startRealServer();
    try {
      const json = { 'content-type': 'application/json' };
      const signUp = (phone: string, extra: Record<string, unknown>) =>
        fetch(`${server.url}/v1/auth/sign-up`, {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ phone, password: PASSWORD, session: 'bearer', ...extra }),
        });
      const made = await signUp(ANA, { recoveryKit: true });
      expect(made.status).toBe(201);
      const body = (await made.json()) as { token: string; recoveryKit?: { code: string; createdAt: string } };
      expect(body.recoveryKit?.code).toMatch(/^([0-9A-HJKMNP-TV-Z]{4}-){12}[0-9A-HJKMNP-TV-Z]{4}$/);
      const auth = { authorization: `Bearer ${body.token}` };
      const status = await fetch(`${server.url}/v1/account/recovery-kit`, { headers: auth });
      expect(await status.json()).toMatchObject({ exists: true, stale: false, createdAt: body.recoveryKit?.createdAt });
      // The code is the one the kit was sealed with: it replaces the password.
      const recover = await fetch(`${server.url}/v1/auth/recover`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ phone: ANA, code: body.recoveryKit?.code, newPassword: NEW_PASSWORD }),
      });
      expect(recover.status).toBe(204);
      // Without the flag (API clients as before) no kit is made and none is answered.
      const other = '+14155550199';
      const plain = await signUp(other, {});
      expect(plain.status).toBe(201);
      const plainBody = (await plain.json()) as { token: string; recoveryKit?: unknown };
      expect(plainBody.recoveryKit).toBeUndefined();
      const none = await fetch(`${server.url}/v1/account/recovery-kit`, {
        headers: { authorization: `Bearer ${plainBody.token}` },
      });
      expect(await none.json()).toMatchObject({ exists: false });
      // A bad value is refused at the edge.
      expect((await signUp('+14155550111', { recoveryKit: 'yes' })).status).toBe(400);
    } finally {
      await server.close();
    }
  });

  it('`user create --recovery-kit` prints the code once; without a password it is refused', async () => {
    await app.close();
    const env = { MEMVAULT_MASTER_KEY: KEY };
    const run = (args: string[], stdin?: string) =>
      memvault([...args, '--data-dir', D], { env, ...(stdin ? { stdin } : {}) });
    const BEN = '+14155550199';
    const refused = await run(['user', 'create', '--phone', BEN, '--recovery-kit']);
    expect(refused.code).toBe(65);
    expect(refused.stderr).toMatch(/--recovery-kit needs --password-stdin/);
    const made = await run(['user', 'create', '--phone', BEN, '--password-stdin', '--recovery-kit'], `${PASSWORD}\n`);
    expect(made.code, made.stderr).toBe(0);
    const code = /\n {2}((?:[0-9A-Z]{4}-){12}[0-9A-Z]{4})\n/.exec(made.stdout)?.[1] ?? '';
    expect(code).not.toBe('');
    expect(made.stdout).toMatch(/shown this once/);
    expect((await run(['recovery-kit', '--user', BEN, '--status', '--json'])).json()).toMatchObject({ exists: true });
    const done = await run(['recover', '--user', BEN, '--json'], `${code}\n${NEW_PASSWORD}\n`);
    expect(done.code, done.stderr).toBe(0);
    // --json carries it too; without the flag there is none, and the output says how to make one.
    const CAL = '+14155550177';
    const withJson = await run(
      ['user', 'create', '--phone', CAL, '--password-stdin', '--recovery-kit', '--json'],
      `${PASSWORD}\n`,
    );
    expect(withJson.json<{ recoveryKit: { code: string } }>().recoveryKit.code).toMatch(/^([0-9A-Z]{4}-){12}/);
    const DAN = '+14155550166';
    const without = await run(['user', 'create', '--phone', DAN, '--password-stdin'], `${PASSWORD}\n`);
    expect(without.stdout).toMatch(/No recovery kit yet/);
    expect((await run(['recovery-kit', '--user', DAN, '--status', '--json'])).json()).toMatchObject({ exists: false });
    const config = loadConfig({ MEMVAULT_DATA_DIR: D, MEMVAULT_MASTER_KEY: KEY, MEMVAULT_LOG_LEVEL: 'silent' });
    app = await createMemvault(config, { logger: pino({ level: 'silent' }) });
  });
});
