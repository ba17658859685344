import { Cron } from 'croner';
import type { UserId } from '../core/entry.js';
import { MemvaultError } from '../core/errors.js';
import { addDays, localDayRange, localParts } from '../core/local-day.js';
import { type Clock, systemClock } from '../ports/clock.js';
import type { JobRuns } from '../ports/jobs.js';
import { type Logger, silentLogger } from '../ports/logger.js';

export interface DailySchedulerOptions {
  listUsers(): Promise<UserId[]>;
  timezoneOf(userId: UserId): Promise<string>;
  /** Days already processed for the person (read once per person, then kept in memory). */
  processedDays(userId: UserId): Promise<string[]>;
  process(userId: UserId, day: string): Promise<unknown>;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** People processed at the same time (default 2: this is a small machine shared with requests). */
  readonly concurrency?: number;
  /** How long after local midnight a day counts as over (default 5 minutes: late messages still land in it). */
  readonly graceMs?: number;
  /** How far back a person's missed days are caught up after downtime (default 7). */
  readonly catchUpDays?: number;
  /** Cron pattern of the checks (default every 5 minutes); each check processes every day that is due. */
  readonly pattern?: string;
  /**
   * Several servers over one database (PostgreSQL mode): each person-day is claimed here before it runs and
   * marked finished after, so it runs on one server however many check. Without it this process is the only
   * one that processes days (file mode: one process of a host schedules).
   */
  readonly runs?: JobRuns;
}

/** The job name of a scheduled person-day in `JobRuns` (its key: `<E164>/<YYYY-MM-DD>`). */
export const DAY_JOB = 'insights.day';

/**
 * Processes each person's day shortly after their local midnight. croner wakes it every few minutes; each wake
 * asks the clock (injected, so tests control time) which person-days are over and not yet processed, and works
 * through them oldest first with bounded concurrency. A person whose run is still going is skipped, so one
 * person's day never runs twice at once; days missed while the server was down are caught up.
 */
export class DailyScheduler {
  readonly #o: DailySchedulerOptions;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #done = new Map<UserId, string>();
  readonly #running = new Set<UserId>();
  #cron: Cron | null = null;
  #tick: Promise<number> | null = null;

  constructor(options: DailySchedulerOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? silentLogger;
  }

  /** Starts the periodic checks and runs one now (catching up after downtime). */
  start(): void {
    if (this.#cron) return;
    this.#cron = new Cron(this.#o.pattern ?? '*/5 * * * *', { protect: true, unref: true }, async () => {
      await this.tick();
    });
    void this.tick();
  }

  async stop(): Promise<void> {
    this.#cron?.stop();
    this.#cron = null;
    await this.#tick?.catch(() => 0);
  }

  /** The days of a person that are over (by the clock, in their zone) and not processed yet, oldest first. */
  async dueDays(userId: UserId): Promise<string[]> {
    const tz = await this.#o.timezoneOf(userId);
    const now = this.#clock.now();
    const grace = this.#o.graceMs ?? 5 * 60_000;
    let last = localParts(now, tz).day;
    // Yesterday is due only once its end (local midnight, whatever DST did to it) plus the grace has passed.
    while (localDayRange(last, tz).end.getTime() + grace > now.getTime()) last = addDays(last, -1);
    let done = this.#done.get(userId);
    if (done === undefined) {
      done = (await this.#o.processedDays(userId)).at(-1) ?? '';
      this.#done.set(userId, done);
    }
    const oldest = addDays(last, -((this.#o.catchUpDays ?? 7) - 1));
    const out: string[] = [];
    for (let d = done >= oldest ? addDays(done, 1) : oldest; d <= last; d = addDays(d, 1)) out.push(d);
    return out;
  }

  /** One check: processes every due person-day. Returns how many days were processed. */
  tick(): Promise<number> {
    // Overlapping wakes share one pass.
    if (this.#tick) return this.#tick;
    this.#tick = this.#runTick().finally(() => {
      this.#tick = null;
    });
    return this.#tick;
  }

  async #runTick(): Promise<number> {
    let users: UserId[];
    try {
      users = await this.#o.listUsers();
    } catch (error) {
      this.#logger.error({ err: summary(error) }, 'insights scheduler: cannot list users');
      return 0;
    }
    const queue = users.filter((u) => !this.#running.has(u));
    let processed = 0;
    let elsewhere = 0;
    const worker = async () => {
      for (let userId = queue.shift(); userId !== undefined; userId = queue.shift()) {
        this.#running.add(userId);
        try {
          for (const day of await this.dueDays(userId)) {
            const outcome = await this.#runOnce(userId, day);
            // Another server runs this day now: the next wake looks again (its later days wait behind it).
            if (outcome === 'busy') break;
            this.#done.set(userId, day);
            if (outcome === 'ran') processed++;
            else elsewhere++;
          }
        } catch (error) {
          // One person's failure never stops the others; their days stay due and are retried next wake.
          this.#logger.warn({ userId, err: summary(error) }, 'insights scheduler: processing failed');
        } finally {
          this.#running.delete(userId);
        }
      }
    };
    const n = Math.max(1, Math.min(this.#o.concurrency ?? 2, queue.length));
    await Promise.all(Array.from({ length: n }, worker));
    if (processed + elsewhere > 0) this.#logger.info({ processed, elsewhere }, 'insights scheduler: days processed');
    return processed;
  }

  /** Runs one person-day unless another server did ('done') or does ('busy') it. */
  async #runOnce(userId: UserId, day: string): Promise<'ran' | 'done' | 'busy'> {
    const runs = this.#o.runs;
    const key = `${userId}/${day}`;
    const claim = runs ? await runs.claim(DAY_JOB, key) : 'run';
    if (claim !== 'run') return claim;
    try {
      await this.#o.process(userId, day);
    } catch (error) {
      // Given up, so the next wake (here or on another server) runs it again.
      await runs?.release(DAY_JOB, key).catch(() => undefined);
      throw error;
    }
    await runs?.finish(DAY_JOB, key);
    return 'ran';
  }
}

function summary(error: unknown): { code?: string; name?: string } {
  if (error instanceof MemvaultError) return { code: error.code };
  if (error instanceof Error) return { name: error.name };
  return {};
}
