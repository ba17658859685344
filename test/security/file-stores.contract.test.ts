import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UserId } from '../../src/core/entry.js';
import { FsInsightsStore, insightsPath } from '../../src/insights/store.js';
import { FileAuditLog } from '../../src/security/audit-log.js';
import { FileDocuments } from '../../src/security/file-documents.js';
import { describeAuditLogContract } from '../contract/audit-log.contract.js';
import { describeAuthRecordsContract, describeDocumentStoreContract } from '../contract/auth-records.contract.js';
import { describeInsightsStoreContract } from '../contract/insights-store.contract.js';
import { testSealer } from '../vault/fixtures/test-sealer.js';

/** The file-mode adapters through the same contracts as PostgreSQL's (test/pg/pg-stores.contract.test.ts). */

const MASTER = new Uint8Array(32).fill(3);
const dataDir = () => mkdtemp(join(tmpdir(), 'memvault-file-stores-'));

const documents = async () => {
  const dir = await dataDir();
  return {
    documents: new FileDocuments(dir),
    second: async () => new FileDocuments(dir),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
};
describeDocumentStoreContract('files', documents);
describeAuthRecordsContract('files', documents);

describeAuditLogContract('files', async () => {
  const dir = await dataDir();
  const logFile = (userId: UserId) => join(dir, 'users', userId, `AUDIT.${userId}.log`);
  const rewrite = async (userId: UserId, change: (lines: string[]) => string[]) => {
    const lines = (await readFile(logFile(userId), 'utf8')).split('\n').slice(0, -1);
    await writeFile(logFile(userId), `${change(lines).join('\n')}\n`);
  };
  return {
    log: new FileAuditLog({ dataDir: dir, masterKey: MASTER }),
    second: async () => new FileAuditLog({ dataDir: dir, masterKey: MASTER }),
    withOtherKey: async () => new FileAuditLog({ dataDir: dir, masterKey: new Uint8Array(32).fill(9) }),
    edit: (userId, seq, from, to) =>
      rewrite(userId, (lines) => lines.map((line, i) => (i === seq - 1 ? line.replace(from, to) : line))),
    remove: (userId, seq) => rewrite(userId, (lines) => lines.filter((_, i) => i !== seq - 1)),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

describeInsightsStoreContract('files', async () => {
  const dir = await dataDir();
  const readOptional = (path: string) => readFile(path, 'utf8').catch(() => undefined);
  return {
    store: new FsInsightsStore({ dataDir: dir, sealer: testSealer() }),
    second: async () => new FsInsightsStore({ dataDir: dir, sealer: testSealer() }),
    raw: (userId) => readOptional(insightsPath(dir, userId)),
    overwrite: async (userId, text) => {
      await mkdir(join(dir, 'users', userId), { recursive: true });
      await writeFile(insightsPath(dir, userId), text);
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});
