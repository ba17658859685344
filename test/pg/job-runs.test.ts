import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { UserId } from '../../src/core/entry.js';
import { MemvaultError } from '../../src/core/errors.js';
import { DAY_JOB, DailyScheduler } from '../../src/insights/scheduler.js';
import { PgDatabase } from '../../src/pg/database.js';
import { PgJobRuns } from '../../src/pg/pg-job-runs.js';
import { freshDatabase, planPgSuite, TEST_DATABASE_URL } from './pg-test-db.js';

const plan = await planPgSuite();
if (plan.action === 'fail') throw new Error(plan.message);
if (plan.action === 'skip') console.warn(plan.line);

const ALICE = '+14155550134' as UserId;
const BOB = '+447700900123' as UserId;
const NOW = new Date('2026-11-30T12:00:00Z');

describe.skipIf(plan.action === 'skip')('scheduled person-days across servers (mv_job_runs)', () => {
  let fx: Awaited<ReturnType<typeof freshDatabase>>;
  let others: PgDatabase[];
  beforeEach(async () => {
    fx = await freshDatabase();
    others = [
      await PgDatabase.open({ url: TEST_DATABASE_URL, schema: fx.schema }),
      await PgDatabase.open({ url: TEST_DATABASE_URL, schema: fx.schema }),
    ];
  });
  afterEach(async () => {
    for (const db of others) await db.close();
    await fx.drop();
  });

  /** Three schedulers, each with its own pool, as three servers; `runs` records every day processed. */
  const servers = (process: (server: number, userId: UserId, day: string) => Promise<void>) =>
    [fx.db, ...others].map(
      (db, server) =>
        new DailyScheduler({
          listUsers: async () => [ALICE, BOB],
          timezoneOf: async () => 'UTC',
          processedDays: async () => [],
          process: (userId, day) => process(server, userId, day),
          clock: { now: () => NOW },
          catchUpDays: 7,
          runs: new PgJobRuns({ db, owner: `server-${server}` }),
        }),
    );

  it('runs each person-day once however many servers check at once', async () => {
    const ran: string[] = [];
    const schedulers = servers(async (server, userId, day) => {
      ran.push(`${userId}/${day}`);
      // Work that takes a while, so the other servers check while it runs.
      await new Promise((r) => setTimeout(r, 5 + server));
    });
    await Promise.all(schedulers.map((s) => s.tick()));
    // A server that found a day busy looks again at its next wake; by then every day is done.
    await Promise.all(schedulers.map((s) => s.tick()));
    expect(ran).toHaveLength(14);
    expect(new Set(ran).size).toBe(14);
    const rows = await fx.db.query<{ n: string }>(
      'x',
      'SELECT count(*) AS n FROM mv_job_runs WHERE job = $1 AND finished_at IS NOT NULL',
      [DAY_JOB],
    );
    expect(Number(rows[0]!.n)).toBe(14);
    // Later wakes find nothing left to do anywhere.
    expect(await Promise.all(schedulers.map((s) => s.tick()))).toEqual([0, 0, 0]);
  });

  it('a day whose run failed is released and run again, once', async () => {
    let failures = 0;
    const ran: string[] = [];
    const schedulers = servers(async (_server, userId, day) => {
      if (userId === ALICE && day === '2026-11-27' && failures === 0) {
        failures++;
        throw new MemvaultError('STORAGE_ERROR', 'the disk said no');
      }
      ran.push(`${userId}/${day}`);
    });
    for (let round = 0; round < 3; round++) await Promise.all(schedulers.map((s) => s.tick()));
    expect(failures).toBe(1);
    expect(ran.filter((r) => r === `${ALICE}/2026-11-27`)).toHaveLength(1);
    expect(new Set(ran).size).toBe(14);
    expect(ran).toHaveLength(14);
  });

  it('takes over a claim whose server died before finishing it, once the lease is over', async () => {
    const key = `${ALICE}/2026-11-29`;
    const dead = new PgJobRuns({ db: fx.db, owner: 'dead-server' });
    expect(await dead.claim(DAY_JOB, key)).toBe('run');
    const alive = new PgJobRuns({ db: others[0]!, owner: 'alive', leaseMs: 60_000 });
    expect(await alive.claim(DAY_JOB, key)).toBe('busy');
    await fx.db.query('x', "UPDATE mv_job_runs SET claimed_at = now() - interval '2 minutes'");
    expect(await alive.claim(DAY_JOB, key)).toBe('run');
    // The dead server's late finish does not count: the claim is no longer its own.
    await dead.finish(DAY_JOB, key);
    expect(await new PgJobRuns({ db: others[1]!, owner: 'third' }).claim(DAY_JOB, key)).toBe('busy');
    await alive.finish(DAY_JOB, key);
    expect(await dead.claim(DAY_JOB, key)).toBe('done');
  });
});
