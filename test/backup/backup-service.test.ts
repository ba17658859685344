import { describe, expect, it } from 'vitest';
import type { UserId } from '../../src/core/entry.js';
import type { BackupStore, BackupSummary } from '../../src/ports/backup.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { SearchIndex } from '../../src/ports/search.js';
import type { AuditLog } from '../../src/ports/security.js';
import type { Vault } from '../../src/ports/vault.js';
import { createBackupService } from '../../src/services/backup-service.js';

const ANA = '+14155550134' as UserId;

describe('backup service: after a restore', () => {
  it("ends the person's sessions, drops search state and audits the restore", async () => {
    const calls: string[] = [];
    const summary = { userId: ANA, revision: 'r' } as BackupSummary;
    const service = createBackupService({
      store: { restore: async () => summary } as unknown as BackupStore,
      vault: {} as Vault,
      audit: {
        append: async (_u: UserId, e: { action: string }) => {
          calls.push(`audit:${e.action}`);
          return {} as never;
        },
      } as unknown as AuditLog,
      search: { forget: (u: UserId) => calls.push(`forget:${u}`) } as unknown as SearchIndex,
      checkKeyring: async () => undefined,
      operatorOpener: async () => {
        throw new Error('not needed');
      },
      endSessions: async (u) => {
        calls.push(`end:${u}`);
      },
      logger: silentLogger,
    });
    await service.restore('f.mvbackup');
    expect(calls).toEqual([`forget:${ANA}`, `end:${ANA}`, 'audit:backup.restore']);
  });
});
