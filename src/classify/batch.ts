import { isMemvaultError, validationError } from '../core/errors.js';
import type { Classification, Classifier, ClassifyContext } from '../ports/classifier.js';

/** One message of a batch, with its own context (time, user, zone) when it has one. */
export interface BatchItem {
  readonly text: string;
  readonly ctx?: ClassifyContext;
}

/** The outcome for one input, in input order. */
export type BatchResult =
  | { readonly ok: true; readonly result: Classification }
  | { readonly ok: false; readonly error: Error };

/** Time source for the rate limiter; tests pass a virtual one. */
export interface BatchTimer {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export interface BatchOptions {
  /** Classifications in flight at once (default 4). */
  readonly concurrency?: number;
  /** Token-bucket rate limit: at most this many classifications start per second (default: unlimited). */
  readonly ratePerSecond?: number;
  /** Bucket size: how many may start back to back after a quiet period (default 1: evenly spaced). */
  readonly burst?: number;
  /** Extra attempts for an item that failed with anything but a validation error (default 1). */
  readonly retries?: number;
  /** Called after each item settles, with the count settled so far. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Context for items given as plain strings. */
  readonly ctx?: ClassifyContext;
  /** Stops starting new items; the ones not started fail with a VALIDATION_ERROR "cancelled". */
  readonly signal?: AbortSignal;
  readonly timer?: BatchTimer;
}

const realTimer: BatchTimer = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** A token bucket: `take()` resolves when a token is available; callers are served in order. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly ratePerSecond: number,
    private readonly capacity: number,
    private readonly timer: BatchTimer = realTimer,
  ) {
    if (!(ratePerSecond > 0) || !(capacity >= 1)) {
      throw validationError('The rate limit must be a positive rate with a burst of at least 1.', {
        field: 'ratePerSecond',
      });
    }
    this.tokens = capacity;
    this.last = timer.now();
  }

  take(): Promise<void> {
    const turn = this.chain.then(async () => {
      this.refill();
      if (this.tokens < 1) {
        await this.timer.sleep(((1 - this.tokens) / this.ratePerSecond) * 1000);
        this.refill();
      }
      this.tokens = Math.max(0, this.tokens - 1);
    });
    this.chain = turn;
    return turn;
  }

  private refill(): void {
    const now = this.timer.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
    this.last = now;
  }
}

/**
 * Classifies many messages (seed `batch_classify`) with bounded concurrency and an optional token-bucket
 * rate limit. Never rejects for one bad item: each result is `{ ok: true, result }` or `{ ok: false, error }`
 * in input order.
 */
export async function classifyBatch(
  classifier: Classifier,
  texts: ReadonlyArray<string | BatchItem>,
  options: BatchOptions = {},
): Promise<BatchResult[]> {
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 4));
  const retries = Math.max(0, Math.floor(options.retries ?? 1));
  const timer = options.timer ?? realTimer;
  const bucket =
    options.ratePerSecond === undefined
      ? undefined
      : new TokenBucket(options.ratePerSecond, Math.max(1, options.burst ?? 1), timer);
  const total = texts.length;
  const results = new Array<BatchResult>(total);
  let next = 0;
  let done = 0;

  const runOne = async (index: number): Promise<BatchResult> => {
    const item = texts[index]!;
    const text = typeof item === 'string' ? item : item.text;
    const ctx = typeof item === 'string' ? options.ctx : (item.ctx ?? options.ctx);
    for (let attempt = 0; ; attempt++) {
      if (options.signal?.aborted) return { ok: false, error: validationError('The batch was cancelled.') };
      await bucket?.take();
      try {
        return { ok: true, result: await classifier.classify(text, ctx) };
      } catch (error) {
        const err = error instanceof Error ? error : new Error(String(error));
        if (attempt >= retries || isMemvaultError(err, 'VALIDATION_ERROR')) return { ok: false, error: err };
      }
    }
  };

  const worker = async () => {
    while (next < total) {
      const index = next++;
      results[index] = await runOne(index);
      done++;
      options.onProgress?.(done, total);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return results;
}
