/**
 * The daily processing's vault write at 100k: `Vault.annotate` of one day's 200 memories (the importance line in
 * the analysis, and links in both directions) in a person's CHRONOLOGICAL file of N memories (default 100,000;
 * `ANNOTATE_BENCH_SIZE`), DAYS days in a row (default 5; `ANNOTATE_BENCH_DAYS`), each day a different 200.
 * Level 1 plain (`MEMVAULT_LEVEL1=plain`), so the file is built in seconds and the numbers are the write path's
 * own; sealing the 200 changed entries costs the same whichever way they are written.
 *
 * Run from a checkout: `npx tsx bench/annotate.bench.ts`. Copy this file into another checkout (e.g. main before
 * revisions) and run it there for the "before" row: it only uses `FsVault`, `buildEntry` and `renderEntry`.
 * Prints one Markdown row; bench/results/annotate.md keeps the measured rows.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { monotonicFactory } from 'ulidx';
import type { UserId } from '../src/core/entry.js';
import { plainOpener } from '../src/ports/sealer.js';
import { buildEntry } from '../src/vault/entry-rules.js';
import { FsVault } from '../src/vault/fs-vault.js';
import { renderEntry } from '../src/vault/markdown-codec.js';

const SIZE = Number(process.env.ANNOTATE_BENCH_SIZE ?? 100_000);
const DAYS = Number(process.env.ANNOTATE_BENCH_DAYS ?? 5);
const DAY = 200;
const userId = '+351912345678' as UserId;
const all = plainOpener();

const dataDir = await mkdtemp(join(tmpdir(), 'memvault-annotate-bench-'));
try {
  const vault = new FsVault({ dataDir });
  await vault.createUser({ userId, timezone: 'Europe/Lisbon' });
  const path = join(dataDir, 'users', userId, `CHRONOLOGICAL.${userId}.md`);
  const ulid = monotonicFactory();
  const start = Date.UTC(2024, 10, 30);
  const parts = [await readFile(path, 'utf8')];
  const ids: string[] = [];
  for (let n = 0; n < SIZE; n++) {
    const at = start + n * 600_000;
    const e = buildEntry(
      userId,
      ulid(at),
      {
        date: new Date(at).toISOString(),
        category: 'CHRONOLOGICAL',
        channel: 'import',
        content: `Brunch with Nadia at Blue Bottle number ${n}, we laughed so much.`,
        analysis: 'An event with a time and a person.',
        emotionalContext: 'joy',
      },
      65_536,
    );
    ids.push(e.id);
    parts.push(renderEntry(e), '\n');
  }
  await writeFile(path, parts.join(''), { mode: 0o600 });
  const bytes = parts.reduce((n, p) => n + Buffer.byteLength(p), 0);
  await vault.read(userId, { limit: 1 }, all); // parsed once, as in a running server

  const wall: number[] = [];
  const cpu: number[] = [];
  for (let d = 0; d < DAYS; d++) {
    const day = ids.slice(SIZE - (d + 1) * DAY, SIZE - d * DAY);
    const notes = day.map((id, i) => ({
      id,
      analysis: (x: string) => `${x.split('\n\nImportance')[0]}\n\nImportance 0.${(i % 90) + 10} of 1 (day ${d}).`,
      link: [day[(i + 1) % DAY]!, day[(i + DAY - 1) % DAY]!],
    }));
    const c = process.cpuUsage();
    const t = performance.now();
    const written = await vault.annotate(userId, notes, all);
    wall.push(performance.now() - t);
    const used = process.cpuUsage(c);
    cpu.push((used.user + used.system) / 1000);
    if (written !== DAY) throw new Error(`annotate wrote ${written} entries, expected ${DAY}`);
  }
  const check = await new FsVault({ dataDir }).read(userId, { limit: 1 }, all);
  if (check.total !== SIZE || check.damaged.length > 0) throw new Error('the vault does not read back whole');
  const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const max = (xs: number[]) => Math.max(...xs);
  console.log(
    `| ${SIZE.toLocaleString('en')} | ${(bytes / 1e6).toFixed(0)} MB | ${DAYS} × ${DAY} | ${p50(wall).toFixed(0)} | ${max(wall).toFixed(0)} | ${p50(cpu).toFixed(0)} | ${max(cpu).toFixed(0)} | ${loadavg()[0]!.toFixed(1)} |`,
  );
  await vault.close();
} finally {
  await rm(dataDir, { recursive: true, force: true });
}
