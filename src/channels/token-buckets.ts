import type { Clock } from '../ports/clock.js';

/** Per-key token buckets (burst `capacity`, refilled at `perSecond`), for inbound messages and alerts. */
export class TokenBuckets {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #capacity: number;
  readonly #perSecond: number;
  readonly #clock: Clock;

  constructor(rate: { readonly capacity: number; readonly perSecond: number }, clock: Clock) {
    this.#capacity = rate.capacity;
    this.#perSecond = rate.perSecond;
    this.#clock = clock;
  }

  /** Takes one token for `key`; false when none is left. */
  take(key: string): boolean {
    const now = this.#clock.now().getTime();
    const b = this.#buckets.get(key) ?? { tokens: this.#capacity, at: now };
    b.tokens = Math.min(this.#capacity, b.tokens + ((now - b.at) / 1000) * this.#perSecond);
    b.at = now;
    const ok = b.tokens >= 1;
    if (ok) b.tokens -= 1;
    this.#buckets.set(key, b);
    // Full buckets carry no information: drop them so the map does not grow with every sender ever seen.
    if (this.#buckets.size > 10_000) {
      for (const [k, v] of this.#buckets) if (v.tokens >= this.#capacity - 1) this.#buckets.delete(k);
    }
    return ok;
  }
}
