/**
 * Text features for the statistical model: word unigrams and bigrams plus character 3–5-grams, hashed into a
 * fixed number of buckets (the hashing trick) so the model file stays compact and no vocabulary is stored.
 * Values that vary without changing meaning (digits, long random tokens, e-mail addresses) are replaced
 * by their shape first, so "PIN is 8812" and "PIN is 4471" look alike to the model.
 */

/** A sparse vector: parallel bucket indices and values, indices unique. */
export interface SparseVector {
  readonly indices: Uint32Array;
  readonly values: Float32Array;
}

export interface FeatureOptions {
  /** log2 of the bucket count. */
  readonly bits: number;
  /** Seed mixed into every hash (the personal model uses a per-user salt). */
  readonly seed?: number;
  /** Character n-grams on or off (the personal model keeps only words). */
  readonly charGrams?: boolean;
}

/** 32-bit FNV-1a over UTF-16 code units, seeded. */
export function fnv1a(text: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const WORD = /_[a-z_]+_|[\p{L}\p{N}][\p{L}\p{N}'’_-]*|[\p{Extended_Pictographic}]|[$€£%#@/:]/gu;

/** Maps a raw token to the form the model sees. */
function shape(token: string): string {
  if (token.startsWith('_')) return token;
  if (/^\d+$/.test(token)) return token.length <= 2 ? '<num>' : `<digits${Math.min(token.length, 12)}>`;
  if (/^\d+(?:[.,:]\d+)+$/.test(token)) return '<number>';
  if (/\d/.test(token) && /[a-z]/i.test(token)) {
    if (token.length >= 16) return '<token>';
    if (/^\d+(?:st|nd|rd|th|am|pm|k|mg|ml|lb|lbs|kg|km|h|hr|hrs|min|mins|s|x)$/i.test(token))
      return token.replace(/\d+/, '<n>');
    return '<alnum>';
  }
  if (token.length > 24) return '<long>';
  return token.replace(/’/g, "'");
}

/** Lower-cased, shape-normalised word tokens of a text. */
export function tokenize(text: string): string[] {
  const lower = text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\s@]{1,64}@[^\s@.]{1,63}(?:\.[^\s@.]{1,63})+/g, ' _email_ ')
    .replace(/https?:\/\/\S+/g, ' _url_ ');
  // (Bounded quantifiers above: an unbounded \S+ before '@' backtracks quadratically on long tokens.)
  const out: string[] = [];
  for (const m of lower.matchAll(WORD)) out.push(shape(m[0]));
  return out;
}

/**
 * Hashed, L2-normalised feature vector of a text: each feature counts log(1 + n), signed by a hash bit to
 * make bucket collisions cancel rather than pile up.
 */
export function featurize(text: string, options: FeatureOptions): SparseVector {
  const mask = (1 << options.bits) - 1;
  const seed = options.seed ?? 0;
  const counts = new Map<number, number>();
  const add = (feature: string) => {
    const h = fnv1a(feature, seed);
    const index = h & mask;
    const sign = h & 0x80000000 ? -1 : 1;
    counts.set(index, (counts.get(index) ?? 0) + sign);
  };
  const tokens = tokenize(text);
  let prev = '<s>';
  for (const t of tokens) {
    add(`w:${t}`);
    add(`b:${prev} ${t}`);
    prev = t;
    if (options.charGrams !== false && !t.startsWith('<') && t.length >= 2) {
      const padded = ` ${t} `;
      for (let n = 3; n <= 5; n++) {
        for (let i = 0; i + n <= padded.length; i++) add(`c:${padded.slice(i, i + n)}`);
      }
    }
  }
  if (tokens.length > 0) add(`b:${prev} </s>`);
  add(`len:${Math.min(Math.ceil(tokens.length / 4), 8)}`);

  const indices = new Uint32Array(counts.size);
  const values = new Float32Array(counts.size);
  let norm = 0;
  let k = 0;
  for (const [index, count] of counts) {
    const v = Math.sign(count) * Math.log1p(Math.abs(count));
    indices[k] = index;
    values[k] = v;
    norm += v * v;
    k++;
  }
  if (norm > 0) {
    const inv = 1 / Math.sqrt(norm);
    for (let i = 0; i < values.length; i++) values[i]! *= inv;
  }
  return { indices, values };
}

/** Cosine similarity of two L2-normalised sparse vectors. */
export function dot(a: SparseVector, b: SparseVector): number {
  const small = a.indices.length <= b.indices.length ? a : b;
  const large = small === a ? b : a;
  const lookup = new Map<number, number>();
  for (let i = 0; i < large.indices.length; i++) lookup.set(large.indices[i]!, large.values[i]!);
  let sum = 0;
  for (let i = 0; i < small.indices.length; i++) sum += small.values[i]! * (lookup.get(small.indices[i]!) ?? 0);
  return sum;
}
