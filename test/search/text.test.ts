import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { distance } from 'fastest-levenshtein';
import {
  allowedEdits,
  contentWords,
  editDistance,
  highlight,
  names,
  queryWords,
  roughStem,
  speakerOf,
  words,
} from '../../src/search/text.js';

describe('text helpers', () => {
  it('splits words, lower-cases them and drops possessives', () => {
    expect(words("Nadia's new flat in São Paulo, 3rd floor — don't ask")).toEqual([
      'nadia',
      'new',
      'flat',
      'in',
      'são',
      'paulo',
      '3rd',
      'floor',
      "don't",
      'ask',
    ]);
    expect(contentWords('Where does Nadia live now?')).toEqual(['nadia', 'live']);
  });

  it('finds names, counting sentence-initial words only when they look like names', () => {
    const rare = (w: string) => w === 'nadia';
    expect(names('Yesterday Piotr met Nadia in Oslo. Nadia moved there.', rare).sort()).toEqual([
      'nadia',
      'oslo',
      'piotr',
    ]);
    expect(names('Went hiking. Then dinner at Home.')).toEqual(['home']);
    expect(names('I met NASA people')).toEqual(['nasa']);
  });

  it('allows edits by word length', () => {
    expect([3, 4, 7, 8, 15].map(allowedEdits)).toEqual([0, 1, 1, 2, 2]);
  });

  it('groups word forms by rough stem', () => {
    expect(new Set(['live', 'lives', 'living', 'lived'].map(roughStem)).size).toBe(1);
    expect(new Set(['moved', 'move', 'moving'].map(roughStem)).size).toBe(1);
    expect(roughStem('cars')).toBe(roughStem('car'));
    expect(roughStem('cat')).not.toBe(roughStem('car'));
  });

  it('highlights word forms and nothing else', () => {
    expect(highlight('Went hiking with Sara; hikes are fun', ['hiking'])).toBe(
      'Went «hiking» with «Sara»; «hikes» are fun'.replace('«Sara»', 'Sara'),
    );
    expect(highlight('Nadia moved to Oslo', ['moving', 'oslo'])).toBe('Nadia «moved» to «Oslo»');
    expect(highlight('nothing here', [])).toBe('nothing here');
  });

  it('highlighting only adds guillemets (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.array(fc.string({ minLength: 1, maxLength: 8 }), { maxLength: 4 }), (text, terms) => {
        const marked = highlight(text, terms);
        const strip = (s: string) => s.replace(/[«»]/g, '');
        expect(strip(marked)).toBe(strip(text));
      }),
    );
  });

  it('counts a swap of adjacent letters as one edit (Damerau–Levenshtein)', () => {
    expect(editDistance('dentsit', 'dentist')).toBe(1);
    expect(editDistance('nadai', 'nadia')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('abc', 'abc')).toBe(0);
    expect(editDistance('', 'abc')).toBe(3);
    // Early exit: anything beyond the bound is reported as bound + 1.
    expect(editDistance('electrician', 'dentist', 2)).toBe(3);
    fc.assert(
      fc.property(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), (a, b) => {
        const d = editDistance(a, b);
        expect(d).toBe(editDistance(b, a));
        // Never more than plain Levenshtein, and never less than half of it (a swap replaces two edits).
        expect(d).toBeLessThanOrEqual(distance(a, b));
        expect(2 * d).toBeGreaterThanOrEqual(distance(a, b));
      }),
    );
  });

  it('reads the sender of a chat message, and only of a chat message', () => {
    expect(speakerOf('Maria Lopez: I got a puppy!')).toEqual(['maria', 'lopez']);
    expect(speakerOf('Maria: yes')).toEqual(['maria']);
    expect(speakerOf('Note to self: buy milk')).toEqual([]);
    expect(speakerOf('met Maria: she is fine')).toEqual([]);
  });

  it('drops question scaffolding from queries, unless nothing else is left', () => {
    expect(queryWords('What kind of music does Nadia like?')).toEqual(['music', 'nadia', 'like']);
    expect(queryWords('how many')).toEqual(['many']);
  });
});
