/**
 * Scheduled work that must run once across every server of a deployment (PostgreSQL mode: src/pg/pg-job-runs.ts
 * over mv_job_runs). In file mode one process schedules, and no claims are needed.
 */
export type JobClaim = 'run' | 'done' | 'busy';

export interface JobRuns {
  /**
   * Claims one run of `job` for `key` (a person-day, say). 'run': the caller is now the one to do it, and must
   * `finish` or `release` it. 'done': some server finished it. 'busy': another server holds it now (look again
   * later). A claim neither finished nor released (its server died) is taken over after the adapter's lease.
   */
  claim(job: string, key: string): Promise<JobClaim>;
  /** Marks the caller's claim done: no server runs it again. */
  finish(job: string, key: string): Promise<void>;
  /** Gives the caller's claim up (the run failed): the next check, on any server, may run it. */
  release(job: string, key: string): Promise<void>;
}
