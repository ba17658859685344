import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { CATEGORIES, type SecurityLevel } from '../../src/core/category.js';
import { createSearchIndex } from '../../src/search/search-index.js';
import { entry, MemoryVault, testOpener, testSealer, USER } from './helpers.js';

const WORDS = ['dinner', 'Nadia', 'Oslo', 'car', 'automobile', 'bank', 'pin', 'hiking', 'electrician', 'the', 'moved'];
const TAGS = ['home', 'work', 'Nadia'];
const dataDir = mkdtempSync(join(tmpdir(), 'memvault-search-prop-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const arbEntry = fc.record({
  words: fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 6 }),
  category: fc.constantFrom(...CATEGORIES),
  day: fc.integer({ min: 1, max: 28 }),
  tags: fc.subarray(TAGS),
});

describe('search invariants (property)', () => {
  it('hits honour levels, filters and the limit, ranked by score, without duplicates', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(arbEntry, { minLength: 1, maxLength: 25 }),
        fc.array(fc.constantFrom(...WORDS, 'electrcian', 'last week', 'yesterday'), { maxLength: 4 }),
        fc.subarray([1, 2, 3, 4] as SecurityLevel[], { minLength: 1 }),
        fc.option(fc.constantFrom(...TAGS), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: 28 }), { nil: undefined }),
        fc.integer({ min: 1, max: 10 }),
        async (specs, queryWords, levels, tag, fromDay, limit) => {
          const entries = specs.map((s) =>
            entry(s.words.join(' '), {
              category: s.category,
              date: `2026-02-${String(s.day).padStart(2, '0')}T12:00:00.000Z`,
              tags: s.tags,
            }),
          );
          const index = createSearchIndex({ vault: new MemoryVault(entries), dataDir, sealer: testSealer() });
          try {
            const from = fromDay ? `2026-02-${String(fromDay).padStart(2, '0')}T00:00:00.000Z` : undefined;
            const hits = await index.search(
              USER,
              {
                text: queryWords.join(' '),
                limit,
                ...(tag ? { tags: [tag] } : {}),
                ...(from ? { from } : {}),
                now: new Date('2026-03-01T00:00:00Z'),
              },
              testOpener(levels),
            );
            expect(hits.length).toBeLessThanOrEqual(limit);
            expect(new Set(hits.map((h) => h.entry.id)).size).toBe(hits.length);
            for (const [i, hit] of hits.entries()) {
              expect(levels).toContain(hit.entry.level);
              if (tag) expect(hit.entry.tags.map((t) => t.toLowerCase())).toContain(tag.toLowerCase());
              if (from) expect(hit.entry.date >= from).toBe(true);
              expect(hit.signals.length).toBeGreaterThan(0);
              expect(hit.highlighted.replace(/[«»]/g, '')).toBe(hit.entry.content.replace(/[«»]/g, ''));
              if (i > 0) expect(hit.score).toBeLessThanOrEqual(hits[i - 1]!.score);
            }
          } finally {
            await index.close();
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
