import { LEVELS, type SecurityLevel } from '../core/category.js';
import type { MemoryEntry, UserId } from '../core/entry.js';
import { isMemvaultError, validationError } from '../core/errors.js';
import { type Clock, systemClock } from '../ports/clock.js';
import type { EntryOpener, EntrySealer } from '../ports/sealer.js';
import type { Embeddings, SearchHit, SearchIndex, SearchQuery } from '../ports/search.js';
import type { Vault } from '../ports/vault.js';
import {
  decodeIndex,
  encodeIndex,
  indexPath,
  isPersistedLevel,
  type PersistedLevel,
  persists,
  readIndexFile,
  removeIndexFile,
  writeIndexFile,
} from './persist.js';
import { parseQuery, type TimeRange } from './query.js';
import { type DocMeta, type DocTerms, type Scored, Shard } from './shard.js';
import {
  allowedEdits,
  editDistance,
  highlight,
  queryWords,
  names,
  roughStem,
  STOP_WORDS,
  speakerOf,
  words,
} from './text.js';
import { createWordVectorEmbeddings, loadWordVectorTable, type WordVectorTable } from './word-vectors.js';
import { phraseWords, relatedWords } from './expansions.js';

/** The signals a search can use; every one is on by default (the evaluation turns them on one at a time). */
export type Signal = 'bm25' | 'fuzzy' | 'semantic' | 'entity';
export const SIGNALS: readonly Signal[] = ['bm25', 'fuzzy', 'semantic', 'entity'];

/** A pino-compatible subset; messages carry ids and counts, never entry text. */
export interface SearchLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
  debug?(obj: Record<string, unknown>, msg: string): void;
}

export interface SearchIndexOptions {
  readonly vault: Vault;
  /**
   * Root of the data directory; the persisted index goes to `users/<E164>/INDEX.<E164>.sealed` (level 1) and
   * `users/<E164>/INDEX.<E164>.level2.sealed` (level 2).
   */
  readonly dataDir: string;
  /**
   * Seals the persisted index: level 1 with the user's level-1 key (plain + checksum when level 1 is not sealed),
   * level 2 with the level-2 key (never plain: a sealer that keeps level 2 plain gets no level-2 file).
   */
  readonly sealer: EntrySealer;
  /** Default: the offline word vectors (`createWordVectorEmbeddings()`). */
  readonly embeddings?: Embeddings;
  readonly clock?: Clock;
  /** Users whose indexes stay loaded (LRU). Default 32. */
  readonly maxUsersInMemory?: number;
  readonly logger?: SearchLogger;
  /** Debounce before a changed level-1 or level-2 index is written back. Default 2000 ms. */
  readonly saveDelayMs?: number;
  /** Signals to rank with; default all of them. */
  readonly signals?: readonly Signal[];
  /**
   * Least cosine with the query at which a hit that matched none of the query's words or names is still shown
   * (marked "related"). Default RELATED_FLOOR; bench/related-threshold.ts sweeps it.
   */
  readonly relatedFloor?: number;
}

/** Ranking constants, in one place. Reciprocal rank fusion (Cormack et al. 2009) with k = 60. */
const RRF_K = 60;
const WEIGHTS = { lexical: 1, semantic: 0.3 } as const;
/** Turns on each side of a message that count as its conversational context. */
const CONTEXT_RADIUS = 2;
/** Share of a neighbour's score for a word that the message earns: a third of what its own words earn. */
const CONTEXT_WEIGHT = 0.33;
/** A longer pause between two messages ends a conversation (the usual 30-minute session boundary). */
/** Matches per query word whose neighbours earn context (bounds the cost for words with many matches). */
const CONTEXT_SOURCES = 100;
/** Share that the message right after a match (most often the reply to it) earns. */
const REPLY_WEIGHT = 0.5;
const SESSION_GAP_MS = 30 * 60_000;
/** Weights of corrected and related words inside the lexical score (the query's own words weigh 1). */
const TERM_WEIGHTS = { fuzzy: 0.8, related: 0.4 } as const;
/** Entries kept per query term before the weighted sum. */
const TERM_DEPTH = 500;
/** Above this document frequency a word is scored on candidates only (see `rank`). */
const RARE_DF = 800;
/** Most recent matches of a frequent word that join the candidates. */
const FREQUENT_SEEDS = 200;
/** Related words added to one query at most (each costs one FTS lookup). */
const MAX_EXPANSIONS = 10;
/** A memory carrying every name of the query scores up to this much more. */
const ENTITY_BOOST = 0.4;
/** …and this much more again when it is the message of the person named (the sender of a chat message). */
const SPEAKER_BOOST = 0.4;
/** Word-vector neighbours at least this similar expand a query word ("car" → vehicle). */
const NEIGHBOUR_SIMILARITY = 0.72;
const NEIGHBOURS_PER_WORD = 4;
/** Very frequent words ("good", "time") are poor seeds for expansion. */
const MIN_SEED_RANK = 300;
/** Lexical matches kept for fusion (the dense list adds up to SEMANTIC_DEPTH more). */
const LEXICAL_DEPTH = 300;
const SEMANTIC_DEPTH = 100;
/**
 * Cosine below which a hit that matched only by meaning is dropped as junk. Measured by bench/related-threshold.ts
 * (bench/results/related-threshold.md): on questions asked of a conversation that does not hold their answer, 0.45
 * drops two thirds of such hits, while every one that answered a paraphrase in the life log stays (the least was
 * 0.49); on LoCoMo no such hit was ever evidence.
 */
const RELATED_FLOOR = 0.45;
/** Cosine at which the semantic signal is reported as matched (it always contributes to the rank). */
const SEMANTIC_MATCH = 0.35;
/** Priors multiply the fused score by at most 1 + RECENCY + IMPORTANCE: they break ties, never override. */
const RECENCY = 0.08;
const RECENCY_HALF_LIFE_DAYS = 180;
const IMPORTANCE = 0.08;
/** Sentence-initial capitalised words rarer than this frequency rank count as names. */
const COMMON_WORD_RANK = 6000;
const MAX_QUERY_LENGTH = 2000;
const MAX_LIMIT = 1000;
const EMBED_BATCH = 256;
const DAY = 86_400_000;

interface UserState {
  readonly userId: UserId;
  readonly shards: Map<SecurityLevel, Shard>;
  saveTimer: NodeJS.Timeout | null;
}

interface Candidate {
  readonly shard: Shard;
  readonly rowid: number;
  fused: number;
  readonly signals: Set<string>;
  /** Matched a word of the query (as typed or corrected, or a thesaurus word), in itself or in its conversation. */
  anchored: boolean;
  /** Cosine with the query vector when the dense list holds the entry, else 0. */
  cosine: number;
}

/**
 * Creates the per-user hybrid search index (DESIGN §6): BM25 with stemming (SQLite FTS5), fuzzy matching
 * against the index vocabulary, semantic similarity through `Embeddings`, and entity matches, fused by
 * reciprocal rank with mild recency and importance priors.
 *
 * The index is derived from the vault and never trusted over it: each shard remembers the vault revision it
 * reflects and catches up (diffing checksums) when the revision moved. The level-1 shard is persisted sealed to
 * the level-1 key and the level-2 shard sealed to the level-2 key (it opens only where level 2 is unlocked);
 * levels 3–4 are indexed in memory the first time a session that can open them searches, and `forget` drops them.
 */
export function createSearchIndex(options: SearchIndexOptions): SearchIndex {
  return new HybridSearchIndex(options);
}

class HybridSearchIndex implements SearchIndex {
  private readonly vault: Vault;
  private readonly dataDir: string;
  private readonly sealer: EntrySealer;
  private readonly embeddings: Embeddings;
  private readonly clock: Clock;
  private readonly maxUsers: number;
  private readonly logger: SearchLogger | undefined;
  private readonly saveDelayMs: number;
  private readonly signals: ReadonlySet<Signal>;
  private readonly relatedFloor: number;
  private readonly users = new Map<UserId, UserState>();
  private readonly locks = new Map<UserId, Promise<unknown>>();
  /** Shards `forget` detached: still open until the queue closes them, but never ranked on again. */
  private readonly forgotten = new WeakSet<Shard>();
  /** Persisted-level shards changed since they were last written (or loaded). */
  private readonly unsaved = new WeakSet<Shard>();
  private readonly rankOf: (word: string) => number;
  private readonly table: WordVectorTable | null;
  private closed = false;

  constructor(options: SearchIndexOptions) {
    this.vault = options.vault;
    this.dataDir = options.dataDir;
    this.sealer = options.sealer;
    this.embeddings = options.embeddings ?? createWordVectorEmbeddings();
    this.clock = options.clock ?? systemClock;
    this.maxUsers = Math.max(1, options.maxUsersInMemory ?? 32);
    this.logger = options.logger;
    this.saveDelayMs = options.saveDelayMs ?? 2000;
    this.signals = new Set(options.signals ?? SIGNALS);
    this.relatedFloor = options.relatedFloor ?? RELATED_FLOOR;
    try {
      this.table = loadWordVectorTable();
      const table = this.table;
      this.rankOf = (word) => table.rank(word);
    } catch {
      // Without the word table every capitalised sentence-initial word is treated as common (fewer names) and
      // queries expand by the thesaurus only.
      this.table = null;
      this.rankOf = () => 0;
    }
  }

  // ── public API ────────────────────────────────────────────────────────────────────────────────────────────

  async search(userId: UserId, query: SearchQuery, opener: EntryOpener): Promise<SearchHit[]> {
    this.assertOpen();
    if (typeof query.text !== 'string' || query.text.length > MAX_QUERY_LENGTH) {
      throw validationError(`A search query is text of at most ${MAX_QUERY_LENGTH} characters.`, { field: 'text' });
    }
    const limit = query.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw validationError(`The result limit must be a whole number from 1 to ${MAX_LIMIT}.`, { field: 'limit' });
    }
    const from = parseBound(query.from, 'from');
    const to = parseBound(query.to, 'to');
    const now = query.now ?? this.clock.now();
    const levels = LEVELS.filter((l) => opener.canOpen(l) && (!query.levels || query.levels.includes(l)));
    if (levels.length === 0) return [];

    const shards = await this.serial(userId, async () => {
      const state = this.state(userId);
      const out: Shard[] = [];
      for (const level of levels) out.push(await this.ensure(state, level, opener));
      return out;
    });

    const parsed = parseQuery(query.text, now, query.timezone ?? 'UTC');
    const base: Filter = {
      levels: new Set(levels),
      categories: query.categories ? new Set(query.categories) : null,
      tags: query.tags ? query.tags.map((t) => t.toLowerCase()) : [],
      from,
      to,
      dateField: query.dateField ?? 'date',
      range: parsed.range,
    };
    const hits = await this.rank(shards, parsed.text, base, limit, now.getTime());
    // A date phrase that filters everything out was probably not meant as a filter ("what did I say last year
    // about…" over an old import): fall back to the whole text, unfiltered by the phrase.
    if (hits.length === 0 && parsed.range) {
      return this.rank(shards, query.text, { ...base, range: null }, limit, now.getTime());
    }
    return hits;
  }

  async upsert(userId: UserId, entry: MemoryEntry): Promise<void> {
    this.assertOpen();
    await this.serial(userId, async () => {
      const state = this.users.get(userId);
      if (!state) return; // Not loaded: the persisted index is stale by revision and catches up on next load.
      const target = state.shards.get(entry.level);
      for (const shard of state.shards.values()) {
        if (shard !== target && shard.delete(entry.id)) this.markDirty(state, shard);
      }
      if (target) {
        const [vector] = await this.embed([entry]);
        target.put([entry], [vector ?? null], [this.terms(target, entry.content, entry.tags)]);
        this.markDirty(state, target);
      }
      // The shard's revision stays where it was: see `sync` for why a told-about write never advances it.
    });
  }

  async remove(userId: UserId, id: string): Promise<void> {
    this.assertOpen();
    await this.serial(userId, async () => {
      const state = this.users.get(userId);
      if (!state) return;
      for (const shard of state.shards.values()) {
        if (shard.delete(id)) this.markDirty(state, shard);
      }
    });
  }

  async rebuild(userId: UserId, opener: EntryOpener): Promise<{ entries: number; ms: number }> {
    this.assertOpen();
    const started = performance.now();
    return this.serial(userId, async () => {
      const old = this.users.get(userId);
      if (old) this.drop(old);
      const state = this.state(userId);
      let entries = 0;
      for (const level of LEVELS) {
        if (!opener.canOpen(level)) continue;
        const shard = Shard.create(level, this.embeddings.dimensions, this.embeddings.name);
        state.shards.set(level, shard);
        await this.sync(state, shard, opener, await this.vault.revision(userId));
        entries += shard.size;
      }
      await this.flush(state);
      // A level this opener cannot rebuild must not keep an index sealed to keys that may be gone (a key rotation
      // rebuilds with level 1 only): it is rebuilt the next time level 2 is searched.
      if (!opener.canOpen(2)) await removeIndexFile(indexPath(this.dataDir, userId, 2));
      return { entries, ms: Math.round(performance.now() - started) };
    });
  }

  forget(userId: UserId, levels: readonly SecurityLevel[] = [2, 3, 4]): void {
    const state = this.users.get(userId);
    if (!state) return;
    // Detached and marked now, so no search ranks on them from here on (`live`); closed through the user's
    // queue, so a catch-up or a rebuild already running on one finishes first (closing it under them failed
    // the search with a raw SQLite error, an HTTP 500).
    const detached: Shard[] = [];
    for (const level of levels) {
      if (level === 1) continue;
      const shard = state.shards.get(level);
      if (shard) {
        detached.push(shard);
        this.forgotten.add(shard);
      }
      state.shards.delete(level);
    }
    if (detached.length > 0) {
      // A changed level-2 shard is written back (sealing needs only the public key) before it is closed.
      void this.serial(userId, async () => {
        try {
          for (const shard of detached) await this.save(userId, shard);
        } finally {
          for (const shard of detached) shard.close();
        }
      }).catch((error: unknown) => this.warn(userId, 'search index could not be saved', error));
    }
    if (levels.includes(1)) {
      // Level 1 is written back (sealed) before it leaves memory.
      this.users.delete(userId);
      void this.serial(userId, () => this.flush(state).finally(() => this.drop(state))).catch((error: unknown) =>
        this.warn(userId, 'search index could not be saved', error),
      );
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const states = [...this.users.values()];
    this.users.clear();
    await Promise.all(
      states.map((state) =>
        this.serial(state.userId, () => this.flush(state))
          .catch((error: unknown) => this.warn(state.userId, 'search index could not be saved', error))
          .finally(() => this.drop(state)),
      ),
    );
  }

  // ── loading, catching up, persisting ──────────────────────────────────────────────────────────────────────

  private state(userId: UserId): UserState {
    let state = this.users.get(userId);
    if (state) {
      this.users.delete(userId);
      this.users.set(userId, state);
      return state;
    }
    state = { userId, shards: new Map(), saveTimer: null };
    this.users.set(userId, state);
    while (this.users.size > this.maxUsers) {
      const [oldestId, oldest] = this.users.entries().next().value as [UserId, UserState];
      this.users.delete(oldestId);
      void this.serial(oldestId, () => this.flush(oldest).finally(() => this.drop(oldest))).catch((error: unknown) =>
        this.warn(oldestId, 'search index could not be saved', error),
      );
    }
    return state;
  }

  /** The user's shard of `level`, loaded or built, caught up with the vault. */
  private async ensure(state: UserState, level: SecurityLevel, opener: EntryOpener): Promise<Shard> {
    const revision = await this.vault.revision(state.userId);
    let shard = state.shards.get(level);
    if (shard && shard.model !== this.embeddings.name) {
      shard.close();
      shard = undefined;
    }
    if (!shard && isPersistedLevel(level) && persists(level, this.sealer)) {
      shard = (await this.loadPersisted(state.userId, level, opener)) ?? undefined;
    }
    if (!shard) shard = Shard.create(level, this.embeddings.dimensions, this.embeddings.name);
    state.shards.set(level, shard);
    if (shard.revision !== revision) await this.sync(state, shard, opener, revision);
    return shard;
  }

  /**
   * Opens the persisted index of a level; a damaged or foreign one (another format, user, level or key: after a
   * key rotation the level-2 file no longer opens) is reported, deleted and rebuilt.
   */
  private async loadPersisted(userId: UserId, level: PersistedLevel, opener: EntryOpener): Promise<Shard | null> {
    const path = indexPath(this.dataDir, userId, level);
    const text = await readIndexFile(path);
    if (text === null) return null;
    try {
      const shard = Shard.open(decodeIndex(userId, text, opener, level));
      if (shard.level !== level || shard.model !== this.embeddings.name || shard.dims !== this.embeddings.dimensions) {
        shard.close();
        return null;
      }
      return shard;
    } catch (error) {
      if (!isMemvaultError(error, 'DATA_CORRUPTION')) throw error;
      this.warn(userId, 'search index damaged; rebuilding from the vault', error);
      await removeIndexFile(path);
      return null;
    }
  }

  /**
   * Brings a shard to the vault's entries of its level: re-indexes changed checksums, drops deleted ids.
   *
   * Invariant: `shard.revision` is a vault revision whose every entry the shard holds, and only `sync` sets it
   * (to the revision read before the entries it diffs against). `upsert`/`remove` apply one entry but leave the
   * revision alone: the vault's revision is an opaque stamp of its files, so nothing shows that the current one
   * differs from the shard's by this entry alone — another process (the CLI, an import) may have written in
   * between, and stamping the current revision would hide its entries from search until a `reindex`. The next
   * search sees the moved revision and catches up; entries already applied have the same checksum and cost a
   * comparison, not an embedding.
   */
  private async sync(state: UserState, shard: Shard, opener: EntryOpener, revision: string): Promise<void> {
    const { entries, damaged } = await this.vault.read(state.userId, { levels: [shard.level] }, opener);
    if (damaged.length > 0) {
      this.logger?.warn({ userId: state.userId, damaged: damaged.length }, 'damaged entries left out of the index');
    }
    const present = new Set<string>();
    const changed: MemoryEntry[] = [];
    for (const entry of entries) {
      if (entry.level !== shard.level) continue;
      present.add(entry.id);
      if (shard.checksumOf(entry.id) !== entry.checksum) changed.push(entry);
    }
    const gone = [...shard.ids()].filter((id) => !present.has(id));
    for (const id of gone) shard.delete(id);
    for (let i = 0; i < changed.length; i += EMBED_BATCH) {
      const batch = changed.slice(i, i + EMBED_BATCH);
      const vectors = await this.embed(batch);
      shard.put(
        batch,
        vectors,
        batch.map((e) => this.terms(shard, e.content, e.tags)),
      );
    }
    shard.revision = revision;
    this.markDirty(state, shard);
  }

  /** Notes that a shard of a persisted level changed and schedules its write-back (levels 3–4: nothing). */
  private markDirty(state: UserState, shard: Shard): void {
    if (!persists(shard.level, this.sealer)) return;
    this.unsaved.add(shard);
    if (state.saveTimer || this.closed) return;
    state.saveTimer = setTimeout(() => {
      state.saveTimer = null;
      if (this.users.get(state.userId) !== state) return;
      void this.serial(state.userId, () => this.flush(state)).catch((error: unknown) =>
        this.warn(state.userId, 'search index could not be saved', error),
      );
    }, this.saveDelayMs);
    state.saveTimer.unref();
  }

  /** Writes the changed level-1 and level-2 shards (sealed to their level's key). Levels 3–4 are never written. */
  private async flush(state: UserState): Promise<void> {
    if (state.saveTimer) {
      clearTimeout(state.saveTimer);
      state.saveTimer = null;
    }
    // Every shard is tried; the first failure is reported after the others were written.
    let failure: unknown = null;
    for (const shard of [...state.shards.values()]) {
      await this.save(state.userId, shard).catch((error: unknown) => {
        failure ??= error;
      });
    }
    if (failure !== null) throw failure;
  }

  /** Writes one shard when it is of a persisted level and changed since it was last written or loaded. */
  private async save(userId: UserId, shard: Shard): Promise<void> {
    const level = shard.level;
    if (!this.unsaved.has(shard) || !shard.isOpen || !isPersistedLevel(level) || !persists(level, this.sealer)) return;
    this.unsaved.delete(shard);
    try {
      const text = await encodeIndex(userId, shard.serialize(), this.sealer, level);
      await writeIndexFile(indexPath(this.dataDir, userId, level), text);
    } catch (error) {
      this.unsaved.add(shard);
      throw error;
    }
  }

  private drop(state: UserState): void {
    if (state.saveTimer) clearTimeout(state.saveTimer);
    state.saveTimer = null;
    for (const shard of state.shards.values()) shard.close();
    state.shards.clear();
  }

  /** Runs `fn` after every earlier operation on the same user (one loader, one writer per user). */
  private serial<T>(userId: UserId, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(userId) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(userId, tail);
    void tail.then(() => {
      if (this.locks.get(userId) === tail) this.locks.delete(userId);
    });
    return run;
  }

  // ── indexing helpers ──────────────────────────────────────────────────────────────────────────────────────

  private terms(shard: Shard, content: string, tags: readonly string[]): DocTerms {
    return this.termsWith((w) => shard.hasName(w), content, tags);
  }

  private termsWith(known: (word: string) => boolean, content: string, tags: readonly string[]): DocTerms {
    const all = words(content);
    const distinct = [...new Set(all.filter((w) => w.length > 1 && !STOP_WORDS.has(w)))];
    const isName = (w: string) => {
      if (known(w)) return true;
      const rank = this.rankOf(w);
      return rank < 0 || rank >= COMMON_WORD_RANK;
    };
    const speaker = speakerOf(content);
    // The sender of a chat message is one of its names even where a capitalised first word would not count.
    // A tag that is an everyday word ("family", "health": most come from the classifier) is a topic, found by
    // BM25 in the keywords column; as a name it lifted every memory so tagged whenever the word was asked about.
    const nameTags = tags
      .map((t) => t.toLowerCase())
      .filter((t) => {
        const rank = this.rankOf(t);
        return rank < 0 || rank >= COMMON_WORD_RANK;
      });
    const entityNames = new Set([...nameTags, ...speaker, ...names(content, isName)]);
    return { words: distinct, names: [...entityNames], length: all.length, speaker };
  }

  private async embed(entries: readonly MemoryEntry[]): Promise<(Float32Array | null)[]> {
    if (!this.signals.has('semantic')) return entries.map(() => null);
    try {
      const vectors = await this.embeddings.embed(entries.map((e) => embeddingText(e)));
      return entries.map((_, i) => {
        const v = vectors[i];
        return v && v.length === this.embeddings.dimensions ? unit(v) : null;
      });
    } catch (error) {
      // The entries stay findable by the lexical signals; their vectors come back on the next rebuild.
      this.logger?.warn(
        { count: entries.length, code: isMemvaultError(error) ? error.code : 'UNKNOWN' },
        'embeddings failed; indexed without vectors',
      );
      return entries.map(() => null);
    }
  }

  // ── ranking ──────────────────────────────────────────────────────────────────────────────────────────────

  private async rank(loaded: Shard[], text: string, filter: Filter, limit: number, now: number): Promise<SearchHit[]> {
    let shards = loaded.filter((shard) => this.live(shard));
    const keep = makeFilter(filter);
    const terms = [...new Set(queryWords(text))];
    const candidates = new Map<string, Candidate>();
    if (terms.length === 0) {
      // Nothing to match (an empty query, or only a date phrase): the filtered entries, newest first.
      if (
        !filter.range &&
        filter.from === null &&
        filter.to === null &&
        filter.tags.length === 0 &&
        !filter.categories
      ) {
        return [];
      }
      const dateOf = (m: DocMeta) => (filter.range ? effectiveDate(m) : fieldDate(m, filter.dateField));
      const merged = shards
        .flatMap((shard) => shard.scan(keep, limit, dateOf).map((s) => ({ shard, s })))
        .sort((a, b) => b.s.score - a.s.score)
        .slice(0, limit);
      return merged.map(({ shard, s }, i) =>
        this.hit(
          shard,
          s.rowid,
          1 / (RRF_K + i + 1),
          filter.range || filter.from !== null || filter.to !== null ? ['date'] : ['filter'],
          null,
        ),
      );
    }

    const fuzzyTerms = this.signals.has('fuzzy') ? this.fuzzyTerms(shards, terms) : [];
    const expansion = this.signals.has('semantic')
      ? this.expansionTerms(shards, terms, text)
      : { words: [], thesaurus: new Set<string>() };
    const expansionTerms = expansion.words;
    // A misspelt name, once corrected, is the name ("nadai" → Nadia).
    const entityTerms = this.signals.has('entity')
      ? [...new Set([...this.entityTerms(shards, text), ...fuzzyTerms.filter((t) => shards.some((s) => s.hasName(t)))])]
      : [];
    // Names steer the lexical and entity signals; left in the query vector they would drown its topic
    // ("Mei's occupation" would be near every memory of Mei rather than near "hired as a nurse").
    // Tags that are ordinary words ("coffee") stay: they are the topic.
    const properNames = entityTerms.filter((t) => {
      const rank = this.rankOf(t);
      return rank < 0 || rank >= COMMON_WORD_RANK;
    });
    const topic = properNames.length > 0 ? terms.filter((t) => !properNames.includes(t)).join(' ') : text;
    const [queryVector] = this.signals.has('semantic') && topic.length > 0 ? await this.embedQuery(topic) : [];
    // While the query was embedded, a lock or an eviction may have closed a shard: search what is left.
    shards = shards.filter((shard) => this.live(shard));

    // Lexical: BM25 is a sum over terms, so a weighted BM25 is the weighted sum of single-term BM25 scores. The
    // query's own words weigh 1, typo corrections and related words less; an entry matching the name and a
    // related word ("nadia" + relocated) outranks one matching the name alone.
    const weighted: { term: string; weight: number; signal: string }[] = [
      ...(this.signals.has('bm25') ? terms.map((term) => ({ term, weight: 1, signal: 'bm25' })) : []),
      ...fuzzyTerms.map((term) => ({ term, weight: TERM_WEIGHTS.fuzzy, signal: 'fuzzy' })),
      ...expansionTerms.map((term) => ({ term, weight: TERM_WEIGHTS.related, signal: 'semantic' })),
    ];
    // Dense neighbours first: they are candidates for the frequent words' scores below.
    let dense: { shard: Shard; s: Scored }[] = [];
    if (queryVector) {
      const v = queryVector;
      dense = shards
        .flatMap((shard) => shard.nearest(v, SEMANTIC_DEPTH, keep).map((s) => ({ shard, s })))
        .sort((x, y) => y.s.score - x.s.score)
        .slice(0, SEMANTIC_DEPTH);
    }

    const docs = new Map<string, { shard: Shard; rowid: number }>();
    const keyOf = (shard: Shard, rowid: number) => `${shard.level}:${rowid}`;
    /** Per weighted term: its BM25 score in each entry that has it. */
    const termScores = weighted.map(() => new Map<string, number>());
    const weights = weighted.map(() => 0);
    const note = (i: number, shard: Shard, rowid: number, score: number) => {
      const key = keyOf(shard, rowid);
      docs.set(key, { shard, rowid });
      const scores = termScores[i]!;
      scores.set(key, (scores.get(key) ?? 0) + score);
    };
    // Rare words are ranked by FTS5's BM25 over all their matches. A word in thousands of memories would cost
    // O(df) per query to rank, and its IDF is low anyway: it is scored only on the candidates (plus its most
    // recent matches), with BM25's formula at tf = 1.
    // IDF over every shard searched (Lucene's form, never negative: a word in most memories still counts a little).
    const total = shards.reduce((n, shard) => n + shard.size, 0);
    const idf = (df: number) => Math.log(1 + (total - df + 0.5) / (df + 0.5));
    const frequent: { i: number; shard: Shard; term: string; q: string; signal: string }[] = [];
    weighted.forEach(({ term, signal }, i) => {
      const q = ftsOr([term]);
      let df = 0;
      const found: { shard: Shard; hits: Scored[] }[] = [];
      for (const shard of shards) {
        if (shard.documentFrequency(term) > RARE_DF) {
          df += shard.documentFrequency(term);
          frequent.push({ i, shard, term, q, signal });
          continue;
        }
        const matches = shard.termMatches(q, TERM_DEPTH, keep);
        df += matches.df;
        found.push({ shard, hits: matches.hits });
      }
      weights[i] = idf(df);
      for (const { shard, hits } of found) for (const hit of hits) note(i, shard, hit.rowid, weights[i]! * hit.score);
    });
    if (frequent.length > 0) {
      const pool = new Map<string, { shard: Shard; rowid: number }>();
      const offer = (shard: Shard, rowid: number) => {
        const meta = shard.meta(rowid);
        if (meta && keep(meta)) pool.set(keyOf(shard, rowid), { shard, rowid });
      };
      for (const { shard, rowid } of docs.values()) offer(shard, rowid);
      for (const { shard, s: hit } of dense) offer(shard, hit.rowid);
      for (const shard of shards) {
        const own = frequent.filter((f) => f.shard === shard && f.signal === 'bm25').map((f) => f.q);
        if (own.length > 1) for (const rowid of shard.recent(own.join(' AND '), TERM_DEPTH)) offer(shard, rowid);
      }
      for (const f of frequent) for (const rowid of f.shard.recent(f.q, FREQUENT_SEEDS)) offer(f.shard, rowid);
      for (const { shard, rowid } of pool.values()) {
        const meta = shard.meta(rowid)!;
        for (const f of frequent) {
          if (f.shard !== shard || !shard.hasWord(rowid, f.term)) continue;
          note(f.i, shard, rowid, weights[f.i]! * shard.bm25Estimate(meta.words));
        }
      }
    }

    // Conversational context: a message that only makes sense with the turns around it ("Yes! It was amazing"
    // after "Did you go to the concert?") earns, for each query word, a share of the best score of that word among
    // its neighbours in the same conversation, below what its own words earn. The context shares the word's
    // weight, so a typo or a related word found next door counts as little as it would in the message itself.
    const lexical = new Map<string, { score: number; signals: Set<string>; anchored: boolean }>();
    const add = (key: string, score: number, signal: string, anchored: boolean) => {
      let acc = lexical.get(key);
      if (!acc) {
        acc = { score: 0, signals: new Set(), anchored: false };
        lexical.set(key, acc);
      }
      acc.score += score;
      acc.signals.add(signal);
      if (anchored) acc.anchored = true;
    };
    weighted.forEach(({ term, weight, signal }, i) => {
      // Word-vector neighbours are guesses about meaning; the query's words, their corrections and the curated
      // thesaurus are what a person would call a match.
      const anchored = signal !== 'semantic' || expansion.thesaurus.has(term);
      const own = termScores[i]!;
      const around = new Map<string, number>();
      // Only the word's best matches lend context: a share of a weak match never reaches the top anyway.
      const sources = own.size > CONTEXT_SOURCES ? [...own].sort((a, b) => b[1] - a[1]).slice(0, CONTEXT_SOURCES) : own;
      for (const [key, score] of sources) {
        const { shard, rowid } = docs.get(key)!;
        // Only turns of a chat lend each other context: two notes jotted within half an hour ("Saw a zebra",
        // "Lunch with Odette") are not a conversation, and the second does not answer the first.
        if (!shard.isChatMessage(rowid)) continue;
        for (const { shard: other, rowid: n, offset } of conversationNeighbours(shards, shard, rowid)) {
          const meta = other.meta(n);
          if (!meta || !keep(meta) || !other.isChatMessage(n)) continue;
          const nKey = keyOf(other, n);
          docs.set(nKey, { shard: other, rowid: n });
          // The message right after a match is most often the reply to it ("Can I get the recipe?" → "Sure, I'll
          // mail it to you"): it inherits more of the match's words than the turns further off.
          const share = offset === 1 ? REPLY_WEIGHT : CONTEXT_WEIGHT;
          if ((around.get(nKey) ?? 0) < share * score) around.set(nKey, share * score);
        }
      }
      for (const [key, score] of own) add(key, weight * score, signal, anchored);
      for (const [key, score] of around) add(key, weight * score, 'context', anchored);
    });

    // Fusion by normalised score, not by rank: with rank fusion an entry that the weak signal puts first and the
    // strong one puts 150th beats the strong signal's best match. Lexical scores are divided by the best one;
    // cosines are spread over [0, 1] between the deepest and the best of the dense list.
    // Only the best lexical matches go on to fusion and priors: the rest could not reach the top and would cost
    // a pass each (thousands at 100k memories).
    const topLexical = [...lexical].sort((a, b) => b[1].score - a[1].score).slice(0, LEXICAL_DEPTH);
    const best = topLexical[0]?.[1].score ?? 0;
    for (const [key, acc] of topLexical) {
      const { shard, rowid } = docs.get(key)!;
      candidates.set(key, {
        shard,
        rowid,
        fused: WEIGHTS.lexical * (acc.score / best),
        signals: acc.signals,
        anchored: acc.anchored,
        cosine: 0,
      });
    }
    if (dense.length > 0) {
      const top = dense[0]!.s.score;
      const floor = dense.at(-1)!.s.score;
      const span = top - floor;
      for (const { shard, s } of dense) {
        const key = keyOf(shard, s.rowid);
        let c = candidates.get(key);
        if (!c) {
          c = { shard, rowid: s.rowid, fused: 0, signals: new Set(), anchored: false, cosine: 0 };
          candidates.set(key, c);
        }
        c.cosine = s.score;
        c.fused += WEIGHTS.semantic * (span > 0 ? (s.score - floor) / span : 1);
        if (s.score >= SEMANTIC_MATCH) c.signals.add('semantic');
      }
    }

    // Entities boost rather than rank: every memory naming Nadia matches "nadia", so a list of them would only
    // add noise; the share of the query's names a memory carries lifts it among the candidates.
    // In a chat, the person a question is about is more often the one speaking than the one spoken to
    // ("What did Maria bake?" → "Maria: I baked…" rather than "John: thanks, Maria!").
    const entityShare = new Map<string, number>();
    const speakerShare = new Map<string, number>();
    if (entityTerms.length > 0) {
      for (const [key, c] of candidates) {
        const matched = entityTerms.filter((name) => c.shard.hasNameIn(c.rowid, name)).length;
        if (matched > 0) entityShare.set(key, matched / entityTerms.length);
        const speaking = entityTerms.filter((name) => c.shard.isSpeaker(c.rowid, name)).length;
        if (speaking > 0) speakerShare.set(key, speaking / entityTerms.length);
      }
    }

    // Every hit must have matched something; the semantic list alone also ranks entries below its threshold.
    // A hit that carries none of the query's words (as typed, corrected or from the thesaurus), neither in itself
    // nor in its conversation, and none of its names, is only a neighbour by meaning: kept, marked "related", when
    // its vector is close enough to the query's, otherwise dropped ("locker" must not answer with a job interview).
    const ranked = [...candidates.entries()]
      .filter(([key, c]) => {
        if (c.signals.size === 0) return false;
        if (c.anchored || entityShare.has(key)) return true;
        if (c.cosine < this.relatedFloor) return false;
        c.signals.add('related');
        return true;
      })
      .map(([key, c]) => {
        const meta = c.shard.meta(c.rowid)!;
        const share = entityShare.get(key) ?? 0;
        if (share > 0) c.signals.add('entity');
        const prior =
          1 +
          RECENCY * recency(meta, now) +
          IMPORTANCE * importance(meta) +
          ENTITY_BOOST * share +
          SPEAKER_BOOST * (speakerShare.get(key) ?? 0);
        return { c, score: c.fused * prior };
      })
      .sort((a, b) => b.score - a.score)
      .slice(0, limit);
    const marked = [...terms, ...fuzzyTerms, ...expansionTerms];
    return ranked.map(({ c, score }) => {
      const entry = c.shard.entry(c.rowid)!;
      return {
        entry,
        score: Number(score.toFixed(6)),
        signals: [...c.signals],
        highlighted: highlight(entry.content, marked),
      };
    });
  }

  /** A shard a search may rank on: not closed (evicted) and not forgotten (its level was locked). */
  private live(shard: Shard): boolean {
    return shard.isOpen && !this.forgotten.has(shard);
  }

  private hit(shard: Shard, rowid: number, score: number, signals: string[], highlighted: string | null): SearchHit {
    const entry = shard.entry(rowid)!;
    return { entry, score: Number(score.toFixed(6)), signals, highlighted: highlighted ?? entry.content };
  }

  /**
   * Vocabulary words within the allowed edit distance (a transposition is one edit) of query words that match nothing as typed and are not
   * English words ("electrcian" → "electrician"): at most three per word, closest and most frequent first.
   */
  private fuzzyTerms(shards: Shard[], terms: readonly string[]): string[] {
    const out = new Set<string>();
    for (const term of terms) {
      const edits = allowedEdits(term.length);
      if (edits === 0 || /\d/.test(term)) continue;
      const quoted = ftsOr([term]);
      if (shards.some((s) => s.matchesAny(quoted))) continue;
      // A real English word that the memories do not use is not a typo: "identity" must not become
      // "identify". Its neighbours by meaning are the related-words signal's job.
      if (this.table && this.table.rank(term) >= 0) continue;
      const found: { word: string; d: number; df: number }[] = [];
      for (const shard of shards) {
        const buckets = shard.wordsByLength();
        for (let len = term.length - edits; len <= term.length + edits; len++) {
          for (const word of buckets.get(len) ?? []) {
            const d = editDistance(term, word, edits);
            if (d <= edits) found.push({ word, d, df: shard.documentFrequency(word) });
          }
        }
      }
      found.sort((a, b) => a.d - b.d || b.df - a.df);
      for (const f of found.slice(0, 3)) out.add(f.word);
    }
    return [...out];
  }

  /**
   * Words that answer for the query's words: the everyday-life thesaurus, plus the index's own words whose word
   * vectors are close ("car" → vehicle, truck). The query's words themselves are left out.
   */
  private expansionTerms(
    shards: Shard[],
    terms: readonly string[],
    text: string,
  ): { words: string[]; thesaurus: ReadonlySet<string> } {
    // One word per rough stem, never a form of the query's own words ("live" does not expand to "living").
    const stems = new Set(terms.map(roughStem));
    const out: string[] = [];
    const offer = (word: string) => {
      if (out.length >= MAX_EXPANSIONS) return;
      const stem = roughStem(word);
      if (stems.has(stem)) return;
      stems.add(stem);
      out.push(word);
    };
    for (const word of phraseWords(text)) offer(word);
    for (const term of terms) for (const word of relatedWords(term)) offer(word);
    const thesaurus = new Set(out);
    const table = this.table;
    if (table) {
      for (const term of terms) {
        const seed = table.rank(term);
        if (seed < MIN_SEED_RANK) continue;
        const near: { word: string; sim: number }[] = [];
        for (const shard of shards) {
          const { words: vocab, ranks } = shard.rankedWords(this.rankOf);
          for (let i = 0; i < ranks.length; i++) {
            const sim = table.similarity(seed, ranks[i]!);
            if (sim >= NEIGHBOUR_SIMILARITY) near.push({ word: vocab[i]!, sim });
          }
        }
        near.sort((a, b) => b.sim - a.sim);
        let taken = 0;
        for (const n of near) {
          if (taken >= NEIGHBOURS_PER_WORD) break;
          const before = out.length;
          offer(n.word);
          if (out.length > before) taken++;
        }
      }
    }
    return { words: out, thesaurus };
  }

  /** Query words, in any case, that name a person, place or tag known to the index ("nadia" → Nadia). */
  private entityTerms(shards: Shard[], text: string): string[] {
    const out = new Set<string>();
    for (const word of words(text)) {
      if (word.length < 2 || STOP_WORDS.has(word)) continue;
      if (shards.some((s) => s.hasName(word))) out.add(word);
    }
    return [...out];
  }

  private async embedQuery(text: string): Promise<(Float32Array | undefined)[]> {
    try {
      const [v] = await this.embeddings.embed([text]);
      if (!v || v.length !== this.embeddings.dimensions) return [];
      const u = unit(v);
      return u.some((x) => x !== 0) ? [u] : [];
    } catch (error) {
      // Lexical fallback: the other signals still answer.
      this.logger?.warn({ code: isMemvaultError(error) ? error.code : 'UNKNOWN' }, 'query embedding failed');
      return [];
    }
  }

  private warn(userId: UserId, msg: string, error: unknown): void {
    this.logger?.warn({ userId, code: isMemvaultError(error) ? error.code : 'UNKNOWN' }, msg);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('The search index is closed.');
  }
}

interface Filter {
  readonly levels: ReadonlySet<SecurityLevel>;
  readonly categories: ReadonlySet<string> | null;
  readonly tags: readonly string[];
  readonly from: number | null;
  readonly to: number | null;
  readonly dateField: 'date' | 'eventDate';
  /** From a date phrase: applies to the message date and the event date (either may fall in it). */
  readonly range: TimeRange | null;
}

function makeFilter(f: Filter): (meta: DocMeta) => boolean {
  return (m) => {
    if (!f.levels.has(m.level)) return false;
    if (f.categories && !f.categories.has(m.category)) return false;
    for (const tag of f.tags) if (!m.tags.includes(tag)) return false;
    if (f.from !== null || f.to !== null) {
      const d = fieldDate(m, f.dateField);
      if (Number.isNaN(d)) return false;
      if (f.from !== null && d < f.from) return false;
      if (f.to !== null && d >= f.to) return false;
    }
    if (f.range) {
      // "What did I say on 7 July" and "what happened on 7 July" are asked alike: either the day the message was
      // written or the day the event it tells of took place may be the one meant.
      const inRange = (d: number) => d >= f.range!.from && d < f.range!.to;
      if (!inRange(m.date) && !inRange(m.event)) return false;
    }
    return true;
  };
}

/**
 * The turns around a message in its conversation, over every shard searched: the classifier puts one chat's turns
 * at different levels ("I'm seeing a therapist" is CONFIDENTIAL, the reply "How is it going?" GENERAL), and the
 * reply must still inherit the words it answers. Walks outward in (date, id) order and stops at a pause longer than
 * a session gap, as `Shard.neighbours` does within one shard.
 */
function conversationNeighbours(
  shards: readonly Shard[],
  shard: Shard,
  rowid: number,
): { shard: Shard; rowid: number; offset: number }[] {
  if (shards.length === 1) return shard.neighbours(rowid, CONTEXT_RADIUS, SESSION_GAP_MS).map((n) => ({ shard, ...n }));
  const self = shard.meta(rowid);
  if (!self) return [];
  const near = shards
    .flatMap((s) => s.around(self.date, self.id, CONTEXT_RADIUS).map((meta) => ({ shard: s, meta })))
    .sort((a, b) => a.meta.date - b.meta.date || (a.meta.id < b.meta.id ? -1 : 1));
  const at = near.findIndex((n) => n.meta.date > self.date || (n.meta.date === self.date && n.meta.id > self.id));
  const split = at < 0 ? near.length : at;
  const out: { shard: Shard; rowid: number; offset: number }[] = [];
  for (const step of [-1, 1]) {
    let previous = self.date;
    for (
      let i = step < 0 ? split - 1 : split, n = 1;
      n <= CONTEXT_RADIUS && i >= 0 && i < near.length;
      i += step, n++
    ) {
      const { shard: s, meta } = near[i]!;
      if (Math.abs(meta.date - previous) > SESSION_GAP_MS) break;
      previous = meta.date;
      out.push({ shard: s, rowid: meta.rowid, offset: step * n });
    }
  }
  return out;
}

function fieldDate(m: DocMeta, field: 'date' | 'eventDate'): number {
  return field === 'eventDate' ? m.event : m.date;
}

function effectiveDate(m: DocMeta): number {
  return Number.isNaN(m.event) ? m.date : m.event;
}

function recency(m: DocMeta, now: number): number {
  const ageDays = Math.max(0, (now - effectiveDate(m)) / DAY);
  return 0.5 ** (ageDays / RECENCY_HALF_LIFE_DAYS);
}

/** In [0, 1]: protected levels, classifier confidence, substance (length) and tags. */
function importance(m: DocMeta): number {
  const level = (m.level - 1) / 3;
  const length = Math.min(1, Math.log1p(m.words) / Math.log(60));
  const tags = Math.min(1, m.tags.length / 4);
  return 0.25 * level + 0.25 * Math.min(1, Math.max(0, m.confidence)) + 0.3 * length + 0.2 * tags;
}

function parseBound(value: string | undefined, field: string): number | null {
  if (value === undefined) return null;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw validationError(`"${field}" must be an ISO 8601 date, e.g. 2026-03-01.`, { field });
  return ms;
}

/** An FTS5 OR-query of bare words, each quoted (the words come from our tokenizer: no quotes inside). */
function ftsOr(terms: readonly string[]): string {
  return terms.map((t) => `"${t.replace(/"/g, '""')}"`).join(' OR ');
}

function embeddingText(entry: MemoryEntry): string {
  return entry.tags.length > 0 ? `${entry.content}\n${entry.tags.join(' ')}` : entry.content;
}

function unit(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  if (sum === 0 || Math.abs(sum - 1) < 1e-6) return v;
  const out = new Float32Array(v.length);
  const inv = 1 / Math.sqrt(sum);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! * inv;
  return out;
}
