import type { Clock } from '../ports/clock.js';
import type { CounterValue, SessionStorePort } from '../ports/session-store.js';
import { DEFAULT_LOCKOUT_POLICY, Lockout, type LockoutPolicy, type LockoutState } from './lockout.js';

/** Counters kept per person at most (their networks' and the person-wide one); the stalest go first. */
const MAX_PER_PERSON = 64;

const encode = (entries: Array<[string, LockoutState]>): CounterValue | undefined => {
  if (entries.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const [key, s] of entries.slice(-MAX_PER_PERSON)) out[key] = `${s.failures},${s.lastFailure},${s.lockedUntil}`;
  return out;
};

const decode = (value: CounterValue | undefined): Array<[string, LockoutState]> => {
  if (!value) return [];
  const out: Array<[string, LockoutState]> = [];
  for (const [key, raw] of Object.entries(value)) {
    const [failures, lastFailure, lockedUntil] = String(raw).split(',').map(Number);
    if (![failures, lastFailure, lockedUntil].every(Number.isFinite)) continue;
    out.push([key, { failures: failures ?? 0, lastFailure: lastFailure ?? 0, lockedUntil: lockedUntil ?? 0 }]);
  }
  // Map order is least-recently-touched first: keep it by last failure.
  return out.sort((a, b) => a[1].lastFailure - b[1].lastFailure);
};

/**
 * The Lockout's back-off, with its counters in the shared session store, so every server process (and a
 * restart) sees the same failures: one record per person holds the person-wide counter and one per network.
 * Each operation reads, applies the Lockout rules and writes back in one atomic store update.
 */
export class SharedLockout {
  readonly policy: LockoutPolicy;
  readonly #store: SessionStorePort;
  readonly #clock: Clock;

  constructor(options: { store: SessionStorePort; clock: Clock; policy?: Partial<LockoutPolicy> }) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.policy = { ...DEFAULT_LOCKOUT_POLICY, ...options.policy };
  }

  #key(userId: string): string {
    return `lockout:${userId}`;
  }

  #ttl(): number {
    return this.policy.forgetAfterMs + this.policy.maxMs;
  }

  /** Runs `op` on the person's counters inside one atomic update; returns what op returned (last run). */
  async #with<T>(userId: string, write: boolean, op: (lockout: Lockout) => T): Promise<T> {
    let result: { value: T } | { error: unknown } | undefined;
    const apply = (current: CounterValue | undefined) => {
      const lockout = new Lockout({ clock: this.#clock, policy: this.policy });
      lockout.load(decode(current));
      try {
        result = { value: op(lockout) };
      } catch (error) {
        result = { error };
        return current;
      }
      return encode(lockout.dump());
    };
    if (write) await this.#store.update(this.#key(userId), this.#ttl(), apply);
    else apply(await this.#store.read(this.#key(userId)));
    if (!result) throw new Error('lockout update did not run');
    if ('error' in result) throw result.error;
    return result.value;
  }

  /** Seconds until the user (from this address) may try again; 0 when not locked. */
  retryAfter(userId: string, ip?: string): Promise<number> {
    return this.#with(userId, false, (l) => l.retryAfter(userId, ip));
  }

  /** @throws SECURITY_ERROR locked_out with `details.retryAfterSeconds` while a lock is pending. */
  assertOpen(userId: string, ip?: string): Promise<void> {
    return this.#with(userId, false, (l) => l.assertOpen(userId, ip));
  }

  /** Checks the lock and counts the attempt in one atomic step (see Lockout.reserve). */
  reserve(userId: string, ip?: string): Promise<number> {
    return this.#with(userId, true, (l) => l.reserve(userId, ip));
  }

  refund(userId: string, ip?: string): Promise<void> {
    return this.#with(userId, true, (l) => l.refund(userId, ip));
  }

  fail(userId: string, ip?: string): Promise<number> {
    return this.#with(userId, true, (l) => l.fail(userId, ip));
  }

  succeed(userId: string, ip?: string): Promise<void> {
    return this.#with(userId, true, (l) => l.succeed(userId, ip));
  }
}
