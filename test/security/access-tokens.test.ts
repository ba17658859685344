import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { UserId } from '../../src/core/entry.js';
import { parseExpiry, parseTokenLevels, parseTokenName } from '../../src/core/token-rules.js';
import { AccessTokenStore, newSecret } from '../../src/security/access-tokens.js';
import { tempDir } from '../helpers/cli.js';

const ALICE = '+14155550134' as UserId;
const BOB = '+14155550135' as UserId;

class FakeClock {
  constructor(public t = Date.parse('2026-11-30T08:00:00Z')) {}
  now() {
    return new Date(this.t);
  }
}

describe('AccessTokenStore', () => {
  let dir: { path: string; cleanup(): void } | undefined;
  afterEach(() => dir?.cleanup());

  const setup = () => {
    dir = tempDir();
    const masterKey = randomBytes(32);
    const clock = new FakeClock();
    const make = () => new AccessTokenStore({ dataDir: dir!.path, masterKey, clock });
    return { store: make(), make, clock, masterKey };
  };

  const personal = (userId: UserId, name: string, key: Uint8Array | null = null, expiresAt: Date | null = null) => {
    const token = newSecret('personal');
    return {
      token,
      input: {
        userId,
        kind: 'personal' as const,
        name,
        levels: key ? ([1, 2] as const) : ([1] as const),
        expiresAt,
        generation: 1,
        level2Key: key,
        secrets: [{ token, role: 'access' as const, expiresAt }],
      },
    };
  };

  it('stores only hashes, sealed: neither the token, its name nor the person is readable in the file', async () => {
    const { store } = setup();
    const key = randomBytes(32);
    const { token, input } = personal(ALICE, 'Claude Desktop', key);
    await store.createGrant(input);
    const file = join(dir!.path, 'tokens.json');
    const text = readFileSync(file, 'utf8');
    for (const needle of [token, 'Claude Desktop', ALICE, key.toString('base64url'), key.toString('hex')]) {
      expect(text).not.toContain(needle);
    }
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('resolves a token after a restart, unwraps its level-2 key, and refuses it once revoked', async () => {
    const { store, make } = setup();
    const key = randomBytes(32);
    const { token, input } = personal(ALICE, 'Claude Desktop', key);
    const grant = await store.createGrant(input);
    const restarted = make();
    const found = await restarted.resolve(token, 'access');
    expect(found.userId).toBe(ALICE);
    expect(found.grant).toMatchObject({ id: grant.id, name: 'Claude Desktop', levels: [1, 2], kind: 'personal' });
    expect(Buffer.from(found.level2Key!).equals(key)).toBe(true);
    // Another process's revocation is seen by the first store without a restart.
    await restarted.revoke(ALICE, grant.id);
    await expect(store.resolve(token, 'access')).rejects.toMatchObject({ reason: 'authentication_failed' });
    await expect(restarted.revoke(ALICE, grant.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses forged, malformed, wrong-role and other people’s tokens', async () => {
    const { store } = setup();
    const { token, input } = personal(ALICE, 'script');
    const grant = await store.createGrant(input);
    for (const bad of [newSecret('personal'), `${token}x`, token.slice(0, -1), 'mvp_../../etc', '', 'Bearer x']) {
      await expect(store.resolve(bad, 'access')).rejects.toMatchObject({ reason: 'authentication_failed' });
    }
    await expect(store.resolve(token, 'refresh')).rejects.toMatchObject({ reason: 'authentication_failed' });
    // Bob cannot revoke Alice's token by guessing its id.
    await expect(store.revoke(BOB, grant.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await store.resolve(token, 'access')).userId).toBe(ALICE);
  });

  it('expires: the token is refused after its time, and drops out of the list', async () => {
    const { store, clock } = setup();
    const { token, input } = personal(ALICE, 'short', null, new Date(clock.t + 3_600_000));
    await store.createGrant(input);
    expect(await store.list(ALICE)).toHaveLength(1);
    clock.t += 3_600_001;
    await expect(store.resolve(token, 'access')).rejects.toMatchObject({ reason: 'session_expired' });
    expect(await store.list(ALICE)).toEqual([]);
  });

  it('a level-2 grant needs its key, and a level-1 grant may not carry one', async () => {
    const { store } = setup();
    const a = personal(ALICE, 'a');
    await expect(store.createGrant({ ...a.input, levels: [1, 2] })).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    const b = personal(ALICE, 'b', randomBytes(32));
    await expect(store.createGrant({ ...b.input, levels: [1] })).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
  });

  it('keeps every one of many concurrent creations (one writer at a time)', async () => {
    const { store, make } = setup();
    const other = make();
    const made = await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 ? store : other).createGrant(personal(ALICE, `t${i}`).input)),
    );
    const listed = await make().list(ALICE);
    expect(listed.map((g) => g.id).sort()).toEqual(made.map((g) => g.id).sort());
  });

  it('a damaged or foreign file is DATA_CORRUPTION with what to do, never a crash or an empty store', async () => {
    const { store, masterKey } = setup();
    await store.createGrant(personal(ALICE, 'x').input);
    const file = join(dir!.path, 'tokens.json');
    const foreign = new AccessTokenStore({ dataDir: dir!.path, masterKey: randomBytes(32) });
    await expect(foreign.list(ALICE)).rejects.toMatchObject({ code: 'DATA_CORRUPTION' });
    writeFileSync(file, '{"v":1,"iv":"AAAA"');
    const fresh = new AccessTokenStore({ dataDir: dir!.path, masterKey });
    await expect(fresh.list(ALICE)).rejects.toThrow(/tokens\.json.*Restore it from a backup/);
  });

  it('rotates refresh tokens; presenting a spent one revokes the whole grant', async () => {
    const { store } = setup();
    const key = randomBytes(32);
    const access = newSecret('access');
    const refresh = newSecret('refresh');
    await store.createGrant({
      userId: ALICE,
      kind: 'oauth',
      name: 'Connector',
      clientId: 'mvc_client',
      levels: [1, 2],
      expiresAt: null,
      generation: 1,
      level2Key: key,
      secrets: [
        { token: access, role: 'access', expiresAt: null },
        { token: refresh, role: 'refresh', expiresAt: null },
      ],
    });
    const access2 = newSecret('access');
    const refresh2 = newSecret('refresh');
    // Another client cannot use it.
    await expect(store.rotate(refresh, 'mvc_other', [])).rejects.toMatchObject({ reason: 'authentication_failed' });
    const rotated = await store.rotate(refresh, 'mvc_client', [
      { token: access2, role: 'access', expiresAt: null },
      { token: refresh2, role: 'refresh', expiresAt: null },
    ]);
    expect(rotated.reused).toBe(false);
    // The key travels to the new secrets.
    expect(Buffer.from((await store.resolve(access2, 'access')).level2Key!).equals(key)).toBe(true);
    await expect(store.resolve(refresh, 'refresh')).rejects.toMatchObject({ reason: 'authentication_failed' });
    // Reuse of the spent one: the grant goes, with every token of it.
    expect((await store.rotate(refresh, 'mvc_client', [])).reused).toBe(true);
    for (const t of [access, access2]) {
      await expect(store.resolve(t, 'access')).rejects.toMatchObject({ reason: 'authentication_failed' });
    }
    await expect(store.rotate(refresh2, 'mvc_client', [])).rejects.toMatchObject({ reason: 'authentication_failed' });
    expect(await store.list(ALICE)).toEqual([]);
  });
});

describe('token rules', () => {
  it('levels: 1 or 1,2; never 3 or 4', () => {
    expect(parseTokenLevels([])).toEqual([1]);
    expect(parseTokenLevels([2])).toEqual([1, 2]);
    expect(() => parseTokenLevels([1, 3])).toThrow(/never read level 3/);
    expect(() => parseTokenLevels([4])).toThrow(/never read level 4/);
    expect(() => parseTokenLevels([0])).toThrow(/1 or 1,2/);
  });

  it('names and expiries are validated', () => {
    expect(parseTokenName('  Claude Desktop ')).toBe('Claude Desktop');
    for (const bad of ['', 'x'.repeat(65), '../etc', 'a\nb', '<script>']) expect(() => parseTokenName(bad)).toThrow();
    const now = new Date('2026-11-30T00:00:00Z');
    expect(parseExpiry('90d', now)?.toISOString()).toBe('2027-02-28T00:00:00.000Z');
    expect(parseExpiry('12h', now)?.toISOString()).toBe('2026-11-30T12:00:00.000Z');
    expect(parseExpiry(undefined, now)).toBeNull();
    expect(parseExpiry('never', now)).toBeNull();
    for (const bad of ['0d', '90', '-1d', '99999d', '1y']) expect(() => parseExpiry(bad, now)).toThrow(/duration/);
  });
});
