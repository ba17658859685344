import { describe } from 'vitest';
import type { UserId } from '../../src/core/entry.js';
import { PgDatabase } from '../../src/pg/database.js';
import { PgAuditLog } from '../../src/pg/pg-audit-log.js';
import { PgDocuments } from '../../src/pg/pg-documents.js';
import { PgInsightsStore } from '../../src/pg/pg-insights-store.js';
import { PgSessionStore } from '../../src/pg/pg-session-store.js';
import { describeAuditLogContract } from '../contract/audit-log.contract.js';
import { describeAuthRecordsContract, describeDocumentStoreContract } from '../contract/auth-records.contract.js';
import { describeInsightsStoreContract } from '../contract/insights-store.contract.js';
import { describeSessionStoreContract } from '../contract/session-store.contract.js';
import { testSealer } from '../vault/fixtures/test-sealer.js';
import { freshDatabase, planPgSuite, TEST_DATABASE_URL } from './pg-test-db.js';

/**
 * The PostgreSQL adapters through the very contracts the file-mode adapters pass (test/security/
 * file-stores.contract.test.ts, test/security/sqlite-session-store.test.ts). Each fixture migrates a schema of its
 * own and drops it; a "second handle" is another pool on that schema, as a second server would have.
 */
const plan = await planPgSuite();
if (plan.action === 'fail') throw new Error(plan.message);
if (plan.action === 'skip') console.warn(plan.line);

const MASTER = new Uint8Array(32).fill(3);

/** A fresh schema, other pools on it on demand, and a cleanup that closes them all and drops the schema. */
async function schema() {
  const fx = await freshDatabase();
  const others: PgDatabase[] = [];
  return {
    db: fx.db,
    open: async () => {
      const db = await PgDatabase.open({ url: TEST_DATABASE_URL, schema: fx.schema });
      others.push(db);
      return db;
    },
    cleanup: async () => {
      for (const db of others.splice(0)) await db.close();
      await fx.drop();
    },
  };
}

describe.skipIf(plan.action === 'skip')('PostgreSQL adapters, by contract', () => {
  describeSessionStoreContract('postgresql', async (clock) => {
    const fx = await freshDatabase();
    return {
      store: new PgSessionStore({ db: fx.db, clock }),
      second: async () =>
        new PgSessionStore({
          db: await PgDatabase.open({ url: TEST_DATABASE_URL, schema: fx.schema }),
          clock,
          closeDatabase: true,
        }),
      cleanup: fx.drop,
    };
  });

  const documents = async () => {
    const s = await schema();
    return {
      documents: new PgDocuments({ db: s.db }),
      second: async () => new PgDocuments({ db: await s.open() }),
      cleanup: s.cleanup,
    };
  };
  describeDocumentStoreContract('postgresql', documents);
  describeAuthRecordsContract('postgresql', documents);

  describeAuditLogContract('postgresql', async () => {
    const s = await schema();
    return {
      log: new PgAuditLog({ db: s.db, masterKey: MASTER }),
      second: async () => new PgAuditLog({ db: await s.open(), masterKey: MASTER }),
      withOtherKey: async () => new PgAuditLog({ db: s.db, masterKey: new Uint8Array(32).fill(9) }),
      edit: async (userId: UserId, seq: number, from: string, to: string) => {
        await s.db.query('x', 'UPDATE mv_audit SET line = replace(line, $3, $4) WHERE user_id = $1 AND seq = $2', [
          userId,
          seq,
          from,
          to,
        ]);
      },
      remove: async (userId: UserId, seq: number) => {
        await s.db.query('x', 'DELETE FROM mv_audit WHERE user_id = $1 AND seq = $2', [userId, seq]);
      },
      cleanup: s.cleanup,
    };
  });

  describeInsightsStoreContract('postgresql', async () => {
    const s = await schema();
    return {
      store: new PgInsightsStore({ db: s.db, sealer: testSealer() }),
      second: async () => new PgInsightsStore({ db: await s.open(), sealer: testSealer() }),
      raw: async (userId: UserId) =>
        (await s.db.query<{ payload: string }>('x', 'SELECT payload FROM mv_insights WHERE user_id = $1', [userId]))[0]
          ?.payload,
      overwrite: async (userId: UserId, text: string) => {
        await s.db.query(
          'x',
          'INSERT INTO mv_insights (user_id, payload) VALUES ($1, $2) ON CONFLICT (user_id) DO UPDATE SET payload = $2',
          [userId, text],
        );
      },
      cleanup: s.cleanup,
    };
  });
});
