import { describe } from 'vitest';
import { plainOpener } from '../../src/ports/sealer.js';
import { PgVault } from '../../src/pg/pg-vault.js';
import { runVaultContract } from '../contract/vault.contract.js';
import { testOpener, testSealer } from '../vault/fixtures/test-sealer.js';
import { freshDatabase, planPgSuite } from './pg-test-db.js';

const plan = await planPgSuite();
if (plan.action === 'fail') throw new Error(plan.message);
if (plan.action === 'skip') console.warn(plan.line);

describe.skipIf(plan.action === 'skip')('PostgreSQL vault', () => {
  runVaultContract('PgVault (plain)', async (options) => {
    const { db, drop } = await freshDatabase();
    return { vault: new PgVault({ db, ...options }), opener: (levels) => plainOpener(levels), cleanup: drop };
  });

  runVaultContract('PgVault (sealed)', async (options) => {
    const { db, drop } = await freshDatabase();
    return {
      vault: new PgVault({ db, sealer: testSealer(), ...options }),
      opener: (levels) => testOpener(levels),
      cleanup: drop,
    };
  });
});
