import type { Category, SecurityLevel } from '../core/category.js';
import type { MemoryEntry, UserId } from '../core/entry.js';
import type { EntryOpener } from './sealer.js';

export interface SearchQuery {
  readonly text: string;
  /** Default 50. */
  readonly limit?: number;
  readonly from?: string;
  readonly to?: string;
  readonly dateField?: 'date' | 'eventDate';
  readonly tags?: readonly string[];
  readonly categories?: readonly Category[];
  readonly levels?: readonly SecurityLevel[];
  /** The user's zone, for date phrases in the query ("last week"). */
  readonly timezone?: string;
  /** Reference time for relative date phrases; default now. */
  readonly now?: Date;
}

export interface SearchHit {
  readonly entry: MemoryEntry;
  readonly score: number;
  /** Which signals matched: "bm25", "fuzzy", "semantic", "entity", "speaker", "context" (a neighbouring turn matched). */
  readonly signals: readonly string[];
  /** Content with matched terms wrapped in «…». */
  readonly highlighted: string;
}

/** Per-user search over what the opener can open (DESIGN §6). Derived data: rebuildable from the vault. */
export interface SearchIndex {
  search(userId: UserId, query: SearchQuery, opener: EntryOpener): Promise<SearchHit[]>;
  /**
   * Adds or replaces one entry (after append or update). Failures never lose the write: the index catches up.
   * It never marks the index current with the vault: writes it was not told about are found by the next search.
   */
  upsert(userId: UserId, entry: MemoryEntry): Promise<void>;
  remove(userId: UserId, id: string): Promise<void>;
  /** Rebuilds the user's index from the vault. */
  rebuild(userId: UserId, opener: EntryOpener): Promise<{ entries: number; ms: number }>;
  /**
   * Drops in-memory state for levels the session no longer holds (lock, expiry): no search uses it once this
   * returns; it is freed after whatever is already loading it finishes.
   */
  forget(userId: UserId, levels?: readonly SecurityLevel[]): void;
  close(): Promise<void>;
}

/** Text embeddings: offline word vectors by default, an OpenAI-compatible endpoint when configured. */
export interface Embeddings {
  readonly dimensions: number;
  readonly name: string;
  embed(texts: readonly string[]): Promise<Float32Array[]>;
}
