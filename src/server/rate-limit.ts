import type { Clock } from '../ports/clock.js';
import type { SessionStorePort } from '../ports/session-store.js';

export interface RateLimitOptions {
  /** Attempts allowed in a burst. */
  readonly capacity: number;
  /** Attempts regained per minute. */
  readonly perMinute: number;
  /** Keys remembered at most; the least recently used are forgotten first (bounded memory under a flood). */
  readonly maxKeys?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets keyed by a string ("ip:…", "phone:…"), in memory: one process's view, for an app built without a
 * shared store (tests, embedding). `memvault serve` uses SharedRateLimiter so all workers count together.
 */
export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #capacity: number;
  readonly #perMs: number;
  readonly #maxKeys: number;
  readonly #clock: Clock;

  constructor(options: RateLimitOptions, clock: Clock) {
    if (!(options.capacity >= 1) || !(options.perMinute > 0)) {
      throw new RangeError('Rate limit needs capacity >= 1 and perMinute > 0');
    }
    this.#capacity = options.capacity;
    this.#perMs = options.perMinute / 60_000;
    this.#maxKeys = options.maxKeys ?? 100_000;
    this.#clock = clock;
  }

  /**
   * Takes one token from each key's bucket, all or nothing.
   * @returns 0 when allowed, else the seconds to wait before the next attempt can pass.
   */
  take(keys: readonly string[]): number {
    const now = this.#clock.now().getTime();
    let wait = 0;
    const buckets = keys.map((key) => {
      const bucket = this.#refill(key, now);
      if (bucket.tokens < 1) wait = Math.max(wait, Math.ceil((1 - bucket.tokens) / this.#perMs / 1000));
      return bucket;
    });
    if (wait > 0) return wait;
    for (const bucket of buckets) bucket.tokens -= 1;
    return 0;
  }

  /** Forgets a key (e.g. the phone's bucket after a successful sign-in). */
  reset(key: string): void {
    this.#buckets.delete(key);
  }

  #refill(key: string, now: number): Bucket {
    let bucket = this.#buckets.get(key);
    if (bucket) {
      this.#buckets.delete(key); // re-insert below: Map order is the LRU order
      bucket.tokens = Math.min(this.#capacity, bucket.tokens + (now - bucket.at) * this.#perMs);
      bucket.at = now;
    } else {
      bucket = { tokens: this.#capacity, at: now };
      if (this.#buckets.size >= this.#maxKeys) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
    }
    this.#buckets.set(key, bucket);
    return bucket;
  }
}

/**
 * The same token buckets kept in the shared session store, so every worker and host counts against one bucket
 * per key. Each key's refill-and-take is one atomic store update; with several keys, a refusal by a later key
 * gives the earlier keys their token back (all or nothing, as in RateLimiter).
 */
export class SharedRateLimiter {
  readonly #store: SessionStorePort;
  readonly #capacity: number;
  readonly #perMs: number;
  readonly #clock: Clock;

  constructor(options: RateLimitOptions, clock: Clock, store: SessionStorePort) {
    if (!(options.capacity >= 1) || !(options.perMinute > 0)) {
      throw new RangeError('Rate limit needs capacity >= 1 and perMinute > 0');
    }
    this.#capacity = options.capacity;
    this.#perMs = options.perMinute / 60_000;
    this.#clock = clock;
    this.#store = store;
  }

  /** How long an untouched bucket takes to fill up again: after that it is forgotten. */
  #ttl(): number {
    return Math.ceil(this.#capacity / this.#perMs) + 1000;
  }

  async #takeOne(key: string, delta: -1 | 1): Promise<number> {
    let wait = 0;
    await this.#store.update(`rate:${key}`, this.#ttl(), (current) => {
      const now = this.#clock.now().getTime();
      const before = typeof current?.tokens === 'number' ? current.tokens : this.#capacity;
      const at = typeof current?.at === 'number' ? current.at : now;
      const tokens = Math.min(this.#capacity, before + Math.max(0, now - at) * this.#perMs);
      wait = 0;
      if (delta === -1 && tokens < 1) {
        wait = Math.ceil((1 - tokens) / this.#perMs / 1000);
        return { tokens, at: now };
      }
      return { tokens: Math.min(this.#capacity, tokens + delta), at: now };
    });
    return wait;
  }

  /** @returns 0 when allowed (one token taken from each key), else the seconds to wait. */
  async take(keys: readonly string[]): Promise<number> {
    const taken: string[] = [];
    for (const key of keys) {
      const wait = await this.#takeOne(key, -1);
      if (wait > 0) {
        for (const k of taken) await this.#takeOne(k, 1);
        return wait;
      }
      taken.push(key);
    }
    return 0;
  }

  /** Forgets a key (e.g. the phone's bucket after a successful sign-in). */
  async reset(key: string): Promise<void> {
    await this.#store.update(`rate:${key}`, 1, () => undefined);
  }
}
