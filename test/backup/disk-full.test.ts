import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isCi } from '../browser/chromium.js';
import { ANA, addEntries, openApp } from './fixture.js';

const CHILD = join(import.meta.dirname, 'disk-full-child.ts');
const TMPFS_KB = 512;

/** A real full file system needs a mount: an unprivileged user namespace (`unshare -rm`) gives one. */
function canMountTmpfs(): boolean {
  const probe = spawnSync('unshare', ['-rm', 'sh', '-c', `mount -t tmpfs -o size=64k tmpfs "${tmpdir()}"`], {
    stdio: 'ignore',
  });
  return probe.status === 0;
}

const mountable = canMountTmpfs();
if (!mountable && !isCi(process.env)) {
  console.log('disk-full test skipped: cannot mount a tmpfs here (unshare -rm; set CI to make this fail)');
}

describe.skipIf(!mountable && !isCi(process.env))('backup directory full (a real tmpfs)', () => {
  it('the backup that does not fit is a clear STORAGE_ERROR; no partial file; the earlier backup verifies', async () => {
    const root = await mkdtemp(join(tmpdir(), 'memvault-full-'));
    try {
      const dataDir = join(root, 'data');
      const backupDir = join(root, 'backups');
      const app = await openApp(dataDir);
      await app.memory.signUp({ phone: ANA });
      // ~200 KB of incompressible text: a backup of it is far larger than the room left on the tmpfs.
      await addEntries(app, ANA, 300);
      await app.close();
      const child = spawnSync(
        'unshare',
        [
          '-rm',
          'sh',
          '-c',
          `mkdir -p "$2" && mount -t tmpfs -o size=${TMPFS_KB}k tmpfs "$2" && exec "$0" --import tsx "$3" "$1" "$2"`,
          process.execPath,
          dataDir,
          backupDir,
          CHILD,
        ],
        { encoding: 'utf8', timeout: 60_000 },
      );
      expect(child.status, child.stderr).toBe(0);
      const out = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as {
        first: { file: string; revision: string };
        second: { code: string; message: string } | string;
        files: string[];
        verified: string;
        listed: string[];
      };
      expect(out.second).toMatchObject({ code: 'STORAGE_ERROR' });
      expect((out.second as { message: string }).message).toMatch(/full.*earlier backups are intact/);
      // Only the first backup: no partial archive and no temp file left behind.
      expect(out.files).toEqual([out.first.file.split('/').pop()]);
      expect(out.listed).toEqual([out.first.file]);
      expect(out.verified).toBe(out.first.revision);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
