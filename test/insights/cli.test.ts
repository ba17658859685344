import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memvault, tempDir } from '../helpers/cli.js';

const dir = tempDir('memvault-insights-cli-');
const D = dir.path;
const USER = '+351912345671';

beforeAll(async () => {
  expect(
    (await memvault(['user', 'create', '--phone', USER, '--timezone', 'Europe/Lisbon', '--data-dir', D])).code,
  ).toBe(0);
  const add = (at: string, text: string) =>
    memvault(['add', '--user', USER, '--data-dir', D, '--at', at, '--category', 'CHRONOLOGICAL', text]);
  expect((await add('2026-11-28T11:00:00Z', 'Brunch with Nadia at Blue Bottle, so happy.')).code).toBe(0);
  expect((await add('2026-11-29T19:00:00Z', 'Walk with Nadia at Belem, a lovely evening.')).code).toBe(0);
}, 60_000);

afterAll(() => dir.cleanup());

describe('memvault digest and insights', () => {
  it('processes a day and shows what it found', async () => {
    const none = await memvault(['insights', '--user', USER, '--data-dir', D]);
    expect(none.stdout).toContain('No day has been processed yet');
    await memvault(['insights', '--user', USER, '--data-dir', D, '--process', '--date', '2026-11-28']);
    const r = await memvault([
      'insights',
      '--user',
      USER,
      '--data-dir',
      D,
      '--process',
      '--date',
      '2026-11-29',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const view = r.json<{ day: string; result: { connections: Array<{ reason: string }> } }>();
    expect(view.day).toBe('2026-11-29');
    expect(view.result.connections.map((c) => c.reason)).toContain('both mention Nadia');
  });

  it('prints a digest that reads as sentences', async () => {
    const r = await memvault(['digest', '--user', USER, '--data-dir', D, '--date', '2026-11-29']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Your Sunday 29 November: 1 memory\.\n/);
    expect(r.stdout).toContain('You spent time with Nadia, were at Belem, and made time for walking.');
    expect(r.stdout).toContain('A good day on the whole: mostly joy.');
    const week = await memvault([
      'digest',
      '--user',
      USER,
      '--data-dir',
      D,
      '--date',
      '2026-11-29',
      '--week',
      '--json',
    ]);
    expect(week.json<{ kind: string; memories: number }>()).toMatchObject({ kind: 'weekly', memories: 2 });
  });

  it('shows and sets what an LLM may read for digests', async () => {
    const shown = await memvault(['settings', 'llm', '--user', USER, '--data-dir', D]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('An LLM may read everyday memories (level 1) when it writes digests');
    expect(shown.stdout).toContain('no LLM is configured');
    // This person has no password, so the local operator holds level 2 and may allow it.
    const set = await memvault(['settings', 'llm', '--user', USER, '--data-dir', D, '--level', '2', '--json']);
    expect(set.code).toBe(0);
    expect(set.json<{ level: number }>().level).toBe(2);
    const bad = await memvault(['settings', 'llm', '--user', USER, '--data-dir', D, '--level', '3']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('not 0, 1 or 2');
  });

  it('refuses a day that is not a date, naming the format', async () => {
    const r = await memvault(['digest', '--user', USER, '--data-dir', D, '--date', '29/11/2026']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('VALIDATION_ERROR');
    expect(r.stderr).toContain('YYYY-MM-DD');
  });
});
