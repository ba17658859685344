import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memvault, tempDir } from '../helpers/cli.js';

describe('memvault classify', () => {
  it('classifies one message per stdin line, in order, as JSON lines', async () => {
    const result = await memvault(['classify', '--json'], {
      stdin:
        'My debit card PIN is 8812\nOur Secret Santa budget is 20 dollars\nTook the kids to the aquarium this afternoon\n',
    });
    expect(result.code, result.stderr).toBe(0);
    const rows = result.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { category: string; eventDate: string | null; source: string });
    expect(rows.map((r) => r.category)).toEqual(['SECRET', 'GENERAL', 'CHRONOLOGICAL']);
    expect(rows[2]?.eventDate).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(rows.every((r) => r.source === 'local')).toBe(true);
  });

  it('creates nothing on disk without --user', async () => {
    const dir = tempDir();
    try {
      const result = await memvault(['classify', '--data-dir', join(dir.path, 'never'), 'hello there']);
      expect(result.code).toBe(0);
      const { existsSync } = await import('node:fs');
      expect(existsSync(join(dir.path, 'never'))).toBe(false);
    } finally {
      dir.cleanup();
    }
  });
});

describe('memvault search', () => {
  const USER = '+14155550134';
  let dir: { path: string; cleanup(): void };
  let D: string;
  const search = async (query: string) => {
    const result = await memvault(['search', '--user', USER, '--data-dir', D, '--json', query]);
    expect(result.code, result.stderr).toBe(0);
    return result.json<{ results: { content: string; score: number; id: string }[] }>().results;
  };

  beforeAll(async () => {
    dir = tempDir();
    D = join(dir.path, 'data');
    expect((await memvault(['user', 'create', '--phone', USER, '--data-dir', D])).code).toBe(0);
    const memories = [
      'Nadia moved to Oslo last spring for her new job',
      'Called the electrician Marta about the flickering kitchen lights',
      'Took the automobile to the garage for its annual inspection',
      'Had grilled sardines and vinho verde in Lisbon',
      'Finished reading a novel about the sea',
      'Planted tomatoes and basil on the balcony',
      'Dentist appointment moved to Thursday',
    ];
    for (const text of memories) {
      const added = await memvault(['add', '--user', USER, '--data-dir', D, '--category', 'GENERAL', text]);
      expect(added.code, added.stderr).toBe(0);
    }
  });
  afterAll(() => dir.cleanup());

  it('finds "Nadia moved to Oslo" for "where does nadia live now"', async () => {
    expect((await search('where does nadia live now'))[0]?.content).toContain('Nadia moved to Oslo');
  });

  it('finds the electrician for the typo "electrcian"', async () => {
    expect((await search('electrcian'))[0]?.content).toContain('electrician Marta');
  });

  it('finds the automobile for "car"', async () => {
    expect((await search('car'))[0]?.content).toContain('automobile');
  });

  it('prints the result shape of DESIGN §9', async () => {
    const [first] = await search('sardines');
    expect(Object.keys(first ?? {})).toEqual(
      expect.arrayContaining([
        'id',
        'category',
        'level',
        'date',
        'eventDate',
        'content',
        'score',
        'externalId',
        'tags',
      ]),
    );
  });
});

describe('memvault correct', () => {
  const USER = '+14155550134';
  const PASSWORD = 'correct horse battery staple 42';
  it('moves the entry to the right file and the classifier follows the correction for similar messages', async () => {
    const dir = tempDir();
    try {
      const D = join(dir.path, 'data');
      const created = await memvault(['user', 'create', '--phone', USER, '--data-dir', D, '--password-stdin'], {
        stdin: `${PASSWORD}\n`,
      });
      expect(created.code, created.stderr).toBe(0);
      const text = 'Book club tonight: we discussed the chapter about grief and my divorce';
      const added = await memvault(['add', '--user', USER, '--data-dir', D, '--json', text]);
      const { entry } = added.json<{ entry: { id: string; category: string } }>();
      const target = entry.category === 'GENERAL' ? 'CHRONOLOGICAL' : 'GENERAL';

      const corrected = await memvault(
        ['correct', '--user', USER, '--data-dir', D, '--json', '--password-stdin', entry.id, target],
        { stdin: `${PASSWORD}\n` },
      );
      expect(corrected.code, corrected.stderr).toBe(0);
      expect(corrected.json<{ entry: { id: string; category: string } }>().entry).toMatchObject({
        id: entry.id,
        category: target,
      });
      const { readFileSync } = await import('node:fs');
      const model = readFileSync(join(D, 'users', USER, `MODEL.${USER}.json`), 'utf8');
      expect(model).not.toContain('divorce');

      const again = await memvault(['classify', '--user', USER, '--data-dir', D, '--json', text]);
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout).category).toBe(target);
    } finally {
      dir.cleanup();
    }
  });
});
