import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { UserId } from '../../../src/core/entry.js';
import type { SealContext } from '../../../src/ports/sealer.js';
import { createSealer } from '../../../src/security/seal.js';
import { SoftAuthenticator } from './soft-authenticator.js';
import {
  ALICE,
  ALICE_PASSWORD,
  addUser,
  BOB,
  BOB_PASSWORD,
  type Harness,
  harness,
  META,
  RP,
  refusal,
} from './fixture.js';

const l4 = (userId: UserId): SealContext => ({
  userId,
  level: 4,
  category: 'ULTRASECRET',
  entryId: '01JDQ00000000000000000ULTRA',
});

let h: Harness;
beforeEach(async () => {
  h = await harness();
  await addUser(h, ALICE, ALICE_PASSWORD);
  await addUser(h, BOB, BOB_PASSWORD);
});
afterEach(async () => h.close());

/** Signs in and registers a passkey from `device`; returns the session token. */
async function withPasskey(
  userId: UserId,
  password: string,
  device: SoftAuthenticator,
  options: { prf?: boolean; sendPassword?: boolean } = {},
) {
  const { token } = await h.auth.signIn(userId, password, META);
  const creation = await h.auth.passkeyRegistrationOptions(token);
  const response = device.register(creation, { prf: options.prf ?? true });
  await h.auth.passkeyRegister(token, options.sendPassword === false ? response : { ...response, password }, META);
  return token;
}

async function unlock4(token: string, password: string, device: SoftAuthenticator, answer = {}) {
  const request = await h.auth.passkeyAuthenticationOptions(token);
  return h.auth.unlock(token, 4, { password, passkey: device.assert(request, undefined, answer) }, META);
}

describe('passkeys', () => {
  it('registration options require user verification, request PRF, and never carry the phone as user id', async () => {
    const { token } = await h.auth.signIn(ALICE, ALICE_PASSWORD, META);
    const options = (await h.auth.passkeyRegistrationOptions(token)) as {
      rp: { id: string };
      user: { id: string; name: string };
      authenticatorSelection: { userVerification: string };
      extensions: { prf: { eval: { first: string } } };
    };
    expect(options.rp.id).toBe('localhost');
    expect(options.authenticatorSelection.userVerification).toBe('required');
    expect(Buffer.from(options.extensions.prf.eval.first, 'base64url')).toHaveLength(32);
    expect(Buffer.from(options.user.id, 'base64url').toString('latin1')).not.toContain('4155550134');
  });

  it('registration needs level 2 unlocked in the session', async () => {
    const { token } = await h.auth.signIn(ALICE, ALICE_PASSWORD, META);
    await h.auth.lock(token, 2);
    expect((await refusal(() => h.auth.passkeyRegistrationOptions(token))).reason).toBe('insufficient_permissions');
  });

  it('password + passkey with PRF unlocks ULTRASECRET, and the PRF now wraps level 4', async () => {
    const token = await withPasskey(ALICE, ALICE_PASSWORD, h.authenticator);
    expect(await h.keyring.prfEnrolled(ALICE)).toBe(true);
    const sealed = await createSealer(h.keyring, { level1Plain: false }).seal(l4(ALICE), 'vault combination');
    const { session, opener } = await unlock4(token, ALICE_PASSWORD, h.authenticator);
    expect(session.unlocked).toEqual([1, 2, 4]);
    expect(session.passkeys).toBe(1);
    expect(opener.open(l4(ALICE), sealed)).toBe('vault combination');
    expect(h.audit.of(ALICE, 'unlock').at(-1)).toMatchObject({ result: 'success', level: 4 });
  });

  it('level 4 expires after 5 idle minutes and the opener stops opening it', async () => {
    const token = await withPasskey(ALICE, ALICE_PASSWORD, h.authenticator);
    const { opener } = await unlock4(token, ALICE_PASSWORD, h.authenticator);
    h.clock.advance(5 * 60_000 + 1);
    expect(opener.canOpen(4)).toBe(false);
    expect(opener.canOpen(2)).toBe(true);
    expect(h.locked.at(-1)).toEqual({ userId: ALICE, levels: [4] });
    const sealed = await createSealer(h.keyring, { level1Plain: false }).seal(l4(ALICE), 'x');
    expect(() => opener.open(l4(ALICE), sealed)).toThrow(/time limit/);
  });

  it('an assertion from a passkey registered to another user is biometric_failed', async () => {
    const bobDevice = new SoftAuthenticator({ origin: RP.origins[0]!, rpId: RP.rpId });
    await withPasskey(BOB, BOB_PASSWORD, bobDevice);
    const aliceToken = await withPasskey(ALICE, ALICE_PASSWORD, h.authenticator);
    const e = await refusal(() => unlock4(aliceToken, ALICE_PASSWORD, bobDevice));
    expect(e.reason).toBe('biometric_failed');
    expect(h.audit.of(ALICE, 'unlock').at(-1)).toMatchObject({ result: 'failure', reason: 'biometric_failed' });
  });

  it('an assertion without user verification is biometric_failed', async () => {
    const token = await withPasskey(ALICE, ALICE_PASSWORD, h.authenticator);
    const e = await refusal(() => unlock4(token, ALICE_PASSWORD, h.authenticator, { userVerified: false }));
    expect(e.reason).toBe('biometric_failed');
  });

  it('a replayed assertion (the challenge is single-use) and a counter going back are refused', async () => {
    const token = await withPasskey(ALICE, ALICE_PASSWORD, h.authenticator);
    const request = await h.auth.passkeyAuthenticationOptions(token);
    const assertion = h.authenticator.assert(request);
    await h.auth.unlock(token, 4, { password: ALICE_PASSWORD, passkey: assertion }, META);
    await h.auth.lock(token, 4);
    const replay = await refusal(() => h.auth.unlock(token, 4, { password: ALICE_PASSWORD, passkey: assertion }, META));
    expect(replay.reason).toBe('biometric_failed');
    const cloned = await refusal(() => unlock4(token, ALICE_PASSWORD, h.authenticator, { counter: 1 }));
    expect(cloned.reason).toBe('biometric_failed');
  });

  it('an assertion made for another origin is refused', async () => {
    const token = await withPasskey(ALICE, ALICE_PASSWORD, h.authenticator);
    const e = await refusal(() => unlock4(token, ALICE_PASSWORD, h.authenticator, { origin: 'https://evil.example' }));
    expect(e.reason).toBe('biometric_failed');
  });

  it('the right passkey with a wrong password is authentication_failed', async () => {
    const token = await withPasskey(ALICE, ALICE_PASSWORD, h.authenticator);
    const e = await refusal(() => unlock4(token, 'not alice password', h.authenticator));
    expect(e.reason).toBe('authentication_failed');
  });

  it('the password without a passkey, or via the CLI, is biometric_failed', async () => {
    const token = await withPasskey(ALICE, ALICE_PASSWORD, h.authenticator);
    expect((await refusal(() => h.auth.unlock(token, 4, { password: ALICE_PASSWORD }, META))).reason).toBe(
      'biometric_failed',
    );
    const cli = await refusal(() => h.auth.openerFor(ALICE, [2, 4], { password: ALICE_PASSWORD }, META));
    expect(cli.reason).toBe('biometric_failed');
    expect(cli.message).toMatch(/web app/);
  });

  it('a second passkey can only be added with level 4 unlocked', async () => {
    const token = await withPasskey(ALICE, ALICE_PASSWORD, h.authenticator);
    expect((await refusal(() => h.auth.passkeyRegistrationOptions(token))).reason).toBe('insufficient_permissions');
    await unlock4(token, ALICE_PASSWORD, h.authenticator);
    const second = new SoftAuthenticator({ origin: RP.origins[0]!, rpId: RP.rpId });
    const options = await h.auth.passkeyRegistrationOptions(token);
    await h.auth.passkeyRegister(token, second.register(options), META);
    expect((await h.auth.resolve(token, META)).session.passkeys).toBe(2);
  });

  it('a passkey registered without the password enrols its PRF at the first unlock', async () => {
    const token = await withPasskey(ALICE, ALICE_PASSWORD, h.authenticator, { sendPassword: false });
    expect(await h.keyring.prfEnrolled(ALICE)).toBe(false);
    await unlock4(token, ALICE_PASSWORD, h.authenticator);
    expect(await h.keyring.prfEnrolled(ALICE)).toBe(true);
    await h.auth.lock(token, 4);
    // From now on the PRF output is needed: the same passkey without PRF cannot unwrap level 4.
    const e = await refusal(() => unlock4(token, ALICE_PASSWORD, h.authenticator, { prf: false }));
    expect(e.reason).toBe('biometric_failed');
    expect((await unlock4(token, ALICE_PASSWORD, h.authenticator)).session.unlocked).toContain(4);
  });

  it('an authenticator without PRF still gates level 4 with its assertion', async () => {
    const token = await withPasskey(ALICE, ALICE_PASSWORD, h.authenticator, { prf: false });
    expect(await h.keyring.prfEnrolled(ALICE)).toBe(false);
    const { session } = await unlock4(token, ALICE_PASSWORD, h.authenticator, { prf: false });
    expect(session.unlocked).toContain(4);
  });

  it('registration with a wrong password alongside a PRF result is refused and stores nothing', async () => {
    const { token } = await h.auth.signIn(ALICE, ALICE_PASSWORD, META);
    const options = await h.auth.passkeyRegistrationOptions(token);
    const response = h.authenticator.register(options);
    const e = await refusal(() => h.auth.passkeyRegister(token, { ...response, password: 'wrong password!' }, META));
    expect(e.reason).toBe('authentication_failed');
    expect((await h.auth.resolve(token, META)).session.passkeys).toBe(0);
  });

  it('malformed registration and assertion bodies are VALIDATION_ERROR', async () => {
    const token = await withPasskey(ALICE, ALICE_PASSWORD, h.authenticator);
    await h.auth.passkeyAuthenticationOptions(token);
    for (const body of [null, 'x', 42, {}, { id: 'a', rawId: 'a', type: 'public-key', response: {} }]) {
      await h.auth.passkeyAuthenticationOptions(token);
      const e = await refusal(() => h.auth.unlock(token, 4, { password: ALICE_PASSWORD, passkey: body }, META));
      expect(['VALIDATION_ERROR', 'SECURITY_ERROR']).toContain(e.code);
    }
  });
});
