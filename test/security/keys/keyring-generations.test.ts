import { createHmac } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { UserId } from '../../../src/core/entry.js';
import { MemvaultError } from '../../../src/core/errors.js';
import { hkdfSha256 } from '../../../src/security/kdf.js';
import { KeyringStore } from '../../../src/security/keyring.js';

// Every durable replace the keyring makes, in order: the copy of the previous keyring must be one of them.
const atomicWrites = vi.hoisted(() => ({ paths: [] as string[] }));
vi.mock('../../../src/infra/atomic-file.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../../src/infra/atomic-file.js')>();
  return {
    ...actual,
    writeFileAtomic: (...args: Parameters<typeof actual.writeFileAtomic>) => {
      atomicWrites.paths.push(args[0]);
      return actual.writeFileAtomic(...args);
    },
  };
});

const FAST = { memoryCost: 64, timeCost: 1, parallelism: 1 };
const MASTER = new Uint8Array(32).fill(7);
const ALICE = '+15551234567' as UserId;
const PRF = new Uint8Array(32).fill(0xab);

let dataDir: string;
let store: KeyringStore;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'memvault-generations-'));
  store = new KeyringStore({ dataDir, masterKey: MASTER, kdf: FAST });
  atomicWrites.paths.length = 0;
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

async function failure(promise: Promise<unknown>): Promise<MemvaultError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof MemvaultError) return error;
    throw error;
  }
  throw new Error('expected a MemvaultError');
}

/** A fresh store, as another process or a restart sees the data dir. */
const fresh = () => new KeyringStore({ dataDir, masterKey: MASTER, kdf: FAST });

// Issue 18, security item 1: a keyring put back from before a change must be refused.
describe('keyring generations refuse a rolled-back keyring', () => {
  it('a keyring from before a password change no longer lets the old password in', async () => {
    await store.create(ALICE, 'old password');
    const saved = `${store.path(ALICE)}.saved`;
    copyFileSync(store.path(ALICE), saved);
    await store.changePassword(ALICE, 'old password', 'new password');
    copyFileSync(saved, store.path(ALICE));
    const error = await failure(fresh().unwrapMany(ALICE, [1, 2], { password: 'old password' }));
    expect(error.code).toBe('DATA_CORRUPTION');
    expect(error.message).toMatch(/older than generation 2.*old copy was put back/);
    expect(error.message).not.toContain(dataDir);
  });

  it('a keyring from before a rotation is refused, so nothing is sealed to retired keys', async () => {
    await store.create(ALICE, 'pw');
    const saved = `${store.path(ALICE)}.saved`;
    copyFileSync(store.path(ALICE), saved);
    await store.rotate(ALICE, { password: 'pw' });
    await store.discardPrevious(ALICE);
    copyFileSync(saved, store.path(ALICE));
    expect((await failure(fresh().publicKey(ALICE, 1))).code).toBe('DATA_CORRUPTION');
  });

  it('a keyring from before a PRF enrolment is refused (it would drop the passkey from level 4)', async () => {
    await store.create(ALICE, 'pw');
    const saved = `${store.path(ALICE)}.saved`;
    copyFileSync(store.path(ALICE), saved);
    await store.enrollPrf(ALICE, 'pw', PRF);
    copyFileSync(saved, store.path(ALICE));
    expect((await failure(fresh().unwrapMany(ALICE, [4], { password: 'pw' }))).code).toBe('DATA_CORRUPTION');
  });

  it('an edited generation record is refused', async () => {
    await store.create(ALICE, 'pw');
    const record = `${store.path(ALICE)}.generation`;
    const json = JSON.parse(readFileSync(record, 'utf8'));
    writeFileSync(record, JSON.stringify({ ...json, generation: 0 }));
    expect((await failure(fresh().unwrapMany(ALICE, [1], {}))).code).toBe('DATA_CORRUPTION');
  });

  it('rotation and password change share one counter, and every level still opens after each', async () => {
    await store.create(ALICE, 'pw');
    await store.enrollPrf(ALICE, 'pw', PRF);
    const level4 = (await store.unwrapMany(ALICE, [4], { password: 'pw', prf: PRF })).get(4);
    await store.changePassword(ALICE, 'pw', 'pw2');
    expect((await store.unwrapMany(ALICE, [4], { password: 'pw2', prf: PRF })).get(4)).toEqual(level4);
    await store.rotate(ALICE, { password: 'pw2', prf: PRF });
    await store.discardPrevious(ALICE);
    const file = JSON.parse(readFileSync(store.path(ALICE), 'utf8'));
    expect(file.generation).toBe(4);
    expect(JSON.parse(readFileSync(`${store.path(ALICE)}.generation`, 'utf8')).generation).toBe(4);
    expect((await fresh().unwrapMany(ALICE, [1, 2, 3, 4], { password: 'pw2', prf: PRF })).size).toBe(4);
  });

  it('reads a version 1 keyring (written before generations were recorded) and records its generation', async () => {
    await store.create(ALICE, 'pw');
    await store.enrollPrf(ALICE, 'pw', PRF);
    const keys = await store.unwrapMany(ALICE, [1, 2, 3, 4], { password: 'pw', prf: PRF });
    // Rewrite it as version 1 had it: no prfGeneration, the MAC over the version 1 field list, no record.
    const f = JSON.parse(readFileSync(store.path(ALICE), 'utf8'));
    f.version = 1;
    delete f.prfGeneration;
    const macKey = hkdfSha256(Buffer.from(MASTER), Buffer.alloc(0), 'memvault/v1/keyring/mac', 32);
    const input = JSON.stringify([
      'memvault-keyring',
      1,
      f.userId,
      f.generation,
      f.hasPassword,
      f.prf,
      ['argon2id', 19, f.kdf.memoryCost, f.kdf.timeCost, f.kdf.parallelism, f.kdf.salt],
      f.verifier,
      [1, 2, 3, 4].map((l) => [l, f.levels[String(l)].publicKey, f.levels[String(l)].wrapped]),
    ]);
    f.mac = createHmac('sha256', macKey).update(input).digest('base64');
    writeFileSync(store.path(ALICE), JSON.stringify(f));
    rmSync(`${store.path(ALICE)}.generation`);
    expect(await fresh().unwrapMany(ALICE, [1, 2, 3, 4], { password: 'pw', prf: PRF })).toEqual(keys);
    expect(JSON.parse(readFileSync(`${store.path(ALICE)}.generation`, 'utf8')).generation).toBe(2);
  });
});

// Issue 16, items 1 and 14: an interrupted rotation keeps the only copy of the old keys until it is finished.
describe('an unfinished rotation', () => {
  it('refuses a second rotation, a password change and a PRF enrolment until it is finished', async () => {
    await store.create(ALICE, 'pw');
    const old = await store.rotate(ALICE, { password: 'pw' });
    expect(await store.rotationPending(ALICE)).toBe(true);
    for (const attempt of [
      store.rotate(ALICE, { password: 'pw' }),
      store.changePassword(ALICE, 'pw', 'pw2'),
      store.enrollPrf(ALICE, 'pw', PRF),
    ]) {
      const error = await failure(attempt);
      expect(error.code).toBe('CONFLICT');
      expect(error.message).toContain('memvault keys finish-rotation');
    }
    const both = await store.unwrapRotation(ALICE, { password: 'pw' });
    expect(both.previous).toEqual(old);
    expect(both.current).toEqual(await store.unwrapMany(ALICE, [1, 2, 3, 4], { password: 'pw' }));
    await store.discardPrevious(ALICE);
    expect(await store.rotationPending(ALICE)).toBe(false);
    expect((await failure(store.unwrapRotation(ALICE, { password: 'pw' }))).code).toBe('NOT_FOUND');
    await store.rotate(ALICE, { password: 'pw' });
  });

  it('discards only the previous keyring of the rotation the caller re-sealed for', async () => {
    await store.create(ALICE, 'pw');
    await store.rotate(ALICE, { password: 'pw' });
    const stale = (await store.unwrapRotation(ALICE, { password: 'pw' })).previousGeneration;
    // Another process finishes that rotation and starts the next one before this caller gets to discard.
    await store.discardPrevious(ALICE);
    await store.rotate(ALICE, { password: 'pw' });
    await store.discardPrevious(ALICE, stale);
    expect(await store.rotationPending(ALICE)).toBe(true);
    const kept = await store.unwrapRotation(ALICE, { password: 'pw' });
    expect(kept.previousGeneration).toBe(stale + 1);
    await store.discardPrevious(ALICE, kept.previousGeneration);
    expect(await store.rotationPending(ALICE)).toBe(false);
  });

  it('writes the copy of the previous keyring durably (temp, fsync, rename, fsync dir) before the new keyring', async () => {
    await store.create(ALICE, 'pw');
    atomicWrites.paths.length = 0;
    await store.rotate(ALICE, { password: 'pw' });
    const previous = atomicWrites.paths.indexOf(`${store.path(ALICE)}.previous`);
    expect(previous).toBeGreaterThanOrEqual(0);
    expect(atomicWrites.paths.indexOf(store.path(ALICE))).toBeGreaterThan(previous);
  });
});
