import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Category } from '../../src/core/category.js';
import type { NewEntry, UserId } from '../../src/core/entry.js';
import { isMemvaultError } from '../../src/core/errors.js';
import { tempPathFor } from '../../src/infra/atomic-file.js';
import { plainOpener } from '../../src/ports/sealer.js';
import { FsVault } from '../../src/vault/fs-vault.js';
import { runVaultContract } from '../contract/vault.contract.js';
import { testOpener, testSealer } from './fixtures/test-sealer.js';

const scratch = () => mkdtempSync(join(tmpdir(), 'memvault-vault-'));

runVaultContract('FsVault (plain)', async (options) => {
  const dataDir = scratch();
  return {
    vault: new FsVault({ dataDir, ...options }),
    opener: (levels) => plainOpener(levels),
    cleanup: async () => rmSync(dataDir, { recursive: true, force: true }),
  };
});

runVaultContract('FsVault (sealed, level 1 plain)', async (options) => {
  const dataDir = scratch();
  return {
    vault: new FsVault({ dataDir, sealer: testSealer({ plainLevel1: true }), ...options }),
    opener: (levels) => testOpener(levels),
    cleanup: async () => rmSync(dataDir, { recursive: true, force: true }),
  };
});

runVaultContract('FsVault (sealed)', async (options) => {
  const dataDir = scratch();
  return {
    vault: new FsVault({ dataDir, sealer: testSealer(), ...options }),
    opener: (levels) => testOpener(levels),
    cleanup: async () => rmSync(dataDir, { recursive: true, force: true }),
  };
});

const USER = '+14155550134' as UserId;
const entry = (over: Partial<NewEntry> = {}): NewEntry => ({
  date: '2026-11-20T10:00:00.000Z',
  category: 'CHRONOLOGICAL',
  content: 'Walked along the river with Sara.',
  channel: 'cli',
  ...over,
});

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return isMemvaultError(error) ? error.code : `not a MemvaultError: ${String(error)}`;
  }
  return undefined;
}

describe('FsVault on disk', () => {
  let dataDir: string;
  let vault: FsVault;
  const all = plainOpener();
  const userDir = () => join(dataDir, 'users', USER);
  const file = (kind: string) => join(userDir(), `${kind}.${USER}.md`);

  beforeEach(async () => {
    dataDir = scratch();
    vault = new FsVault({ dataDir });
    await vault.createUser({ userId: USER, name: 'Ana' });
  });

  afterEach(async () => {
    await vault.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('lays out the user folder of DESIGN §3 with private modes', () => {
    expect(readdirSync(userDir()).sort()).toEqual(
      ['CHRONOLOGICAL', 'CONFIDENTIAL', 'GENERAL', 'SECRET', 'ULTRASECRET', 'USER'].map((k) => `${k}.${USER}.md`),
    );
    expect(statSync(userDir()).mode & 0o777).toBe(0o700);
    for (const name of readdirSync(userDir())) expect(statSync(join(userDir(), name)).mode & 0o777).toBe(0o600);
    const header = readFileSync(file('SECRET'), 'utf8');
    expect(header).toMatch(/^# Secret memories of \+14155550134\n/);
    expect(header).toContain('**Security Level**: 3 (Secret)');
    expect(readFileSync(file('USER'), 'utf8')).toContain('- **Name**: Ana');
  });

  it('writes the seed’s entry format into the category file', async () => {
    const stored = await vault.append(USER, entry({ category: 'GENERAL', tags: ['river'] }));
    const text = readFileSync(file('GENERAL'), 'utf8');
    expect(text).toContain(
      `## Memory Entry #${stored.id}\n**Date**: 2026-11-20T10:00:00.000Z\n**Category**: GENERAL\n`,
    );
    expect(text.endsWith('---\n\n')).toBe(true);
    expect(statSync(file('GENERAL')).mode & 0o777).toBe(0o600);
  });

  it('keeps every path inside the data directory', async () => {
    for (const bad of ['../../etc', '+1/../../x', '..', '', '+14155550134/..', 'USER']) {
      expect(await codeOf(vault.append(bad as UserId, entry()))).toBe('VALIDATION_ERROR');
      expect(await codeOf(vault.createUser({ userId: bad as UserId }))).toBe('VALIDATION_ERROR');
      expect(await codeOf(vault.read(bad as UserId, {}, all))).toBe('VALIDATION_ERROR');
    }
    expect(readdirSync(join(dataDir, 'users'))).toEqual([USER]);
    expect(readdirSync(dataDir)).toEqual(['users']);
  });

  it('removes temp files left by an interrupted rewrite when it opens the user', async () => {
    const stored = await vault.append(USER, entry());
    const temp = tempPathFor(file('CHRONOLOGICAL'));
    writeFileSync(temp, 'half a file');
    const fresh = new FsVault({ dataDir });
    expect((await fresh.read(USER, {}, all)).entries.map((e) => e.id)).toEqual([stored.id]);
    expect(existsSync(temp)).toBe(false);
    await fresh.close();
  });

  it('cuts a torn tail, keeps it in a .torn file and appends after the last complete entry', async () => {
    const first = await vault.append(USER, entry({ content: 'first' }));
    const before = readFileSync(file('CHRONOLOGICAL'));
    appendFileSync(file('CHRONOLOGICAL'), '## Memory Entry #01JDQ7Z3N5X8Y2W4V6T8R0P2M4\n**Date**: 2026-11-2');
    // A reader never sees the incomplete tail, even before repair.
    expect((await vault.read(USER, {}, all)).damaged).toEqual([]);
    const fresh = new FsVault({ dataDir });
    const second = await fresh.append(USER, entry({ content: 'second' }));
    const result = await fresh.read(USER, { order: 'asc' }, all);
    expect(result.entries.map((e) => e.id)).toEqual([first.id, second.id]);
    expect(result.damaged).toEqual([]);
    const torn = `${file('CHRONOLOGICAL')}.torn`;
    expect(readFileSync(torn, 'utf8')).toBe('## Memory Entry #01JDQ7Z3N5X8Y2W4V6T8R0P2M4\n**Date**: 2026-11-2');
    expect(statSync(torn).mode & 0o777).toBe(0o600);
    expect(readFileSync(file('CHRONOLOGICAL')).subarray(0, before.length).equals(before)).toBe(true);
    await fresh.close();
  });

  it('repairs a truncated file on open, keeping the intact entries', async () => {
    const kept = await vault.append(USER, entry({ content: 'kept' }));
    await vault.append(USER, entry({ content: 'cut in half' }));
    const size = statSync(file('CHRONOLOGICAL')).size;
    truncateSync(file('CHRONOLOGICAL'), size - 40);
    const fresh = new FsVault({ dataDir });
    const report = await fresh.check(USER, all);
    expect(report).toMatchObject({ intact: 1, damaged: [] });
    expect((await fresh.read(USER, {}, all)).entries.map((e) => e.id)).toEqual([kept.id]);
    expect(readFileSync(`${file('CHRONOLOGICAL')}.torn`, 'utf8')).toContain('cut in half');
    await fresh.close();
  });

  it('names a hand-edited entry as damaged and still returns the others', async () => {
    const a = await vault.append(USER, entry({ content: 'alpha' }));
    const b = await vault.append(USER, entry({ content: 'bravo' }));
    const c = await vault.append(USER, entry({ content: 'charlie' }));
    writeFileSync(file('CHRONOLOGICAL'), readFileSync(file('CHRONOLOGICAL'), 'utf8').replace('bravo', 'BRAVO'));
    const result = await vault.read(USER, {}, all);
    expect(result.entries.map((e) => e.id)).toEqual([c.id, a.id]);
    expect(result.damaged).toEqual([
      { id: b.id, category: 'CHRONOLOGICAL', reason: expect.stringMatching(/checksum/) },
    ]);
    expect(await codeOf(vault.get(USER, b.id, all))).toBe('DATA_CORRUPTION');
    expect((await vault.check(USER, all)).damaged.map((d) => d.id)).toEqual([b.id]);
    // A rewrite of the file (an update elsewhere) keeps the damaged bytes for recovery.
    await vault.update(USER, a.id, { tags: ['x'] }, all);
    expect(readFileSync(file('CHRONOLOGICAL'), 'utf8')).toContain('BRAVO');
    expect((await vault.read(USER, {}, all)).damaged.map((d) => d.id)).toEqual([b.id]);
  });

  it('reports garbage between entries without losing the entries around it', async () => {
    const a = await vault.append(USER, entry({ content: 'alpha' }));
    appendFileSync(file('CHRONOLOGICAL'), 'someone typed this\nand this\n\n---\n\n');
    const b = await vault.append(USER, entry({ content: 'bravo' }));
    const fresh = new FsVault({ dataDir });
    const result = await fresh.read(USER, { order: 'asc' }, all);
    expect(result.entries.map((e) => e.id)).toEqual([a.id, b.id]);
    expect(result.damaged).toEqual([
      { id: null, category: 'CHRONOLOGICAL', reason: `unrecognised text after memory entry ${a.id}` },
    ]);
    await fresh.close();
  });

  it('sees appends and rewrites made by another vault instance (another process)', async () => {
    const other = new FsVault({ dataDir });
    const a = await vault.append(USER, entry({ content: 'a' }));
    expect((await other.read(USER, {}, all)).total).toBe(1);
    const b = await other.append(USER, entry({ content: 'b' }));
    expect((await vault.read(USER, { order: 'asc' }, all)).entries.map((e) => e.id)).toEqual([a.id, b.id]);
    await other.delete(USER, a.id, all);
    expect((await vault.read(USER, {}, all)).entries.map((e) => e.id)).toEqual([b.id]);
    await vault.update(USER, b.id, { content: 'b2' }, all);
    expect((await other.get(USER, b.id, all)).content).toBe('b2');
    await other.close();
  });

  it('reports a missing category file and an unusable data directory as STORAGE_ERROR', async () => {
    rmSync(file('GENERAL'));
    expect(await codeOf(vault.append(USER, entry({ category: 'GENERAL' })))).toBe('STORAGE_ERROR');
    const notADir = join(dataDir, 'plain-file');
    writeFileSync(notADir, 'x');
    const broken = new FsVault({ dataDir: notADir });
    let caught: unknown;
    try {
      await broken.listUsers();
    } catch (error) {
      caught = error;
    }
    expect(isMemvaultError(caught, 'STORAGE_ERROR')).toBe(true);
    expect((caught as Error).message).toContain(notADir);
    expect(await codeOf(broken.createUser({ userId: USER }))).toBe('STORAGE_ERROR');
  });

  it('stays correct when users are evicted from the cache', async () => {
    const small = new FsVault({ dataDir, maxCachedUsers: 1 });
    const other = '+447700900123' as UserId;
    await small.createUser({ userId: other });
    const mine = await small.append(USER, entry({ content: 'mine' }));
    const theirs = await small.append(other, entry({ content: 'theirs' }));
    for (let i = 0; i < 3; i++) {
      expect((await small.read(USER, {}, all)).entries.map((e) => e.id)).toEqual([mine.id]);
      expect((await small.read(other, {}, all)).entries.map((e) => e.id)).toEqual([theirs.id]);
    }
    await small.close();
  });

  it('keeps its cache within the byte bound across many users, and reads stay correct after eviction', async () => {
    const bound = 64 * 1024;
    const small = new FsVault({ dataDir, sealer: testSealer(), maxCacheBytes: bound });
    const people = Array.from({ length: 12 }, (_, i) => `+1415555${String(1000 + i)}` as UserId);
    const ids = new Map<UserId, string[]>();
    for (const person of people) {
      await small.createUser({ userId: person });
      const mine: string[] = [];
      for (let i = 0; i < 20; i++) {
        mine.push((await small.append(person, entry({ content: `${person} walked ${'far '.repeat(40)}${i}` }))).id);
      }
      ids.set(person, mine);
    }
    let largestUser = 0;
    for (let round = 0; round < 3; round++) {
      for (const person of people) {
        const before = small.cacheStats().bytes;
        const listed = (await small.read(person, {}, testOpener([1, 2, 3, 4]))).entries.map((e) => e.id);
        expect(listed.sort()).toEqual([...(ids.get(person) ?? [])].sort());
        largestUser = Math.max(largestUser, small.cacheStats().bytes - before);
        // Over the bound by at most the one user being read (whose growth is counted at its next touch).
        expect(small.cacheStats().bytes).toBeLessThanOrEqual(bound + largestUser);
      }
    }
    // Twelve users of ~20 opened entries each do not fit in 64 KiB: some were dropped.
    expect(small.cacheStats().users).toBeLessThan(people.length);
    await small.close();
  });

  it('drops a very large user’s opened entries but keeps serving them', async () => {
    const small = new FsVault({ dataDir, sealer: testSealer(), maxCacheBytes: 16 * 1024 });
    const stored: string[] = [];
    for (let i = 0; i < 30; i++) stored.push((await small.append(USER, entry({ content: `note ${i}` }))).id);
    for (let round = 0; round < 2; round++) {
      const listed = (await small.read(USER, {}, testOpener([1]))).entries.map((e) => e.id);
      expect(listed.sort()).toEqual([...stored].sort());
      expect((await small.get(USER, stored[5] ?? '', testOpener([1]))).content).toBe('note 5');
    }
    expect(small.cacheStats().users).toBe(1);
    // Thirty opened entries alone would be ~36 KB: the estimate says they were let go.
    expect(small.cacheStats().bytes).toBeLessThan(30 * 1_200);
    await small.close();
  });

  it('reports an entry left in two files by a crash during a category move', async () => {
    const stored = await vault.append(USER, entry({ content: 'my PIN is 4321' }));
    // The move appends to the new file first; simulate a crash before the old file was rewritten.
    const { renderEntry } = await import('../../src/vault/markdown-codec.js');
    const { withChecksum } = await import('../../src/core/checksum.js');
    const { checksum: _, ...rest } = stored;
    const moved = withChecksum({ ...rest, category: 'SECRET', level: 3 });
    appendFileSync(file('SECRET'), `${renderEntry(moved)}\n`);
    const report = await vault.check(USER, all);
    expect(report.damaged).toEqual([
      { id: stored.id, category: 'SECRET', reason: 'the same entry id also appears in CHRONOLOGICAL' },
    ]);
    expect(report.intact).toBe(1);
  });

  it('creates a user whose folder another component already holds a file in', async () => {
    const other = '+447700900123' as UserId;
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dataDir, 'users', other), { mode: 0o700 });
    writeFileSync(join(dataDir, 'users', other, `KEYRING.${other}.json`), '{}');
    const profile = await vault.createUser({ userId: other, name: 'Bo' });
    expect(await vault.getProfile(other)).toEqual(profile);
    expect(readdirSync(join(dataDir, 'users', other)).sort()).toEqual(
      ['CHRONOLOGICAL', 'CONFIDENTIAL', 'GENERAL', 'KEYRING', 'SECRET', 'ULTRASECRET', 'USER'].map(
        (k) => `${k}.${other}.${k === 'KEYRING' ? 'json' : 'md'}`,
      ),
    );
    expect((await vault.append(other, entry())).userId).toBe(other);
    expect(await codeOf(vault.createUser({ userId: other }))).toBe('CONFLICT');
    expect(readdirSync(join(dataDir, 'users')).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('round-trips awkward profile values', async () => {
    const other = '+447700900123' as UserId;
    const profile = await vault.createUser({
      userId: other,
      name: 'none',
      preferences: { quote: '"hi"', empty: '', spaces: '  a  ', multi: 'one\ntwo' },
    });
    expect(await new FsVault({ dataDir }).getProfile(other)).toEqual(profile);
  });

  it('refuses work after close', async () => {
    await vault.close();
    expect(await codeOf(vault.append(USER, entry()))).toBe('STORAGE_ERROR');
  });

  it('honours maxContentBytes', async () => {
    const small = new FsVault({ dataDir, maxContentBytes: 10 });
    expect(await codeOf(small.append(USER, entry({ content: '12345678901' })))).toBe('VALIDATION_ERROR');
    expect((await small.append(USER, entry({ content: '1234567890' }))).content).toBe('1234567890');
    await small.close();
  });
});

describe('FsVault with sealed levels', () => {
  let dataDir: string;
  const sealer = testSealer();
  let vault: FsVault;
  const file = (kind: Category | 'USER') => join(dataDir, 'users', USER, `${kind}.${USER}.md`);

  beforeEach(async () => {
    dataDir = scratch();
    vault = new FsVault({ dataDir, sealer });
    await vault.createUser({ userId: USER });
  });

  afterEach(async () => {
    await vault.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('never writes plaintext; levels 1–2 show the date, levels 3–4 hide it', async () => {
    const content = 'the safe code is 7391';
    const low = await vault.append(USER, entry({ content, category: 'CONFIDENTIAL' }));
    const high = await vault.append(USER, entry({ content, category: 'SECRET' }));
    const confidential = readFileSync(file('CONFIDENTIAL'), 'utf8');
    const secret = readFileSync(file('SECRET'), 'utf8');
    expect(confidential).toContain(`## Memory Entry #${low.id}\n**Date**: ${low.date}\n\`\`\`memvault-sealed\nt1.`);
    expect(secret).toContain(`## Memory Entry #${high.id}\n\`\`\`memvault-sealed\nt1.`);
    for (const text of [confidential, secret]) {
      // The whole sentence, not just "7391": four digits turn up in the random base64 and ULIDs about once in 10,000 runs.
      expect(text).not.toContain(content);
      expect(text).not.toContain('safe code');
      expect(text).not.toContain('### Content');
    }
  });

  it('counts locked levels without opening them and filters levels 1–2 by the visible date first', async () => {
    await vault.append(USER, entry({ category: 'CONFIDENTIAL', date: '2026-01-01T00:00:00.000Z' }));
    await vault.append(USER, entry({ category: 'CONFIDENTIAL', date: '2026-06-01T00:00:00.000Z' }));
    await vault.append(USER, entry({ category: 'ULTRASECRET' }));
    const locked = testOpener([1]);
    const r = await vault.read(USER, {}, locked);
    expect(r).toMatchObject({ entries: [], locked: 3, total: 0 });
    expect(locked.opened).toBe(0);
    // Each locked one is named, unopened: its category and level, and its date only where the date is visible.
    const sealed = [...(r.lockedEntries ?? [])].sort(
      (x, y) => x.level - y.level || (x.date ?? '').localeCompare(y.date ?? ''),
    );
    expect(sealed.map(({ category, level, date }) => ({ category, level, date }))).toEqual([
      { category: 'CONFIDENTIAL', level: 2, date: '2026-01-01T00:00:00.000Z' },
      { category: 'CONFIDENTIAL', level: 2, date: '2026-06-01T00:00:00.000Z' },
      { category: 'ULTRASECRET', level: 4, date: null },
    ]);
    for (const e of sealed) expect(e.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(JSON.stringify(sealed)).not.toContain('content');
    const fresh = new FsVault({ dataDir, sealer });
    const opener = testOpener([1, 2]);
    const dated = await fresh.read(USER, { categories: ['CONFIDENTIAL'], from: '2026-05-01' }, opener);
    expect(dated.total).toBe(1);
    expect(opener.opened).toBe(1);
    await fresh.close();
  });

  it('serves opened level 1–2 entries from memory, and opens levels 3–4 on every read', async () => {
    await vault.append(USER, entry({ category: 'CONFIDENTIAL' }));
    await vault.append(USER, entry({ category: 'SECRET' }));
    const fresh = new FsVault({ dataDir, sealer });
    const opener = testOpener();
    await fresh.read(USER, {}, opener);
    expect(opener.opened).toBe(2);
    await fresh.read(USER, {}, opener);
    expect(opener.opened).toBe(3);
    // A caller without level 2 is not served from the cache.
    expect((await fresh.read(USER, {}, testOpener([1]))).entries).toEqual([]);
    await fresh.close();
  });

  it('reports a tampered or moved payload as damaged, keeping the rest readable', async () => {
    const a = await vault.append(USER, entry({ category: 'SECRET', content: 'a' }));
    const b = await vault.append(USER, entry({ category: 'SECRET', content: 'b' }));
    const text = readFileSync(file('SECRET'), 'utf8');
    const at = text.indexOf('t1.', text.indexOf(b.id)) + 10;
    const flipped = text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);
    writeFileSync(file('SECRET'), flipped);
    const result = await vault.read(USER, {}, testOpener());
    expect(result.entries.map((e) => e.id)).toEqual([a.id]);
    expect(result.damaged).toEqual([{ id: b.id, category: 'SECRET', reason: expect.stringMatching(/does not open/) }]);
    expect(await codeOf(vault.get(USER, b.id, testOpener()))).toBe('DATA_CORRUPTION');

    // The same sealed block copied under another heading fails: the id is bound into the ciphertext.
    const moved = text.replace(b.id, '01JDQ7Z3N5X8Y2W4V6T8R0P2M4');
    writeFileSync(file('SECRET'), moved);
    expect((await vault.check(USER, testOpener())).damaged.map((d) => d.id)).toEqual(['01JDQ7Z3N5X8Y2W4V6T8R0P2M4']);
  });

  it('stores content with lone surrogates: the rendered plaintext is always well-formed Unicode', async () => {
    const content = 'broken \ud800 pair and \udc00 too';
    const stored = await vault.append(USER, entry({ category: 'CONFIDENTIAL', content }));
    const fresh = new FsVault({ dataDir, sealer });
    expect((await fresh.get(USER, stored.id, testOpener())).content).toBe(content);
    await fresh.close();
  });

  it('reseals a plain vault when the sealer changes', async () => {
    const plain = new FsVault({ dataDir });
    const stored = await plain.append(USER, entry({ category: 'SECRET', content: 'was plain' }));
    await plain.close();
    expect(readFileSync(file('SECRET'), 'utf8')).toContain('was plain');
    expect(await vault.reseal(USER, testOpener())).toBe(1);
    expect(readFileSync(file('SECRET'), 'utf8')).not.toContain('was plain');
    expect(await vault.get(USER, stored.id, testOpener())).toEqual(stored);
  });

  it('refuses to reseal while a sealed level is locked, writing nothing', async () => {
    await vault.append(USER, entry({ category: 'ULTRASECRET' }));
    const before = readFileSync(file('ULTRASECRET'), 'utf8');
    expect(await codeOf(vault.reseal(USER, testOpener([1, 2, 3])))).toBe('SECURITY_ERROR');
    expect(readFileSync(file('ULTRASECRET'), 'utf8')).toBe(before);
  });

  it('a list with levels 3–4 unlocked opens only the page it returns, once the dates are known', async () => {
    const dates = Array.from({ length: 60 }, (_, i) => new Date(Date.UTC(2026, 0, 1 + i)).toISOString());
    // Out of date order on purpose (an import of old messages): the page must still be the newest by date.
    for (const [i, date] of dates.entries()) {
      await vault.append(
        USER,
        entry({
          date: dates[(i * 7) % 60] ?? date,
          category: i % 2 ? 'SECRET' : 'ULTRASECRET',
          content: `secret ${i}`,
        }),
      );
    }
    await vault.append(USER, entry({ date: '2025-06-01T00:00:00.000Z', category: 'GENERAL', content: 'old plain' }));
    const inner = testOpener([1, 2, 3, 4]);
    let opened = 0;
    const counting = {
      canOpen: (level: 1 | 2 | 3 | 4) => inner.canOpen(level),
      open: (ctx: Parameters<typeof inner.open>[0], payload: string) => {
        if (ctx.level >= 3) opened++;
        return inner.open(ctx, payload);
      },
    };
    const first = await vault.read(USER, { limit: 5 }, counting);
    expect(first.entries.map((e) => e.date)).toEqual(dates.slice(-5).reverse());
    expect(first.total).toBe(61);

    opened = 0;
    const again = await vault.read(USER, { limit: 5 }, counting);
    expect(again.entries.map((e) => e.date)).toEqual(dates.slice(-5).reverse());
    expect(again.total).toBe(61);
    expect(opened).toBe(5);

    opened = 0;
    const page = await vault.read(USER, { limit: 3, offset: 10, order: 'asc' }, counting);
    expect(page.entries.map((e) => e.date)).toEqual(dates.slice(9, 12));
    expect(opened).toBe(3);

    // A filter on what only the sealed text holds (tags) still has to open them all.
    opened = 0;
    await vault.read(USER, { limit: 5, tags: ['x'] }, counting);
    expect(opened).toBe(60);
  });

  it('a list of sealed levels 1–2 opens only the page it returns, ordered by the visible date', async () => {
    const dates = Array.from({ length: 40 }, (_, i) => new Date(Date.UTC(2026, 2, 1 + i)).toISOString());
    for (const [i, date] of dates.entries()) {
      await vault.append(
        USER,
        entry({ date: dates[(i * 13) % 40] ?? date, category: 'CONFIDENTIAL', content: `private ${i}` }),
      );
    }
    // A fresh vault: nothing opened is cached.
    const cold = new FsVault({ dataDir, sealer });
    const inner = testOpener([1, 2]);
    let opened = 0;
    const counting = {
      canOpen: (level: 1 | 2 | 3 | 4) => inner.canOpen(level),
      open: (ctx: Parameters<typeof inner.open>[0], payload: string) => {
        opened++;
        return inner.open(ctx, payload);
      },
    };
    try {
      const page = await cold.read(USER, { limit: 4 }, counting);
      expect(page.entries.map((e) => e.date)).toEqual(dates.slice(-4).reverse());
      expect(page.total).toBe(40);
      expect(opened).toBe(4);
      // A date range still counts every match without opening them.
      opened = 0;
      const ranged = await cold.read(
        USER,
        { from: dates[10] as string, to: dates[20] as string, limit: 2, order: 'asc' },
        counting,
      );
      expect(ranged.entries.map((e) => e.date)).toEqual(dates.slice(10, 12));
      expect(ranged.total).toBe(10);
      expect(opened).toBeLessThanOrEqual(2);
    } finally {
      await cold.close();
    }
  });

  it('a sealed level-1 entry whose visible date was edited is reported damaged when its page is read', async () => {
    const a = await vault.append(USER, entry({ category: 'CONFIDENTIAL', date: '2026-03-01T00:00:00.000Z' }));
    const text = readFileSync(file('CONFIDENTIAL'), 'utf8');
    writeFileSync(file('CONFIDENTIAL'), text.replace(`**Date**: ${a.date}`, '**Date**: 2026-03-02T00:00:00.000Z'));
    const cold = new FsVault({ dataDir, sealer });
    try {
      const r = await cold.read(USER, {}, testOpener([1, 2]));
      expect(r.entries).toEqual([]);
      expect(r.damaged.map((d) => d.id)).toEqual([a.id]);
    } finally {
      await cold.close();
    }
  });
});
