import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeIndex, encodeIndex, indexPath } from '../../src/search/persist.js';
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

  it('lives in the user folder', () => {
    expect(indexPath('/data', USER)).toBe(`/data/users/${USER}/INDEX.${USER}.sealed`);
  });
});
