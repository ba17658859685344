/**
 * Search performance (issue 5 §7): query latency p50/p95 at 1k, 10k and 100k memories of one user, index build
 * time, index memory per 10k memories, persisted size and cold-load time of a persisted (sealed) index.
 *
 *   npx tsx bench/search.bench.ts [sizes…]     default 1000 10000 100000 → bench/results/search.md
 *
 * Memories come from a generator with a realistic vocabulary (people, places, activities, free-text filler with
 * a Zipf-like tail of rare words); queries mix plain words, names, typos, paraphrases and date phrases.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Category } from '../src/core/category.js';
import type { MemoryEntry } from '../src/core/entry.js';
import { indexPath } from '../src/search/persist.js';
import { createSearchIndex } from '../src/search/search-index.js';
import { entry, MemoryVault, testOpener, testSealer, USER } from '../test/search/helpers.js';

const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
const SIZES = sizes.length > 0 ? sizes : [1000, 10_000, 100_000];
const NOW = new Date('2026-11-26T18:00:00.000Z');

let s = 42;
const rand = () => {
  s = (s * 1103515245 + 12345) & 0x7fffffff;
  return s / 0x7fffffff;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

const PEOPLE =
  'Nadia Piotr Sara Tomás Ingrid Kenji Amara Lucas Mei Farid Olivia Dmitri Chloe Rafael Hana Jonas Priya Mateo Leila Oskar'.split(
    ' ',
  );
const PLACES =
  'Oslo Lisbon Berlin Madrid Vienna Prague Dublin Krakow Lyon Seville the park the gym the office the market the river'.split(
    ' ',
  );
const VERBS =
  'went visited called met cooked bought read watched fixed planned cleaned painted booked cancelled discussed'.split(
    ' ',
  );
const NOUNS =
  'dinner lunch coffee report budget garden bicycle flat kitchen movie concert book trip flight doctor dentist electrician plumber boiler car passport birthday wedding project meeting invoice'.split(
    ' ',
  );
// A long tail of rarer words, as real logs have (product names, hobbies, places).
const RARE = Array.from({ length: 20000 }, (_, i) => `w${i.toString(36)}x${(i * 7919).toString(36).slice(-3)}`);
const TAIL = ['sourdough', 'kayak', 'pottery', 'tango', 'origami', 'chess', 'violin', 'marathon', 'sushi', 'tapas'];

function sentence(): string {
  const parts = [
    `${pick(['Today I', 'Yesterday I', 'This morning I', 'Finally', 'We'])} ${pick(VERBS)} the ${pick(NOUNS)}`,
    rand() < 0.6 ? `with ${pick(PEOPLE)}` : '',
    rand() < 0.5 ? `in ${pick(PLACES)}` : '',
    rand() < 0.5 ? `and talked about ${pick(TAIL)}` : '',
    rand() < 0.4 ? `(${RARE[Math.floor(rand() ** 3 * RARE.length)]})` : '',
  ];
  return parts.filter(Boolean).join(' ');
}

function generate(n: number): MemoryEntry[] {
  const out: MemoryEntry[] = [];
  for (let i = 0; i < n; i++) {
    const category: Category = rand() < 0.6 ? 'CHRONOLOGICAL' : 'GENERAL';
    const daysAgo = Math.floor(rand() * 730);
    out.push(
      entry(`${sentence()}. ${rand() < 0.5 ? sentence() : ''}`.trim(), {
        id: `01JBENCH${String(i).padStart(18, '0')}`,
        date: new Date(NOW.getTime() - daysAgo * 86_400_000).toISOString(),
        category,
        tags: rand() < 0.3 ? [pick(PEOPLE)] : [],
      }),
    );
  }
  return out;
}

const QUERIES = [
  'dinner with Nadia',
  'where does piotr live now',
  'electrcian',
  'car',
  'passport renewal',
  'sourdough',
  'what did I do last weekend',
  'concert in March',
  'boiler fixed',
  'Kenji kayak',
  'budget meeting last week',
  'dentist appointment',
  'plumbr',
  'trip to Lisbon',
  'birthday party',
  'movie with Sara yesterday',
];

const pct = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
const ms = (x: number) => x.toFixed(1);

const rows: string[] = [];
for (const n of SIZES) {
  const entries = generate(n);
  const vault = new MemoryVault(entries);
  const dataDir = mkdtempSync(join(tmpdir(), 'memvault-bench-'));
  try {
    global.gc?.();
    const heapBefore = process.memoryUsage();
    const index = createSearchIndex({ vault, dataDir, sealer: testSealer(), clock: { now: () => NOW } });
    const buildCpu0 = process.cpuUsage();
    const build = await index.rebuild(USER, testOpener());
    const buildCpu = process.cpuUsage(buildCpu0);
    global.gc?.();
    const heapAfter = process.memoryUsage();
    const memory = heapAfter.rss - heapBefore.rss;

    const opener = testOpener();
    for (const text of QUERIES) await index.search(USER, { text, now: NOW }, opener); // warm-up
    const rounds = n >= 100_000 ? 5 : n >= 10_000 ? 15 : 40;
    const times: number[] = [];
    const cpu: number[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const text of QUERIES) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        await index.search(USER, { text, now: NOW }, opener);
        times.push(performance.now() - t0);
        const c = process.cpuUsage(c0);
        cpu.push((c.user + c.system) / 1000);
      }
    }
    await index.close();
    const fileBytes = statSync(indexPath(dataDir, USER)).size;

    const loads: number[] = [];
    const loadsCpu: number[] = [];
    for (let r = 0; r < (n >= 100_000 ? 2 : 3); r++) {
      const cold = createSearchIndex({ vault, dataDir, sealer: testSealer(), clock: { now: () => NOW } });
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await cold.search(USER, { text: 'dinner', now: NOW }, opener);
      loads.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      loadsCpu.push((c.user + c.system) / 1000);
      await cold.close();
    }
    const row = `| ${n.toLocaleString('en-US')} | ${ms(pct(times, 50))} | ${ms(pct(times, 95))} | ${ms(pct(times, 99))} | ${ms(pct(cpu, 50))} / ${ms(pct(cpu, 95))} | ${ms(build.ms)} (CPU ${ms((buildCpu.user + buildCpu.system) / 1000)}) | ${(memory / 1e6).toFixed(1)} (${((memory / 1e6) * (10_000 / n)).toFixed(1)} per 10k) | ${(fileBytes / 1e6).toFixed(1)} | ${ms(pct(loads, 50))} (CPU ${ms(pct(loadsCpu, 50))}) |`;
    rows.push(row);
    console.log(row);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const report = [
  '# Search benchmarks (bench/search.bench.ts)',
  '',
  `${QUERIES.length} queries (words, names, typos, paraphrases, date phrases) against one user's memories; all`,
  'level 1, persisted sealed (AES-256-GCM test sealer). Latency is one `search()` call, top 50, warm index.',
  'Memory is the RSS growth while building the index (SQLite FTS5 database + vector matrix + mirrors).',
  'Cold load = first search of a fresh process-level index: read + open the sealed file + deserialise + query.',
  'Targets (DESIGN §11): p95 < 50 ms at 10k, < 250 ms at 100k.',
  '',
  '| memories | p50 ms | p95 ms | p99 ms | CPU p50 / p95 ms | build ms | memory MB | sealed file MB | cold load ms |',
  '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows,
  '',
  `Measured ${new Date().toISOString().slice(0, 10)} on ${process.platform}/${process.arch}, Node ${process.version}, ${cpus().length} cores, load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')} at the end`,
  '(the machine is shared with other builds: wall-clock latency includes waiting for a core; the CPU column is',
  "this process's own time per query).",
  '',
];
if (sizes.length === 0) writeFileSync(resolve(import.meta.dirname, 'results/search.md'), report.join('\n'));
