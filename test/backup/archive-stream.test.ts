import { randomBytes } from 'node:crypto';
import { Decrypter, Encrypter, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { describe, expect, it } from 'vitest';
import { BackupKeys, EntryCounter, countEntries } from '../../src/backup/archive.js';
import { isMemvaultError } from '../../src/core/errors.js';
import { KEY } from './fixture.js';

/**
 * The archive's age layer streams: the header comes from the age-encryption package, the 64 KiB payload chunks are
 * sealed and opened with Node's ChaCha20-Poly1305. These tests hold it to the format: files it writes open with the
 * package (and so with `age -d`), files the package writes open with it, at every chunk-boundary size.
 */

const keys = () => new BackupKeys(Buffer.from(KEY, 'hex'));
const CHUNK = 64 * 1024;
const SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 17, 20 * CHUNK + 5];

async function all(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of source) parts.push(chunk);
  return Buffer.concat(parts);
}

/** `bytes` split into uneven pieces, as a file read or a zlib stream delivers them. */
function* pieces(bytes: Uint8Array, size = 7_777): Generator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

async function problemOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (error) {
    if (isMemvaultError(error)) return error.details?.problem;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('age payload, streamed', () => {
  it('files written here open with the age-encryption package, at every chunk boundary', async () => {
    // An extra recipient: the package decrypts with that identity, as an operator's `age -d -i key` would.
    const identity = await generateX25519Identity();
    const writer = new BackupKeys(Buffer.from(KEY, 'hex'), [await identityToRecipient(identity)]);
    for (const size of SIZES) {
      const plain = randomBytes(size);
      const file = await all(writer.encrypt(pieces(plain)));
      const d = new Decrypter();
      d.addIdentity(identity);
      expect(Buffer.from(await d.decrypt(file)).equals(plain), `size ${size}`).toBe(true);
      // And with this instance's own derived identity, streamed in small reads and in one piece.
      expect((await all(writer.decrypt(pieces(file, 5_000)))).equals(plain), `size ${size}`).toBe(true);
      expect((await all(writer.decrypt([file]))).equals(plain), `size ${size}, whole`).toBe(true);
    }
  });

  it('files the age-encryption package writes open here, at every chunk boundary', async () => {
    const k = keys();
    for (const size of SIZES) {
      const plain = randomBytes(size);
      const e = new Encrypter();
      e.addRecipient(await k.recipient());
      const file = await e.encrypt(plain);
      expect((await all(k.decrypt(pieces(file, 65_552)))).equals(plain), `size ${size}`).toBe(true);
    }
  });

  it('refuses a file cut at a chunk boundary, inside a chunk, or inside the header', async () => {
    const k = keys();
    const file = await all(k.encrypt([randomBytes(3 * CHUNK)]));
    const headerEnd = file.indexOf('\n', file.indexOf('\n--- ') + 1) + 1;
    const payload = headerEnd + 16;
    // Cut after the first and the second full chunk: what is left ends in a chunk not flagged as the last.
    for (const cut of [payload + CHUNK + 16, payload + 2 * (CHUNK + 16), file.length - 1, payload + 10]) {
      expect(await problemOf(all(k.decrypt([file.subarray(0, cut)]))), `cut at ${cut}`).toBe('tampered');
    }
    expect(await problemOf(all(k.decrypt([file.subarray(0, headerEnd - 5)])))).toBe('not_a_backup');
    expect(await problemOf(all(k.decrypt([Buffer.from('age-encryption.org/v1\n')])))).toBe('not_a_backup');
  });

  it('an appended chunk, a swapped pair of chunks or another instance key is refused', async () => {
    const k = keys();
    const file = await all(k.encrypt([randomBytes(3 * CHUNK)]));
    const payload = file.indexOf('\n', file.indexOf('\n--- ') + 1) + 1 + 16;
    const sealed = CHUNK + 16;
    const first = file.subarray(payload, payload + sealed);
    const second = file.subarray(payload + sealed, payload + 2 * sealed);
    const swapped = Buffer.concat([file.subarray(0, payload), second, first, file.subarray(payload + 2 * sealed)]);
    expect(await problemOf(all(k.decrypt([swapped])))).toBe('tampered');
    expect(await problemOf(all(k.decrypt([Buffer.concat([file, first])])))).toBe('tampered');
    const other = new BackupKeys(Buffer.from('cd'.repeat(32), 'hex'));
    expect(await problemOf(all(other.decrypt([file])))).toBe('foreign_key');
  });
});

describe('entry counting, streamed', () => {
  it('counts headings that straddle chunk boundaries exactly like the whole text', () => {
    const text = Array.from(
      { length: 50 },
      (_, i) => `## Memory Entry #${i}\n**Date**: x\n${'y'.repeat(i * 13)}\n---\n\n`,
    ).join('');
    const bytes = Buffer.from(text);
    for (const size of [1, 2, 5, 17, 18, 19, 64, 1000]) {
      const counter = new EntryCounter();
      for (const piece of pieces(bytes, size)) counter.update(piece);
      expect(counter.count, `pieces of ${size}`).toBe(50);
    }
    expect(countEntries(text)).toBe(50);
    expect(countEntries(`# header\n\n${text}`)).toBe(50);
    expect(countEntries('')).toBe(0);
  });
});
