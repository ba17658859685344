import { Cron } from 'croner';
import { validationError } from '../core/errors.js';
import type { Config } from './config.js';
import type { Memvault } from './container.js';

export interface BackupSchedule {
  /** When the next run is due, or null. */
  next(): Date | null;
  stop(): void;
}

/**
 * The server's scheduled backups (docs/backup.md): every person, then retention. `protect` skips a tick while
 * the previous run is still going (a large instance must not pile runs up); the timer is unref'd so it never
 * keeps a stopping process alive.
 * @throws VALIDATION_ERROR when MEMVAULT_BACKUP_SCHEDULE is not a cron pattern.
 */
export function startBackupSchedule(mv: Memvault, config: Config): BackupSchedule | null {
  if (config.backupSchedule === null) return null;
  let job: Cron;
  try {
    job = new Cron(config.backupSchedule, { protect: true, unref: true, catch: true }, async () => {
      const started = Date.now();
      try {
        const result = await mv.backups.scheduled(config.backupKeep);
        mv.logger.info({ ...result, ms: Date.now() - started }, 'scheduled backups done');
        if (result.failed > 0) mv.logger.warn({ failed: result.failed }, 'some scheduled backups failed');
      } catch (error) {
        mv.logger.error({ code: (error as { code?: string }).code ?? 'INTERNAL' }, 'scheduled backups failed');
      }
    });
  } catch (cause) {
    throw validationError(
      'MEMVAULT_BACKUP_SCHEDULE is not a cron pattern (e.g. "0 3 * * *" for 03:00 daily) or "off".',
      { variable: 'MEMVAULT_BACKUP_SCHEDULE' },
      cause,
    );
  }
  return { next: () => job.nextRun(), stop: () => job.stop() };
}
