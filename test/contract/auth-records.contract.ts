import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { UserId } from '../../src/core/entry.js';
import { isMemvaultError, MemvaultError } from '../../src/core/errors.js';
import { FsSettingsStore } from '../../src/insights/settings-store.js';
import type { DocumentStore } from '../../src/ports/documents.js';
import { AccessTokenStore, newSecret } from '../../src/security/access-tokens.js';
import { AuthStore, type StoredPasskey } from '../../src/security/auth-store.js';
import { KeyringStore } from '../../src/security/keyring.js';
import { FsRecoveryKits } from '../../src/security/recovery-kit.js';

const ALICE = '+14155550134' as UserId;
const BOB = '+447700900123' as UserId;
const MASTER = new Uint8Array(32).fill(7);
const FAST = { memoryCost: 64, timeCost: 1, parallelism: 1 };
const PASSWORD = 'correct horse battery staple 42';
const NEW_PASSWORD = 'a brand new long passphrase 77';

/** What an adapter's test hands the contracts: an empty document store and a second handle on the same data. */
export interface DocumentsFixture {
  readonly documents: DocumentStore;
  /** Another handle on the same stored documents (another connection pool, as a second server would have). */
  second(): Promise<DocumentStore>;
  /** Closes what the fixture opened and removes what it created. */
  cleanup(): Promise<void>;
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

const passkey = (id: string): StoredPasskey => ({
  id,
  publicKey: 'pk',
  counter: 0,
  createdAt: '2026-11-30T08:00:00.000Z',
  lastUsedAt: null,
  deviceType: 'singleDevice',
  backedUp: false,
  prf: false,
});

/**
 * The behaviour every `DocumentStore` adapter must show (src/ports/documents.ts). Files run it in
 * test/security/file-stores.contract.test.ts, PostgreSQL in test/pg/pg-stores.contract.test.ts.
 */
export function describeDocumentStoreContract(name: string, make: () => Promise<DocumentsFixture>): void {
  describe(`DocumentStore contract: ${name}`, () => {
    let fx: DocumentsFixture;
    let docs: DocumentStore;
    beforeEach(async () => {
      fx = await make();
      docs = fx.documents;
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    it('reads back what was written, byte for byte, with the version it has now', async () => {
      expect(await docs.read(ALICE, 'AUTH.json')).toBeUndefined();
      expect(await docs.version(ALICE, 'AUTH.json')).toBeUndefined();
      const text = `{"ünïcode": "✓ 𝄞 ملاحظة"}\n${'x'.repeat(100_000)}\r\n\t `;
      expect(await docs.write(ALICE, 'AUTH.json', text)).toBe(true);
      const got = await docs.read(ALICE, 'AUTH.json');
      expect(got?.text).toBe(text);
      expect(got?.version).toBe(await docs.version(ALICE, 'AUTH.json'));
      expect(await docs.write(ALICE, 'EMPTY.json', '')).toBe(true);
      expect((await docs.read(ALICE, 'EMPTY.json'))?.text).toBe('');
    });

    it('gives every write a new version, even of the same text, and another handle sees it at once', async () => {
      const other = await fx.second();
      await docs.write(ALICE, 'K.json', 'one');
      const v1 = await docs.version(ALICE, 'K.json');
      await docs.write(ALICE, 'K.json', 'one');
      const v2 = await docs.version(ALICE, 'K.json');
      expect(v2).not.toBe(v1);
      expect(await other.read(ALICE, 'K.json')).toEqual({ text: 'one', version: v2 });
      await other.write(ALICE, 'K.json', 'two');
      expect(await docs.version(ALICE, 'K.json')).not.toBe(v2);
      expect((await docs.read(ALICE, 'K.json'))?.text).toBe('two');
    });

    it('an exclusive write only creates: of two handles racing, one wins and the other changes nothing', async () => {
      const other = await fx.second();
      const results = await Promise.all([
        docs.write(ALICE, 'ONCE.json', 'mine', { exclusive: true }),
        other.write(ALICE, 'ONCE.json', 'theirs', { exclusive: true }),
      ]);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await docs.read(ALICE, 'ONCE.json'))?.text).toBe(results[0] ? 'mine' : 'theirs');
      expect(await docs.write(ALICE, 'ONCE.json', 'later', { exclusive: true })).toBe(false);
      expect((await other.read(ALICE, 'ONCE.json'))?.text).toBe(results[0] ? 'mine' : 'theirs');
    });

    it('remove answers whether the document existed', async () => {
      await docs.write(ALICE, 'GONE.json', 'x');
      expect(await docs.remove(ALICE, 'GONE.json')).toBe(true);
      expect(await docs.remove(ALICE, 'GONE.json')).toBe(false);
      expect(await docs.read(ALICE, 'GONE.json')).toBeUndefined();
      expect(await docs.version(ALICE, 'GONE.json')).toBeUndefined();
    });

    it('keeps the instance, each person and each name apart', async () => {
      await docs.write(null, 'tokens.json', 'instance');
      await docs.write(ALICE, 'tokens.json', 'alice');
      await docs.write(BOB, 'tokens.json', 'bob');
      await docs.write(ALICE, 'other.json', 'alice other');
      expect((await docs.read(null, 'tokens.json'))?.text).toBe('instance');
      expect((await docs.read(ALICE, 'tokens.json'))?.text).toBe('alice');
      expect((await docs.read(BOB, 'tokens.json'))?.text).toBe('bob');
      expect(await docs.remove(ALICE, 'tokens.json')).toBe(true);
      expect((await docs.read(null, 'tokens.json'))?.text).toBe('instance');
      expect((await docs.read(BOB, 'tokens.json'))?.text).toBe('bob');
      expect((await docs.read(ALICE, 'other.json'))?.text).toBe('alice other');
    });

    it('refuses an owner that is not a phone number and a name that is not a plain file name', async () => {
      for (const owner of ['../etc', 'alice', '+1', '']) {
        const error = await caught(docs.write(owner as UserId, 'AUTH.json', 'x'));
        expect(isMemvaultError(error, 'VALIDATION_ERROR'), owner).toBe(true);
      }
      for (const bad of ['../AUTH.json', 'a/b.json', '.hidden', '', 'a\\b', 'x..json']) {
        expect(isMemvaultError(await caught(docs.read(ALICE, bad)), 'VALIDATION_ERROR'), bad).toBe(true);
        expect(isMemvaultError(await caught(docs.write(null, bad, 'x')), 'VALIDATION_ERROR'), bad).toBe(true);
        expect(isMemvaultError(await caught(docs.exclusive(ALICE, bad, async () => 1)), 'VALIDATION_ERROR')).toBe(true);
      }
    });

    it('exclusive admits one holder at a time across handles: 30 read-modify-writes all count', async () => {
      const other = await fx.second();
      const bump = (store: DocumentStore, owner: UserId | null) =>
        store.exclusive(owner, 'COUNTER.json', async () => {
          const now = Number((await store.read(owner, 'COUNTER.json'))?.text ?? '0');
          // A pause between the read and the write, where a second holder would interleave.
          await new Promise((r) => setTimeout(r, 2));
          await store.write(owner, 'COUNTER.json', String(now + 1));
          return now + 1;
        });
      const seen = await Promise.all(
        Array.from({ length: 30 }, (_, i) => bump(i % 2 ? docs : other, i % 3 === 0 ? null : ALICE)),
      );
      expect(Number((await docs.read(null, 'COUNTER.json'))?.text)).toBe(10);
      expect(Number((await docs.read(ALICE, 'COUNTER.json'))?.text)).toBe(20);
      expect(new Set(seen).size).toBe(20);
    });

    it('a holder that fails lets the next one in, and its failure is the caller’s', async () => {
      const error = await caught(
        docs.exclusive(ALICE, 'BUSY.json', async () => {
          throw new MemvaultError('CONFLICT', 'not now');
        }),
      );
      expect(isMemvaultError(error, 'CONFLICT')).toBe(true);
      expect(await docs.exclusive(ALICE, 'BUSY.json', async () => 'next')).toBe('next');
    });
  });
}

/**
 * Keyrings, sign-in factors, recovery kits and the token store over one `DocumentStore` adapter, seen through two
 * handles as two servers would: what one writes the other uses at once, and parallel changes are never lost.
 */
export function describeAuthRecordsContract(name: string, make: () => Promise<DocumentsFixture>): void {
  describe(`auth records contract: ${name}`, () => {
    let fx: DocumentsFixture;
    let a: DocumentStore;
    let b: DocumentStore;
    beforeEach(async () => {
      fx = await make();
      a = fx.documents;
      b = await fx.second();
    });
    afterEach(async () => {
      await fx.cleanup();
    });
    const keyring = (documents: DocumentStore, masterKey = MASTER) =>
      new KeyringStore({ documents, masterKey, kdf: FAST });
    const auth = (documents: DocumentStore, masterKey = MASTER) => new AuthStore({ documents, masterKey });

    it('a keyring made through one handle opens through the other; a wrong password does not', async () => {
      await keyring(a).create(ALICE, PASSWORD);
      const other = keyring(b);
      expect(await other.exists(ALICE)).toBe(true);
      expect(await other.exists(BOB)).toBe(false);
      expect(await other.hasPassword(ALICE)).toBe(true);
      const keys = await other.unwrapMany(ALICE, [1, 2], { password: PASSWORD });
      expect([...keys.values()].map((k) => k.length)).toEqual([32, 32]);
      expect(Buffer.from(await other.publicKey(ALICE, 3))).toEqual(Buffer.from(await keyring(a).publicKey(ALICE, 3)));
      const wrong = await caught(other.unwrapMany(ALICE, [2], { password: 'not the password at all' }));
      expect(wrong).toMatchObject({ code: 'SECURITY_ERROR', reason: 'authentication_failed' });
      expect(isMemvaultError(await caught(other.hasPassword(BOB)), 'NOT_FOUND')).toBe(true);
    });

    it('of two handles making the same keyring at once, one wins and the other is told CONFLICT', async () => {
      const results = await Promise.allSettled([
        keyring(a).create(ALICE, PASSWORD),
        keyring(b).create(ALICE, NEW_PASSWORD),
      ]);
      const won = results.findIndex((r) => r.status === 'fulfilled');
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(isMemvaultError(lost.reason, 'CONFLICT')).toBe(true);
      const password = won === 0 ? PASSWORD : NEW_PASSWORD;
      for (const store of [a, b]) {
        await expect(keyring(store).unwrapMany(ALICE, [2], { password })).resolves.toBeDefined();
      }
    });

    it('a password changed through one handle is the one the other checks next', async () => {
      const here = keyring(a);
      await here.create(ALICE, PASSWORD);
      await here.publicKey(ALICE, 2); // cached here
      await keyring(b).changePassword(ALICE, PASSWORD, NEW_PASSWORD);
      const old = await caught(here.unwrapMany(ALICE, [2], { password: PASSWORD }));
      expect(old).toMatchObject({ code: 'SECURITY_ERROR', reason: 'authentication_failed' });
      await expect(here.unwrapMany(ALICE, [2], { password: NEW_PASSWORD })).resolves.toBeDefined();
    });

    it('a rotation through one handle is seen by the other: new keys, pending until the old ones go', async () => {
      const here = keyring(a);
      const there = keyring(b);
      await here.create(ALICE, PASSWORD);
      const before = Buffer.from(await there.publicKey(ALICE, 1));
      for (const key of (await here.rotate(ALICE, { password: PASSWORD })).values()) key.fill(0);
      expect(await there.rotationPending(ALICE)).toBe(true);
      expect(await there.generation(ALICE)).toBe(2);
      expect(Buffer.from(await there.publicKey(ALICE, 1)).equals(before)).toBe(false);
      expect(isMemvaultError(await caught(there.changePassword(ALICE, PASSWORD, NEW_PASSWORD)), 'CONFLICT')).toBe(true);
      const both = await there.unwrapRotation(ALICE, { password: PASSWORD });
      expect(both.previousGeneration).toBe(1);
      await there.discardPrevious(ALICE, both.previousGeneration);
      expect(await here.rotationPending(ALICE)).toBe(false);
    });

    it('refuses an edited keyring and an old copy put back, saying where it lives', async () => {
      const here = keyring(a);
      await here.create(ALICE, PASSWORD);
      const name = `KEYRING.${ALICE}.json`;
      const original = (await a.read(ALICE, name))!.text;
      const edited = JSON.parse(original) as { hasPassword: boolean };
      edited.hasPassword = false;
      await a.write(ALICE, name, `${JSON.stringify(edited, null, 2)}\n`);
      const error = await caught(keyring(b).hasPassword(ALICE));
      expect(isMemvaultError(error, 'DATA_CORRUPTION')).toBe(true);
      expect((error as Error).message).toContain(keyring(b).path(ALICE));
      await a.write(ALICE, name, original);
      expect(await keyring(b).hasPassword(ALICE)).toBe(true);
      // Rotated and finished, then the generation-1 copy put back: refused, it would let the old keys in again.
      for (const key of (await here.rotate(ALICE, { password: PASSWORD })).values()) key.fill(0);
      await here.discardPrevious(ALICE, 1);
      await a.write(ALICE, name, original);
      expect(isMemvaultError(await caught(keyring(b).hasPassword(ALICE)), 'DATA_CORRUPTION')).toBe(true);
    });

    it('sign-in factors: parallel changes through both handles all land; an epoch bump is seen at once', async () => {
      const here = auth(a);
      const there = auth(b);
      const ids = Array.from({ length: 20 }, (_, i) => `cred-${i}`);
      await Promise.all(
        ids.map((id, i) =>
          (i % 2 ? here : there).update(ALICE, (r) => {
            r.passkeys.push(passkey(id));
          }),
        ),
      );
      expect((await here.load(ALICE)).passkeys.map((p) => p.id).sort()).toEqual([...ids].sort());
      expect(await there.credentialEpoch(ALICE)).toBe(0);
      await here.update(ALICE, (r) => {
        r.credentialEpoch += 1;
      });
      expect(await there.credentialEpoch(ALICE)).toBe(1);
      // An unknown person reads a fresh record, and nothing is stored for them by reading.
      expect((await there.load(BOB)).passkeys).toEqual([]);
      expect(await there.credentialEpoch(BOB)).toBe(0);
      expect(await b.read(BOB, `AUTH.${BOB}.json`)).toBeUndefined();
    });

    it('a change that fails leaves the factors as they were', async () => {
      const here = auth(a);
      await here.update(ALICE, (r) => {
        r.passkeys.push(passkey('kept'));
      });
      const error = await caught(
        here.update(ALICE, (r) => {
          r.passkeys.push(passkey('dropped'));
          throw new MemvaultError('VALIDATION_ERROR', 'no');
        }),
      );
      expect(isMemvaultError(error, 'VALIDATION_ERROR')).toBe(true);
      expect((await auth(b).load(ALICE)).passkeys.map((p) => p.id)).toEqual(['kept']);
    });

    it('keeps a TOTP secret sealed: not in the stored text, and no other master key opens it', async () => {
      const here = auth(a);
      const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
      await here.update(ALICE, (r) => {
        r.totp = { sealed: here.sealSecret(ALICE, secret), lastStep: null, enrolledAt: '2026-11-30T08:00:00.000Z' };
      });
      expect((await b.read(ALICE, `AUTH.${ALICE}.json`))?.text).not.toContain(secret);
      const sealed = (await auth(b).load(ALICE)).totp!.sealed;
      expect(auth(b).openSecret(ALICE, sealed)).toBe(secret);
      expect(() => auth(b, new Uint8Array(32).fill(8)).openSecret(ALICE, sealed)).toThrow(MemvaultError);
      expect(() => auth(b).openSecret(BOB, sealed)).toThrow(MemvaultError);
    });

    it('a recovery kit made through one handle is used once through the other', async () => {
      const kits = (documents: DocumentStore) =>
        new FsRecoveryKits({
          documents,
          masterKey: MASTER,
          keyring: keyring(documents),
          authStore: auth(documents),
        });
      await keyring(a).create(ALICE, PASSWORD);
      const { code } = await kits(a).create(ALICE, PASSWORD);
      expect(await kits(b).status(ALICE)).toMatchObject({ exists: true, stale: false });
      await auth(a).update(ALICE, (r) => {
        r.totp = { sealed: 'x', lastStep: null, enrolledAt: '2026-11-30T08:00:00.000Z' };
      });
      await kits(b).recover(ALICE, code, NEW_PASSWORD);
      await expect(keyring(a).unwrapMany(ALICE, [2, 3], { password: NEW_PASSWORD })).resolves.toBeDefined();
      expect(await kits(a).status(ALICE)).toEqual({ exists: false, createdAt: null, stale: false });
      const factors = await auth(a).load(ALICE);
      expect(factors.totp).toBeNull();
      expect(factors.credentialEpoch).toBe(1);
      expect(
        isMemvaultError(await caught(kits(a).recover(ALICE, code, 'yet another passphrase 99')), 'NOT_FOUND'),
      ).toBe(true);
    });

    it('tokens: grants made through both handles at once all stay; a revoke through one ends it for the other', async () => {
      const stores = [a, b].map((documents) => new AccessTokenStore({ documents, masterKey: MASTER }));
      const made = await Promise.all(
        Array.from({ length: 10 }, async (_, i) => {
          const token = newSecret('personal');
          const grant = await stores[i % 2]!.createGrant({
            userId: ALICE,
            kind: 'personal',
            name: `Script number ${i}`,
            levels: [1],
            expiresAt: null,
            generation: 1,
            level2Key: null,
            secrets: [{ token, role: 'access', expiresAt: null }],
          });
          return { token, grant };
        }),
      );
      expect((await stores[0]!.list(ALICE)).map((g) => g.id).sort()).toEqual(made.map((m) => m.grant.id).sort());
      const first = made[0]!;
      expect((await stores[1]!.resolve(first.token, 'access')).userId).toBe(ALICE);
      await stores[1]!.revoke(ALICE, first.grant.id);
      expect(await caught(stores[0]!.resolve(first.token, 'access'))).toMatchObject({ code: 'SECURITY_ERROR' });
      const stored = (await a.read(null, 'tokens.json'))!.text;
      for (const needle of [first.token, 'Script number', ALICE]) expect(stored).not.toContain(needle);
    });

    it('the LLM level set through one handle is the one the other obeys; an edited one is refused', async () => {
      const settings = (documents: DocumentStore) =>
        new FsSettingsStore({ documents, macKey: new Uint8Array(32).fill(5) });
      expect((await settings(b).load(ALICE)).llmLevel).toBe(1);
      await settings(a).save(ALICE, { llmLevel: 0, updatedAt: '2026-11-30T08:00:00.000Z' });
      expect(await settings(b).load(ALICE)).toEqual({ llmLevel: 0, updatedAt: '2026-11-30T08:00:00.000Z' });
      const name = `SETTINGS.${ALICE}.json`;
      const stored = (await a.read(ALICE, name))!.text;
      await a.write(ALICE, name, stored.replace('"llmLevel": 0', '"llmLevel": 2'));
      expect(isMemvaultError(await caught(settings(b).load(ALICE)), 'DATA_CORRUPTION')).toBe(true);
      // Alice's settings under Bob's name are refused too: the MAC binds them to the person.
      await a.write(BOB, `SETTINGS.${BOB}.json`, stored);
      expect(isMemvaultError(await caught(settings(b).load(BOB)), 'DATA_CORRUPTION')).toBe(true);
    });
  });
}
