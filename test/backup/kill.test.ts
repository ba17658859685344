import { spawn } from 'node:child_process';
import { createHash, randomInt } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackupKeys, unpackBackup } from '../../src/backup/archive.js';
import { FsBackupStore } from '../../src/backup/backup-store.js';
import { CATEGORIES } from '../../src/core/category.js';
import { tempDir } from '../helpers/cli.js';
import { ANA, KEY, addEntries, openApp } from './fixture.js';

const CHILD = join(import.meta.dirname, 'restore-child.ts');
const REPETITIONS = 6;

let dir: { path: string; cleanup(): void };
let D: string;
let states: Map<string, string>;
let files: string[];

const stateOf = (read: (name: string) => Buffer | undefined) =>
  createHash('sha256')
    .update(
      [...CATEGORIES.map((c) => `${c}.${ANA}.md`), `USER.${ANA}.md`, `KEYRING.${ANA}.json`]
        .map((n) =>
          createHash('sha256')
            .update(read(n) ?? 'missing')
            .digest('hex'),
        )
        .join(','),
    )
    .digest('hex');

beforeAll(async () => {
  dir = tempDir();
  D = join(dir.path, 'data');
  const app = await openApp(D);
  try {
    await app.memory.signUp({ phone: ANA });
    await addEntries(app, ANA, 150);
    const a = await app.backups.create(ANA);
    await addEntries(app, ANA, 150, 'CHRONOLOGICAL');
    const b = await app.backups.create(ANA);
    files = [a.file, b.file];
  } finally {
    await app.close();
  }
  states = new Map();
  for (const f of files) {
    const { files: inside } = await unpackBackup(new BackupKeys(Buffer.from(KEY, 'hex')), readFileSync(f));
    states.set(
      stateOf((n) => inside.find((x) => x.name === n)?.bytes),
      f,
    );
  }
});
afterAll(() => dir.cleanup());

/** Runs the child until it has done one full round, then kills it with SIGKILL after a random delay. */
function runAndKill(args: string[], maxDelayMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    const delay = randomInt(0, maxDelayMs);
    child.stdout.once('data', () => setTimeout(() => child.kill('SIGKILL'), delay));
    child.on('exit', (code, signal) =>
      signal === 'SIGKILL' ? resolve(delay) : reject(new Error(`child exited ${code}: ${err}`)),
    );
  });
}

// Six child processes per test, each starting up and doing a whole round: 40 s on two busy cores, too close to the
// default 60 s.
describe('kill -9 at a random moment', { timeout: 180_000 }, () => {
  it(`during restores leaves the old or the new state, never a mix (${REPETITIONS} kills)`, async () => {
    const users = join(D, 'users');
    for (let i = 0; i < REPETITIONS; i++) {
      await runAndKill(['restore', D, KEY, ...files], 400);
      // What the next start does before anything reads.
      await new FsBackupStore({ dataDir: D, masterKey: Buffer.from(KEY, 'hex') }).recover();
      const state = stateOf((n) => {
        try {
          return readFileSync(join(users, ANA, n));
        } catch {
          return undefined;
        }
      });
      expect(states.has(state), `kill ${i} left a state that is neither backup`).toBe(true);
      expect(readdirSync(users).filter((n) => n.startsWith('.'))).toEqual([]);
    }
    const app = await openApp(D);
    try {
      expect(await app.audit.verify(ANA)).toMatchObject({ ok: true });
      const report = await app.vault.check(ANA, await app.operatorOpener(ANA));
      expect(report.damaged).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it(`during backups leaves only complete backups, each verifying (${REPETITIONS} kills)`, async () => {
    const store = new FsBackupStore({ dataDir: D, masterKey: Buffer.from(KEY, 'hex') });
    for (let i = 0; i < REPETITIONS; i++) await runAndKill(['create', D, KEY], 300);
    for (const b of await store.list(ANA)) await expect(store.verify(b.file)).resolves.toMatchObject({ userId: ANA });
    // The next backup clears temp files of killed writers.
    await store.create(ANA);
    const dirFiles = readdirSync(join(D, 'backups', ANA));
    expect(dirFiles.filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
