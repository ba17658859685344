import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memvault, tempDir } from '../helpers/cli.js';

/** `memvault edit`, `versions`, `delete` (to the trash or --permanent) and `trash` (--restore, --empty) (issue 13). */

const USER = '+14155550134';
const PASSWORD = 'correct horse battery staple 42';

let dir: { path: string; cleanup(): void };
let D: string;
beforeEach(async () => {
  dir = tempDir();
  D = join(dir.path, 'data');
  const created = await memvault(['user', 'create', '--phone', USER, '--password-stdin', '--data-dir', D], {
    stdin: `${PASSWORD}\n`,
  });
  expect(created.code, created.stderr).toBe(0);
});
afterEach(() => dir.cleanup());

const run = (args: string[], stdin?: string) =>
  memvault([...args, '--user', USER, '--data-dir', D, '--json'], stdin === undefined ? {} : { stdin });
const add = async (text: string) => {
  const added = await run(['add', text]);
  expect(added.code, added.stderr).toBe(0);
  return added.json<{ entry: { id: string; content: string } }>().entry;
};

describe('memvault edit and versions', () => {
  it('edits the text (also from standard input) and lists the earlier versions', async () => {
    const entry = await add('Yesterday I hiked to the lake with Sara');
    const edited = await run(['edit', entry.id, 'Yesterday I hiked to the lake with Sara and Tom']);
    expect(edited.code, edited.stderr).toBe(0);
    expect(edited.json<{ entry: { content: string } }>().entry.content).toBe(
      'Yesterday I hiked to the lake with Sara and Tom',
    );
    const piped = await run(['edit', entry.id, '-'], 'Today I swam in the lake\n');
    expect(piped.code, piped.stderr).toBe(0);
    const versions = await run(['versions', entry.id]);
    expect(versions.code, versions.stderr).toBe(0);
    expect(
      versions
        .json<{ versions: { revision: number; entry: { content: string } }[] }>()
        .versions.map((v) => [v.revision, v.entry.content]),
    ).toEqual([
      [2, 'Yesterday I hiked to the lake with Sara and Tom'],
      [1, 'Yesterday I hiked to the lake with Sara'],
    ]);
    const text = await memvault(['versions', '--user', USER, '--data-dir', D, entry.id]);
    expect(text.stdout).toContain('#1 ');
    expect(text.stdout).toContain('Yesterday I hiked to the lake with Sara\n');
  });

  it('refuses an empty text and an unknown id with the usual exit codes', async () => {
    const entry = await add('Bought a new bike today');
    const empty = await run(['edit', entry.id, '   ']);
    expect(empty.code).toBe(65);
    expect(empty.stderr).toContain('VALIDATION_ERROR');
    const unknown = await run(['edit', '01ARZ3NDEKTSV4RRFFQ69G5FAV', 'x']);
    expect(unknown.code).toBe(66);
    expect((await run(['versions', '01ARZ3NDEKTSV4RRFFQ69G5FAV'])).code).toBe(66);
  });
});

describe('memvault delete, trash and restore', () => {
  it('delete moves to the trash, restore brings it back, --permanent and trash --empty erase', async () => {
    const a = await add('Planted tomatoes in the garden box');
    const b = await add('Yesterday I walked the dog in the park with Tom');
    const deleted = await run(['delete', a.id]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.json()).toEqual({ deleted: a.id, trashed: true });
    expect((await run(['show', a.id])).code).toBe(66);
    const trash = await run(['trash']);
    expect(trash.json<{ trash: { id: string; entry: { content: string } }[] }>().trash).toMatchObject([
      { id: a.id, entry: { content: 'Planted tomatoes in the garden box' } },
    ]);
    const restored = await run(['trash', '--restore', a.id]);
    expect(restored.code, restored.stderr).toBe(0);
    expect((await run(['show', a.id])).json<{ entry: { content: string } }>().entry.content).toBe(
      'Planted tomatoes in the garden box',
    );
    expect((await run(['trash', '--restore', a.id])).code).toBe(66);

    expect((await run(['delete', '--permanent', a.id])).json()).toEqual({ deleted: a.id, trashed: false });
    expect((await run(['trash'])).json()).toEqual({ trash: [] });
    expect((await run(['trash', '--restore', a.id])).code).toBe(66);
    const trashed = await run(['delete', b.id]);
    expect(trashed.code, trashed.stderr).toBe(0);
    expect((await run(['trash', '--empty', '--restore', b.id])).code).toBe(65);
    expect((await run(['trash', '--empty'])).json()).toEqual({ erased: 1 });
    const list = await run(['list']);
    expect(list.json<{ entries: unknown[] }>().entries).toEqual([]);
  });
});
