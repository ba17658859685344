import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SecurityLevel } from '../../src/core/category.js';
import { plainSealer } from '../../src/ports/sealer.js';
import { decodeIndex, encodeIndex, indexPath, persists } from '../../src/search/persist.js';
import { OTHER_USER, testOpener, testSealer, USER } from './helpers.js';

describe('persisted index encoding', () => {
  it('round-trips arbitrary bytes, sealed and plain (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), fc.boolean(), async (bytes, plain) => {
        const text = await encodeIndex(USER, Buffer.from(bytes), testSealer(plain));
        expect(decodeIndex(USER, text, testOpener([1])).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('binds the sealed index to its user and level', async () => {
    const text = await encodeIndex(USER, Buffer.from('SQLite format 3\u0000 secret words'), testSealer());
    expect(text).not.toContain('secret');
    expect(() => decodeIndex(OTHER_USER, text, testOpener([1]))).toThrow(
      expect.objectContaining({ code: 'DATA_CORRUPTION' }),
    );
    expect(() => decodeIndex(USER, text, testOpener([]))).toThrow(expect.objectContaining({ code: 'SECURITY_ERROR' }));
  });

  it('detects a damaged plain index by its checksum', async () => {
    const text = await encodeIndex(USER, Buffer.from('hello index'), testSealer(true));
    const tampered = `${text.slice(0, -2)}AA`;
    expect(() => decodeIndex(USER, tampered, testOpener([1]))).toThrow(
      expect.objectContaining({ code: 'DATA_CORRUPTION' }),
    );
    expect(() => decodeIndex(USER, 'not an index', testOpener([1]))).toThrow(
      expect.objectContaining({ code: 'DATA_CORRUPTION' }),
    );
  });

  it('lives in the user folder, one file per persisted level', () => {
    expect(indexPath('/data', USER)).toBe(`/data/users/${USER}/INDEX.${USER}.sealed`);
    expect(indexPath('/data', USER, 2)).toBe(`/data/users/${USER}/INDEX.${USER}.level2.sealed`);
  });

  it('persists levels 1 and 2 only, level 2 only sealed', () => {
    expect([1, 2, 3, 4].map((l) => persists(l as SecurityLevel, testSealer()))).toEqual([true, true, false, false]);
    expect(persists(1, plainSealer)).toBe(true);
    expect(persists(2, plainSealer)).toBe(false);
  });

  it('seals a level-2 index to level 2: it opens only where level 2 is unlocked, and never as level 1', async () => {
    const text = await encodeIndex(USER, Buffer.from('SQLite format 3\u0000 therapy notes'), testSealer(true), 2);
    expect(text.startsWith('memvault-search-index 1 sealed\n')).toBe(true); // sealed although level 1 is plain
    expect(text).not.toContain('therapy');
    expect(decodeIndex(USER, text, testOpener([2]), 2).toString()).toContain('therapy notes');
    expect(() => decodeIndex(USER, text, testOpener([1]), 2)).toThrow(
      expect.objectContaining({ code: 'SECURITY_ERROR' }),
    );
    expect(() => decodeIndex(USER, text, testOpener([1, 2]), 1)).toThrow(
      expect.objectContaining({ code: 'DATA_CORRUPTION' }),
    );
    // A plain file is never accepted as a level-2 index, and a sealer that keeps level 2 plain cannot write one.
    const plain = await encodeIndex(USER, Buffer.from('x'), testSealer(true), 1);
    expect(() => decodeIndex(USER, plain, testOpener([1, 2]), 2)).toThrow(
      expect.objectContaining({ code: 'DATA_CORRUPTION' }),
    );
    await expect(encodeIndex(USER, Buffer.from('x'), { ...plainSealer }, 2)).rejects.toThrow(/never stored unsealed/);
  });
});
