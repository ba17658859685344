import Database from 'better-sqlite3';
import type { Category, SecurityLevel } from '../core/category.js';
import type { MemoryEntry } from '../core/entry.js';
import { corruption } from '../core/errors.js';
import { roughStem } from './text.js';

/**
 * Schema version of a serialised shard; a different version is rebuilt, never migrated (it is derived data).
 * 5: everyday-word tags are no longer stored as names.
 */
export const SHARD_FORMAT = 5;

const SCHEMA = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE docs (
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  checksum TEXT NOT NULL,
  level INTEGER NOT NULL,
  category TEXT NOT NULL,
  date REAL NOT NULL,
  event REAL,
  tags TEXT NOT NULL,
  content TEXT NOT NULL,
  keywords TEXT NOT NULL,
  terms TEXT NOT NULL,
  speaker TEXT NOT NULL,
  length INTEGER NOT NULL,
  confidence REAL NOT NULL,
  entry TEXT NOT NULL,
  vec BLOB
);
CREATE VIRTUAL TABLE fts USING fts5(
  content, keywords, content='docs', content_rowid='rowid', tokenize='porter unicode61 remove_diacritics 2'
);
`;

/** What the search needs of an entry without touching SQLite: filters, priors, vector row. */
export interface DocMeta {
  readonly rowid: number;
  readonly id: string;
  readonly checksum: string;
  readonly level: SecurityLevel;
  readonly category: Category;
  /** Message date, epoch ms. */
  readonly date: number;
  /** Event date, epoch ms, or NaN. */
  readonly event: number;
  /** Lower-cased tags. */
  readonly tags: readonly string[];
  readonly words: number;
  readonly confidence: number;
  vecRow: number;
}

/** The words and names derived from an entry when it is indexed. */
export interface DocTerms {
  /** Distinct lower-case content words (the fuzzy vocabulary). */
  readonly words: readonly string[];
  /** Distinct lower-case proper names and tags (the entity vocabulary). */
  readonly names: readonly string[];
  /** Number of words in the content. */
  readonly length: number;
  /** Lower-case words of the sender's name of a chat message ("Maria Lopez: …" → maria, lopez); empty otherwise. */
  readonly speaker: readonly string[];
}

export interface Scored {
  readonly rowid: number;
  readonly score: number;
}

/**
 * One partition of a user's index: every entry of one security level, in an in-memory SQLite database (FTS5 with
 * porter stemming, BM25) mirrored by plain arrays for filters, vocabulary and an n × d matrix of unit vectors for
 * exact cosine KNN. Level-1 and level-2 shards are serialised (then sealed to their level's key) to disk; shards of
 * levels 3–4 never leave memory.
 */
export class Shard {
  readonly level: SecurityLevel;
  readonly dims: number;
  /** Vault revision this shard reflects, or null when unknown. */
  revision: string | null = null;
  model: string;

  private readonly db: Database.Database;
  private readonly metas = new Map<number, DocMeta>();
  private readonly byId = new Map<string, number>();
  /** df of each content word, and the entry's words so a removal can decrement them. */
  private readonly vocab = new Map<string, number>();
  private readonly namesDf = new Map<string, number>();
  private readonly termsOf = new Map<number, DocTerms>();
  private vocabByLength: Map<number, string[]> | null = null;
  private vocabRanks: { words: string[]; ranks: Int32Array } | null = null;
  private avgWords: number | null = null;
  /** Rough stems as small integers, and each entry's stems: containment checks without touching SQLite. */
  private readonly stemIds = new Map<string, number>();
  private readonly stemsOf = new Map<number, Int32Array>();
  /** Word → stem id, so each distinct word is stemmed once. */
  private readonly wordStem = new Map<string, number>();
  /** Unit vectors quantised to int8, one row per entry, with a scale per row (a quarter of float32's memory). */
  private matrix: Int8Array;
  private scales: Float32Array;
  private rowMeta: DocMeta[] = [];
  /** Rowids in conversation order (message date, then id) and each one's position; rebuilt after a change. */
  private timeline: { order: Int32Array; position: Map<number, number> } | null = null;
  private nextRowid = 1;
  private readonly stmt;

  private constructor(db: Database.Database, level: SecurityLevel, dims: number, model: string) {
    this.db = db;
    this.level = level;
    this.dims = dims;
    this.model = model;
    this.matrix = new Int8Array(dims * 64);
    this.scales = new Float32Array(64);
    this.stmt = {
      insert: db.prepare(
        `INSERT INTO docs (rowid, id, checksum, level, category, date, event, tags, content, keywords, terms, speaker,
           length, confidence, entry, vec)
         VALUES (@rowid, @id, @checksum, @level, @category, @date, @event, @tags, @content, @keywords, @terms, @speaker,
           @length, @confidence, @entry, @vec)`,
      ),
      ftsInsert: db.prepare('INSERT INTO fts (rowid, content, keywords) VALUES (?, ?, ?)'),
      ftsDelete: db.prepare(`INSERT INTO fts (fts, rowid, content, keywords) VALUES ('delete', ?, ?, ?)`),
      select: db.prepare('SELECT content, keywords FROM docs WHERE rowid = ?'),
      remove: db.prepare('DELETE FROM docs WHERE rowid = ?'),
      entry: db.prepare('SELECT entry, content FROM docs WHERE rowid = ?'),
      exists: db.prepare('SELECT rowid FROM fts WHERE fts MATCH ? LIMIT 1'),
      lexical: db.prepare('SELECT rowid, bm25(fts, 1.0, 0.5) AS s FROM fts WHERE fts MATCH ? ORDER BY s LIMIT ?').raw(),
      count: db.prepare('SELECT count(*) FROM fts WHERE fts MATCH ?').pluck(),
      recent: db.prepare('SELECT rowid FROM fts WHERE fts MATCH ? ORDER BY rowid DESC LIMIT ?').pluck(),

      setMeta: db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
    };
  }

  /** A new, empty shard. */
  static create(level: SecurityLevel, dims: number, model: string): Shard {
    const db = new Database(':memory:');
    db.exec(SCHEMA);
    return new Shard(db, level, dims, model);
  }

  /**
   * Opens a serialised shard and rebuilds its in-memory mirror.
   * @throws MemvaultError DATA_CORRUPTION when the bytes are not a shard of this format.
   */
  static open(bytes: Buffer): Shard {
    let db: Database.Database | undefined;
    try {
      db = new Database(bytes);
      const meta = new Map(
        (db.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[]).map((r) => [
          r.key,
          r.value,
        ]),
      );
      if (meta.get('format') !== String(SHARD_FORMAT)) throw new Error('unknown shard format');
      const level = Number(meta.get('level')) as SecurityLevel;
      const dims = Number(meta.get('dims'));
      if (!(dims > 0 && dims <= 8192)) throw new Error('bad dims');
      const shard = new Shard(db, level, dims, meta.get('model') ?? '');
      shard.revision = meta.get('revision') ?? null;
      shard.loadMirror();
      return shard;
    } catch (cause) {
      db?.close();
      throw corruption('The search index is damaged; it will be rebuilt from the vault.', undefined, cause);
    }
  }

  private loadMirror(): void {
    const rows = this.db
      .prepare(
        'SELECT rowid, id, checksum, level, category, date, event, tags, keywords, terms, speaker, length, confidence, vec FROM docs',
      )
      .raw()
      .iterate() as IterableIterator<
      [
        number,
        string,
        string,
        number,
        string,
        number,
        number | null,
        string,
        string,
        string,
        string,
        number,
        number,
        Buffer | null,
      ]
    >;
    for (const [
      rowid,
      id,
      checksum,
      level,
      category,
      date,
      event,
      tags,
      keywords,
      terms,
      speaker,
      length,
      confidence,
      vec,
    ] of rows) {
      const meta: DocMeta = {
        rowid,
        id,
        checksum,
        level: level as SecurityLevel,
        category: category as Category,
        date,
        event: event ?? Number.NaN,
        tags: tags.length === 0 ? [] : tags.split('\u001f'),
        words: length,
        confidence,
        vecRow: -1,
      };
      const docTerms: DocTerms = {
        words: terms.length === 0 ? [] : terms.split(' '),
        names: keywords.length === 0 ? [] : keywords.split(' '),
        speaker: speaker.length === 0 ? [] : speaker.split(' '),
        length,
      };
      this.track(meta, docTerms, vec && vec.length === this.dims + 4 ? vec : null);
      this.nextRowid = Math.max(this.nextRowid, rowid + 1);
    }
  }

  /** False once closed (the user was forgotten or evicted). */
  get isOpen(): boolean {
    return this.db.open;
  }

  get size(): number {
    return this.metas.size;
  }

  checksumOf(id: string): string | undefined {
    const rowid = this.byId.get(id);
    return rowid === undefined ? undefined : this.metas.get(rowid)?.checksum;
  }

  ids(): IterableIterator<string> {
    return this.byId.keys();
  }

  meta(rowid: number): DocMeta | undefined {
    return this.metas.get(rowid);
  }

  /** Adds or replaces entries (one transaction). `vectors[i]` is the unit vector of `entries[i]`, or null. */
  put(entries: readonly MemoryEntry[], vectors: readonly (Float32Array | null)[], terms: readonly DocTerms[]): void {
    this.db.transaction(() => {
      entries.forEach((entry, i) => {
        this.deleteOne(entry.id);
        const rowid = this.nextRowid++;
        const t = terms[i]!;
        const vector = vectors[i] ?? null;
        const packed = vector && vector.length === this.dims ? quantize(vector) : null;
        const tags = entry.tags.map((tag) => tag.toLowerCase());
        const keywords = t.names.join(' ');
        const { content, ...rest } = entry;
        const date = Date.parse(entry.date);
        const event = entry.eventDate ? Date.parse(entry.eventDate) : Number.NaN;
        this.stmt.insert.run({
          rowid,
          id: entry.id,
          checksum: entry.checksum,
          level: entry.level,
          category: entry.category,
          date: Number.isNaN(date) ? 0 : date,
          event: Number.isNaN(event) ? null : event,
          tags: tags.join('\u001f'),
          content,
          keywords,
          terms: t.words.join(' '),
          speaker: t.speaker.join(' '),
          length: t.length,
          confidence: entry.confidence,
          entry: JSON.stringify(rest),
          vec: packed,
        });
        this.stmt.ftsInsert.run(rowid, content, keywords);
        this.track(
          {
            rowid,
            id: entry.id,
            checksum: entry.checksum,
            level: entry.level,
            category: entry.category,
            date: Number.isNaN(date) ? 0 : date,
            event,
            tags,
            words: t.length,
            confidence: entry.confidence,
            vecRow: -1,
          },
          t,
          packed,
        );
      });
    })();
  }

  /** Removes an entry; returns whether it was there. */
  delete(id: string): boolean {
    return this.db.transaction(() => this.deleteOne(id))();
  }

  private deleteOne(id: string): boolean {
    const rowid = this.byId.get(id);
    if (rowid === undefined) return false;
    const row = this.stmt.select.get(rowid) as { content: string; keywords: string } | undefined;
    if (row) this.stmt.ftsDelete.run(rowid, row.content, row.keywords);
    this.stmt.remove.run(rowid);
    this.untrack(rowid);
    return true;
  }

  /** `packed` is a vector as `quantize` stores it: float32 scale, then `dims` int8 components. */
  private track(meta: DocMeta, terms: DocTerms, packed: Uint8Array | null): void {
    this.metas.set(meta.rowid, meta);
    this.byId.set(meta.id, meta.rowid);
    this.termsOf.set(meta.rowid, terms);
    const stems = new Int32Array(terms.words.length);
    terms.words.forEach((w, i) => {
      let id = this.wordStem.get(w);
      if (id === undefined) {
        const stem = roughStem(w);
        id = this.stemIds.get(stem);
        if (id === undefined) {
          id = this.stemIds.size;
          this.stemIds.set(stem, id);
        }
        this.wordStem.set(w, id);
      }
      stems[i] = id;
    });
    this.stemsOf.set(meta.rowid, stems);
    for (const w of terms.words) this.vocab.set(w, (this.vocab.get(w) ?? 0) + 1);
    for (const n of terms.names) this.namesDf.set(n, (this.namesDf.get(n) ?? 0) + 1);
    this.vocabByLength = null;
    this.vocabRanks = null;
    this.avgWords = null;
    this.timeline = null;
    // Every entry gets a matrix row (zero when it has no vector) so rows and metas stay aligned.
    const row = this.rowMeta.length;
    if (row >= this.scales.length) {
      const capacity = this.scales.length * 2;
      const matrix = new Int8Array(capacity * this.dims);
      matrix.set(this.matrix);
      this.matrix = matrix;
      const scales = new Float32Array(capacity);
      scales.set(this.scales);
      this.scales = scales;
    }
    if (packed) {
      this.scales[row] = Buffer.from(packed.buffer, packed.byteOffset, 4).readFloatLE(0);
      this.matrix.set(new Int8Array(packed.buffer, packed.byteOffset + 4, this.dims), row * this.dims);
    } else {
      this.scales[row] = 0;
      this.matrix.fill(0, row * this.dims, (row + 1) * this.dims);
    }
    meta.vecRow = row;
    this.rowMeta.push(meta);
  }

  private untrack(rowid: number): void {
    const meta = this.metas.get(rowid);
    if (!meta) return;
    const terms = this.termsOf.get(rowid);
    for (const w of terms?.words ?? []) decrement(this.vocab, w);
    for (const n of terms?.names ?? []) decrement(this.namesDf, n);
    this.vocabByLength = null;
    this.vocabRanks = null;
    this.avgWords = null;
    this.timeline = null;
    // Move the last matrix row into the hole.
    const last = this.rowMeta.length - 1;
    const hole = meta.vecRow;
    const moved = this.rowMeta[last]!;
    if (hole !== last) {
      this.matrix.copyWithin(hole * this.dims, last * this.dims, (last + 1) * this.dims);
      this.scales[hole] = this.scales[last]!;
      moved.vecRow = hole;
      this.rowMeta[hole] = moved;
    }
    this.rowMeta.pop();
    this.metas.delete(rowid);
    this.byId.delete(meta.id);
    this.termsOf.delete(rowid);
    this.stemsOf.delete(rowid);
  }

  /** Whether an FTS query (already escaped) matches any entry. */
  matchesAny(ftsQuery: string): boolean {
    return this.stmt.exists.get(ftsQuery) !== undefined;
  }

  /**
   * BM25 of a one-word FTS query over content (weight 1) and names/tags (weight 0.5), without its IDF factor, and
   * how many entries of the shard match: the IDF is the caller's, computed over every shard the search reads, so
   * that scores from a shard of three entries and one of three thousand compare.
   */
  termMatches(ftsQuery: string, limit: number, keep: (meta: DocMeta) => boolean): { df: number; hits: Scored[] } {
    const rows = this.stmt.lexical.all(ftsQuery, limit) as [number, number][];
    // Fewer rows than the limit are all the matches; only a word with more is counted separately.
    const df = rows.length < limit ? rows.length : (this.stmt.count.get(ftsQuery) as number);
    if (df === 0) return { df, hits: [] };
    // FTS5's own IDF, floored at 1e-6 as FTS5 does, is divided out.
    const idf = Math.max(1e-6, Math.log((this.metas.size - df + 0.5) / (df + 0.5)));
    const hits: Scored[] = [];
    for (const [rowid, s] of rows) {
      const meta = this.metas.get(rowid);
      if (meta && keep(meta)) hits.push({ rowid, score: -s / idf });
    }
    return { df, hits };
  }

  /** The newest entries an FTS query matches (stops early: no ranking). */
  recent(ftsQuery: string, limit: number): number[] {
    return this.stmt.recent.all(ftsQuery, limit) as number[];
  }

  /** Whether an entry has a form of `word` (same rough stem), or carries `word` as a name or tag. */
  hasWord(rowid: number, word: string): boolean {
    const id = this.stemIds.get(roughStem(word));
    return id !== undefined && (this.stemsOf.get(rowid)?.includes(id) ?? false);
  }

  /** Whether `name` is (part of) the sender's name of a chat message. */
  isSpeaker(rowid: number, name: string): boolean {
    return this.termsOf.get(rowid)?.speaker.includes(name) ?? false;
  }

  /** Whether an entry is a chat message ("Name: text"), one turn of a conversation rather than a note. */
  isChatMessage(rowid: number): boolean {
    return (this.termsOf.get(rowid)?.speaker.length ?? 0) > 0;
  }

  hasNameIn(rowid: number, name: string): boolean {
    return this.termsOf.get(rowid)?.names.includes(name) ?? false;
  }

  /**
   * BM25 of one occurrence of a word in an entry of `length` words (k1 1.2, b 0.75) without the IDF factor, for
   * frequent words that are not ranked by FTS5 itself.
   */
  bm25Estimate(length: number): number {
    if (this.avgWords === null) {
      let total = 0;
      for (const meta of this.metas.values()) total += meta.words;
      this.avgWords = Math.max(1, total / Math.max(1, this.metas.size));
    }
    return 2.2 / (1 + 1.2 * (0.25 + (0.75 * length) / this.avgWords));
  }

  /**
   * The entries written just before and after one (up to `radius` on each side, in message-date order) without a
   * pause longer than `maxGapMs` between consecutive messages: the turns around a message in the same conversation.
   */
  neighbours(rowid: number, radius: number, maxGapMs: number): { rowid: number; offset: number }[] {
    const { order, position } = this.ordered();
    const at = position.get(rowid);
    if (at === undefined) return [];
    const out: { rowid: number; offset: number }[] = [];
    for (const step of [-1, 1]) {
      let previous = this.metas.get(rowid)!.date;
      for (let i = at + step, n = 0; n < radius && i >= 0 && i < order.length; i += step, n++) {
        const meta = this.metas.get(order[i]!)!;
        if (Math.abs(meta.date - previous) > maxGapMs) break;
        previous = meta.date;
        out.push({ rowid: meta.rowid, offset: i - at });
      }
    }
    return out;
  }

  /**
   * Up to `radius` entries on each side of the moment (`date`, `id`) in conversation order, `id` itself left out:
   * the turns of this shard that may neighbour a message of another shard (one chat's turns are classified into
   * different levels, so a conversation spans shards).
   */
  around(date: number, id: string, radius: number): DocMeta[] {
    const { order } = this.ordered();
    const before = (m: DocMeta) => m.date < date || (m.date === date && m.id < id);
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(this.metas.get(order[mid]!)!)) lo = mid + 1;
      else hi = mid;
    }
    const out: DocMeta[] = [];
    for (let i = Math.max(0, lo - radius); i < Math.min(order.length, lo + radius + 1); i++) {
      const meta = this.metas.get(order[i]!)!;
      if (meta.id !== id) out.push(meta);
    }
    return out;
  }

  private ordered(): { order: Int32Array; position: Map<number, number> } {
    if (!this.timeline) {
      const metas = [...this.metas.values()].sort((a, b) => a.date - b.date || (a.id < b.id ? -1 : 1));
      const order = Int32Array.from(metas, (m) => m.rowid);
      const position = new Map<number, number>();
      for (let i = 0; i < order.length; i++) position.set(order[i]!, i);
      this.timeline = { order, position };
    }
    return this.timeline;
  }

  /** Exact cosine KNN over the unit vectors of the entries that pass `keep`. */
  nearest(query: Float32Array, k: number, keep: (meta: DocMeta) => boolean): Scored[] {
    const dims = this.dims;
    const m = this.matrix;
    const scales = this.scales;
    const n = this.rowMeta.length;
    const topScores = new Float32Array(k).fill(-2);
    const topRows = new Int32Array(k).fill(-1);
    let worst = -2;
    for (let row = 0; row < n; row++) {
      const base = row * dims;
      const scale = scales[row]!;
      if (scale === 0) continue;
      let sum = 0;
      for (let d = 0; d < dims; d++) sum += m[base + d]! * query[d]!;
      const dot = sum * scale;
      if (dot <= worst) continue;
      const meta = this.rowMeta[row]!;
      if (!keep(meta)) continue;
      // Replace the current worst of the top k.
      let wi = 0;
      for (let i = 1; i < k; i++) if (topScores[i]! < topScores[wi]!) wi = i;
      topScores[wi] = dot;
      topRows[wi] = row;
      worst = topScores[0]!;
      for (let i = 1; i < k; i++) if (topScores[i]! < worst) worst = topScores[i]!;
    }
    const out: Scored[] = [];
    for (let i = 0; i < k; i++) {
      const row = topRows[i]!;
      if (row >= 0) out.push({ rowid: this.rowMeta[row]!.rowid, score: topScores[i]! });
    }
    return out.sort((a, b) => b.score - a.score);
  }

  /** Entries that pass `keep`, newest first by `dateOf`. */
  scan(keep: (meta: DocMeta) => boolean, limit: number, dateOf: (meta: DocMeta) => number): Scored[] {
    const out: Scored[] = [];
    for (const meta of this.rowMeta) if (keep(meta)) out.push({ rowid: meta.rowid, score: dateOf(meta) });
    return out.sort((a, b) => b.score - a.score).slice(0, limit);
  }

  /** Content words of the shard with their document frequency, bucketed by length (for fuzzy matching). */
  wordsByLength(): Map<number, string[]> {
    if (!this.vocabByLength) {
      const buckets = new Map<number, string[]>();
      for (const word of this.vocab.keys()) {
        const list = buckets.get(word.length);
        if (list) list.push(word);
        else buckets.set(word.length, [word]);
      }
      this.vocabByLength = buckets;
    }
    return this.vocabByLength;
  }

  /** The shard's words that `rankOf` knows, with their ranks (for word-vector neighbours), cached. */
  rankedWords(rankOf: (word: string) => number): { words: string[]; ranks: Int32Array } {
    if (!this.vocabRanks) {
      const known: string[] = [];
      const ranks: number[] = [];
      for (const word of this.vocab.keys()) {
        const rank = rankOf(word);
        if (rank >= 0) {
          known.push(word);
          ranks.push(rank);
        }
      }
      this.vocabRanks = { words: known, ranks: Int32Array.from(ranks) };
    }
    return this.vocabRanks;
  }

  documentFrequency(word: string): number {
    return this.vocab.get(word) ?? 0;
  }

  /** Number of entries naming `name` (tag or proper name). */
  nameFrequency(name: string): number {
    return this.namesDf.get(name) ?? 0;
  }

  hasName(name: string): boolean {
    return this.namesDf.has(name);
  }

  /** The stored entries of these rows. */
  entry(rowid: number): MemoryEntry | undefined {
    const row = this.stmt.entry.get(rowid) as { entry: string; content: string } | undefined;
    if (!row) return undefined;
    return { ...(JSON.parse(row.entry) as Omit<MemoryEntry, 'content'>), content: row.content } as MemoryEntry;
  }

  /** The database as bytes, with its revision and model recorded. */
  serialize(): Buffer {
    this.stmt.setMeta.run('format', String(SHARD_FORMAT));
    this.stmt.setMeta.run('level', String(this.level));
    this.stmt.setMeta.run('dims', String(this.dims));
    this.stmt.setMeta.run('model', this.model);
    this.stmt.setMeta.run('revision', this.revision ?? '');
    return this.db.serialize();
  }

  /** Approximate bytes held: SQLite pages plus the mirror's matrix. */
  memoryBytes(): number {
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    return pages * pageSize + this.matrix.byteLength + this.scales.byteLength;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** A unit vector as stored: float32 scale (little endian), then int8 components (value = int8 × scale). */
function quantize(vector: Float32Array): Buffer {
  let max = 0;
  for (const x of vector) max = Math.max(max, Math.abs(x));
  const out = Buffer.alloc(4 + vector.length);
  const scale = max / 127;
  out.writeFloatLE(scale, 0);
  if (scale > 0) {
    const components = new Int8Array(out.buffer, out.byteOffset + 4, vector.length);
    for (let i = 0; i < vector.length; i++) components[i] = Math.round(vector[i]! / scale);
  }
  return out;
}

function decrement(map: Map<string, number>, key: string): void {
  const n = (map.get(key) ?? 0) - 1;
  if (n > 0) map.set(key, n);
  else map.delete(key);
}
