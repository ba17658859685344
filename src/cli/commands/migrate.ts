import type { Command } from 'commander';
import { validationError } from '../../core/errors.js';
import { writeJson, writeLine } from '../io.js';
import type { CliRuntime } from '../runtime.js';

export function registerMigrate(program: Command, runtime: CliRuntime): void {
  program
    .command('migrate')
    .description(
      'copy the memories, audit logs, insights, keyrings, sign-in factors, recovery kits and tokens of a file-mode ' +
        'data dir into PostgreSQL (--to-postgres) or back ' +
        '(--to-files); checked by counts and checksums, safe to run again after a crash (needs MEMVAULT_DATABASE_URL)',
    )
    .option('--to-postgres', 'from the data dir into the database at MEMVAULT_DATABASE_URL')
    .option('--to-files', 'from the database into the data dir')
    .option('--data-dir <dir>', 'data directory (default: $MEMVAULT_DATA_DIR or ./data)')
    .option('--json', 'print machine-readable JSON (see docs/cli.md)')
    .action(async (opts: { toPostgres?: boolean; toFiles?: boolean; dataDir?: string; json?: boolean }) => {
      if (opts.toPostgres === opts.toFiles) {
        throw validationError('Say which way: --to-postgres or --to-files.', { field: 'direction' });
      }
      if (!runtime.migrateStore) throw validationError('This build of memvault cannot migrate stores.');
      const report = await runtime.migrateStore({
        to: opts.toPostgres ? 'postgres' : 'files',
        ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
      });
      if (opts.json) {
        writeJson(runtime.stdout, report);
        return;
      }
      writeLine(
        runtime.stdout,
        `Migrated ${report.copied} of ${report.people} people ${report.direction} (${report.alreadyThere} already ` +
          `there): ${report.entries} memories, ${report.auditRecords} audit records, ` +
          `${report.documents ?? 0} keyrings and sign-in records; checksum ${report.checksum}.`,
      );
    });
}
