import type { UserId } from '../core/entry.js';
import { validationError } from '../core/errors.js';
import { isUserId } from '../core/e164.js';
import { emptyInsightsState, type InsightsState, type InsightsStore } from '../ports/insights.js';
import type { EntryOpener, EntrySealer } from '../ports/sealer.js';
import { decodeInsights, encodeInsights } from '../insights/store.js';
import type { PgDatabase } from './database.js';

/** The Daily Memory Manager's state in PostgreSQL: the same sealed text as INSIGHTS.<id>.sealed, one row a person. */
export class PgInsightsStore implements InsightsStore {
  readonly #db: PgDatabase;
  readonly #sealer: EntrySealer;

  constructor(options: { db: PgDatabase; sealer: EntrySealer }) {
    this.#db = options.db;
    this.#sealer = options.sealer;
  }

  async load(userId: UserId, opener: EntryOpener): Promise<InsightsState> {
    checkUser(userId);
    const rows = await this.#db.query<{ payload: string }>(
      'read the insights',
      'SELECT payload FROM mv_insights WHERE user_id = $1',
      [userId],
    );
    return rows[0] ? decodeInsights(rows[0].payload, userId, opener) : emptyInsightsState();
  }

  async save(userId: UserId, state: InsightsState): Promise<void> {
    checkUser(userId);
    const payload = await encodeInsights(this.#sealer, userId, state);
    await this.#db.query(
      'save the insights',
      'INSERT INTO mv_insights (user_id, payload) VALUES ($1, $2) ' +
        'ON CONFLICT (user_id) DO UPDATE SET payload = EXCLUDED.payload, updated_at = now()',
      [userId, payload],
    );
  }
}

function checkUser(userId: unknown): void {
  if (typeof userId !== 'string' || !isUserId(userId)) {
    throw validationError('Not a valid user id: expected an E.164 phone number such as +14155550134.', {
      field: 'userId',
    });
  }
}
