import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SecurityLevel } from '../../../src/core/category.js';
import type { UserId } from '../../../src/core/entry.js';
import { MemvaultError } from '../../../src/core/errors.js';
import type { SealContext } from '../../../src/ports/sealer.js';
import { FileAuditLog } from '../../../src/security/audit-log.js';
import { createAuthService } from '../../../src/security/auth-service.js';
import { AuthStore } from '../../../src/security/auth-store.js';
import { createSealer } from '../../../src/security/seal.js';
import {
  ALICE,
  ALICE_PASSWORD,
  addUser,
  type Harness,
  harness,
  META,
  NOBODY,
  profile,
  RP,
  refusal,
} from './fixture.js';

const ctx = (userId: UserId, level: SecurityLevel): SealContext => ({
  userId,
  level,
  category: (['GENERAL', 'CONFIDENTIAL', 'SECRET', 'ULTRASECRET'] as const)[level - 1]!,
  entryId: `01JDQ0000000000000000000E${level}`,
});

let h: Harness;
let sealed: Record<number, string>;
beforeEach(async () => {
  h = await harness();
  await addUser(h, ALICE, ALICE_PASSWORD, { name: 'Alice Lidell' });
  const sealer = createSealer(h.keyring, { level1Plain: false });
  sealed = {};
  for (const level of [1, 2, 3, 4] as const) sealed[level] = await sealer.seal(ctx(ALICE, level), `text ${level}`);
});
afterEach(async () => h.close());

async function enrollTotp(token: string): Promise<string> {
  const { secret } = await h.auth.totpBegin(token);
  await h.auth.totpConfirm(token, await h.code(secret), META);
  h.clock.advance(30_000);
  return secret;
}

describe('enrolment and passwords', () => {
  it('enforces the policy with the profile’s name and the phone number', async () => {
    const bob = '+442079460958' as UserId;
    h.profiles.set(bob, profile(bob, { name: 'Robert Tables' }));
    expect((await refusal(() => h.auth.enroll(bob, 'short'))).code).toBe('VALIDATION_ERROR');
    expect((await refusal(() => h.auth.enroll(bob, 'iloveyou2024'))).details?.rule).toBe('common');
    expect((await refusal(() => h.auth.enroll(bob, 'robert the great 1'))).details?.rule).toBe('contains_name');
    expect((await refusal(() => h.auth.enroll(bob, 'dial 2079460958 now'))).details?.rule).toBe('contains_phone');
    await h.auth.enroll(bob, 'ＷＩＤＥ glacier lantern');
    // NFKC: the same password typed with ordinary letters signs in.
    await h.auth.signIn(bob, 'WIDE glacier lantern', META);
    expect(await h.auth.hasPassword(bob)).toBe(true);
  });

  it('takes the name from the caller when the profile does not exist yet (sign-up enrols first)', async () => {
    const dave = '+16175550188' as UserId;
    const e = await refusal(() => h.auth.enroll(dave, 'davidson river 42', { name: 'Dave Davidson' }));
    expect(e.details?.rule).toBe('contains_name');
    await h.auth.enroll(dave, 'quiet harbour lights', { name: 'Dave Davidson' });
  });

  it('a channel-only user (no password) cannot sign in but has a level-1 opener', async () => {
    const carol = '+16175550123' as UserId;
    await h.auth.enroll(carol, null);
    expect(await h.auth.hasPassword(carol)).toBe(false);
    expect((await refusal(() => h.auth.signIn(carol, 'anything at all', META))).reason).toBe('authentication_failed');
    const opener = await h.auth.channelOpener(carol);
    expect(opener.canOpen(1)).toBe(true);
    expect(opener.canOpen(2)).toBe(false);
    // An empty password never stands in for the missing one.
    expect((await refusal(() => h.auth.openerFor(carol, [2], { password: '' }, META))).reason).toBe(
      'authentication_failed',
    );
    // The first password: not from the web API, yes from the local CLI.
    const web = await refusal(() => h.auth.changePassword(carol, '', 'first real passphrase', { channel: 'web' }));
    expect(web.reason).toBe('authentication_failed');
    await h.auth.changePassword(carol, '', 'first real passphrase', { channel: 'cli' });
    expect(await h.auth.hasPassword(carol)).toBe(true);
    await h.auth.signIn(carol, 'first real passphrase', META);
  });

  it('changePassword checks the old one, applies the policy, and signs out every session', async () => {
    const { token } = await h.auth.signIn(ALICE, ALICE_PASSWORD, META);
    expect(
      (await refusal(() => h.auth.changePassword(ALICE, 'wrong old one', 'fresh meadow lantern', META))).reason,
    ).toBe('authentication_failed');
    expect((await refusal(() => h.auth.changePassword(ALICE, ALICE_PASSWORD, 'password1', META))).code).toBe(
      'VALIDATION_ERROR',
    );
    await h.auth.changePassword(ALICE, ALICE_PASSWORD, 'fresh meadow lantern', META);
    expect((await refusal(() => h.auth.resolve(token, META))).reason).toBe('authentication_failed');
    expect((await refusal(() => h.auth.signIn(ALICE, ALICE_PASSWORD, META))).reason).toBe('authentication_failed');
    const { opener } = await h.auth.signIn(ALICE, 'fresh meadow lantern', META);
    expect(opener.open(ctx(ALICE, 2), sealed[2]!)).toBe('text 2');
    expect(h.audit.of(ALICE, 'password_change').map((r) => r.result)).toEqual(['failure', 'success']);
  });
});

describe('sessions through the service', () => {
  it('signIn unlocks levels 1 and 2 and audits with session, device, network and risk', async () => {
    const { token, session, opener } = await h.auth.signIn(ALICE, ALICE_PASSWORD, META);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session).toMatchObject({ userId: ALICE, unlocked: [1, 2], totpEnrolled: false, passkeys: 0 });
    expect(Date.parse(session.expires[2]!) - h.clock.now().getTime()).toBe(30 * 60_000);
    expect(opener.open(ctx(ALICE, 1), sealed[1]!)).toBe('text 1');
    expect(opener.open(ctx(ALICE, 2), sealed[2]!)).toBe('text 2');
    expect(opener.canOpen(3)).toBe(false);
    expect(h.audit.of(ALICE, 'sign_in')[0]).toMatchObject({
      result: 'success',
      level: 2,
      session: session.id,
      device: META.deviceId,
      ip: META.ip,
      userAgent: META.userAgent,
      risk: 0,
    });
  });

  it('a user whose maximum is level 1 signs in with level 1 only', async () => {
    h.profiles.set(ALICE, profile(ALICE, { maxLevel: 1 }));
    const { session } = await h.auth.signIn(ALICE, ALICE_PASSWORD, META);
    expect(session.unlocked).toEqual([1]);
    expect(h.audit.of(ALICE, 'sign_in')[0]).toMatchObject({ level: 1, reason: 'level_2_insufficient_permissions' });
  });

  it('lock without a level drops everything above 1 and tells the index', async () => {
    const { token } = await h.auth.signIn(ALICE, ALICE_PASSWORD, META);
    const secret = await enrollTotp(token);
    await h.auth.unlock(token, 3, { password: ALICE_PASSWORD, totp: await h.code(secret) }, META);
    const { session, opener } = await h.auth.lock(token);
    expect(session.unlocked).toEqual([1]);
    expect(opener.canOpen(2)).toBe(false);
    expect(h.locked.at(-1)).toEqual({ userId: ALICE, levels: [2, 3] });
    await h.auth.unlock(token, 2, { password: ALICE_PASSWORD }, META);
    expect((await h.auth.resolve(token, META)).session.unlocked).toEqual([1, 2]);
  });

  it('signOut is idempotent', async () => {
    const { token } = await h.auth.signIn(ALICE, ALICE_PASSWORD, META);
    await h.auth.signOut(token);
    await h.auth.signOut(token);
    await h.auth.signOut('garbage');
    expect(h.audit.of(ALICE, 'sign_out')).toHaveLength(1);
  });

  it('an unknown user leaves no trace on disk', async () => {
    await refusal(() => h.auth.signIn(NOBODY, 'some guess here', META));
    expect(existsSync(join(h.dir, 'users', NOBODY))).toBe(false);
  });

  it('a lock survives a restart of the service', async () => {
    for (let i = 0; i < 10; i++) await refusal(() => h.auth.signIn(ALICE, `guess ${i} wrong`, { ip: `10.${i}.0.1` }));
    const restarted = createAuthService({
      dataDir: h.dir,
      masterKey: new Uint8Array(32).fill(7),
      keyring: h.keyring,
      audit: h.audit,
      sealer: createSealer(h.keyring, { level1Plain: false }),
      clock: h.clock,
      webauthn: RP,
      profiles: async (userId) => profile(userId),
      sweepIntervalMs: false,
    });
    try {
      expect((await refusal(() => restarted.signIn(ALICE, ALICE_PASSWORD, { ip: '192.0.2.1' }))).reason).toBe(
        'locked_out',
      );
    } finally {
      await restarted.close();
    }
  });
});

describe('session view of the factors', () => {
  it('shows a factor enrolled by another process or server, not the one cached here before', async () => {
    const { token } = await h.auth.signIn(ALICE, ALICE_PASSWORD, META);
    expect((await h.auth.resolve(token, META)).session).toMatchObject({ totpEnrolled: false, passkeys: 0 });
    // Another memvault (the CLI, or a server on another host over the same database) writes the record.
    await new AuthStore({ dataDir: h.dir, masterKey: new Uint8Array(32).fill(7) }).update(ALICE, (r) => {
      r.totp = { sealed: 'elsewhere', lastStep: null, enrolledAt: '2026-11-26T12:00:00.000Z' };
    });
    expect((await h.auth.resolve(token, META)).session).toMatchObject({ totpEnrolled: true, passkeys: 0 });
  });
});

describe('TOTP enrolment', () => {
  it('needs level 2; confirms with a first valid code; replacing it needs level 3', async () => {
    const { token } = await h.auth.signIn(ALICE, ALICE_PASSWORD, META);
    expect((await refusal(() => h.auth.totpConfirm(token, '123456', META))).code).toBe('VALIDATION_ERROR');
    const enrollment = await h.auth.totpBegin(token);
    expect(enrollment.otpauthUri).toContain('issuer=memvault');
    expect(enrollment.qrSvg).toContain('<svg');
    const wrong = (Number(await h.code(enrollment.secret)) + 1) % 1_000_000;
    expect((await refusal(() => h.auth.totpConfirm(token, String(wrong).padStart(6, '0'), META))).reason).toBe(
      'authentication_failed',
    );
    const first = await h.code(enrollment.secret);
    await h.auth.totpConfirm(token, first, META);
    expect((await h.auth.resolve(token, META)).session.totpEnrolled).toBe(true);
    expect((await refusal(() => h.auth.totpBegin(token))).reason).toBe('insufficient_permissions');
    // The enrolment code's time step is spent: it cannot also unlock level 3.
    const reuse = await refusal(() => h.auth.unlock(token, 3, { password: ALICE_PASSWORD, totp: first }, META));
    expect(reuse.reason).toBe('authentication_failed');
    await h.auth.lock(token, 2);
    expect((await refusal(() => h.auth.totpBegin(token))).reason).toBe('insufficient_permissions');
  });

  it('level 3 without an enrolled authenticator says how to set one up', async () => {
    const { token } = await h.auth.signIn(ALICE, ALICE_PASSWORD, META);
    const e = await refusal(() => h.auth.unlock(token, 3, { password: ALICE_PASSWORD, totp: '123456' }, META));
    expect(e.reason).toBe('second_factor_required');
    expect(e.message).toMatch(/authenticator app/);
    // The message names the web app's page and section where the control is.
    expect(e.message).toContain('Settings → Two-step verification');
  });

  it('a passkey unlock before any passkey is registered says where to add one', async () => {
    const { token } = await h.auth.signIn(ALICE, ALICE_PASSWORD, META);
    const e = await refusal(() => h.auth.passkeyAuthenticationOptions(token));
    expect(e.message).toContain('Settings → Passkeys');
  });
});

describe('one-shot openers (CLI)', () => {
  it('level 1 needs nothing; 2 needs the password; 3 the password and a code; 4 is refused', async () => {
    expect((await h.auth.openerFor(ALICE, [1], {}, META)).open(ctx(ALICE, 1), sealed[1]!)).toBe('text 1');
    expect((await refusal(() => h.auth.openerFor(ALICE, [1, 2], {}, META))).reason).toBe('authentication_failed');
    expect((await refusal(() => h.auth.openerFor(ALICE, [2], { password: 'nope nope nope' }, META))).reason).toBe(
      'authentication_failed',
    );
    const two = await h.auth.openerFor(ALICE, [1, 2], { password: ALICE_PASSWORD }, META);
    expect(two.open(ctx(ALICE, 2), sealed[2]!)).toBe('text 2');
    expect(two.canOpen(3)).toBe(false);

    const { token } = await h.auth.signIn(ALICE, ALICE_PASSWORD, META);
    const secret = await enrollTotp(token);
    const three = await h.auth.openerFor(
      ALICE,
      [1, 2, 3],
      { password: ALICE_PASSWORD, totp: await h.code(secret) },
      META,
    );
    expect(three.open(ctx(ALICE, 3), sealed[3]!)).toBe('text 3');
    expect((await refusal(() => h.auth.openerFor(ALICE, [4], { password: ALICE_PASSWORD }, META))).reason).toBe(
      'biometric_failed',
    );
    expect(h.audit.of(ALICE, 'unlock_once').map((r) => r.result)).toEqual([
      'denied',
      'failure',
      'success',
      'success',
      'denied',
    ]);
  });

  it('rejects levels outside 1..4', async () => {
    expect((await refusal(() => h.auth.openerFor(ALICE, [5 as SecurityLevel], {}, META))).code).toBe(
      'VALIDATION_ERROR',
    );
    const { token } = await h.auth.signIn(ALICE, ALICE_PASSWORD, META);
    expect((await refusal(() => h.auth.unlock(token, 0 as SecurityLevel, {}, META))).code).toBe('VALIDATION_ERROR');
  });
});

describe('with the real audit log', () => {
  it('every attempt lands in the tamper-evident log with its risk, and the chain verifies', async () => {
    const audit = new FileAuditLog({ dataDir: h.dir, masterKey: new Uint8Array(32).fill(7), clock: h.clock });
    const auth = createAuthService({
      dataDir: h.dir,
      masterKey: new Uint8Array(32).fill(7),
      keyring: h.keyring,
      audit,
      sealer: createSealer(h.keyring, { level1Plain: false }),
      clock: h.clock,
      webauthn: RP,
      profiles: async (userId) => profile(userId),
      sweepIntervalMs: false,
    });
    try {
      await refusal(() => auth.signIn(ALICE, 'wrong password here', META));
      const { token } = await auth.signIn(ALICE, ALICE_PASSWORD, META);
      await auth.lock(token);
      await auth.signOut(token);
      const records = await audit.list(ALICE);
      expect(records.map((r) => `${r.action}:${r.result}`).sort()).toEqual(
        ['lock:success', 'sign_in:failure', 'sign_in:success', 'sign_out:success'].sort(),
      );
      expect(records.find((r) => r.action === 'sign_in' && r.result === 'success')?.risk).toBeGreaterThan(0);
      expect(await audit.verify(ALICE)).toMatchObject({ ok: true });
    } finally {
      await auth.close();
    }
  });
});

describe('when the audit log cannot be written', () => {
  it('enrolment completes, a sign-in is refused, and a failure still answers as a failure', async () => {
    const broken = await harness({
      audit: {
        append: () => Promise.reject(new MemvaultError('STORAGE_ERROR', 'disk full')),
        list: async () => [],
        verify: async () => ({ ok: true as const, records: 0 }),
      },
    });
    try {
      broken.profiles.set(ALICE, profile(ALICE));
      await broken.auth.enroll(ALICE, ALICE_PASSWORD);
      expect(await broken.auth.hasPassword(ALICE)).toBe(true);
      expect((await refusal(() => broken.auth.signIn(ALICE, ALICE_PASSWORD, META))).code).toBe('STORAGE_ERROR');
      expect((await refusal(() => broken.auth.signIn(ALICE, 'wrong password here', META))).reason).toBe(
        'authentication_failed',
      );
      expect(broken.logs.some((line) => line.includes('could not write an audit record'))).toBe(true);
    } finally {
      await broken.close();
    }
  });
});

describe('risk and alerts', () => {
  it('a sign-in from a new device and network at an unusual hour is scored above 0.7 and alerts', async () => {
    for (let day = 0; day < 6; day++) {
      h.clock.set(`2026-11-${String(10 + day).padStart(2, '0')}T09:00:00.000Z`);
      const { token } = await h.auth.signIn(ALICE, ALICE_PASSWORD, META);
      await h.auth.signOut(token);
    }
    expect(h.alerts).toEqual([]);
    h.clock.set('2026-11-20T03:00:00.000Z');
    await h.auth.signIn(ALICE, ALICE_PASSWORD, { ip: '198.51.100.23', deviceId: 'unknown-laptop' });
    const last = h.audit.of(ALICE, 'sign_in').at(-1)!;
    expect(last.risk).toBeGreaterThan(0.7);
    expect(h.alerts).toEqual([last]);
  });
});
