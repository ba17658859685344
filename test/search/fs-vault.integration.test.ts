import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SecurityLevel } from '../../src/core/category.js';
import { normalizeUserId } from '../../src/core/user-id.js';
import { generateX25519 } from '../../src/security/crypto-x25519.js';
import { createOpener, createSealer } from '../../src/security/seal.js';
import { indexPath } from '../../src/search/persist.js';
import { createSearchIndex } from '../../src/search/search-index.js';
import { FsVault } from '../../src/vault/fs-vault.js';

/** The index over the real filesystem vault and the real X25519 sealer, as the app wires them. */
const userId = normalizeUserId('+14155550134');
const keys = new Map<SecurityLevel, ReturnType<typeof generateX25519>>(
  ([1, 2, 3, 4] as const).map((level) => [level, generateX25519()]),
);
const keyring = { publicKey: async (_u: unknown, level: SecurityLevel) => keys.get(level)!.publicKey };
const opener = (levels: SecurityLevel[]) =>
  createOpener(userId, new Map(levels.map((l) => [l, keys.get(l)!.privateKey])));

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'memvault-search-fs-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

describe('search over FsVault with real sealing', () => {
  it('indexes, persists sealed, catches up with new writes, and gates secrets', async () => {
    const sealer = createSealer(keyring, { level1Plain: false });
    const vault = new FsVault({ dataDir, sealer });
    await vault.createUser({ userId });
    const at = '2026-11-20T10:00:00.000Z';
    await vault.append(userId, {
      date: at,
      category: 'GENERAL',
      content: 'Nadia moved to Oslo in May',
      channel: 'cli',
    });
    await vault.append(userId, {
      date: at,
      category: 'CHRONOLOGICAL',
      content: 'Called the electrician Marta',
      channel: 'cli',
    });
    await vault.append(userId, {
      date: at,
      category: 'SECRET',
      content: 'Locker combination is 7734-1199',
      channel: 'cli',
    });

    const index = createSearchIndex({ vault, dataDir, sealer });
    const hits = await index.search(userId, { text: 'where does nadia live now' }, opener([1]));
    expect(hits[0]?.entry.content).toBe('Nadia moved to Oslo in May');
    expect(await index.search(userId, { text: 'locker combination' }, opener([1, 2]))).toEqual([]);
    const secret = await index.search(userId, { text: 'locker combination' }, opener([1, 2, 3]));
    expect(secret[0]?.entry.category).toBe('SECRET');
    await index.close();

    const bytes = readFileSync(indexPath(dataDir, userId));
    for (const plain of ['Nadia moved', 'electrician', 'Locker combination', '7734-1199']) {
      expect(bytes.includes(Buffer.from(plain))).toBe(false);
    }
    // Level 2 was searched, so its (empty) shard is kept sealed to the level-2 key; level 3 is never written.
    expect(existsSync(indexPath(dataDir, userId, 2))).toBe(true);
    expect(
      readdirSync(dirname(indexPath(dataDir, userId)))
        .filter((f) => f.startsWith('INDEX.'))
        .sort(),
    ).toEqual([`INDEX.${userId}.level2.sealed`, `INDEX.${userId}.sealed`]);
    expect(readFileSync(indexPath(dataDir, userId, 2)).includes(Buffer.from('7734-1199'))).toBe(false);

    // A write the index was not told about: the next search catches up through the vault revision.
    await vault.append(userId, { date: at, category: 'GENERAL', content: 'Started pottery classes', channel: 'cli' });
    const reopened = createSearchIndex({ vault, dataDir, sealer });
    const pottery = await reopened.search(userId, { text: 'pottery' }, opener([1]));
    expect(pottery[0]?.entry.content).toBe('Started pottery classes');
    await reopened.close();
    await vault.close();
  });

  it('finds entries another process wrote, even after this process wrote and told the index', async () => {
    const sealer = createSealer(keyring, { level1Plain: false });
    const server = new FsVault({ dataDir, sealer });
    await server.createUser({ userId });
    const add = (vault: FsVault, content: string) =>
      vault.append(userId, { date: new Date().toISOString(), category: 'GENERAL', content, channel: 'cli' });
    const index = createSearchIndex({ vault: server, dataDir, sealer, signals: ['bm25'] });
    await index.upsert(userId, await add(server, 'Fed the giraffe at the zoo'));
    expect(await index.search(userId, { text: 'giraffe' }, opener([1]))).toHaveLength(1);
    const cli = new FsVault({ dataDir, sealer }); // `memvault add` in another process
    await add(cli, 'Saw a zebra crossing the road');
    await add(cli, 'Another zebra, this time at the zoo');
    await index.upsert(userId, await add(server, 'Lunch with Odette'));
    // Entries written minutes apart also reach each other as conversational context; count direct matches.
    const zebras = async (ix: typeof index) =>
      (await ix.search(userId, { text: 'zebra' }, opener([1]))).filter((hit) => hit.signals.includes('bm25'));
    expect(await zebras(index)).toHaveLength(2);
    await index.close();
    // The persisted index must not claim a revision that includes writes it never saw.
    const reopened = createSearchIndex({ vault: server, dataDir, sealer, signals: ['bm25'] });
    expect(await zebras(reopened)).toHaveLength(2);
    await reopened.close();
    await cli.close();
    await server.close();
  });
});
