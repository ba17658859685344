/**
 * The PostgreSQL schema, as numbered steps applied in order on start (PgDatabase.migrate), each once, in a
 * transaction under an advisory lock. A step is never edited once released: a change is a new step.
 * Kept in TypeScript rather than .sql files so the build ships them without a copy step.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'vault, audit, insights, jobs',
    sql: `
      -- One row per person: the profile exactly as USER.<id>.md holds it, and the vault revision, which every
      -- write moves on by one. reset_revision is the revision of the last delete or move (a cache that is
      -- older must reload rather than read only the rows changed since).
      CREATE TABLE mv_users (
        user_id text PRIMARY KEY,
        profile text NOT NULL,
        revision bigint NOT NULL DEFAULT 0,
        reset_revision bigint NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      -- One row per memory: the unit exactly as the category file holds it (plain Markdown or sealed block),
      -- so an export writes the same bytes. pos orders a category as the file does; revision is when the row
      -- was last written.
      CREATE TABLE mv_entries (
        user_id text NOT NULL REFERENCES mv_users (user_id) ON DELETE CASCADE,
        id text NOT NULL,
        category text NOT NULL,
        pos bigint NOT NULL,
        revision bigint NOT NULL,
        unit text NOT NULL,
        PRIMARY KEY (user_id, id)
      );
      CREATE INDEX mv_entries_changed ON mv_entries (user_id, revision);
      -- The audit log: the same canonical JSON lines as AUDIT.<id>.log, hash-chained and MAC'd, and the MAC'd head.
      CREATE TABLE mv_audit (
        user_id text NOT NULL,
        seq bigint NOT NULL,
        line text NOT NULL,
        PRIMARY KEY (user_id, seq)
      );
      CREATE TABLE mv_audit_head (
        user_id text PRIMARY KEY,
        seq bigint NOT NULL,
        hash text NOT NULL,
        mac text NOT NULL
      );
      -- The Daily Memory Manager's state, sealed at level 1 as INSIGHTS.<id>.sealed is.
      CREATE TABLE mv_insights (
        user_id text PRIMARY KEY,
        payload text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      -- Scheduled work that must run once across every server: the first server to insert the key runs it.
      CREATE TABLE mv_job_runs (
        job text NOT NULL,
        run_key text NOT NULL,
        claimed_by text NOT NULL,
        claimed_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        PRIMARY KEY (job, run_key)
      );
    `,
  },
  {
    version: 2,
    name: 'sessions, counters, sign-in records',
    sql: `
      -- Sessions, rate-limit windows and lockout counters (src/ports/session-store.ts), shared by every server:
      -- a session made on one is used on another, and failures counted anywhere lock everywhere. Times are
      -- milliseconds since the epoch, chosen by the caller as in the SQLite store.
      CREATE TABLE mv_sessions (
        token_hash bytea PRIMARY KEY,
        id text NOT NULL UNIQUE,
        user_id text NOT NULL,
        created_at bigint NOT NULL,
        expires_at bigint NOT NULL,
        seen jsonb NOT NULL,
        sealed bytea NOT NULL,
        version integer NOT NULL
      );
      CREATE INDEX mv_sessions_user ON mv_sessions (user_id);
      CREATE INDEX mv_sessions_expiry ON mv_sessions (expires_at);
      CREATE TABLE mv_counters (
        key text PRIMARY KEY,
        value jsonb NOT NULL,
        expires_at bigint NOT NULL
      );
      CREATE TABLE mv_windows (
        key text PRIMARY KEY,
        count integer NOT NULL,
        reset_at bigint NOT NULL
      );
      -- Keyrings, sign-in factors, recovery kits and the token store (src/ports/documents.ts): the very text each
      -- file holds (sealed and MAC'd by memvault), per person (owner = E.164) or for the instance (owner = '').
      CREATE SEQUENCE mv_documents_version;
      CREATE TABLE mv_documents (
        owner text NOT NULL,
        name text NOT NULL,
        body text NOT NULL,
        version bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (owner, name)
      );
    `,
  },
  {
    version: 3,
    name: 'entry revisions: several rows per memory',
    sql: `
      -- Entry revisions (docs/entry-format.md, "Revisions"): a change inserts the entry's next revision as a new
      -- row (its unit carries the **Revision** line) instead of replacing the row, so versions, the trash and the
      -- history a file vault holds are kept, and copied both ways by memvault migrate. An entry is now its rows
      -- ordered by pos (unique per person's entry); the current one is decided as in the file vault.
      ALTER TABLE mv_entries DROP CONSTRAINT mv_entries_pkey;
      ALTER TABLE mv_entries ADD PRIMARY KEY (user_id, id, pos);
    `,
  },
];
