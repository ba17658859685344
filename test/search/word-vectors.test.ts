import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createWordVectorEmbeddings, loadWordVectorTable } from '../../src/search/word-vectors.js';

const ASSETS = resolve(import.meta.dirname, '../../assets/embeddings');
const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const scratch = mkdtempSync(join(tmpdir(), 'memvault-wv-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('word-vector table', () => {
  it('loads the shipped table: common words, in frequency order', () => {
    const table = loadWordVectorTable(ASSETS);
    expect(table.dimensions).toBe(100);
    expect(table.size).toBeGreaterThanOrEqual(40_000);
    expect(table.rank('the')).toBe(0);
    expect(table.rank('automobile')).toBeGreaterThan(0);
    expect(table.rank('qwertyzzz')).toBe(-1);
    expect(table.similarity(table.rank('car'), table.rank('car'))).toBeCloseTo(1, 1);
    expect(table.similarity(table.rank('car'), table.rank('vehicle'))).toBeGreaterThan(
      table.similarity(table.rank('car'), table.rank('banana')),
    );
  });

  it('reports missing or damaged files as STORAGE_ERROR', () => {
    expect(() => loadWordVectorTable(join(scratch, 'nowhere'))).toThrow(
      expect.objectContaining({ code: 'STORAGE_ERROR' }),
    );
    const damaged = join(scratch, 'damaged');
    rmSync(damaged, { recursive: true, force: true });
    mkdirSync(damaged);
    writeFileSync(join(damaged, 'vectors.bin'), readFileSync(join(ASSETS, 'vectors.bin')).subarray(0, 1000));
    writeFileSync(join(damaged, 'vocab.txt'), 'a\nb\n');
    expect(() => loadWordVectorTable(damaged)).toThrow(expect.objectContaining({ code: 'STORAGE_ERROR' }));
  });

  it('finds every rank the same way before and after it builds its map (first line of a word wins)', () => {
    // A tiny table whose vocabulary has a repeated word, words that are prefixes of others, and no final newline.
    const words = Array.from({ length: 400 }, (_, i) => (i === 7 ? 'w3' : `w${i}`));
    words[399] = 'last';
    const dir = join(scratch, 'tiny');
    mkdirSync(dir, { recursive: true });
    const dims = 2;
    const bin = Buffer.alloc(16 + words.length * 4 + words.length * dims);
    bin.write('MVWV', 0, 'ascii');
    bin.writeUInt32LE(words.length, 8);
    bin.writeUInt32LE(dims, 12);
    for (let i = 0; i < words.length; i++) bin.writeFloatLE(1, 16 + i * 4);
    writeFileSync(join(dir, 'vectors.bin'), bin);
    writeFileSync(join(dir, 'vocab.txt'), words.join('\n'));
    const table = loadWordVectorTable(dir);
    const expected = (w: string) => words.indexOf(w);
    // More lookups than the text search serves before the map is built: both paths are exercised.
    const asked = [...words, 'w', 'w39x', '', 'w3\nw4', ...words];
    for (const w of asked) expect(table.rank(w), w).toBe(expected(w));
    expect(table.rank('w3')).toBe(3);
    expect(table.rank('last')).toBe(399);
  });
});

describe('createWordVectorEmbeddings', () => {
  const embeddings = createWordVectorEmbeddings({ assetDir: ASSETS });

  it('puts paraphrases closer than unrelated texts', async () => {
    const [car, automobile, pizza] = await embeddings.embed([
      'car',
      'Bought a used automobile from a dealer',
      'Dinner with Sara at the pizza place',
    ]);
    expect(cos(car!, automobile!)).toBeGreaterThan(cos(car!, pizza!) + 0.1);
  });

  it('returns unit vectors, or zero for text without known words (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ maxLength: 60 }), { maxLength: 5 }), async (texts) => {
        const vectors = await embeddings.embed(texts);
        expect(vectors).toHaveLength(texts.length);
        for (const v of vectors) {
          expect(v).toHaveLength(100);
          const norm = Math.sqrt(cos(v, v));
          expect(norm === 0 || Math.abs(norm - 1) < 1e-4).toBe(true);
        }
      }),
      { numRuns: 50 },
    );
  });
});
