import { describe, expect, it } from 'vitest';
import type { SearchHit } from '../../src/ports/search.js';
import { hitLines } from '../../src/cli/format.js';
import { entry } from '../search/helpers.js';

const hit = (content: string, signals: string[]): SearchHit => ({
  entry: entry(content),
  score: 0.5,
  signals,
  highlighted: content,
});

describe('search output for a person', () => {
  it('lists hits that only relate by meaning apart, after the matches', () => {
    const lines = hitLines([hit('Gym pool after work', ['semantic', 'related']), hit('Locker code changed', ['bm25'])]);
    expect(lines[0]).toContain('Locker code changed');
    expect(lines.indexOf('Related, not matching:')).toBeGreaterThan(0);
    expect(lines.at(-1)).toContain('Gym pool after work');
  });

  it('says nothing matches when every hit is only related', () => {
    const lines = hitLines([hit('Gym pool after work', ['semantic', 'related'])]);
    expect(lines[0]).toBe('No memory matches.');
    expect(lines).toContain('Related, not matching:');
  });
});
