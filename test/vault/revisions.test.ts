import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Category } from '../../src/core/category.js';
import { withChecksum } from '../../src/core/checksum.js';
import type { MemoryEntry, NewEntry, UserId } from '../../src/core/entry.js';
import { isMemvaultError } from '../../src/core/errors.js';
import { plainOpener } from '../../src/ports/sealer.js';
import { FsVault } from '../../src/vault/fs-vault.js';
import { renderEntry } from '../../src/vault/markdown-codec.js';
import { testOpener, testSealer } from './fixtures/test-sealer.js';

/**
 * Append-only revisions (docs/entry-format.md, "Revisions"): annotate, edit, trash and restore append a block with
 * the same id; the highest revision is current; history stays until compaction or erasure.
 */

const USER = '+14155550134' as UserId;
const all = plainOpener();
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

/** A clock the test moves. */
const clockAt = (iso: string) => {
  let now = Date.parse(iso);
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) };
};

describe('FsVault revisions (plain files)', () => {
  let dataDir: string;
  let vault: FsVault;
  const clock = clockAt('2026-11-30T09:00:00.000Z');
  const file = (kind: Category) => join(dataDir, 'users', USER, `${kind}.${USER}.md`);
  const blocksOf = (kind: Category, id: string) => readFileSync(file(kind), 'utf8').split(`#${id}\n`).length - 1;

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'memvault-revisions-'));
    vault = new FsVault({ dataDir, clock, compactMinimum: 8 });
    await vault.createUser({ userId: USER });
  });

  afterEach(async () => {
    await vault.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('annotate appends revisions; the latest wins for every reader, a fresh process included', async () => {
    const a = await vault.append(USER, entry({ content: 'a' }));
    const b = await vault.append(USER, entry({ content: 'b' }));
    const inode = statSync(file('CHRONOLOGICAL')).ino;
    for (let day = 1; day <= 3; day++) {
      await vault.annotate(
        USER,
        [
          { id: a.id, analysis: () => `Importance day ${day}.`, link: [b.id] },
          { id: b.id, link: [a.id] },
        ],
        all,
      );
    }
    expect(statSync(file('CHRONOLOGICAL')).ino).toBe(inode);
    expect(blocksOf('CHRONOLOGICAL', a.id)).toBe(4); // revision 1 and three updates
    expect(blocksOf('CHRONOLOGICAL', b.id)).toBe(2); // the link was new only on day 1
    const fresh = new FsVault({ dataDir });
    const read = await fresh.read(USER, { order: 'asc' }, all);
    expect(read.entries.map((e) => [e.content, e.analysis, e.related])).toEqual([
      ['a', 'Importance day 3.', [b.id]],
      ['b', '', [a.id]],
    ]);
    expect(read.total).toBe(2);
    expect(await fresh.get(USER, a.id, all)).toEqual(read.entries[0]);
    expect(await fresh.check(USER, all)).toMatchObject({ intact: 2, damaged: [] });
    // Annotations are not versions of the text.
    expect(await fresh.versions(USER, a.id, all)).toEqual([]);
    await fresh.close();
  });

  it('a crash in the middle of appending a revision leaves the previous revision current and intact', async () => {
    const a = await vault.append(USER, entry({ content: 'first words' }));
    const { checksum: _, ...rest } = a;
    const next = withChecksum({ ...rest, content: 'second words' });
    const block = `${renderEntry(next, { n: 2, kind: 'edit', at: '2026-11-30T09:00:00.000Z' })}\n`;
    let current = 'first words';
    for (const cut of [10, block.indexOf('### Content'), block.length - 6, block.length - 2]) {
      appendFileSync(file('CHRONOLOGICAL'), block.slice(0, cut)); // the process died mid-write
      const fresh = new FsVault({ dataDir });
      expect((await fresh.get(USER, a.id, all)).content).toBe(current);
      expect(await fresh.check(USER, all)).toMatchObject({ intact: 1, damaged: [] });
      // The next writer cuts the torn tail (kept in .torn) and its own revision lands after the intact one.
      const edited = await fresh.update(USER, a.id, { content: `third words ${cut}` }, all);
      expect(edited.content).toBe(`third words ${cut}`);
      current = edited.content;
      expect(existsSync(`${file('CHRONOLOGICAL')}.torn`)).toBe(true);
      await fresh.close();
    }
    const last = new FsVault({ dataDir });
    expect((await last.get(USER, a.id, all)).content).toBe(`third words ${block.length - 2}`);
    expect((await last.versions(USER, a.id, all)).map((v) => v.entry?.content)).toEqual([
      `third words ${block.length - 6}`,
      `third words ${block.indexOf('### Content')}`,
      'third words 10',
      'first words',
    ]);
    expect((await last.check(USER, all)).damaged).toEqual([]);
    await last.close();
  });

  it('concurrent edits and annotations from two processes lose nothing', async () => {
    const other = new FsVault({ dataDir, clock });
    const stored: MemoryEntry[] = [];
    for (let i = 0; i < 6; i++) stored.push(await vault.append(USER, entry({ content: `memory ${i}` })));
    await Promise.all(
      stored.flatMap((e, i) => [
        vault.update(USER, e.id, { content: `memory ${i}, edited` }, all),
        other.annotate(USER, [{ id: e.id, analysis: (x) => `${x} Importance ${i}.`.trim() }], all),
        other.annotate(USER, [{ id: e.id, link: [stored[(i + 1) % stored.length]!.id] }], all),
      ]),
    );
    for (const reader of [vault, other]) {
      for (const [i, e] of stored.entries()) {
        const got = await reader.get(USER, e.id, all);
        expect(got.content).toBe(`memory ${i}, edited`);
        expect(got.analysis).toBe(`Importance ${i}.`);
        expect(got.related).toEqual([stored[(i + 1) % stored.length]!.id]);
        const versions = await reader.versions(USER, e.id, all);
        expect(versions.map((v) => v.entry?.content)).toEqual([`memory ${i}`]);
      }
    }
    expect((await other.check(USER, all)).damaged).toEqual([]);
    await other.close();
  });

  it('trash hides an entry everywhere; restore brings back the very same entry', async () => {
    const a = await vault.append(USER, entry({ content: 'keep me', tags: ['river'] }));
    const b = await vault.append(USER, entry({ content: 'linked', related: [a.id] }));
    const trashed = await vault.trash(USER, a.id, all);
    expect(trashed).toEqual(a);
    expect(await codeOf(vault.get(USER, a.id, all))).toBe('NOT_FOUND');
    expect((await vault.read(USER, {}, all)).entries.map((e) => e.id)).toEqual([b.id]);
    expect((await vault.read(USER, { tags: ['river'] }, all)).total).toBe(0);
    expect(await codeOf(vault.update(USER, a.id, { content: 'x' }, all))).toBe('NOT_FOUND');
    expect(await codeOf(vault.trash(USER, a.id, all))).toBe('NOT_FOUND');
    const trash = await vault.listTrash(USER, all);
    expect(trash).toEqual([
      {
        id: a.id,
        category: 'CHRONOLOGICAL',
        level: 1,
        trashedAt: '2026-11-30T09:00:00.000Z',
        erasedAfter: '2026-12-30T09:00:00.000Z',
        entry: a,
      },
    ]);
    // A fresh process sees the same trash.
    const fresh = new FsVault({ dataDir, clock });
    expect((await fresh.listTrash(USER, all)).map((t) => t.id)).toEqual([a.id]);
    expect(await fresh.restore(USER, a.id, all)).toEqual(a);
    expect(await vault.get(USER, a.id, all)).toEqual(a);
    expect((await vault.read(USER, { order: 'asc' }, all)).entries).toEqual([a, b]);
    expect(await vault.listTrash(USER, all)).toEqual([]);
    expect(await codeOf(vault.restore(USER, a.id, all))).toBe('NOT_FOUND');
    expect(await vault.check(USER, all)).toMatchObject({ intact: 2, damaged: [] });
    await fresh.close();
  });

  it('erases the trash after 30 days at the next change, and "empty trash" or a permanent delete at once', async () => {
    const a = await vault.append(USER, entry({ content: 'old' }));
    const b = await vault.append(USER, entry({ content: 'newer' }));
    const c = await vault.append(USER, entry({ content: 'kept', related: [a.id, b.id] }));
    await vault.update(USER, a.id, { content: 'old, edited' }, all);
    await vault.trash(USER, a.id, all);
    clock.advance(20 * 86_400_000);
    await vault.trash(USER, b.id, all);
    clock.advance(10 * 86_400_000 + 1); // a: 30 days and 1 ms in the trash; b: 10 days
    const trash = await vault.listTrash(USER, all);
    expect(trash.map((t) => t.id)).toEqual([b.id]);
    expect(blocksOf('CHRONOLOGICAL', a.id)).toBe(0); // every block, the version included
    expect(readFileSync(file('CHRONOLOGICAL'), 'utf8')).not.toContain('old');
    expect(await codeOf(vault.restore(USER, a.id, all))).toBe('NOT_FOUND');
    expect(await vault.emptyTrash(USER, all)).toBe(1);
    expect(blocksOf('CHRONOLOGICAL', b.id)).toBe(0);
    expect(await vault.listTrash(USER, all)).toEqual([]);
    expect((await vault.get(USER, c.id, all)).related).toEqual([a.id]); // expiry leaves a dangling id; empty trash
    // A permanent delete of a memory with versions erases them all.
    await vault.update(USER, c.id, { content: 'kept, edited' }, all);
    await vault.delete(USER, c.id, all);
    expect(blocksOf('CHRONOLOGICAL', c.id)).toBe(0);
    expect(await codeOf(vault.get(USER, c.id, all))).toBe('NOT_FOUND');
    expect(await vault.check(USER, all)).toMatchObject({ intact: 0, damaged: [] });
  });

  it('compaction drops superseded annotations but keeps the versions of the text', async () => {
    const a = await vault.append(USER, entry({ content: 'version one' }));
    const b = await vault.append(USER, entry({ content: 'other' }));
    await vault.annotate(USER, [{ id: a.id, analysis: () => 'note 0' }], all);
    await vault.update(USER, a.id, { content: 'version two' }, all);
    for (let i = 1; i <= 12; i++) {
      await vault.annotate(
        USER,
        [
          { id: a.id, analysis: () => `note ${i}` },
          { id: b.id, analysis: () => `note ${i}` },
        ],
        all,
      );
    }
    // 26 blocks were appended; compaction (at 8 droppable and a quarter of the file) kept the file small.
    expect(blocksOf('CHRONOLOGICAL', a.id) + blocksOf('CHRONOLOGICAL', b.id)).toBeLessThan(14);
    const fresh = new FsVault({ dataDir });
    const versions = await fresh.versions(USER, a.id, all);
    expect(versions.map((v) => [v.entry?.content, v.entry?.analysis])).toEqual([['version one', 'note 0']]);
    expect((await fresh.get(USER, a.id, all)).analysis).toBe('note 12');
    expect((await fresh.get(USER, b.id, all)).analysis).toBe('note 12');
    expect(await fresh.check(USER, all)).toMatchObject({ intact: 2, damaged: [] });
    await fresh.close();
  });

  it('an edit that re-classifies keeps the version in its own file; a move up erases the lower copies', async () => {
    const a = await vault.append(USER, entry({ content: 'my PIN is 4321' }));
    const moved = await vault.update(USER, a.id, { content: 'my PIN is 9876', category: 'SECRET' }, all);
    expect(moved).toMatchObject({ category: 'SECRET', level: 3 });
    expect((await vault.read(USER, { categories: ['CHRONOLOGICAL'] }, all)).total).toBe(0);
    expect((await vault.read(USER, {}, plainOpener([1]))).locked).toBe(1);
    expect(blocksOf('CHRONOLOGICAL', a.id)).toBe(1); // the version, at the level it was written at
    const versions = await vault.versions(USER, a.id, all);
    expect(versions).toMatchObject([{ revision: 1, category: 'CHRONOLOGICAL', level: 1 }]);
    expect(versions[0]?.entry?.content).toBe('my PIN is 4321');
    // The person moves another memory up without editing it: no copy stays at the lower level.
    const b = await vault.append(USER, entry({ content: 'the safe code is 7391' }));
    await vault.annotate(USER, [{ id: b.id, analysis: () => 'noted' }], all);
    await vault.update(USER, b.id, { category: 'ULTRASECRET' }, all);
    // The sentence, not just "7391": the file's hex checksum and ULID hold those four digits about once in 5,000 runs.
    expect(readFileSync(file('CHRONOLOGICAL'), 'utf8')).not.toContain('safe code is 7391');
    expect((await vault.get(USER, b.id, all)).category).toBe('ULTRASECRET');
    expect(await vault.versions(USER, b.id, all)).toEqual([]);
    expect(await vault.check(USER, all)).toMatchObject({ intact: 2, damaged: [] });
  });

  it('refuses bad ids and reports a damaged revision without losing the one before', async () => {
    expect(await codeOf(vault.trash(USER, '../../etc/passwd', all))).toBe('VALIDATION_ERROR');
    expect(await codeOf(vault.versions(USER, 'nope', all))).toBe('VALIDATION_ERROR');
    const a = await vault.append(USER, entry({ content: 'steady' }));
    await vault.annotate(USER, [{ id: a.id, analysis: () => 'flipped later' }], all);
    writeFileSync(file('CHRONOLOGICAL'), readFileSync(file('CHRONOLOGICAL'), 'utf8').replace('flipped', 'FLIPPED'));
    const fresh = new FsVault({ dataDir });
    expect((await fresh.get(USER, a.id, all)).content).toBe('steady');
    expect((await fresh.get(USER, a.id, all)).analysis).toBe('');
    expect((await fresh.check(USER, all)).damaged.map((d) => d.id)).toEqual([a.id]);
    await fresh.close();
  });
});

describe('FsVault revisions (sealed levels)', () => {
  let dataDir: string;
  let vault: FsVault;
  const sealer = testSealer();
  const file = (kind: Category) => join(dataDir, 'users', USER, `${kind}.${USER}.md`);

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'memvault-revisions-sealed-'));
    vault = new FsVault({ dataDir, sealer });
    await vault.createUser({ userId: USER });
  });

  afterEach(async () => {
    await vault.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a version of a SECRET entry cannot be read with a level-1 opener', async () => {
    const secret = await vault.append(USER, entry({ content: 'the alarm code is 5512', category: 'SECRET' }));
    const edited = await vault.update(
      USER,
      secret.id,
      { content: 'I changed the alarm code', category: 'GENERAL' },
      testOpener(),
    );
    const levelOne = testOpener([1]);
    expect((await vault.get(USER, secret.id, levelOne)).content).toBe('I changed the alarm code');
    const versions = await vault.versions(USER, secret.id, levelOne);
    expect(versions).toEqual([
      { revision: 1, category: 'SECRET', level: 3, savedAt: null, replacedAt: expect.any(String), entry: null },
    ]);
    const full = await vault.versions(USER, secret.id, testOpener());
    expect(full[0]?.entry).toEqual(secret);
    expect(full[0]?.savedAt).toBe(secret.date);
    // Nothing of either version is plaintext on disk; the level-1 list shows only the current revision.
    for (const kind of ['GENERAL', 'SECRET'] as const) {
      const text = readFileSync(file(kind), 'utf8');
      // "alarm code" (with its space) cannot occur in the base64 of a sealed block, as "alarm" alone can.
      expect(text).not.toContain('alarm code');
    }
    expect((await vault.read(USER, {}, levelOne)).entries).toEqual([edited]);
    expect((await vault.read(USER, {}, levelOne)).locked).toBe(0);
  });

  it('binds the visible revision line to the sealed one: an edited line makes the block damaged', async () => {
    const a = await vault.append(USER, entry({ content: 'sealed at level 1' }));
    await vault.trash(USER, a.id, testOpener());
    expect(await codeOf(vault.get(USER, a.id, testOpener()))).toBe('NOT_FOUND');
    // Someone with the files turns the trash revision into an update to bring it back unnoticed.
    writeFileSync(file('CHRONOLOGICAL'), readFileSync(file('CHRONOLOGICAL'), 'utf8').replace('(trash, ', '(update, '));
    const fresh = new FsVault({ dataDir, sealer });
    expect(await codeOf(fresh.get(USER, a.id, testOpener()))).toBe('DATA_CORRUPTION');
    expect((await fresh.check(USER, testOpener())).damaged).toEqual([
      { id: a.id, category: 'CHRONOLOGICAL', reason: expect.stringMatching(/visible revision differs/) },
    ]);
    await fresh.close();
  });

  it('trash, restore and annotate keep sealed entries sealed; reseal keeps every revision', async () => {
    const s = await vault.append(USER, entry({ content: 'a secret plan', category: 'ULTRASECRET' }));
    await vault.annotate(USER, [{ id: s.id, analysis: () => 'noted' }], testOpener());
    await vault.trash(USER, s.id, testOpener());
    expect(await vault.listTrash(USER, testOpener([1, 2]))).toMatchObject([
      { id: s.id, level: 4, category: 'ULTRASECRET', entry: null },
    ]);
    expect(await codeOf(vault.restore(USER, s.id, testOpener([1, 2])))).toBe('SECURITY_ERROR');
    await vault.restore(USER, s.id, testOpener());
    expect(readFileSync(file('ULTRASECRET'), 'utf8')).not.toContain('secret plan');
    expect(await vault.reseal(USER, testOpener())).toBe(4);
    const fresh = new FsVault({ dataDir, sealer });
    expect(await fresh.get(USER, s.id, testOpener())).toMatchObject({ content: 'a secret plan', analysis: 'noted' });
    expect(await fresh.check(USER, testOpener())).toMatchObject({ intact: 1, damaged: [] });
    await fresh.close();
  });
});
