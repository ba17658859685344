import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MemoryEntry, UserId } from '../../src/core/entry.js';
import { plainOpener, plainSealer } from '../../src/ports/sealer.js';
import { FsVault } from '../../src/vault/fs-vault.js';

const userId = '+351912345672' as UserId;
let dataDir: string;
let vault: FsVault;
let entries: MemoryEntry[];
const all = plainOpener();
const file = (kind: string) => join(dataDir, 'users', userId, `${kind}.${userId}.md`);
const inode = async (kind: string) => (await stat(file(kind), { bigint: true })).ino;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'memvault-annotate-'));
  vault = new FsVault({ dataDir, sealer: plainSealer });
  await vault.createUser({ userId, timezone: 'Europe/Lisbon' });
  entries = [];
  for (const [i, category] of (['CHRONOLOGICAL', 'CHRONOLOGICAL', 'GENERAL', 'CONFIDENTIAL'] as const).entries()) {
    entries.push(
      await vault.append(userId, {
        date: new Date(Date.UTC(2026, 10, 30, 10 + i)).toISOString(),
        category,
        content: `Memory ${i}`,
        analysis: `Reason ${i}.`,
        channel: 'cli',
      }),
    );
  }
});

afterEach(async () => {
  await vault.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('Vault.annotate', () => {
  it('applies many notes as appended revisions (no rewrite), links in both directions as told', async () => {
    const [a, b, c] = entries as [MemoryEntry, MemoryEntry, MemoryEntry];
    const before = { chrono: await inode('CHRONOLOGICAL'), general: await inode('GENERAL') };
    const sizes = { chrono: (await stat(file('CHRONOLOGICAL'))).size, general: (await stat(file('GENERAL'))).size };
    const written = await vault.annotate(
      userId,
      [
        { id: a.id, link: [b.id, c.id], analysis: (x) => `${x} Noted.` },
        { id: b.id, link: [a.id] },
        { id: c.id, link: [a.id] },
        { id: a.id, analysis: (x) => `${x} Twice.` }, // a second note on the same entry builds on the first
      ],
      all,
    );
    expect(written).toBe(3);
    const got = async (id: string) => vault.get(userId, id, all);
    expect((await got(a.id)).related).toEqual([b.id, c.id]);
    expect((await got(a.id)).analysis).toBe('Reason 0. Noted. Twice.');
    expect((await got(b.id)).related).toEqual([a.id]);
    expect((await got(c.id)).related).toEqual([a.id]);
    // Each file was appended to (the same inode, grown), never rewritten: one revision per changed entry.
    expect(await inode('CHRONOLOGICAL')).toBe(before.chrono);
    expect(await inode('GENERAL')).toBe(before.general);
    expect((await stat(file('CHRONOLOGICAL'))).size).toBeGreaterThan(sizes.chrono);
    expect((await stat(file('GENERAL'))).size).toBeGreaterThan(sizes.general);
    const text = await readFile(file('CHRONOLOGICAL'), 'utf8');
    expect(text.split(`## Memory Entry #${a.id}\n**Revision**: 2 (update, `).length).toBe(2);
    expect(text.split(`## Memory Entry #${b.id}\n**Revision**: 2 (update, `).length).toBe(2);
    const check = await vault.check(userId, all);
    expect(check.damaged).toEqual([]);
  });

  it('writes nothing when nothing changes, and unlinks exactly what it is told', async () => {
    const [a, b] = entries as [MemoryEntry, MemoryEntry];
    await vault.annotate(
      userId,
      [
        { id: a.id, link: [b.id] },
        { id: b.id, link: [a.id] },
      ],
      all,
    );
    const revision = await vault.revision(userId);
    expect(await vault.annotate(userId, [{ id: a.id, link: [b.id], analysis: (x) => x }], all)).toBe(0);
    expect(await vault.revision(userId)).toBe(revision);
    expect(await vault.annotate(userId, [{ id: a.id, unlink: [b.id] }], all)).toBe(1);
    expect((await vault.get(userId, a.id, all)).related).toEqual([]);
    expect((await vault.get(userId, b.id, all)).related).toEqual([a.id]);
  });

  it('skips entries that are gone or at a level the opener cannot open, and never links an entry to itself', async () => {
    const [a, , , secret] = entries as [MemoryEntry, MemoryEntry, MemoryEntry, MemoryEntry];
    const levelOne = plainOpener([1]);
    const written = await vault.annotate(
      userId,
      [
        { id: secret.id, analysis: () => 'changed' },
        { id: '01M8QHV7M040KR3EQM0MG7R69T', link: [a.id] },
        { id: a.id, link: [a.id, secret.id] },
      ],
      levelOne,
    );
    expect(written).toBe(1);
    expect((await vault.get(userId, a.id, all)).related).toEqual([secret.id]);
    expect((await vault.get(userId, secret.id, all)).analysis).toBe('Reason 3.');
  });

  it('refuses a malformed id before touching anything', async () => {
    await expect(vault.annotate(userId, [{ id: '../../etc/passwd', link: [] }], all)).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
    });
  });
});
