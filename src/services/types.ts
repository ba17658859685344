import type { Category, SecurityLevel } from '../core/category.js';
import type { Channel, MemoryEntry, UserId } from '../core/entry.js';
import type { Classification } from '../ports/classifier.js';
import type { EntryOpener } from '../ports/sealer.js';
import type { SearchHit, SearchQuery } from '../ports/search.js';
import type { RequestMeta } from '../ports/security.js';
import type { EntryFilter, EntryVersion, ProfilePatch, ReadResult, TrashedEntry, UserProfile } from '../ports/vault.js';

/** The caller of a use case, as an edge authenticated it. */
export interface Principal {
  readonly userId: UserId;
  /** Opens what the caller's session (or one-shot unlock) holds. */
  readonly opener: EntryOpener;
  /** Public session id, when there is a session. */
  readonly sessionId?: string;
  readonly meta: RequestMeta;
  /** The name of the personal access token or OAuth client acting (audit records name it as the client). */
  readonly client?: string;
}

export interface RememberOptions {
  readonly channel: Channel;
  /** Message time; default now. */
  readonly at?: Date;
  readonly externalId?: string;
  /** Overrides the classifier (the person chose the category). */
  readonly category?: Category;
}

export interface RememberResult {
  readonly entry: MemoryEntry;
  readonly classification: Classification;
  /** A short confirmation for the channel: "Saved to Chronological · tagged hiking, Sara". */
  readonly reply: string;
  /** False when the index failed; the write is safe and the index catches up. */
  readonly indexed: boolean;
}

export interface SignUpInput {
  readonly phone: string;
  readonly name?: string | null;
  readonly timezone?: string;
  readonly email?: string | null;
  readonly password?: string | null;
}

/** Events for later consumers (notifications, insights). */
export type MemvaultEvent =
  | { readonly type: 'memory.stored'; readonly userId: UserId; readonly entryId: string; readonly level: SecurityLevel }
  | { readonly type: 'memory.corrected'; readonly userId: UserId; readonly entryId: string; readonly to: Category }
  | { readonly type: 'memory.deleted'; readonly userId: UserId; readonly entryId: string }
  /** A search ran (ids only: never the query). Onboarding counts the first one. */
  | { readonly type: 'memory.searched'; readonly userId: UserId };

/** The use cases every edge (CLI, HTTP, MCP, channels) calls. */
export interface MemoryService {
  signUp(input: SignUpInput): Promise<UserProfile>;
  profile(userId: UserId): Promise<UserProfile>;
  /** Changes the person's name, time zone or preferences (e.g. `locale`). */
  updateProfile(userId: UserId, patch: ProfilePatch): Promise<UserProfile>;
  remember(principal: Principal, text: string, options: RememberOptions): Promise<RememberResult>;
  list(principal: Principal, filter: EntryFilter): Promise<ReadResult>;
  get(principal: Principal, id: string): Promise<MemoryEntry>;
  correct(principal: Principal, id: string, category: Category): Promise<MemoryEntry>;
  /**
   * Replaces a memory's text: classified again like a capture (category, level, tags, dates), stored as a new
   * revision; the earlier text stays as a version, sealed at the level it had.
   */
  edit(principal: Principal, id: string, text: string): Promise<MemoryEntry>;
  /** Earlier versions of a memory's text, newest first (a version in a locked level comes without its entry). */
  versions(principal: Principal, id: string): Promise<EntryVersion[]>;
  /**
   * Moves a memory to the trash (restorable for 30 days), or with `permanent` erases it now, with its versions
   * and every link to it. Resolves to what happened: a vault without a trash erases.
   */
  delete(principal: Principal, id: string, options?: { permanent?: boolean }): Promise<'trashed' | 'erased'>;
  /** Brings a memory back from the trash. @throws NOT_FOUND when it is not there. */
  restore(principal: Principal, id: string): Promise<MemoryEntry>;
  /** The trash, most recently deleted first. */
  trash(principal: Principal): Promise<TrashedEntry[]>;
  /** Erases everything in the trash the session can open; returns how many. */
  emptyTrash(principal: Principal): Promise<number>;
  related(principal: Principal, id: string): Promise<MemoryEntry[]>;
  search(principal: Principal, query: SearchQuery): Promise<SearchHit[]>;
  classify(text: string, userId?: UserId): Promise<Classification>;
  reindex(principal: Principal): Promise<{ entries: number; ms: number }>;
  on(listener: (event: MemvaultEvent) => void): () => void;
}
