import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseChatGpt, parseClaude } from '../../src/cli/import-assistants.js';
import { detectFormat } from '../../src/cli/import-formats.js';
import { memvault, snapshot, tempDir } from '../helpers/cli.js';

const FIXTURES = resolve(import.meta.dirname, '../fixtures');
const CHATGPT = join(FIXTURES, 'chatgpt/conversations.json');
const CLAUDE = join(FIXTURES, 'claude/conversations.json');
const USER = '+14155550134';

type Parsed = ReturnType<typeof parseChatGpt>;
const plain = (records: Parsed) =>
  records.map((r) =>
    'error' in r
      ? { n: r.line, error: r.error }
      : { n: r.line, text: r.text, at: r.at?.toISOString(), id: r.externalId },
  );

describe('ChatGPT export (conversations.json)', () => {
  const content = readFileSync(CHATGPT, 'utf8');

  it('takes what the person wrote on the branch they saw last, with times and message ids; bad records by number', () => {
    expect(plain(parseChatGpt(content))).toEqual([
      {
        n: 2,
        text: 'My sister Inês and I are flying to Lisbon on 12 December, can you suggest a day plan for Alfama?',
        at: '2024-11-14T16:00:05.123Z',
        id: 'chatgpt:aaa1d0c2-1111-4b7a-8e55-000000000002',
      },
      {
        // The image is left out; the words with it are kept.
        n: 4,
        text: 'Here is the hotel booking, we stay at Casa do Largo until the 16th.',
        at: '2024-11-14T16:05:00.123Z',
        id: 'chatgpt:c4d5e6f7-3333-4e8f-b1c2-000000000004',
      },
      {
        // No create_time on the message: the conversation's.
        n: 7,
        text: 'My doctor said my ferritin is low, 11 ng/mL. What should I eat?',
        at: '2024-11-28T13:20:00.500Z',
        id: 'chatgpt:f0000000-6666-4a00-9b00-000000000007',
      },
      { n: 8, error: 'conversation 2: not a ChatGPT message (needs id and author)' },
      {
        n: 9,
        text: 'Thanks, I will book a follow-up for January.',
        at: '2024-11-28T13:20:40.500Z',
        id: 'chatgpt:f0000000-6666-4a00-9b00-000000000009',
      },
    ]);
  });

  it('adds the assistant’s answers with --include-assistant, never code runs or regenerated drafts', () => {
    const records = plain(parseChatGpt(content, { includeAssistant: true }));
    expect(records.map((r) => r.n)).toEqual([2, 3, 4, 6, 7, 8, 9]);
    expect(records.find((r) => r.n === 3)).toMatchObject({
      text: expect.stringMatching(/^ChatGPT: Start at the Miradouro/),
    });
    expect(JSON.stringify(records)).not.toContain('earlier draft');
    expect(JSON.stringify(records)).not.toContain('days_between');
  });

  it('without current_node, reads every node in time order', () => {
    const json = JSON.parse(content) as { current_node?: string }[];
    for (const c of json) delete c.current_node;
    const texts = plain(parseChatGpt(JSON.stringify(json), { includeAssistant: true })).map((r) => r.text ?? r.error);
    expect(texts).toContain('ChatGPT: An earlier draft answer that was regenerated.');
  });

  it('refuses a file that is not an export, or one cut short, as a whole', () => {
    expect(() => parseChatGpt('{"title":"x"}')).toThrow(/not a ChatGPT export/);
    expect(() => parseChatGpt(content.slice(0, content.length - 40))).toThrow(/not valid JSON \(cut short\?\)/);
    expect(plain(parseChatGpt('[{"title":"no tree"}]'))).toEqual([
      { n: 1, error: 'conversation 1 has no message tree ("mapping")' },
    ]);
  });

  it('refuses absurd times instead of storing them', () => {
    const json = [
      {
        create_time: null,
        mapping: {
          a: {
            message: {
              id: 'm1',
              author: { role: 'user' },
              create_time: 1e13,
              content: { content_type: 'text', parts: ['hi'] },
            },
          },
        },
      },
    ];
    expect(plain(parseChatGpt(JSON.stringify(json)))).toEqual([
      { n: 1, error: 'conversation 1: the message has no valid time' },
    ]);
  });
});

describe('Claude export (conversations.json)', () => {
  const content = readFileSync(CLAUDE, 'utf8');

  it('takes what the person wrote (content blocks or text), skipping attachments without words', () => {
    expect(plain(parseClaude(content))).toEqual([
      {
        n: 1,
        text: 'Tomás turns 7 on 21 March and he is obsessed with volcanoes. Ideas for a present under 40 euros?',
        at: '2025-03-02T18:40:11.590Z',
        id: 'claude:9d0e1f2a-0001-4c3d-8e4f-5a6b7c8d9e01',
      },
      {
        n: 4,
        text: 'Ordered the volcano kit from the science shop, it arrives Friday.',
        at: '2025-03-02T18:46:02.991Z',
        id: 'claude:9d0e1f2a-0004-4c3d-8e4f-5a6b7c8d9e04',
      },
      {
        n: 5,
        text: 'I ran 10 km along the river this morning in 58 minutes, my best time so far.',
        at: '2025-04-10T06:55:30.000Z',
        id: 'claude:9d0e1f2a-0005-4c3d-8e4f-5a6b7c8d9e05',
      },
      { n: 6, error: 'conversation 2: not a Claude message (needs uuid, sender and created_at)' },
    ]);
    const both = plain(parseClaude(content, { includeAssistant: true }));
    expect(both.map((r) => r.n)).toEqual([1, 2, 4, 5, 6, 7]);
    expect(both.find((r) => r.n === 7)?.text).toBe('Claude: Congratulations! Keep the long run easy next week.');
  });

  it('detects both exports from their first bytes, and refuses an unknown JSON list', () => {
    expect(detectFormat('conversations.json', content.slice(0, 4096))).toBe('claude');
    expect(detectFormat('conversations.json', readFileSync(CHATGPT, 'utf8').slice(0, 4096))).toBe('chatgpt');
    expect(() => detectFormat('list.json', '[{"a":1}]')).toThrow(/neither a ChatGPT nor a Claude export/);
    expect(() => parseClaude('{"chat_messages":[]}')).toThrow(/not a Claude export/);
  });
});

describe('memvault import of ChatGPT and Claude exports', () => {
  let dir: { path: string; cleanup(): void };
  let D: string;
  beforeEach(async () => {
    dir = tempDir();
    D = join(dir.path, 'data');
    // With a password, level 2 is out of the operator's reach: sealed memories must still import only once.
    const created = await memvault(['user', 'create', '--phone', USER, '--data-dir', D, '--password-stdin'], {
      stdin: 'a long private passphrase\n',
    });
    expect(created.code, created.stderr).toBe(0);
  });
  afterEach(() => dir.cleanup());

  const list = async () =>
    (await memvault(['list', '--user', USER, '--data-dir', D, '--json', '--oldest-first'])).json<{
      entries: { content: string; date: string; externalId: string; channel: string }[];
      locked: number;
    }>();

  it('imports a ChatGPT export once: re-importing adds nothing, sealed memories included', async () => {
    const first = await memvault(['import', '--user', USER, '--data-dir', D, '--json', CHATGPT]);
    expect(first.code).toBe(65); // one bad record
    expect(first.json()).toMatchObject({
      format: 'chatgpt',
      imported: 4,
      skipped: 0,
      failed: 1,
      failures: [{ line: 8, code: 'VALIDATION_ERROR' }],
    });
    const after = await list();
    expect(after.entries.length + after.locked).toBe(4);
    // The ferritin message is sealed at level 2, which the operator cannot open: only the ledger knows it.
    expect(after.locked).toBe(1);
    expect(after.entries[0]).toMatchObject({
      content: 'My sister Inês and I are flying to Lisbon on 12 December, can you suggest a day plan for Alfama?',
      date: '2024-11-14T16:00:05.123Z',
      externalId: 'chatgpt:aaa1d0c2-1111-4b7a-8e55-000000000002',
      channel: 'import',
    });

    const again = await memvault(['import', '--user', USER, '--data-dir', D, '--json', CHATGPT]);
    expect(again.json()).toMatchObject({ imported: 0, skipped: 4, failed: 1 });
    const same = await list();
    expect(same.entries.length + same.locked).toBe(4);

    // The assistant's answers come in on request, still without repeating what is there.
    const withAnswers = await memvault([
      'import',
      '--user',
      USER,
      '--data-dir',
      D,
      '--json',
      '--include-assistant',
      CHATGPT,
    ]);
    expect(withAnswers.json()).toMatchObject({ imported: 2, skipped: 4 });
    const text = await memvault(['import', '--user', USER, '--data-dir', D, CHATGPT]);
    expect(text.stdout).toContain('Imported 0 memories from 5 ChatGPT messages (4 imported before, skipped); 1 bad:');
    expect(text.stdout).toContain('message 8: conversation 2: not a ChatGPT message');
  });

  it('two imports of the same export at once store each message once', async () => {
    const runs = await Promise.all([
      memvault(['import', '--user', USER, '--data-dir', D, '--json', CHATGPT]),
      memvault(['import', '--user', USER, '--data-dir', D, '--json', CHATGPT]),
    ]);
    const outcomes = runs.map((r) =>
      r.stdout ? r.json<{ imported: number; skipped: number }>() : { conflict: r.stderr.includes('Another import') },
    );
    // Either the second waited for the first and skipped everything, or it was refused while the first ran.
    expect(outcomes).toEqual(expect.arrayContaining([expect.objectContaining({ imported: 4, skipped: 0 })]));
    const other = outcomes.find((o) => !('imported' in o && o.imported === 4));
    expect([{ conflict: true }, expect.objectContaining({ imported: 0, skipped: 4 })]).toContainEqual(other);
    const after = await list();
    expect(after.entries.length + after.locked).toBe(4);
  });

  it('imports a Claude export, with the assistant’s answers only when asked', async () => {
    const result = await memvault(['import', '--user', USER, '--data-dir', D, '--json', '--include-assistant', CLAUDE]);
    expect(result.json()).toMatchObject({ format: 'claude', imported: 5, failed: 1, failures: [{ line: 6 }] });
    const entries = (await list()).entries;
    expect(entries.map((e) => e.content)).toContain('Claude: Congratulations! Keep the long run easy next week.');
    expect(entries.find((e) => e.content.startsWith('I ran 10 km'))?.date).toBe('2025-04-10T06:55:30.000Z');
  });

  it('imports nothing from a file cut short, and refuses --include-assistant for other formats', async () => {
    const cut = join(dir.path, 'conversations.json');
    const content = readFileSync(CLAUDE, 'utf8');
    writeFileSync(cut, content.slice(0, Math.floor(content.length / 2)));
    const before = snapshot(D);
    const result = await memvault(['import', '--user', USER, '--data-dir', D, cut]);
    expect(result.code).toBe(65);
    expect(result.stderr).toContain('Nothing was imported');
    expect(snapshot(D)).toEqual(before);

    const jsonl = join(dir.path, 'm.jsonl');
    writeFileSync(jsonl, '{"text":"hello"}\n');
    const refused = await memvault(['import', '--user', USER, '--data-dir', D, '--include-assistant', jsonl]);
    expect(refused.code).toBe(65);
    expect(refused.stderr).toContain('--include-assistant applies to ChatGPT and Claude exports only');
  });
});
