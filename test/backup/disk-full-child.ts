/**
 * Runs inside a mount namespace where MEMVAULT_BACKUP_DIR is a small tmpfs (see disk-full.test.ts): backs a
 * person up until the file system is full, then reports what happened as one JSON line.
 */
import { readdirSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMemvaultError } from '../../src/core/errors.js';
import { ANA, openApp } from './fixture.js';

const [dataDir = '', backupDir = ''] = process.argv.slice(2);
const app = await openApp(dataDir, undefined, { MEMVAULT_BACKUP_DIR: backupDir });
const out: Record<string, unknown> = {};
try {
  const first = await app.backups.create(ANA);
  out.first = { file: first.file, revision: first.revision };
  // Leave less room than one more backup needs: a filler takes all but half a backup's size.
  const stats = statfsSync(backupDir);
  const free = Number(stats.bavail) * Number(stats.bsize);
  const size = Number(first.bytes);
  writeFileSync(join(backupDir, 'filler'), Buffer.alloc(Math.max(0, free - Math.floor(size / 8))));
  try {
    await app.backups.create(ANA);
    out.second = 'written';
  } catch (error) {
    out.second = isMemvaultError(error)
      ? { code: error.code, message: error.message }
      : { code: 'INTERNAL', message: String(error) };
  }
  out.files = readdirSync(join(backupDir, ANA)).sort();
  out.verified = (await app.backups.verify(first.file)).revision;
  out.listed = (await app.backups.list(ANA)).map((b) => b.file);
} finally {
  await app.close();
}
process.stdout.write(`${JSON.stringify(out)}\n`);
