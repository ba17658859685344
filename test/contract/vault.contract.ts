import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Category, SecurityLevel } from '../../src/core/category.js';
import { entryChecksum } from '../../src/core/checksum.js';
import type { MemoryEntry, NewEntry, UserId } from '../../src/core/entry.js';
import { type ErrorCode, isMemvaultError, type SecurityReason } from '../../src/core/errors.js';
import type { EntryOpener } from '../../src/ports/sealer.js';
import type { Clock } from '../../src/ports/clock.js';
import type { Vault } from '../../src/ports/vault.js';

/** What an adapter's test hands the contract: a fresh, empty vault and a way to read it. */
export interface VaultFixture {
  readonly vault: Vault;
  /** An opener for `levels` (all four by default) that can read what this vault stores. */
  opener(levels?: readonly SecurityLevel[]): EntryOpener;
  /** Removes what the fixture created (called after `vault.close()`). */
  cleanup?(): Promise<void>;
}

const ALICE = '+14155550134' as UserId;
const BOB = '+447700900123' as UserId;
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const MISSING_ID = '01JDQ7Z3N5X8Y2W4V6T8R0P2M4';

async function expectError(promise: Promise<unknown>, code: ErrorCode, reason?: SecurityReason): Promise<void> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(isMemvaultError(caught, code), `expected ${code}, got ${String(caught)}`).toBe(true);
  if (reason !== undefined) expect((caught as { reason?: string }).reason).toBe(reason);
}

const entry = (over: Partial<NewEntry> = {}): NewEntry => ({
  date: '2026-11-20T10:00:00.000Z',
  category: 'CHRONOLOGICAL',
  content: 'Walked along the river with Sara.',
  channel: 'cli',
  ...over,
});

/**
 * The behaviour every `Vault` adapter must show (src/ports/vault.ts). The filesystem vault runs it in
 * test/vault/fs-vault.test.ts; a PostgreSQL adapter runs the same function.
 */
export function runVaultContract(
  name: string,
  make: (options?: { readonly clock?: Clock }) => Promise<VaultFixture>,
): void {
  describe(`Vault contract: ${name}`, () => {
    let fx: VaultFixture;
    let vault: Vault;
    let all: EntryOpener;

    beforeEach(async () => {
      fx = await make();
      vault = fx.vault;
      all = fx.opener();
      await vault.createUser({ userId: ALICE, name: 'Alice', timezone: 'Europe/Lisbon' });
    });

    afterEach(async () => {
      await vault.close();
      await fx.cleanup?.();
    });

    describe('users', () => {
      it('creates a user with a profile and defaults', async () => {
        const profile = await vault.createUser({ userId: BOB, email: 'bob@example.com' });
        expect(profile).toMatchObject({
          userId: BOB,
          name: null,
          timezone: 'UTC',
          maxLevel: 4,
          email: 'bob@example.com',
          preferences: {},
        });
        expect(await vault.getProfile(BOB)).toEqual(profile);
        expect(await vault.hasUser(BOB)).toBe(true);
        expect(await vault.listUsers()).toEqual([ALICE, BOB].sort());
      });

      it('keeps name, time zone, level and preferences', async () => {
        const profile = await vault.createUser({
          userId: BOB,
          name: '  Bob "the builder"  ',
          timezone: 'America/New_York',
          maxLevel: 2,
          preferences: { digest_time: '21:00', language: 'none' },
        });
        expect(profile.name).toBe('Bob "the builder"');
        expect(await vault.getProfile(BOB)).toEqual(profile);
      });

      it('refuses a second user with the same id (CONFLICT)', async () => {
        await expectError(vault.createUser({ userId: ALICE }), 'CONFLICT');
      });

      it('validates the profile', async () => {
        await expectError(vault.createUser({ userId: BOB, timezone: 'Mars/Olympus' }), 'VALIDATION_ERROR');
        await expectError(vault.createUser({ userId: BOB, email: 'not an address' }), 'VALIDATION_ERROR');
        await expectError(vault.createUser({ userId: BOB, name: 'two\nlines' }), 'VALIDATION_ERROR');
        await expectError(vault.createUser({ userId: 'bob' as UserId }), 'VALIDATION_ERROR');
        expect(await vault.hasUser(BOB)).toBe(false);
      });

      it('answers NOT_FOUND for an unknown user', async () => {
        expect(await vault.hasUser(BOB)).toBe(false);
        await expectError(vault.getProfile(BOB), 'NOT_FOUND');
        await expectError(vault.append(BOB, entry()), 'NOT_FOUND');
        await expectError(vault.read(BOB, {}, all), 'NOT_FOUND');
        await expectError(vault.get(BOB, MISSING_ID, all), 'NOT_FOUND');
        await expectError(vault.revision(BOB), 'NOT_FOUND');
      });
    });

    describe('append', () => {
      it('stores an entry with id, level, normalised fields and checksum', async () => {
        const stored = await vault.append(
          ALICE,
          entry({
            date: '2026-11-20T12:00:00+02:00',
            eventDate: '2026-11-19',
            tags: [' Hiking ', '#Sara', 'hiking', 'river  walk'],
            analysis: 'An outing with a friend.',
            confidence: 0.81,
            emotionalContext: 'content',
            externalId: 'wa-17',
          }),
        );
        expect(stored.id).toMatch(ULID);
        expect(stored).toMatchObject({
          userId: ALICE,
          date: '2026-11-20T10:00:00.000Z',
          eventDate: '2026-11-19T00:00:00.000Z',
          category: 'CHRONOLOGICAL',
          level: 1,
          tags: ['Hiking', 'Sara', 'river walk'],
          analysis: 'An outing with a friend.',
          confidence: 0.81,
          related: [],
          emotionalContext: 'content',
          channel: 'cli',
          externalId: 'wa-17',
        });
        expect(stored.checksum).toBe(entryChecksum(stored));
        expect(await vault.get(ALICE, stored.id, all)).toEqual(stored);
      });

      it.each([
        ['CHRONOLOGICAL', 1],
        ['GENERAL', 1],
        ['CONFIDENTIAL', 2],
        ['SECRET', 3],
        ['ULTRASECRET', 4],
      ] as const)('gives %s level %i', async (category, level) => {
        const stored = await vault.append(ALICE, entry({ category }));
        expect(stored.level).toBe(level);
        expect(await vault.get(ALICE, stored.id, all)).toEqual(stored);
      });

      it('keeps content exactly, however it looks', async () => {
        const content =
          '  leading spaces\n\n## Memory Entry #01JDQ7Z3N5X8Y2W4V6T8R0P2M4\n---\n```js\ncode\n```\r\nCRLF\rlone CR\n' +
          '\\back\\slash 😀 שלום\n### Metadata\n\u2028 line separator\n\n';
        const stored = await vault.append(ALICE, entry({ content, category: 'SECRET' }));
        expect(stored.content).toBe(content);
        expect((await vault.get(ALICE, stored.id, all)).content).toBe(content);
        const { entries, damaged } = await vault.read(ALICE, {}, all);
        expect(damaged).toEqual([]);
        expect(entries.map((e) => e.content)).toEqual([content]);
      });

      it('rejects bad input with VALIDATION_ERROR', async () => {
        await expectError(vault.append(ALICE, entry({ content: '' })), 'VALIDATION_ERROR');
        await expectError(vault.append(ALICE, entry({ content: ' \n\t ' })), 'VALIDATION_ERROR');
        await expectError(vault.append(ALICE, entry({ content: 'x'.repeat(65_537) })), 'VALIDATION_ERROR');
        await expectError(vault.append(ALICE, entry({ date: 'yesterday' })), 'VALIDATION_ERROR');
        await expectError(vault.append(ALICE, entry({ date: '2026-02-30T10:00:00Z' })), 'VALIDATION_ERROR');
        await expectError(vault.append(ALICE, entry({ eventDate: 'soon' })), 'VALIDATION_ERROR');
        await expectError(vault.append(ALICE, entry({ category: 'DIARY' as Category })), 'VALIDATION_ERROR');
        await expectError(vault.append(ALICE, entry({ channel: 'fax' as 'cli' })), 'VALIDATION_ERROR');
        await expectError(vault.append(ALICE, entry({ confidence: 1.5 })), 'VALIDATION_ERROR');
        await expectError(vault.append(ALICE, entry({ related: ['nope'] })), 'VALIDATION_ERROR');
        await expectError(vault.append(ALICE, entry({ tags: ['x'.repeat(65)] })), 'VALIDATION_ERROR');
        expect((await vault.read(ALICE, {}, all)).total).toBe(0);
      });

      it('accepts content of exactly the limit', async () => {
        const stored = await vault.append(ALICE, entry({ content: 'é'.repeat(32_768) }));
        expect(stored.content.length).toBe(32_768);
      });

      it('loses nothing under 500 parallel appends', async () => {
        const results = await Promise.all(
          Array.from({ length: 500 }, (_, i) =>
            vault.append(ALICE, entry({ content: `memory ${i}`, category: i % 2 ? 'GENERAL' : 'CONFIDENTIAL' })),
          ),
        );
        expect(new Set(results.map((e) => e.id)).size).toBe(500);
        const { entries, total, damaged } = await vault.read(ALICE, {}, all);
        expect(total).toBe(500);
        expect(damaged).toEqual([]);
        expect(new Set(entries.map((e) => e.content))).toEqual(new Set(results.map((e) => e.content)));
      });
    });

    describe('read', () => {
      let stored: MemoryEntry[];
      beforeEach(async () => {
        const inputs: NewEntry[] = [
          entry({ date: '2026-11-01T08:00:00.000Z', tags: ['work'], content: 'a' }),
          entry({ date: '2026-11-02T08:00:00.000Z', tags: ['Work', 'Sara'], content: 'b', category: 'GENERAL' }),
          entry({ date: '2026-11-03T08:00:00.000Z', tags: ['health'], content: 'c', category: 'CONFIDENTIAL' }),
          entry({
            date: '2026-11-04T08:00:00.000Z',
            eventDate: '2026-10-01T00:00:00.000Z',
            tags: ['bank'],
            content: 'd',
            category: 'SECRET',
            externalId: 'x-4',
          }),
          entry({ date: '2026-11-05T08:00:00.000Z', tags: ['sara'], content: 'e', category: 'ULTRASECRET' }),
        ];
        stored = [];
        for (const input of inputs) stored.push(await vault.append(ALICE, input));
      });

      const contents = (entries: MemoryEntry[]) => entries.map((e) => e.content).join('');

      it('returns everything newest first by default, or oldest first', async () => {
        const result = await vault.read(ALICE, {}, all);
        expect(contents(result.entries)).toBe('edcba');
        expect(result).toMatchObject({ total: 5, locked: 0, damaged: [] });
        expect(result.entries).toEqual([...stored].reverse());
        expect(contents((await vault.read(ALICE, { order: 'asc' }, all)).entries)).toBe('abcde');
      });

      it('orders by date whatever the order of arrival, across categories', async () => {
        const late = [
          await vault.append(ALICE, entry({ date: '2026-11-03T12:00:00.000Z', content: 'x', category: 'GENERAL' })),
          await vault.append(ALICE, entry({ date: '2026-10-01T00:00:00.000Z', content: 'y' })),
          await vault.append(ALICE, entry({ date: '2026-11-04T08:00:00.000Z', content: 'z' })),
        ];
        expect(contents((await vault.read(ALICE, {}, all)).entries)).toBe('ezdxcbay');
        expect(contents((await vault.read(ALICE, { order: 'asc', limit: 3, offset: 1 }, all)).entries)).toBe('abc');
        // Same date: the id (creation order) breaks the tie.
        const [first, second] = [late[2]!, stored[3]!].sort((p, q) => (p.id < q.id ? -1 : 1));
        const tie = (
          await vault.read(
            ALICE,
            { from: '2026-11-04T08:00:00.000Z', to: '2026-11-04T08:00:00.001Z', order: 'asc' },
            all,
          )
        ).entries;
        expect(tie.map((e) => e.id)).toEqual([first!.id, second!.id]);
      });

      it('pages with limit and offset, total counting every match', async () => {
        const page = await vault.read(ALICE, { limit: 2, offset: 1 }, all);
        expect(contents(page.entries)).toBe('dc');
        expect(page.total).toBe(5);
        expect((await vault.read(ALICE, { limit: 0 }, all)).entries).toEqual([]);
        expect((await vault.read(ALICE, { offset: 10 }, all)).entries).toEqual([]);
      });

      it('filters by category and level', async () => {
        expect(contents((await vault.read(ALICE, { categories: ['GENERAL', 'SECRET'] }, all)).entries)).toBe('db');
        expect(contents((await vault.read(ALICE, { levels: [1] }, all)).entries)).toBe('ba');
        expect(contents((await vault.read(ALICE, { levels: [2, 4] }, all)).entries)).toBe('ec');
      });

      it('filters by message date: from inclusive, to exclusive', async () => {
        const r = await vault.read(ALICE, { from: '2026-11-02T08:00:00.000Z', to: '2026-11-04T08:00:00.000Z' }, all);
        expect(contents(r.entries)).toBe('cb');
        expect(r.total).toBe(2);
      });

      it('filters by event date when asked', async () => {
        const r = await vault.read(ALICE, { dateField: 'eventDate', from: '2026-09-01', to: '2026-10-15' }, all);
        expect(contents(r.entries)).toBe('d');
      });

      it('filters by tags, all of them, case-insensitively', async () => {
        expect(contents((await vault.read(ALICE, { tags: ['WORK'] }, all)).entries)).toBe('ba');
        expect(contents((await vault.read(ALICE, { tags: ['work', 'sara'] }, all)).entries)).toBe('b');
        expect(contents((await vault.read(ALICE, { tags: ['sara'] }, all)).entries)).toBe('eb');
        expect((await vault.read(ALICE, { tags: ['nothing'] }, all)).total).toBe(0);
      });

      it('filters by external id', async () => {
        expect(contents((await vault.read(ALICE, { externalId: 'x-4' }, all)).entries)).toBe('d');
      });

      it('counts what the opener cannot open as locked, never returning it', async () => {
        const r = await vault.read(ALICE, {}, fx.opener([1]));
        expect(contents(r.entries)).toBe('ba');
        expect(r.locked).toBe(3);
        expect(r.total).toBe(2);
        const r2 = await vault.read(ALICE, {}, fx.opener([1, 2, 3]));
        expect(contents(r2.entries)).toBe('dcba');
        expect(r2.locked).toBe(1);
      });

      it('rejects a malformed filter', async () => {
        await expectError(vault.read(ALICE, { from: 'last week' }, all), 'VALIDATION_ERROR');
        await expectError(vault.read(ALICE, { limit: -1 }, all), 'VALIDATION_ERROR');
        await expectError(vault.read(ALICE, { categories: ['DIARY' as Category] }, all), 'VALIDATION_ERROR');
        await expectError(vault.read(ALICE, { order: 'up' as 'asc' }, all), 'VALIDATION_ERROR');
      });

      it('keeps users apart', async () => {
        await vault.createUser({ userId: BOB });
        expect((await vault.read(BOB, {}, all)).total).toBe(0);
        await expectError(vault.get(BOB, stored[0]!.id, all), 'NOT_FOUND');
      });
    });

    describe('get', () => {
      it('needs the level unlocked, and a known, well-formed id', async () => {
        const secret = await vault.append(ALICE, entry({ category: 'SECRET' }));
        await expectError(vault.get(ALICE, secret.id, fx.opener([1, 2])), 'SECURITY_ERROR', 'insufficient_permissions');
        await expectError(vault.get(ALICE, MISSING_ID, all), 'NOT_FOUND');
        await expectError(vault.get(ALICE, '../../etc/passwd', all), 'VALIDATION_ERROR');
      });
    });

    describe('update', () => {
      it('changes fields and recomputes the checksum', async () => {
        const stored = await vault.append(ALICE, entry({ tags: ['a'] }));
        const updated = await vault.update(
          ALICE,
          stored.id,
          { content: 'Walked with Sara and Tom.', tags: ['b'] },
          all,
        );
        expect(updated).toMatchObject({
          id: stored.id,
          date: stored.date,
          content: 'Walked with Sara and Tom.',
          tags: ['b'],
        });
        expect(updated.checksum).toBe(entryChecksum(updated));
        expect(updated.checksum).not.toBe(stored.checksum);
        expect(await vault.get(ALICE, stored.id, all)).toEqual(updated);
        expect((await vault.read(ALICE, {}, all)).entries).toEqual([updated]);
      });

      it('moves an entry to another category and level', async () => {
        const other = await vault.append(ALICE, entry({ content: 'stays' }));
        const stored = await vault.append(ALICE, entry({ content: 'my PIN is 4321' }));
        const moved = await vault.update(ALICE, stored.id, { category: 'SECRET' }, all);
        expect(moved).toMatchObject({ id: stored.id, category: 'SECRET', level: 3 });
        expect(await vault.get(ALICE, stored.id, all)).toEqual(moved);
        expect((await vault.read(ALICE, { categories: ['CHRONOLOGICAL'] }, all)).entries).toEqual([other]);
        expect((await vault.read(ALICE, { categories: ['SECRET'] }, all)).entries).toEqual([moved]);
        const levelOne = await vault.read(ALICE, {}, fx.opener([1]));
        expect(levelOne.locked).toBe(1);
        expect((await vault.check(ALICE, all)).damaged).toEqual([]);
      });

      it('needs the entry’s level unlocked and valid changes', async () => {
        const stored = await vault.append(ALICE, entry({ category: 'CONFIDENTIAL' }));
        await expectError(vault.update(ALICE, stored.id, { content: 'x' }, fx.opener([1])), 'SECURITY_ERROR');
        await expectError(vault.update(ALICE, stored.id, { content: '' }, all), 'VALIDATION_ERROR');
        await expectError(vault.update(ALICE, stored.id, { category: 'DIARY' as Category }, all), 'VALIDATION_ERROR');
        await expectError(vault.update(ALICE, MISSING_ID, { content: 'x' }, all), 'NOT_FOUND');
        expect(await vault.get(ALICE, stored.id, all)).toEqual(stored);
      });
    });

    describe('link and delete', () => {
      it('links both ways, once', async () => {
        const a = await vault.append(ALICE, entry({ content: 'a' }));
        const b = await vault.append(ALICE, entry({ content: 'b', category: 'CONFIDENTIAL' }));
        await vault.link(ALICE, a.id, b.id, all);
        await vault.link(ALICE, b.id, a.id, all);
        expect((await vault.get(ALICE, a.id, all)).related).toEqual([b.id]);
        expect((await vault.get(ALICE, b.id, all)).related).toEqual([a.id]);
        const checked = await vault.get(ALICE, a.id, all);
        expect(checked.checksum).toBe(entryChecksum(checked));
      });

      it('refuses self-links, unknown ids and locked levels', async () => {
        const a = await vault.append(ALICE, entry());
        const s = await vault.append(ALICE, entry({ category: 'ULTRASECRET' }));
        await expectError(vault.link(ALICE, a.id, a.id, all), 'VALIDATION_ERROR');
        await expectError(vault.link(ALICE, a.id, MISSING_ID, all), 'NOT_FOUND');
        await expectError(vault.link(ALICE, a.id, s.id, fx.opener([1, 2, 3])), 'SECURITY_ERROR');
      });

      it('deletes an entry and every reference to it', async () => {
        const a = await vault.append(ALICE, entry({ content: 'a' }));
        const b = await vault.append(ALICE, entry({ content: 'b', category: 'GENERAL' }));
        const c = await vault.append(ALICE, entry({ content: 'c', category: 'SECRET', related: [a.id, b.id] }));
        await vault.link(ALICE, a.id, b.id, all);
        await vault.delete(ALICE, b.id, all);
        await expectError(vault.get(ALICE, b.id, all), 'NOT_FOUND');
        expect((await vault.get(ALICE, a.id, all)).related).toEqual([]);
        expect((await vault.get(ALICE, c.id, all)).related).toEqual([a.id]);
        expect(contentsOf(await vault.read(ALICE, {}, all))).toEqual(['c', 'a']);
        await expectError(vault.delete(ALICE, b.id, all), 'NOT_FOUND');
      });

      it('needs the level unlocked to delete', async () => {
        const s = await vault.append(ALICE, entry({ category: 'SECRET' }));
        await expectError(vault.delete(ALICE, s.id, fx.opener([1, 2])), 'SECURITY_ERROR', 'insufficient_permissions');
        expect((await vault.get(ALICE, s.id, all)).id).toBe(s.id);
      });
    });

    describe('check, reseal, revision', () => {
      it('reports an intact vault', async () => {
        for (const category of ['CHRONOLOGICAL', 'CONFIDENTIAL', 'ULTRASECRET'] as const) {
          await vault.append(ALICE, entry({ category }));
        }
        const report = await vault.check(ALICE, all);
        expect(report).toMatchObject({ userId: ALICE, damaged: [] });
        expect(report.intact + report.locked).toBe(3);
        expect(report.intact).toBe(3);
      });

      it('reseals every entry without changing it', async () => {
        const stored = [
          await vault.append(ALICE, entry({ content: 'one' })),
          await vault.append(ALICE, entry({ content: 'two', category: 'SECRET' })),
        ];
        expect(await vault.reseal(ALICE, all)).toBe(2);
        expect((await vault.read(ALICE, { order: 'asc' }, all)).entries).toEqual(stored);
      });

      it('changes the revision on every write and only then', async () => {
        const r0 = await vault.revision(ALICE);
        expect(await vault.revision(ALICE)).toBe(r0);
        const a = await vault.append(ALICE, entry());
        const r1 = await vault.revision(ALICE);
        expect(r1).not.toBe(r0);
        await vault.read(ALICE, {}, all);
        expect(await vault.revision(ALICE)).toBe(r1);
        await vault.update(ALICE, a.id, { tags: ['x'] }, all);
        const r2 = await vault.revision(ALICE);
        expect(r2).not.toBe(r1);
        await vault.delete(ALICE, a.id, all);
        expect(await vault.revision(ALICE)).not.toBe(r2);
      });
    });
  });
  runRevisionContract(name, make);
}

function contentsOf(result: { entries: MemoryEntry[] }): string[] {
  return result.entries.map((e) => e.content);
}

/**
 * Entry revisions (docs/entry-format.md, "Revisions") as every adapter that keeps them must show them: the
 * file vault appends blocks, the PostgreSQL vault inserts rows. Storage-specific checks (bytes on disk,
 * compaction, torn appends) stay in test/vault/revisions.test.ts.
 */
function runRevisionContract(
  name: string,
  make: (options?: { readonly clock?: Clock }) => Promise<VaultFixture>,
): void {
  describe(`Vault revisions contract: ${name}`, () => {
    let fx: VaultFixture;
    let vault: Vault;
    let all: EntryOpener;
    let now: number;
    const clock: Clock = { now: () => new Date(now) };
    const DAY = 86_400_000;

    beforeEach(async () => {
      now = Date.parse('2026-11-30T09:00:00.000Z');
      fx = await make({ clock });
      vault = fx.vault;
      all = fx.opener();
      await vault.createUser({ userId: ALICE, name: 'Alice' });
    });

    afterEach(async () => {
      await vault.close();
      await fx.cleanup?.();
    });

    const revised = () => {
      const { trash, restore, listTrash, emptyTrash, versions, annotate } = vault;
      if (!trash || !restore || !listTrash || !emptyTrash || !versions || !annotate) {
        throw new Error(`${name} does not keep revisions`);
      }
      return {
        trash: trash.bind(vault),
        restore: restore.bind(vault),
        listTrash: listTrash.bind(vault),
        emptyTrash: emptyTrash.bind(vault),
        versions: versions.bind(vault),
        annotate: annotate.bind(vault),
      };
    };

    it('edits keep versions, notes and links do not; the latest revision is what every read sees', async () => {
      const v = revised();
      const a = await vault.append(ALICE, entry({ content: 'first text', tags: ['river'] }));
      const b = await vault.append(ALICE, entry({ content: 'other' }));
      now += 1_000;
      const edited = await vault.update(ALICE, a.id, { content: 'second text' }, all);
      now += 1_000;
      expect(await v.annotate(ALICE, [{ id: a.id, analysis: () => 'important' }, { id: b.id }], all)).toBe(1);
      await vault.link(ALICE, a.id, b.id, all);
      now += 1_000;
      await vault.update(ALICE, a.id, { content: 'third text' }, all);
      const current = await vault.get(ALICE, a.id, all);
      expect(current).toMatchObject({ content: 'third text', analysis: 'important', related: [b.id] });
      expect((await vault.read(ALICE, { tags: ['river'] }, all)).entries).toEqual([current]);
      expect((await vault.read(ALICE, {}, all)).total).toBe(2);
      expect((await vault.get(ALICE, b.id, all)).related).toEqual([a.id]);
      const versions = await v.versions(ALICE, a.id, all);
      expect(versions.map((x) => [x.revision, x.entry?.content])).toEqual([
        [4, 'second text'],
        [1, 'first text'],
      ]);
      expect(versions[1]).toMatchObject({ savedAt: a.date, replacedAt: '2026-11-30T09:00:01.000Z', entry: a });
      expect(versions[0]).toMatchObject({
        savedAt: '2026-11-30T09:00:02.000Z',
        replacedAt: '2026-11-30T09:00:03.000Z',
      });
      expect(versions[0]?.entry?.checksum).not.toBe(edited.checksum); // the text after the link, not the edit
      // Nothing changed: nothing written, no version.
      expect(await vault.update(ALICE, a.id, { content: 'third text' }, all)).toEqual(current);
      expect(await v.versions(ALICE, a.id, all)).toHaveLength(2);
      expect(await vault.check(ALICE, all)).toMatchObject({ intact: 2, damaged: [] });
      await expectError(v.versions(ALICE, MISSING_ID, all), 'NOT_FOUND');
      await expectError(v.versions(ALICE, 'nope', all), 'VALIDATION_ERROR');
    });

    it('trash hides an entry everywhere; restore brings back the very same entry', async () => {
      const v = revised();
      const a = await vault.append(ALICE, entry({ content: 'keep me', tags: ['river'] }));
      const b = await vault.append(ALICE, entry({ content: 'linked', related: [a.id] }));
      expect(await v.trash(ALICE, a.id, all)).toEqual(a);
      await expectError(vault.get(ALICE, a.id, all), 'NOT_FOUND');
      expect((await vault.read(ALICE, {}, all)).entries.map((e) => e.id)).toEqual([b.id]);
      expect((await vault.read(ALICE, { tags: ['river'] }, all)).total).toBe(0);
      await expectError(vault.update(ALICE, a.id, { content: 'x' }, all), 'NOT_FOUND');
      await expectError(v.trash(ALICE, a.id, all), 'NOT_FOUND');
      await expectError(
        v.annotate(ALICE, [{ id: a.id, analysis: () => 'x' }], all).then(() => vault.get(ALICE, a.id, all)),
        'NOT_FOUND',
      );
      await expectError(v.versions(ALICE, a.id, all), 'NOT_FOUND');
      expect(await v.listTrash(ALICE, all)).toEqual([
        {
          id: a.id,
          category: 'CHRONOLOGICAL',
          level: 1,
          trashedAt: '2026-11-30T09:00:00.000Z',
          erasedAfter: '2026-12-30T09:00:00.000Z',
          entry: a,
        },
      ]);
      expect(await v.restore(ALICE, a.id, all)).toEqual(a);
      expect(await vault.get(ALICE, a.id, all)).toEqual(a);
      expect((await vault.read(ALICE, { order: 'asc' }, all)).entries).toEqual([a, b]);
      expect(await v.listTrash(ALICE, all)).toEqual([]);
      await expectError(v.restore(ALICE, a.id, all), 'NOT_FOUND');
      await expectError(v.restore(ALICE, MISSING_ID, all), 'NOT_FOUND');
      expect(await vault.check(ALICE, all)).toMatchObject({ intact: 2, damaged: [] });
    });

    it('a trashed memory at a locked level is listed without content and cannot be restored', async () => {
      const v = revised();
      const secret = await vault.append(ALICE, entry({ content: 'the alarm code is 5512', category: 'SECRET' }));
      const levelOne = fx.opener([1]);
      await expectError(v.trash(ALICE, secret.id, levelOne), 'SECURITY_ERROR');
      await v.trash(ALICE, secret.id, all);
      expect(await v.listTrash(ALICE, levelOne)).toMatchObject([{ id: secret.id, level: 3, entry: null }]);
      await expectError(v.restore(ALICE, secret.id, levelOne), 'SECURITY_ERROR');
      expect(await v.emptyTrash(ALICE, levelOne)).toBe(0);
      expect(await v.listTrash(ALICE, all)).toMatchObject([{ id: secret.id, entry: secret }]);
    });

    it('erases the trash after 30 days at the next change, and "empty trash" or a permanent delete at once', async () => {
      const v = revised();
      const a = await vault.append(ALICE, entry({ content: 'old' }));
      const b = await vault.append(ALICE, entry({ content: 'newer' }));
      const c = await vault.append(ALICE, entry({ content: 'kept', related: [a.id, b.id] }));
      await vault.update(ALICE, a.id, { content: 'old, edited' }, all);
      await v.trash(ALICE, a.id, all);
      now += 20 * DAY;
      await v.trash(ALICE, b.id, all);
      now += 10 * DAY + 1; // a: 30 days and 1 ms in the trash; b: 10 days
      expect((await v.listTrash(ALICE, all)).map((t) => t.id)).toEqual([b.id]);
      await expectError(v.restore(ALICE, a.id, all), 'NOT_FOUND');
      await expectError(vault.delete(ALICE, a.id, all), 'NOT_FOUND');
      expect(await v.emptyTrash(ALICE, all)).toBe(1);
      expect(await v.listTrash(ALICE, all)).toEqual([]);
      expect(await v.emptyTrash(ALICE, all)).toBe(0);
      // Expiry leaves a dangling id (readers ignore it); emptying the trash removed b's.
      expect((await vault.get(ALICE, c.id, all)).related).toEqual([a.id]);
      // A permanent delete of a memory with versions erases them all, the trash too.
      await vault.update(ALICE, c.id, { content: 'kept, edited' }, all);
      await vault.delete(ALICE, c.id, all);
      await expectError(vault.get(ALICE, c.id, all), 'NOT_FOUND');
      await expectError(v.versions(ALICE, c.id, all), 'NOT_FOUND');
      expect(await vault.check(ALICE, all)).toMatchObject({ intact: 0, locked: 0, damaged: [] });
      // A trashed memory deleted for good.
      const d = await vault.append(ALICE, entry({ content: 'binned' }));
      await v.trash(ALICE, d.id, all);
      await vault.delete(ALICE, d.id, all);
      expect(await v.listTrash(ALICE, all)).toEqual([]);
      await expectError(v.restore(ALICE, d.id, all), 'NOT_FOUND');
    });

    it('an edit that re-classifies keeps the version at its own level; a move up erases the lower copies', async () => {
      const v = revised();
      const levelOne = fx.opener([1]);
      const a = await vault.append(ALICE, entry({ content: 'my PIN is 4321' }));
      const moved = await vault.update(ALICE, a.id, { content: 'my PIN is 9876', category: 'SECRET' }, all);
      expect(moved).toMatchObject({ category: 'SECRET', level: 3 });
      expect((await vault.read(ALICE, { categories: ['CHRONOLOGICAL'] }, all)).total).toBe(0);
      expect((await vault.read(ALICE, {}, levelOne)).locked).toBe(1);
      expect(await v.versions(ALICE, a.id, all)).toMatchObject([
        { revision: 1, category: 'CHRONOLOGICAL', level: 1, entry: a },
      ]);
      await expectError(v.versions(ALICE, a.id, levelOne), 'SECURITY_ERROR');
      // Down again, with a new text: the SECRET version is listed without its text to a level-1 reader.
      await vault.update(ALICE, a.id, { content: 'I changed my PIN', category: 'GENERAL' }, all);
      const seen = await v.versions(ALICE, a.id, levelOne);
      expect(seen.map((x) => [x.revision, x.level, x.entry?.content ?? null])).toEqual([
        [2, 3, null],
        [1, 1, 'my PIN is 4321'],
      ]);
      // Moved up without a change of text: no copy stays at the lower level.
      const b = await vault.append(ALICE, entry({ content: 'the safe code is 7391' }));
      await v.annotate(ALICE, [{ id: b.id, analysis: () => 'noted' }], all);
      await vault.update(ALICE, b.id, { category: 'ULTRASECRET' }, all);
      expect((await vault.get(ALICE, b.id, all)).category).toBe('ULTRASECRET');
      expect(await v.versions(ALICE, b.id, all)).toEqual([]);
      expect((await vault.read(ALICE, { categories: ['CHRONOLOGICAL'] }, all)).total).toBe(0);
      expect(await vault.check(ALICE, all)).toMatchObject({ intact: 2, damaged: [] });
      expect(await vault.check(ALICE, levelOne)).toMatchObject({ damaged: [] });
    });

    it('concurrent edits, notes, trash and links on one person lose nothing', async () => {
      const v = revised();
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) ids.push((await vault.append(ALICE, entry({ content: `memory ${i}` }))).id);
      await Promise.all([
        vault.update(ALICE, ids[0]!, { content: 'memory 0, edited' }, all),
        v.annotate(
          ALICE,
          [
            { id: ids[0]!, analysis: () => 'noted 0' },
            { id: ids[1]!, analysis: () => 'noted 1' },
          ],
          all,
        ),
        v.trash(ALICE, ids[2]!, all),
        vault.link(ALICE, ids[3]!, ids[4]!, all),
        vault.update(ALICE, ids[1]!, { tags: ['kept'] }, all),
        vault.append(ALICE, entry({ content: 'memory 6' })),
      ]);
      expect(await vault.get(ALICE, ids[0]!, all)).toMatchObject({ content: 'memory 0, edited', analysis: 'noted 0' });
      expect(await vault.get(ALICE, ids[1]!, all)).toMatchObject({ analysis: 'noted 1', tags: ['kept'] });
      expect((await vault.get(ALICE, ids[3]!, all)).related).toEqual([ids[4]]);
      expect((await v.listTrash(ALICE, all)).map((t) => t.id)).toEqual([ids[2]]);
      expect((await vault.read(ALICE, {}, all)).total).toBe(6);
    });
  });
}
