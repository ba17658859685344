/**
 * Where sessions, rate-limit windows and lockout counters live, so that any server process (or host) can serve
 * any request and a restart signs no one out (DESIGN §10). Adapters: SQLite in the data dir for one machine
 * (src/security/sqlite-session-store.ts), PostgreSQL for several hosts (src/pg/pg-session-store.ts). Every adapter
 * passes test/contract/session-store.contract.ts.
 *
 * Contract, for every adapter:
 * - The store never sees a token or a key. A session is found by `tokenHash` (SHA-256 of the bearer token,
 *   32 bytes); its secret state (unlocked levels' private keys, pending challenges) is `sealed`, an opaque
 *   buffer the session layer encrypted under a key derived from the token. The store keeps it byte for byte.
 * - Everything else in a record (`id`, `userId`, times, `seen`) is in the clear: it is what the store needs
 *   to list, expire and count sessions, and it opens nothing.
 * - Every method is async and atomic on its own: two processes calling `touch`, `replace`, `incrementWindow`
 *   or `update` on the same key at once both take effect, in some order, and neither is lost.
 * - Times are milliseconds since the epoch, chosen by the caller (the store does not judge idle or absolute
 *   expiry; the session layer does, from `createdAt`, `seen` and its limits). `purge` is the store's only
 *   notion of time for sessions; counters expire by the `now` of the adapter's clock.
 * - A record or counter that is gone reads as `undefined`; methods that act on one return whether it existed.
 */

/** One session as the store holds it. */
export interface SessionRecord {
  /** SHA-256 of the token: the lookup key (32 bytes). */
  readonly tokenHash: Buffer;
  /** The session's public id (for logs and the audit trail); unique. */
  readonly id: string;
  readonly userId: string;
  readonly createdAt: number;
  /**
   * When the record may be purged (the session layer sets its absolute end plus how long an ended session is
   * still recognised as "expired" rather than "unknown").
   */
  readonly expiresAt: number;
  /** Last use per part of the session (e.g. "1".."4" for levels), merged by maximum in `touch`. */
  readonly seen: Readonly<Record<string, number>>;
  /** Opaque encrypted state; replaced only through `replace`. */
  readonly sealed: Buffer;
  /** Starts at 1; each successful `replace` adds 1 (optimistic concurrency). `touch` leaves it. */
  readonly version: number;
}

export type NewSessionRecord = Omit<SessionRecord, 'version'>;

/** A fixed-window counter after an increment. */
export interface WindowCount {
  /** Increments in the current window, this one included. */
  readonly count: number;
  /** When the current window ends (ms since epoch); the next increment after it starts again at 1. */
  readonly resetAt: number;
}

/** A small JSON value kept under a counter key (lockout state, token buckets). */
export type CounterValue = { readonly [key: string]: number | string | boolean | null };

export interface SessionStorePort {
  /** Stores a new session. @throws CONFLICT when a session with this `tokenHash` or `id` exists. */
  create(record: NewSessionRecord): Promise<void>;
  /** The record, or undefined when there is none (never created, deleted or purged). */
  get(tokenHash: Buffer): Promise<SessionRecord | undefined>;
  /**
   * Merges `seen` into the record's (each key keeps the larger time). Returns false when the record is gone.
   * Does not change `version`.
   */
  touch(tokenHash: Buffer, seen: Readonly<Record<string, number>>): Promise<boolean>;
  /**
   * Replaces `sealed` (and optionally `expiresAt` and `seen`, which replace rather than merge) when the
   * record's version is still `expectedVersion`. Returns the new version, or undefined when the record is gone
   * or another writer replaced it first (read it again and retry).
   */
  replace(
    tokenHash: Buffer,
    expectedVersion: number,
    change: { readonly sealed: Buffer; readonly expiresAt?: number; readonly seen?: Readonly<Record<string, number>> },
  ): Promise<number | undefined>;
  /** Removes one session. Returns whether it existed. */
  delete(tokenHash: Buffer): Promise<boolean>;
  /** Every stored session of a person (any order), expired ones included until purged. */
  listByUser(userId: string): Promise<SessionRecord[]>;
  /** Removes every session of a person ("sign out everywhere"). Returns how many there were. */
  deleteByUser(userId: string): Promise<number>;
  /** Removes sessions whose `expiresAt` is before `before`. Returns how many. */
  purge(before: number): Promise<number>;
  /** Number of stored sessions (metrics). */
  count(): Promise<number>;

  /**
   * Counts one event in a fixed window of `windowMs` starting at the key's first event; the window restarts
   * after it ends. Atomic across processes.
   */
  incrementWindow(key: string, windowMs: number): Promise<WindowCount>;
  /**
   * Atomically reads the counter under `key`, passes it to `fn` and stores what `fn` returns (undefined deletes
   * it). `fn` must be synchronous and free of side effects: an adapter may call it more than once. `ttlMs`: the
   * stored value is forgotten that long after this write. Returns what was stored.
   */
  update(
    key: string,
    ttlMs: number,
    fn: (current: CounterValue | undefined) => CounterValue | undefined,
  ): Promise<CounterValue | undefined>;
  /** The counter under `key`, or undefined when absent or expired. */
  read(key: string): Promise<CounterValue | undefined>;

  /** Whether the store answers (for /v1/ready). */
  ping(): Promise<void>;
  /** Releases connections and handles; the store is unusable after. */
  close(): Promise<void>;
}
