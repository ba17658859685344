import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { JobClaim, JobRuns } from '../ports/jobs.js';
import type { PgDatabase } from './database.js';

/**
 * "Run once across servers" over `mv_job_runs` (job, run key): the first server whose INSERT … ON CONFLICT lands
 * the key runs the job; the others see it taken ('busy') or finished ('done'). A claim whose server died before
 * finishing or releasing it is taken over once it is older than the lease (default 30 minutes); the server that
 * holds a claim may claim it again (a retry after its own `finish` failed).
 */
export class PgJobRuns implements JobRuns {
  readonly #db: PgDatabase;
  /** This process's name in `claimed_by`: host, pid and a random part (pids repeat across hosts and restarts). */
  readonly owner: string;
  readonly #leaseSeconds: number;

  constructor(options: { readonly db: PgDatabase; readonly owner?: string; readonly leaseMs?: number }) {
    this.#db = options.db;
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.#leaseSeconds = Math.max(1, (options.leaseMs ?? 30 * 60_000) / 1000);
  }

  async claim(job: string, key: string): Promise<JobClaim> {
    const won = await this.#db.query<{ claimed_by: string }>(
      'claim a scheduled run',
      'INSERT INTO mv_job_runs (job, run_key, claimed_by) VALUES ($1, $2, $3) ' +
        'ON CONFLICT (job, run_key) DO UPDATE SET claimed_by = EXCLUDED.claimed_by, claimed_at = now() ' +
        'WHERE mv_job_runs.finished_at IS NULL AND (mv_job_runs.claimed_by = EXCLUDED.claimed_by ' +
        'OR mv_job_runs.claimed_at < now() - make_interval(secs => $4)) RETURNING claimed_by',
      [job, key, this.owner, this.#leaseSeconds],
    );
    if (won.length > 0) return 'run';
    const rows = await this.#db.query<{ finished: boolean }>(
      'read a scheduled run',
      'SELECT finished_at IS NOT NULL AS finished FROM mv_job_runs WHERE job = $1 AND run_key = $2',
      [job, key],
    );
    // Released between the two statements: 'busy', and the next check claims it.
    return rows[0]?.finished ? 'done' : 'busy';
  }

  async finish(job: string, key: string): Promise<void> {
    await this.#db.query(
      'finish a scheduled run',
      'UPDATE mv_job_runs SET finished_at = now() WHERE job = $1 AND run_key = $2 AND claimed_by = $3',
      [job, key, this.owner],
    );
  }

  async release(job: string, key: string): Promise<void> {
    await this.#db.query(
      'release a scheduled run',
      'DELETE FROM mv_job_runs WHERE job = $1 AND run_key = $2 AND claimed_by = $3 AND finished_at IS NULL',
      [job, key, this.owner],
    );
  }
}
