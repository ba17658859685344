import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { anyFileContains, memvault, snapshot, tempDir } from '../helpers/cli.js';

const PHONE = '+1 (415) 555-0134';
const USER = '+14155550134';
const PASSWORD = 'correct horse battery staple 42';

let dir: { path: string; cleanup(): void };
let D: string;
beforeEach(() => {
  dir = tempDir();
  D = join(dir.path, 'data');
});
afterEach(() => dir.cleanup());

const createUser = (extra: string[] = [], env: NodeJS.ProcessEnv = {}) =>
  memvault(['user', 'create', '--phone', PHONE, '--name', 'Ada', '--password-stdin', '--data-dir', D, ...extra], {
    stdin: `${PASSWORD}\n`,
    env,
  });

describe('memvault user create', () => {
  it('creates the six Markdown files under D/users/<E.164>/', async () => {
    const result = await createUser(['--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json<{ user: { userId: string; name: string } }>().user).toMatchObject({ userId: USER, name: 'Ada' });
    const files = readdirSync(join(D, 'users', USER));
    for (const kind of ['USER', 'CHRONOLOGICAL', 'GENERAL', 'CONFIDENTIAL', 'SECRET', 'ULTRASECRET']) {
      expect(files).toContain(`${kind}.${USER}.md`);
    }
  });

  it('refuses a second user with the same number (CONFLICT, exit 73) and changes nothing', async () => {
    expect((await createUser()).code).toBe(0);
    const before = snapshot(D);
    const again = await createUser();
    expect(again.code).toBe(73);
    expect(again.stderr).toContain('CONFLICT');
    expect(snapshot(D)).toEqual(before);
  });

  it.each([
    ['../../etc/passwd'],
    ['+1 555 0100/../x'],
    ['+1415\u00005550134'],
    ['+١٤١٥٥٥٥٠١٣٤'],
    [''],
    ['9'.repeat(10_000)],
  ])('rejects phone #%# with VALIDATION_ERROR (exit 65) and creates nothing', async (phone) => {
    const result = await memvault(['user', 'create', '--phone', phone, '--data-dir', D]);
    expect(result.code).toBe(65);
    expect(result.stderr).toContain('VALIDATION_ERROR');
    expect(existsSync(join(D, 'users')) ? readdirSync(join(D, 'users')) : []).toEqual([]);
  });
});

describe('memvault add, list, show', () => {
  beforeEach(async () => {
    expect((await createUser()).code).toBe(0);
  });

  it('adds, lists as JSON and shows an entry', async () => {
    const add = await memvault([
      'add',
      '--user',
      USER,
      '--data-dir',
      D,
      '--json',
      'Went kayaking with Odette yesterday',
    ]);
    expect(add.code, add.stderr).toBe(0);
    const { entry } = add.json<{ entry: { id: string; category: string; level: number; content: string } }>();
    expect(entry).toMatchObject({
      category: 'CHRONOLOGICAL',
      level: 1,
      content: 'Went kayaking with Odette yesterday',
    });

    const list = await memvault(['list', '--user', USER, '--data-dir', D, '--json']);
    expect(list.code, list.stderr).toBe(0);
    const listed = list.json<{ entries: { id: string }[]; total: number }>();
    expect(listed.entries.map((e) => e.id)).toEqual([entry.id]);

    const show = await memvault(['show', '--user', USER, '--data-dir', D, entry.id]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('Went kayaking with Odette yesterday');
    expect(show.stdout).toContain(entry.id);
  });

  it('takes --category to override the classifier', async () => {
    const add = await memvault([
      'add',
      '--user',
      USER,
      '--data-dir',
      D,
      '--json',
      '--category',
      'general',
      'Lunch at noon',
    ]);
    expect(add.code, add.stderr).toBe(0);
    expect(add.json<{ entry: { category: string } }>().entry.category).toBe('GENERAL');
  });

  it.each([
    [['add', '--user', '+14155550199', 'hello'], 66, 'NOT_FOUND'],
    [['add', '--user', USER, '--category', 'TOPSECRET', 'hello'], 65, 'VALIDATION_ERROR'],
    [['add', '--user', USER, '   '], 65, 'VALIDATION_ERROR'],
    [['add', '--user', USER, 'x'.repeat(70_000)], 65, 'VALIDATION_ERROR'],
    [['add', '--user', 'not-a-phone', 'hello'], 65, 'VALIDATION_ERROR'],
    [['show', '--user', USER, '01ARZ3NDEKTSV4RRFFQ69G5FAV'], 66, 'NOT_FOUND'],
    [['show', '--user', USER, '../../etc/passwd'], 66, 'NOT_FOUND'],
  ])('bad input #%# (exit code $1) fails and changes nothing', async (args, code, errorCode) => {
    await memvault(['add', '--user', USER, '--data-dir', D, 'Something already stored']);
    const before = snapshot(D);
    const result = await memvault([...args, '--data-dir', D]);
    expect(result.code).toBe(code);
    expect(result.stderr).toContain(errorCode);
    expect(snapshot(D)).toEqual(before);
  });

  it('reports a data directory that cannot be written as STORAGE_ERROR (exit 74)', async () => {
    // Tests run as root, which ignores permission bits: a path under a regular file cannot be created by anyone.
    const blocked = join(dir.path, 'blocked');
    writeFileSync(blocked, 'not a directory');
    const result = await memvault(['add', '--user', USER, '--data-dir', join(blocked, 'data'), 'hello']);
    expect(result.code).toBe(74);
    expect(result.stderr).toContain('STORAGE_ERROR');
    expect(result.stderr).toContain('data directory');
    expect(result.stderr).toContain('--data-dir');
    // The message names the folder by role, never by absolute path (issue 18).
    expect(result.stderr).not.toContain(dir.path);
    expect(readFileSync(blocked, 'utf8')).toBe('not a directory');
  });
});

describe('memvault import', () => {
  beforeEach(async () => {
    expect((await createUser()).code).toBe(0);
  });

  it('imports JSON lines, reports bad lines by number and keeps the good ones', async () => {
    const file = join(dir.path, 'messages.jsonl');
    writeFileSync(
      file,
      [
        JSON.stringify({ text: 'Met Nadia for coffee', timestamp: '2026-03-01T10:00:00Z', externalId: 'm1' }),
        '{not json',
        JSON.stringify({ txt: 'typo field' }),
        JSON.stringify({ text: 'The electrician Marta fixed the lights', timestamp: 1772445600, externalId: 2 }),
        '',
      ].join('\n'),
    );
    const result = await memvault(['import', '--user', USER, '--data-dir', D, '--json', file]);
    expect(result.code).toBe(65);
    const summary = result.json<{ imported: number; failures: { line: number; code: string }[] }>();
    expect(summary.imported).toBe(2);
    expect(summary.failures.map((f) => f.line)).toEqual([2, 3]);

    const list = await memvault(['list', '--user', USER, '--data-dir', D, '--json', '--oldest-first']);
    const entries = list.json<{ entries: { externalId: string; date: string }[] }>().entries;
    expect(entries.map((e) => e.externalId)).toEqual(['m1', '2']);
    expect(entries[0]?.date).toBe('2026-03-01T10:00:00.000Z');
    expect(entries[1]?.date).toBe('2026-03-02T10:00:00.000Z');
  });

  it('--strict stops at the first bad line', async () => {
    const file = join(dir.path, 'messages.jsonl');
    writeFileSync(file, ['{"text":"first"}', '[1,2]', '{"text":"never reached"}'].join('\n'));
    const result = await memvault(['import', '--user', USER, '--data-dir', D, '--strict', file]);
    expect(result.code).toBe(65);
    expect(result.stderr).toContain('Line 2');
    const list = await memvault(['list', '--user', USER, '--data-dir', D, '--json']);
    expect(list.json<{ entries: { content: string }[] }>().entries.map((e) => e.content)).toEqual(['first']);
  });
  it('ignores fields it does not know (counted and reported once) and refuses them only with --strict', async () => {
    const file = join(dir.path, 'export.jsonl');
    // Another tool's export: every line carries fields memvault has no use for.
    writeFileSync(
      file,
      [
        JSON.stringify({ text: 'Met Nadia for coffee', user: 'ada', chat: 7 }),
        JSON.stringify({ text: 'Bought a new bike', user: 'ada', chat: 7, reactions: [] }),
        JSON.stringify({ text: 'No extras here' }),
      ].join('\n'),
    );
    const lenient = await memvault(['import', '--user', USER, '--data-dir', D, '--json', file]);
    expect(lenient.code, lenient.stderr).toBe(0);
    expect(lenient.json()).toMatchObject({
      imported: 3,
      failed: 0,
      ignoredFields: { lines: 2, fields: ['chat', 'reactions', 'user'] },
    });

    const text = await memvault(['import', '--user', USER, '--data-dir', D, file]);
    expect(text.code, text.stderr).toBe(0);
    const notices = `${text.stdout}${text.stderr}`.split('\n').filter((l) => l.includes('ignored'));
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain('2 lines');
    expect(notices[0]).toContain('user');
    expect(notices[0]).toContain('--strict');

    const strict = await memvault(['import', '--user', USER, '--data-dir', D, '--strict', '--json', file]);
    expect(strict.code).toBe(65);
    expect(strict.json()).toMatchObject({ imported: 0, failed: 1, failures: [{ line: 1 }] });
    expect(strict.json<{ failures: { message: string }[] }>().failures[0]?.message).toContain('user');
  });
});

describe('memvault import of chat exports', () => {
  beforeEach(async () => {
    expect((await createUser()).code).toBe(0);
  });

  it('imports a WhatsApp export and a Telegram export, detected from the files', async () => {
    const wa = join(dir.path, 'WhatsApp Chat with Nadia.txt');
    writeFileSync(
      wa,
      [
        '12/03/2024, 19:02 - Messages and calls are end-to-end encrypted.',
        '12/03/2024, 19:02 - Nadia: I moved to Oslo last month!',
        '13/03/2024, 08:15 - Ada: <Media omitted>',
      ].join('\n'),
    );
    const tg = join(dir.path, 'result.json');
    writeFileSync(
      tg,
      JSON.stringify(
        {
          id: 7,
          messages: [
            {
              id: 9,
              type: 'message',
              date_unixtime: '1710324000',
              from: 'Marta',
              text: 'The electrician comes on Friday',
            },
          ],
        },
        null,
        1,
      ),
    );
    const first = await memvault(['import', '--user', USER, '--data-dir', D, '--json', wa]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.json()).toMatchObject({ format: 'whatsapp', imported: 1, failed: 0 });
    const second = await memvault(['import', '--user', USER, '--data-dir', D, '--json', tg]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.json()).toMatchObject({ format: 'telegram', imported: 1 });

    const list = await memvault(
      ['list', '--user', USER, '--data-dir', D, '--json', '--oldest-first', '--password-stdin'],
      {
        stdin: `${PASSWORD}\n`,
      },
    );
    const entries = list.json<{ entries: { content: string; externalId: string; date: string }[] }>().entries;
    expect(entries.map((e) => [e.content, e.externalId, e.date])).toEqual([
      ['Nadia: I moved to Oslo last month!', 'whatsapp:2', '2024-03-12T19:02:00.000Z'],
      ['Marta: The electrician comes on Friday', 'telegram:7:9', '2024-03-13T10:00:00.000Z'],
    ]);
  });

  it('refuses an unknown --format before touching anything', async () => {
    const before = snapshot(D);
    const result = await memvault(['import', '--user', USER, '--data-dir', D, '--format', 'csv', 'x.csv']);
    expect(result.code).toBe(65);
    expect(snapshot(D)).toEqual(before);
  });
});

describe('sealing on disk', () => {
  it('in the default mode no byte under the data directory holds the message text', async () => {
    expect((await createUser()).code).toBe(0);
    expect((await memvault(['add', '--user', USER, '--data-dir', D, 'My gym locker code is 5521'])).code).toBe(0);
    expect((await memvault(['add', '--user', USER, '--data-dir', D, 'Went kayaking with Odette yesterday'])).code).toBe(
      0,
    );
    for (const needle of ['5521', 'kayaking', 'Odette']) expect(anyFileContains(D, needle)).toBeNull();
  });

  it('with MEMVAULT_LEVEL1=plain level 1 is readable Markdown and the locker code is still sealed', async () => {
    const env = { MEMVAULT_LEVEL1: 'plain' };
    expect((await createUser([], env)).code).toBe(0);
    const secret = await memvault(['add', '--user', USER, '--data-dir', D, '--json', 'My gym locker code is 5521'], {
      env,
    });
    expect(secret.json<{ entry: { level: number } }>().entry.level).toBeGreaterThanOrEqual(3);
    expect(
      (await memvault(['add', '--user', USER, '--data-dir', D, 'Went kayaking with Odette yesterday'], { env })).code,
    ).toBe(0);
    const chrono = readFileSync(join(D, 'users', USER, `CHRONOLOGICAL.${USER}.md`), 'utf8');
    expect(chrono).toContain('### Content\nWent kayaking with Odette yesterday');
    expect(anyFileContains(D, '5521')).toBeNull();
  });
});
