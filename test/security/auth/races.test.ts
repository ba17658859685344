/**
 * Races around sign-in, sessions and factors (issue 16 #6, #11, #12; issue 18 #6). Each race is forced with a
 * gate inside the keyring rather than with timing, so the interleaving is the same on every run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SecurityLevel } from '../../../src/core/category.js';
import type { UserId } from '../../../src/core/entry.js';
import { type AuthKeyring, type AuthServiceHandle, createAuthService } from '../../../src/security/auth-service.js';
import type { KeyringStore, UnlockSecrets } from '../../../src/security/keyring.js';
import { createSealer } from '../../../src/security/seal.js';
import {
  ALICE,
  ALICE_PASSWORD,
  addUser,
  type Harness,
  harness,
  MemoryAudit,
  META,
  NOBODY,
  RP,
  refusal,
} from './fixture.js';

const NEW_PASSWORD = 'a brand new long passphrase 42';

/** A gate the test opens by hand, and a signal for when the code under test reached it. */
function gate() {
  let open!: () => void;
  let reached!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  const arrived = new Promise<void>((resolve) => {
    reached = resolve;
  });
  return { open, reached, opened, arrived };
}

/**
 * The harness's keyring behind a wrapper: `hold` makes the next `unwrapMany` stop after it has checked the
 * password (and before it returns the keys) until the gate opens; every unwrapped key and every Argon2id
 * evaluation is recorded.
 */
function gatedKeyring(real: () => KeyringStore) {
  const keys: Uint8Array[] = [];
  let kdfRuns = 0;
  let hold: ReturnType<typeof gate> | null = null;
  const keyring: AuthKeyring = {
    exists: (u) => real().exists(u),
    create: (u, p) => real().create(u, p),
    hasPassword: (u) => real().hasPassword(u),
    async unwrapMany(u: UserId, levels: readonly SecurityLevel[], secrets: UnlockSecrets) {
      kdfRuns++;
      const result = await real().unwrapMany(u, levels, secrets);
      for (const key of result.values()) keys.push(key);
      const held = hold;
      hold = null;
      if (held) {
        held.reached();
        await held.opened;
      }
      return result;
    },
    async dummyVerify(p) {
      kdfRuns++;
      return real().dummyVerify(p);
    },
    changePassword: (u, o, n) => real().changePassword(u, o, n),
    enrollPrf: (u, p, prf) => real().enrollPrf(u, p, prf),
    prfEnrolled: (u) => real().prfEnrolled(u),
  };
  return {
    keyring,
    keys,
    kdfRuns: () => kdfRuns,
    holdNext() {
      hold = gate();
      return hold;
    },
  };
}

let h: Harness;
const others: AuthServiceHandle[] = [];
afterEach(async () => {
  for (const other of others.splice(0)) await other.close();
  await h.close();
});

/** A second service over the same data dir: another memvault process (the CLI beside the server). */
function otherProcess(): AuthServiceHandle {
  const audit = new MemoryAudit(h.clock);
  const other = createAuthService({
    dataDir: h.dir,
    masterKey: new Uint8Array(32).fill(7),
    keyring: h.keyring,
    audit,
    sealer: createSealer(h.keyring, { level1Plain: false }),
    clock: h.clock,
    webauthn: RP,
    profiles: async (userId) => h.profiles.get(userId) ?? Promise.reject(new Error('no profile')),
    sweepIntervalMs: false,
  });
  others.push(other);
  return other;
}

async function withGatedKeyring() {
  let real: KeyringStore | undefined;
  const gated = gatedKeyring(() => real!);
  h = await harness({ keyring: gated.keyring });
  real = h.keyring;
  await addUser(h, ALICE, ALICE_PASSWORD);
  return gated;
}

describe('a sign-in racing a password change (issue 16 #6)', () => {
  it('gets no session when the password changes after the old one was checked', async () => {
    const gated = await withGatedKeyring();
    const held = gated.holdNext();
    const signIn = refusal(() => h.auth.signIn(ALICE, ALICE_PASSWORD, META));
    await held.arrived; // the old password was right when it was checked
    await h.auth.changePassword(ALICE, ALICE_PASSWORD, NEW_PASSWORD, META);
    held.open();
    const error = await signIn;
    expect(error).toMatchObject({ code: 'SECURITY_ERROR', reason: 'authentication_failed' });
    // The keys the late sign-in unwrapped were dropped, not kept in some session.
    for (const key of gated.keys) expect(key.every((b) => b === 0)).toBe(true);
    expect(h.audit.of(ALICE, 'sign_in').at(-1)).toMatchObject({ result: 'failure', reason: 'credentials_changed' });
    // The new password works.
    await h.auth.signIn(ALICE, NEW_PASSWORD, META);
  });

  it('ends a session made in this process when another process changes the password', async () => {
    h = await harness();
    await addUser(h, ALICE, ALICE_PASSWORD);
    const { token } = await h.auth.signIn(ALICE, ALICE_PASSWORD, META);
    await otherProcess().changePassword(ALICE, ALICE_PASSWORD, NEW_PASSWORD, { ...META, channel: 'cli' });
    expect(await refusal(() => h.auth.resolve(token, META))).toMatchObject({ reason: 'authentication_failed' });
    // Dead for good: not revived by anything later.
    expect(await refusal(() => h.auth.unlock(token, 2, { password: NEW_PASSWORD }, META))).toMatchObject({
      reason: 'authentication_failed',
    });
  });
});

describe('an unlock finishing after sign-out (issue 16 #11)', () => {
  it('is refused and its key is zeroed', async () => {
    const gated = await withGatedKeyring();
    const { token } = await h.auth.signIn(ALICE, ALICE_PASSWORD, META);
    await h.auth.lock(token, 2);
    const before = gated.keys.length;
    const held = gated.holdNext();
    const unlock = refusal(() => h.auth.unlock(token, 2, { password: ALICE_PASSWORD }, META));
    await held.arrived;
    await h.auth.signOut(token);
    held.open();
    expect(await unlock).toMatchObject({ code: 'SECURITY_ERROR', reason: 'authentication_failed' });
    const late = gated.keys.slice(before);
    expect(late).toHaveLength(1);
    expect(late[0]!.every((b) => b === 0)).toBe(true);
  });
});

describe('parallel wrong guesses (issue 16 #12)', () => {
  it('evaluate no more passwords than the lockout threshold allows', async () => {
    const gated = await withGatedKeyring();
    const runsBefore = gated.kdfRuns();
    const results = await Promise.all(
      Array.from({ length: 30 }, () => refusal(() => h.auth.signIn(ALICE, 'wrong guess number x', META))),
    );
    const reasons = results.map((e) => e.reason);
    // Threshold 5: five guesses are checked, every other one is refused before any Argon2id.
    expect(reasons.filter((r) => r === 'authentication_failed')).toHaveLength(5);
    expect(reasons.filter((r) => r === 'locked_out')).toHaveLength(25);
    expect(gated.kdfRuns() - runsBefore).toBe(5);
  });

  it('count unknown numbers alike, so the lock does not tell who has an account', async () => {
    const gated = await withGatedKeyring();
    const runsBefore = gated.kdfRuns();
    const results = await Promise.all(
      Array.from({ length: 30 }, () => refusal(() => h.auth.signIn(NOBODY, 'wrong guess number x', META))),
    );
    expect(results.filter((e) => e.reason === 'authentication_failed')).toHaveLength(5);
    expect(gated.kdfRuns() - runsBefore).toBe(5);
  });

  it('a right password among them still signs in once the lock has passed, and clears the counter', async () => {
    await withGatedKeyring();
    await Promise.all(
      Array.from({ length: 8 }, () => refusal(() => h.auth.signIn(ALICE, 'wrong guess number x', META))),
    );
    const locked = await refusal(() => h.auth.signIn(ALICE, ALICE_PASSWORD, META));
    expect(locked.reason).toBe('locked_out');
    h.clock.advance((locked.details?.retryAfterSeconds as number) * 1000);
    await h.auth.signIn(ALICE, ALICE_PASSWORD, META);
    // Cleared: a single wrong guess afterwards is judged, not refused as locked.
    expect((await refusal(() => h.auth.signIn(ALICE, 'wrong again', META))).reason).toBe('authentication_failed');
  });
});

describe('session tokens (issue 18 #6)', () => {
  it('a new token on every sign-in; dead after sign-out, password change and sign-out-everywhere', async () => {
    h = await harness();
    await addUser(h, ALICE, ALICE_PASSWORD);
    const a = await h.auth.signIn(ALICE, ALICE_PASSWORD, META);
    const b = await h.auth.signIn(ALICE, ALICE_PASSWORD, META);
    expect(a.token).not.toBe(b.token);
    expect(a.session.id).not.toBe(b.session.id);

    // Sign-out kills that token only.
    await h.auth.signOut(a.token);
    expect((await refusal(() => h.auth.resolve(a.token, META))).reason).toBe('authentication_failed');
    await h.auth.resolve(b.token, META);

    // Password change kills every token of the person, in this process and in another one.
    const elsewhere = otherProcess();
    const c = await elsewhere.signIn(ALICE, ALICE_PASSWORD, META);
    await h.auth.changePassword(ALICE, ALICE_PASSWORD, NEW_PASSWORD, META);
    expect((await refusal(() => h.auth.resolve(b.token, META))).reason).toBe('authentication_failed');
    expect((await refusal(() => elsewhere.resolve(c.token, META))).reason).toBe('authentication_failed');

    // Sign-out-everywhere kills every token too, here and elsewhere, including the one that asked.
    const d = await h.auth.signIn(ALICE, NEW_PASSWORD, META);
    const e = await elsewhere.signIn(ALICE, NEW_PASSWORD, META);
    await h.auth.signOutEverywhere(d.token, META);
    expect((await refusal(() => h.auth.resolve(d.token, META))).reason).toBe('authentication_failed');
    expect((await refusal(() => elsewhere.resolve(e.token, META))).reason).toBe('authentication_failed');
    expect(h.audit.of(ALICE, 'sign_out_everywhere')).toHaveLength(1);
    // Signing in afterwards works as before.
    await h.auth.resolve((await h.auth.signIn(ALICE, NEW_PASSWORD, META)).token, META);
  });
});

describe('one TOTP code presented twice at once (issue 18 #6)', () => {
  async function enrolled() {
    h = await harness();
    await addUser(h, ALICE, ALICE_PASSWORD);
    const { token } = await h.auth.signIn(ALICE, ALICE_PASSWORD, META);
    const { secret } = await h.auth.totpBegin(token);
    await h.auth.totpConfirm(token, await h.code(secret), META);
    h.clock.advance(30_000);
    return { token, secret };
  }

  it('opens level 3 exactly once in one process, and the replay is audited', async () => {
    const { token, secret } = await enrolled();
    const second = await h.auth.signIn(ALICE, ALICE_PASSWORD, META);
    const code = await h.code(secret);
    const outcomes = await Promise.allSettled([
      h.auth.unlock(token, 3, { password: ALICE_PASSWORD, totp: code }, META),
      h.auth.unlock(second.token, 3, { password: ALICE_PASSWORD, totp: code }, META),
    ]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const failed = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect(failed.reason).toMatchObject({ reason: 'authentication_failed' });
    const unlocks = h.audit.of(ALICE, 'unlock').filter((r) => r.level === 3);
    expect(unlocks.map((r) => r.result).sort()).toEqual(['failure', 'success']);
    expect(unlocks.find((r) => r.result === 'failure')?.reason).toBe('totp_replayed');
  });

  it('opens level 3 exactly once across two processes', async () => {
    const { secret } = await enrolled();
    const elsewhere = otherProcess();
    const code = await h.code(secret);
    const factors = { password: ALICE_PASSWORD, totp: code };
    const outcomes = await Promise.allSettled([
      h.auth.openerFor(ALICE, [3], factors, { ...META, channel: 'cli' }),
      elsewhere.openerFor(ALICE, [3], factors, { ...META, channel: 'cli' }),
    ]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
  });
});
