// A `memvault migrate --to-postgres` run in its own process, so a test can kill it with SIGKILL midway.
import { migrateStore } from '../../src/app/store-migration.js';
import { PgDatabase } from '../../src/pg/database.js';

const [dataDir, url, schema] = process.argv.slice(2) as [string, string, string];
const db = await PgDatabase.open({ url, schema, applicationName: 'memvault:migrate-child' });
await migrateStore('to-postgres', { dataDir, db });
await db.close();
