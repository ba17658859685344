/**
 * Child process for the kill -9 tests: restores backups A and B alternately (or creates backups) until killed.
 * argv: mode ("restore" | "create"), dataDir, master key (hex), then the backup files for "restore".
 */
import { FsBackupStore } from '../../src/backup/backup-store.js';
import type { UserId } from '../../src/core/entry.js';

const [mode, dataDir, key, ...files] = process.argv.slice(2);
const store = new FsBackupStore({ dataDir: dataDir ?? '', masterKey: Buffer.from(key ?? '', 'hex') });
let first = true;
for (let i = 0; ; i++) {
  if (mode === 'restore') await store.restore(files[i % files.length] ?? '');
  else await store.create('+14155550134' as UserId);
  if (first) {
    process.stdout.write('ready\n');
    first = false;
  }
}
