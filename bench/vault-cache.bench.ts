/**
 * The vault's memory bound (issue 17 §6): what a cold read costs once a person was dropped from the cache, and
 * whether one process stays within `MEMVAULT_CACHE_MB` while 1,000 people are active.
 *
 *   npm run build && npx tsx --expose-gc bench/vault-cache.bench.ts [--people 1000] [--memories 30] [--big 10000]
 *
 * Real wiring: the container's FsVault with the production sealer (level 1 sealed), people from the load test's
 * cached data dir (scripts/make-load-people.ts). Writes bench/results/vault-cache.md.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/app/config.js';
import { createMemvault, type Memvault } from '../src/app/container.js';
import type { UserId } from '../src/core/entry.js';
import type { FsVault } from '../src/vault/fs-vault.js';
import { makeLoadPeople, phoneOf } from '../scripts/make-load-people.js';

const HERE = dirname(fileURLToPath(import.meta.url));
function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}
const PEOPLE = Number(arg('people', '1000'));
const MEMORIES = Number(arg('memories', '30'));
const BIG = Number(arg('big', '10000'));
const gc = (globalThis as { gc?: () => void }).gc;
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const cpuMs = (from: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1000;
};
const heap = () => {
  gc?.();
  return process.memoryUsage();
};
const TEXT = 'Walked along the river with Sara after work, we talked about her new job and the trip to Porto in May.';

async function open(dataDir: string, cacheMb: number): Promise<Memvault> {
  return createMemvault(loadConfig({ MEMVAULT_LOG_LEVEL: 'warn', MEMVAULT_CACHE_MB: String(cacheMb) }, { dataDir }));
}

async function fill(mv: Memvault, userId: UserId, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await mv.vault.append(userId, {
      date: new Date(Date.UTC(2025, 0, 1) + i * 3_600_000).toISOString(),
      category: 'CHRONOLOGICAL',
      content: `${TEXT} (${i})`,
      channel: 'cli',
    });
  }
}

const cache = await makeLoadPeople(PEOPLE, join(tmpdir(), `memvault-load-people-${PEOPLE}`));
const dataDir = await mkdtemp(join(tmpdir(), 'mv-vault-cache-'));
await cp(cache, dataDir, { recursive: true });
const load0 = loadavg()[0] ?? 0;
const lines: string[] = [];

// ── setup: every person gets MEMORIES more memories; person 0 gets BIG ─────────────────────────────────────────────
{
  const mv = await open(dataDir, 128);
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < PEOPLE) await fill(mv, phoneOf(next++), MEMORIES);
    }),
  );
  await fill(mv, phoneOf(0), BIG);
  await mv.close();
}

// ── cold vs warm: the first page of the person with BIG memories ───────────────────────────────────────────────────
{
  const mv = await open(dataDir, 128);
  const vault = mv.vault as FsVault;
  const big = phoneOf(0);
  const opener = await mv.auth.channelOpener(big);
  const page = async () => {
    const c = process.cpuUsage();
    const t = performance.now();
    const got = await vault.read(big, { limit: 20 }, opener);
    if (got.entries.length !== 20) throw new Error('expected a page of 20');
    return { wall: performance.now() - t, cpu: cpuMs(c) };
  };
  const cold = await page();
  const warm: number[] = [];
  for (let i = 0; i < 20; i++) warm.push((await page()).wall);
  warm.sort((a, b) => a - b);
  const stats = vault.cacheStats();
  lines.push(
    `| first page (20) of a person with ${(BIG + MEMORIES + 3).toLocaleString('en')} memories | cold (parse the files, open 20): ${cold.wall.toFixed(0)} ms wall, ${cold.cpu.toFixed(0)} ms CPU | warm p50 ${(warm[10] ?? 0).toFixed(2)} ms | cache estimate after: ${mb(stats.bytes)} MB |`,
  );
  await mv.close();
}

// ── 1,000 active people: one page each, three rounds, under three bounds ────────────────────────────────────────────
const rows: string[] = [];
for (const cacheMb of [8, 32, 128]) {
  const mv = await open(dataDir, cacheMb);
  const vault = mv.vault as FsVault;
  const openers = new Map<number, Awaited<ReturnType<typeof mv.auth.channelOpener>>>();
  for (let i = 0; i < PEOPLE; i++) openers.set(i, await mv.auth.channelOpener(phoneOf(i)));
  const base = heap();
  let maxEstimate = 0;
  const c = process.cpuUsage();
  const t = performance.now();
  let reads = 0;
  for (let round = 0; round < 3; round++) {
    for (let i = 1; i < PEOPLE; i++) {
      const got = await vault.read(phoneOf(i), { limit: 20 }, openers.get(i) as never);
      if (got.entries.length === 0) throw new Error('empty page');
      reads++;
      maxEstimate = Math.max(maxEstimate, vault.cacheStats().bytes);
    }
  }
  const wall = performance.now() - t;
  const cpu = cpuMs(c);
  const after = heap();
  const stats = vault.cacheStats();
  rows.push(
    `| ${cacheMb} MB | ${stats.users} | ${mb(maxEstimate)} MB | ${mb(after.heapUsed - base.heapUsed)} MB | ${mb(after.rss)} MB | ${(wall / reads).toFixed(2)} ms / ${(cpu / reads).toFixed(2)} ms |`,
  );
  await mv.close();
}
await rm(dataDir, { recursive: true, force: true });
const load1 = loadavg()[0] ?? 0;

const report = [
  '# Vault cache: bounded by bytes across people (issue 17 §6)',
  '',
  `Run ${new Date().toISOString()} · ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}) · Node ${process.version} · load average ${load0.toFixed(1)} before, ${load1.toFixed(1)} after (shared machine: read the CPU columns) · \`bench/vault-cache.bench.ts\`${gc ? '' : ' · run without --expose-gc, heap numbers include garbage'}`,
  '',
  `The container's FsVault with the production sealer (level 1 sealed); ${PEOPLE.toLocaleString('en')} people with ${MEMORIES + 3} memories each (one with ${(BIG + MEMORIES + 3).toLocaleString('en')}).`,
  '',
  '## Cold and warm reads',
  '',
  '| read | cold | warm | |',
  '|---|---|---|---|',
  ...lines,
  '',
  `## ${PEOPLE.toLocaleString('en')} active people, one page each, 3 rounds`,
  '',
  '| MEMVAULT_CACHE_MB | people cached at the end | largest estimate seen | heap growth after GC | RSS after | per read wall / CPU |',
  '|---|---|---|---|---|---|',
  ...rows,
  '',
].join('\n');
await writeFile(join(HERE, 'results', 'vault-cache.md'), report);
process.stdout.write(`${report}\nwrote bench/results/vault-cache.md\n`);
