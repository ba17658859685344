import type { UserId } from '../core/entry.js';
import { PERSON_LOCK_SQL, type PgDatabase } from './database.js';

/**
 * Deletes every row of one person — profile and memories, audit log and its head, insights, keyring and sign-in
 * records, settings, sessions, lockout counter, scheduled-day claims — in one transaction holding their vault lock,
 * so no write of theirs lands in between and a failure leaves them whole. Returns whether they existed.
 */
export async function erasePerson(db: PgDatabase, userId: UserId): Promise<boolean> {
  return db.tx('delete the account', async (client) => {
    await client.query(PERSON_LOCK_SQL, [userId]);
    // mv_entries goes with mv_users (ON DELETE CASCADE).
    const gone = await client.query('DELETE FROM mv_users WHERE user_id = $1', [userId]);
    for (const sql of [
      'DELETE FROM mv_audit WHERE user_id = $1',
      'DELETE FROM mv_audit_head WHERE user_id = $1',
      'DELETE FROM mv_insights WHERE user_id = $1',
      'DELETE FROM mv_documents WHERE owner = $1',
      'DELETE FROM mv_sessions WHERE user_id = $1',
      "DELETE FROM mv_counters WHERE key = 'lockout:' || $1",
      // Claim keys are `<E164>/<day>`; an E.164 number holds neither % nor _.
      "DELETE FROM mv_job_runs WHERE run_key LIKE $1 || '/%'",
    ]) {
      await client.query(sql, [userId]);
    }
    return (gone.rowCount ?? 0) > 0;
  });
}
