import type { Clock } from '../ports/clock.js';

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
 * Token buckets keyed by a string ("ip:…", "phone:…"), in memory. One process's view: with several processes
 * behind a balancer each limits on its own, which still caps a brute force at N× the rate.
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
