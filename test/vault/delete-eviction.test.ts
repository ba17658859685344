import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { UserId } from '../../src/core/entry.js';
import { type EntryOpener, plainOpener } from '../../src/ports/sealer.js';
import { FsVault } from '../../src/vault/fs-vault.js';

const A = '+14155550134' as UserId;
const B = '+14155550135' as UserId;
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

// Review 1, item 3 (delete-lost-on-eviction.mjs): the rewrite matched records by object identity, so when the
// person's parsed files were evicted from the cache mid-delete it removed nothing and still resolved.
describe('FsVault.delete when the person is evicted from the cache mid-delete', () => {
  it('removes the entry (matched by id in the state read under the lock)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'memvault-delete-'));
    dirs.push(dataDir);
    const setup = new FsVault({ dataDir });
    await setup.createUser({ userId: A, name: 'A', timezone: 'UTC' });
    await setup.createUser({ userId: B, name: 'B', timezone: 'UTC' });
    const doomed = await setup.append(A, {
      date: '2026-11-20T10:00:00.000Z',
      category: 'ULTRASECRET',
      content: 'delete me',
      channel: 'cli',
    });
    const kept = await setup.append(A, {
      date: '2026-11-20T11:00:00.000Z',
      category: 'ULTRASECRET',
      content: 'keep me',
      channel: 'cli',
    });
    await setup.close();

    const vault = new FsVault({ dataDir, maxCachedUsers: 1 });
    const all = plainOpener();
    let reader: Promise<unknown> | undefined;
    // The access check runs after the entry was located and before the files are rewritten: starting a read of
    // another person there touches B synchronously, which evicts A (a cache of one), just as a busy server does.
    const evicting: EntryOpener = {
      canOpen: (level) => {
        reader ??= vault.read(B, {}, all);
        return all.canOpen(level);
      },
      open: all.open,
    };
    await vault.delete(A, doomed.id, evicting);
    await reader;
    expect(reader).toBeDefined();
    await vault.close();

    const check = new FsVault({ dataDir });
    const ids = (await check.read(A, {}, all)).entries.map((e) => e.id);
    expect(ids).toEqual([kept.id]);
    await check.close();
  });
});
