import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { UserId } from '../../src/core/entry.js';
import { plainOpener } from '../../src/ports/sealer.js';
import { FsVault } from '../../src/vault/fs-vault.js';

const WRITER = resolve(import.meta.dirname, 'fixtures/writer.ts');
const ROOT = resolve(import.meta.dirname, '../..');
const USER = '+14155550134' as UserId;
const dirs: string[] = [];
const scratch = () => {
  const dir = mkdtempSync(join(tmpdir(), 'memvault-faults-'));
  dirs.push(dir);
  return dir;
};

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Writer {
  readonly child: ChildProcess;
  /** Ids the writer acknowledged (printed after `append` resolved). */
  readonly acked: string[];
  readonly ready: Promise<void>;
  readonly exited: Promise<number | null>;
}

function startWriter(dataDir: string, count: number, mode: 'plain' | 'mixed'): Writer {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dataDir, USER, String(count), mode], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const acked: string[] = [];
  let buffered = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => {
    markReady = r;
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (line === 'ready') markReady();
      else if (line.length > 0) acked.push(line);
    }
  });
  const exited = new Promise<number | null>((r) =>
    child.on('exit', (code) => {
      markReady();
      if (code !== null && code !== 0) process.stderr.write(stderr);
      r(code);
    }),
  );
  return { child, acked, ready, exited };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function auditVault(dataDir: string, acked: readonly string[]) {
  const vault = new FsVault({ dataDir });
  const report = await vault.check(USER, plainOpener());
  const { entries, damaged, total } = await vault.read(USER, {}, plainOpener());
  await vault.close();
  const ids = new Set(entries.map((e) => e.id));
  return { report, damaged, total, ids, missing: acked.filter((id) => !ids.has(id)) };
}

describe('crash safety', () => {
  it('keeps every acknowledged entry and leaves no damage after 50 SIGKILLs at random moments', async () => {
    const dataDir = scratch();
    const setup = new FsVault({ dataDir });
    await setup.createUser({ userId: USER });
    await setup.close();

    // Ten rounds of five writers at once, each SIGKILLed at its own random moment: 50 kills that land in
    // appends, lock hand-overs, stale-lock breaking, torn-tail repair and (in "mixed") file rewrites.
    const acked: string[] = [];
    let killedMidway = 0;
    for (let round = 0; round < 10; round++) {
      const writers = Array.from({ length: 5 }, (_, i) => startWriter(dataDir, 400, i % 2 === 0 ? 'plain' : 'mixed'));
      await Promise.all(
        writers.map(async (writer) => {
          await writer.ready;
          await sleep(Math.floor(Math.random() * 150));
          if (writer.child.exitCode === null) killedMidway++;
          writer.child.kill('SIGKILL');
          await writer.exited;
          acked.push(...writer.acked);
        }),
      );
    }
    expect(killedMidway).toBeGreaterThanOrEqual(50);

    const { report, damaged, total, ids, missing } = await auditVault(dataDir, acked);
    expect(missing).toEqual([]);
    expect(damaged).toEqual([]);
    expect(report.damaged).toEqual([]);
    expect(ids.size).toBe(total);
    expect(total).toBeGreaterThanOrEqual(acked.length);
    expect(acked.length).toBeGreaterThan(0);
    // Repair on open left no temp files behind.
    const userDir = join(dataDir, 'users', USER);
    expect(readdirSync(userDir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  }, 300_000);
});

describe('concurrency', () => {
  it('8 processes × 200 appends to one user store exactly 1,600 intact entries', async () => {
    const dataDir = scratch();
    const setup = new FsVault({ dataDir });
    await setup.createUser({ userId: USER });
    await setup.close();

    const writers = Array.from({ length: 8 }, () => startWriter(dataDir, 200, 'plain'));
    const codes = await Promise.all(writers.map((w) => w.exited));
    expect(codes).toEqual(Array(8).fill(0));
    const acked = writers.flatMap((w) => w.acked);
    expect(acked).toHaveLength(1600);
    expect(new Set(acked).size).toBe(1600);

    const { report, damaged, total, ids, missing } = await auditVault(dataDir, acked);
    expect(total).toBe(1600);
    expect(ids.size).toBe(1600);
    expect(missing).toEqual([]);
    expect(damaged).toEqual([]);
    expect(report).toMatchObject({ intact: 1600, damaged: [] });
  }, 300_000);
});
