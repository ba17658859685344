import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { UserId } from '../../../src/core/entry.js';
import type { EntrySealer } from '../../../src/ports/sealer.js';
import { KeyringStore } from '../../../src/security/keyring.js';
import { createOpener, createSealer, eitherOpener } from '../../../src/security/seal.js';
import { FsVault } from '../../../src/vault/fs-vault.js';

const FAST = { memoryCost: 64, timeCost: 1, parallelism: 1 };
const MASTER = new Uint8Array(32).fill(7);
const A = '+14155550134' as UserId;
const PW = 'correct horse battery staple';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

// Review 1, item 2 (rotate-vs-append.mjs): `append` sealed before it took the person's lock, so an entry sealed
// to the old key could be written after the rotation's re-seal, acknowledged, and then unreadable for good.
describe('an append racing a key rotation in another process', () => {
  it.each([
    ['seals before the lock and checks the key generation under it', true],
    ['seals under the lock (a sealer that cannot tell its generation)', false],
  ])('is readable with the new keys once the rotation is finished: %s', async (_, generation) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'memvault-race-'));
    dirs.push(dataDir);
    // The "server": its seal of one append is held up (a request queued behind others) right after sealing.
    const serverKeys = new KeyringStore({ dataDir, masterKey: MASTER, kdf: FAST });
    await serverKeys.create(A, PW);
    const real = createSealer(serverKeys, { level1Plain: false });
    let sealed!: () => void;
    const sealedOnce = new Promise<void>((resolve) => {
      sealed = resolve;
    });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow: EntrySealer = {
      ...(generation && real.keyGeneration ? { keyGeneration: real.keyGeneration } : {}),
      seals: real.seals,
      seal: async (ctx, text) => {
        const payload = await real.seal(ctx, text);
        sealed();
        await gate;
        return payload;
      },
    };
    const server = new FsVault({ dataDir, sealer: slow });
    await server.createUser({ userId: A, name: 'A', timezone: 'UTC' });
    const acked = server.append(A, {
      date: '2026-11-20T10:00:00.000Z',
      category: 'SECRET',
      content: 'safe code 4471',
      channel: 'web',
    });
    await sealedOnce;

    // The "CLI": `memvault keys rotate`, the same steps as the composition root's.
    const cliKeys = new KeyringStore({ dataDir, masterKey: MASTER, kdf: FAST });
    const cli = new FsVault({ dataDir, sealer: createSealer(cliKeys, { level1Plain: false }) });
    for (const key of (await cliKeys.rotate(A, { password: PW })).values()) key.fill(0);
    const keys = await cliKeys.unwrapRotation(A, { password: PW });
    const both = eitherOpener(createOpener(A, keys.current), createOpener(A, keys.previous));
    // The held-up seal goes on once the re-seal holds the person's lock, or, when the append holds the lock
    // itself (so the re-seal cannot start), after a moment: either way the two meet in the worst order possible.
    const opener = {
      ...both,
      canOpen: (level: 1 | 2 | 3 | 4) => {
        release();
        return both.canOpen(level);
      },
    };
    const fallback = setTimeout(release, 200);
    await cli.reseal(A, opener);
    clearTimeout(fallback);
    await cliKeys.discardPrevious(A);
    const entry = await acked;

    const now = createOpener(A, await serverKeys.unwrapMany(A, [1, 2, 3], { password: PW }));
    const read = await server.read(A, { categories: ['SECRET'] }, now);
    expect(read.damaged).toEqual([]);
    expect(read.entries.map((e) => e.id)).toEqual([entry.id]);
    await server.close();
    await cli.close();
  });
});
