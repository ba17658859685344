import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isMemvaultError } from '../../src/core/errors.js';
import { SqliteSessionStore } from '../../src/security/sqlite-session-store.js';
import { describeSessionStoreContract } from '../contract/session-store.contract.js';

describeSessionStoreContract('sqlite', async (clock) => {
  const dir = await mkdtemp(join(tmpdir(), 'mv-sessions-'));
  const path = join(dir, 'sessions.db');
  return {
    store: new SqliteSessionStore({ path, clock }),
    second: async () => new SqliteSessionStore({ path, clock }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('SqliteSessionStore files', () => {
  it('creates the database and its WAL files readable by the owner only', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mv-sessions-'));
    try {
      const path = join(dir, 'sessions.db');
      const store = new SqliteSessionStore({ path });
      await store.incrementWindow('k', 1000);
      for (const file of [path, `${path}-wal`, `${path}-shm`]) {
        expect(((await stat(file)).mode & 0o777).toString(8), file).toBe('600');
      }
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a file that is not a database with a STORAGE_ERROR naming it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mv-sessions-'));
    try {
      const path = join(dir, 'sessions.db');
      await writeFile(path, 'this is not sqlite, just some text that is long enough to be a header'.repeat(20));
      let caught: unknown;
      try {
        new SqliteSessionStore({ path });
      } catch (error) {
        caught = error;
      }
      expect(isMemvaultError(caught, 'STORAGE_ERROR')).toBe(true);
      expect((caught as Error).message).toContain(path);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
