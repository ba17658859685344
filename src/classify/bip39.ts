import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemvaultError } from '../core/errors.js';
import { defaultModelDir } from './assets.js';

/** Mnemonic lengths BIP-39 defines (128–256 bits of entropy). */
export const BIP39_LENGTHS: readonly number[] = [12, 15, 18, 21, 24];

let cached: ReadonlyMap<string, number> | undefined;

/**
 * The official English BIP-39 word list (2048 words, shipped as `assets/classifier/bip39-english.txt`),
 * as word → index. Loaded once.
 */
export function bip39Words(): ReadonlyMap<string, number> {
  if (cached) return cached;
  const file = join(defaultModelDir(), 'bip39-english.txt');
  let words: string[];
  try {
    words = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch (cause) {
    throw new MemvaultError('CLASSIFICATION_ERROR', 'The BIP-39 word list is missing; reinstall memvault.', { cause });
  }
  if (words.length !== 2048) {
    throw new MemvaultError('CLASSIFICATION_ERROR', 'The BIP-39 word list is damaged; reinstall memvault.');
  }
  cached = new Map(words.map((w, i) => [w, i]));
  return cached;
}

/**
 * True when `words` form a valid BIP-39 mnemonic: a defined length, every word in the list, and the
 * checksum bits (the first `len/3` bits of SHA-256 over the entropy) matching.
 */
export function isValidMnemonic(words: readonly string[]): boolean {
  if (!BIP39_LENGTHS.includes(words.length)) return false;
  const list = bip39Words();
  let bits = '';
  for (const word of words) {
    const index = list.get(word.toLowerCase());
    if (index === undefined) return false;
    bits += index.toString(2).padStart(11, '0');
  }
  const checksumBits = words.length / 3;
  const entropyBits = bits.length - checksumBits;
  const entropy = Buffer.alloc(entropyBits / 8);
  for (let i = 0; i < entropy.length; i++) entropy[i] = Number.parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  const hash = createHash('sha256').update(entropy).digest();
  const expected = Array.from(hash.subarray(0, 1), (b) => b.toString(2).padStart(8, '0'))
    .join('')
    .slice(0, checksumBits);
  return expected === bits.slice(entropyBits);
}
