import { securityError } from '../core/errors.js';
import { type Clock, systemClock } from '../ports/clock.js';

/** When failures start to lock, and for how long. */
export interface LockoutPolicy {
  /** Failures from one user+network before the first lock. */
  readonly threshold: number;
  /** Failures for one user from any network before the user-wide lock (distributed guessing). */
  readonly userThreshold: number;
  /** First lock, in milliseconds; each further failure past the threshold doubles it. */
  readonly baseMs: number;
  /** The longest lock. */
  readonly maxMs: number;
  /** Failures older than this are forgotten once no lock is pending. */
  readonly forgetAfterMs: number;
  /** Counters kept at most (least recently touched dropped first), so guessing at many ids cannot grow memory. */
  readonly maxEntries: number;
}

export const DEFAULT_LOCKOUT_POLICY: LockoutPolicy = {
  threshold: 5,
  userThreshold: 10,
  baseMs: 30_000,
  maxMs: 3_600_000,
  forgetAfterMs: 24 * 3_600_000,
  maxEntries: 100_000,
};

/** One counter's state; persisted per user in the AUTH file. */
export interface LockoutState {
  failures: number;
  lastFailure: number;
  lockedUntil: number;
}

/**
 * Failure counters per user and per user+network with exponential back-off (30 s doubling to 1 h by default).
 * While locked, every attempt fails at once with `locked_out` and `details.retryAfterSeconds` — before any
 * password is checked, so a lock reveals nothing about whether a guess was right. A success resets both.
 * Unknown users are counted exactly like known ones, so locking does not reveal who has an account.
 *
 * An attempt is counted when it starts (`reserve`), before its password is checked, not when it fails: guesses
 * sent in parallel would otherwise all pass the check while none had been counted yet, and all be evaluated.
 * A success clears the counters; an attempt that ends without judging the credentials (a storage error, a
 * time-window denial) gives its reservation back (`refund`).
 */
export class Lockout {
  readonly policy: LockoutPolicy;
  private readonly clock: Clock;
  private readonly counters = new Map<string, LockoutState>();

  constructor(options: { clock?: Clock; policy?: Partial<LockoutPolicy> } = {}) {
    this.clock = options.clock ?? systemClock;
    this.policy = { ...DEFAULT_LOCKOUT_POLICY, ...options.policy };
  }

  private keys(userId: string, ip: string | undefined): { user: string; pair: string } {
    return { user: `u:${userId}`, pair: `p:${userId}|${networkOf(ip)}` };
  }

  /** Seconds until the user (from this address) may try again; 0 when not locked. */
  retryAfter(userId: string, ip?: string): number {
    const now = this.clock.now().getTime();
    const { user, pair } = this.keys(userId, ip);
    const until = Math.max(this.counters.get(user)?.lockedUntil ?? 0, this.counters.get(pair)?.lockedUntil ?? 0);
    return until > now ? Math.ceil((until - now) / 1000) : 0;
  }

  /** @throws SECURITY_ERROR locked_out with `details.retryAfterSeconds` while a lock is pending. */
  assertOpen(userId: string, ip?: string): void {
    const retryAfterSeconds = this.retryAfter(userId, ip);
    if (retryAfterSeconds > 0) {
      throw securityError('locked_out', `Too many failed attempts. Try again in ${formatWait(retryAfterSeconds)}.`, {
        retryAfterSeconds,
      });
    }
  }

  /**
   * Checks the lock and counts the attempt as a failure in one synchronous step, before its password is
   * checked. Returns the lock the attempt caused in seconds (0 when none).
   * @throws SECURITY_ERROR locked_out (nothing counted) while a lock is pending.
   */
  reserve(userId: string, ip?: string): number {
    this.assertOpen(userId, ip);
    return this.fail(userId, ip);
  }

  /** Gives back one reservation whose attempt never judged the credentials. */
  refund(userId: string, ip?: string): void {
    const { user, pair } = this.keys(userId, ip);
    this.unbump(pair, this.policy.threshold);
    this.unbump(user, this.policy.userThreshold);
  }

  /** Counts a failure; returns the lock it caused in seconds (0 when none yet). */
  fail(userId: string, ip?: string): number {
    const now = this.clock.now().getTime();
    const { user, pair } = this.keys(userId, ip);
    const a = this.bump(pair, now, this.policy.threshold);
    const b = this.bump(user, now, this.policy.userThreshold);
    return Math.ceil(Math.max(a, b) / 1000);
  }

  /** A success clears the user's counters (this network's and the user-wide one). */
  succeed(userId: string, ip?: string): void {
    const { user, pair } = this.keys(userId, ip);
    this.counters.delete(user);
    this.counters.delete(pair);
  }

  /** The user-wide counter, for persisting across restarts. */
  snapshot(userId: string): LockoutState | undefined {
    const state = this.counters.get(`u:${userId}`);
    return state ? { ...state } : undefined;
  }

  /** Restores a persisted user-wide counter unless a newer one is already in memory. */
  restore(userId: string, state: LockoutState): void {
    const key = `u:${userId}`;
    const current = this.counters.get(key);
    if (!current || current.lastFailure < state.lastFailure) this.counters.set(key, { ...state });
  }

  /** Every counter, for keeping them in a shared store (see SharedLockout). */
  dump(): Array<[string, LockoutState]> {
    return [...this.counters].map(([key, state]) => [key, { ...state }]);
  }

  /** Replaces every counter with `entries` (in least-recently-touched-first order). */
  load(entries: Iterable<readonly [string, LockoutState]>): void {
    this.counters.clear();
    for (const [key, state] of entries) this.counters.set(key, { ...state });
  }

  private unbump(key: string, threshold: number): void {
    const state = this.counters.get(key);
    if (!state) return;
    state.failures = Math.max(0, state.failures - 1);
    state.lockedUntil =
      state.failures >= threshold
        ? state.lastFailure +
          Math.min(this.policy.baseMs * 2 ** Math.min(state.failures - threshold, 30), this.policy.maxMs)
        : 0;
    if (state.failures === 0) this.counters.delete(key);
  }

  private bump(key: string, now: number, threshold: number): number {
    let state = this.counters.get(key);
    if (state && state.lockedUntil <= now && now - state.lastFailure > this.policy.forgetAfterMs) state = undefined;
    state ??= { failures: 0, lastFailure: now, lockedUntil: 0 };
    state.failures += 1;
    state.lastFailure = now;
    let lockMs = 0;
    if (state.failures >= threshold) {
      const exponent = Math.min(state.failures - threshold, 30);
      lockMs = Math.min(this.policy.baseMs * 2 ** exponent, this.policy.maxMs);
      state.lockedUntil = now + lockMs;
    }
    // Re-insert so the map's order is least-recently-touched first, then evict past the bound.
    this.counters.delete(key);
    this.counters.set(key, state);
    while (this.counters.size > this.policy.maxEntries) {
      const oldest = this.counters.keys().next().value;
      if (oldest === undefined) break;
      this.counters.delete(oldest);
    }
    return lockMs;
  }
}

/**
 * The network an address belongs to, for counting and risk: IPv4 /24, IPv6 /48; "unknown" without one.
 * IPv4-mapped IPv6 addresses count as their IPv4 network.
 */
export function networkOf(ip: string | undefined): string {
  if (!ip) return 'unknown';
  const v4 = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.\d{1,3}$/i.exec(ip.trim());
  if (v4) return `${v4[1]}.${v4[2]}.${v4[3]}.0/24`;
  if (ip.includes(':')) {
    const expanded = expandIpv6(ip.trim().split('%')[0] ?? '');
    if (expanded) return `${expanded.slice(0, 3).join(':')}::/48`;
  }
  return 'unknown';
}

function expandIpv6(ip: string): string[] | null {
  const halves = ip.toLowerCase().split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return null;
  const groups = [...head, ...Array<string>(missing).fill('0'), ...tail];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  return groups.map((g) => g.replace(/^0+(?=.)/, ''));
}

function formatWait(seconds: number): string {
  if (seconds < 90) return `${seconds} seconds`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minutes`;
}
