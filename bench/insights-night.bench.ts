/**
 * A night's scheduled run: P people (default 100; `INSIGHTS_NIGHT_PEOPLE`) with 50 memories each on the day,
 * processed by the DailyScheduler (concurrency 2) in one wake. Reports total time and peak RSS.
 * Run: `npx tsx bench/insights-night.bench.ts`; appends to bench/results/insights.md.
 */
import { appendFile, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/app/config.js';
import { createMemvault } from '../src/app/container.js';
import type { UserId } from '../src/core/entry.js';
import { localTimeToUtc } from '../src/core/time-zone.js';
import { DailyScheduler } from '../src/insights/scheduler.js';
import { makeLoadPeople, phoneOf } from '../scripts/make-load-people.js';
import { seeded } from '../test/insights/synthetic-life.js';

const PEOPLE = Number(process.env.INSIGHTS_NIGHT_PEOPLE ?? 1000);
const CACHE = join(process.env.INSIGHTS_BENCH_CACHE ?? join(tmpdir(), 'memvault-insights-bench'), `night-${PEOPLE}`);
const PER_DAY = 50;
const NAMES = ['Nadia', 'Tom', 'Sam', 'Maya', 'Hemi', 'Priya'];
const PLACES = ['Blue Bottle', 'Lisbon', 'Porto', 'Belem'];

const now = new Date('2026-12-01T03:00:00Z');
// The people come from the load test's cached data dir (scripts/make-load-people.ts: real keyrings with a cheap
// bench-only password KDF, which the scheduled run never uses: it reads level 1 with the server-held key), and
// their day is added once and cached; each run works on a copy.
const ready = join(CACHE, 'READY');
let setupMs = Number(await readFile(ready, 'utf8').catch(() => 'NaN'));
if (Number.isNaN(setupMs)) {
  await rm(CACHE, { recursive: true, force: true });
  await mkdir(dirname(CACHE), { recursive: true });
  const people = await makeLoadPeople(PEOPLE, join(tmpdir(), `memvault-load-people-${PEOPLE}`));
  await cp(people, CACHE, { recursive: true });
  const maker = await createMemvault(loadConfig({ MEMVAULT_DATA_DIR: CACHE, MEMVAULT_LOG_LEVEL: 'silent' }), {
    clock: { now: () => now },
  });
  const rnd = seeded(7);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const setup = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < PEOPLE) {
        const phone = phoneOf(next++);
        for (let m = 0; m < PER_DAY; m++) {
          await maker.vault.append(phone as UserId, {
            date: new Date(localTimeToUtc('Europe/Lisbon', 2026, 11, 30, 7) + m * 600_000).toISOString(),
            category: 'CHRONOLOGICAL',
            content: `Coffee with ${pick(NAMES)} at ${pick(PLACES)}, then went running.`,
            emotionalContext: pick(['joy', 'neutral', 'frustration']),
            channel: 'import',
          });
        }
      }
    }),
  );
  setupMs = performance.now() - setup;
  await maker.close();
  await writeFile(ready, String(Math.round(setupMs)));
}
const dataDir = await mkdtemp(join(tmpdir(), 'memvault-insights-night-'));
await cp(CACHE, dataDir, { recursive: true });
const mv = await createMemvault(loadConfig({ MEMVAULT_DATA_DIR: dataDir, MEMVAULT_LOG_LEVEL: 'silent' }), {
  clock: { now: () => now },
});
try {
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  const scheduler = new DailyScheduler({
    listUsers: () => mv.vault.listUsers(),
    timezoneOf: async (u) => (await mv.vault.getProfile(u)).timezone,
    processedDays: (u) => mv.insights.processedDays(u),
    // What `serve` runs: the day processed, its digest written and handed to the notifier.
    process: (u, d) => mv.insights.deliverDay(u, d),
    clock: { now: () => now },
    catchUpDays: 1,
  });
  const t = performance.now();
  const cpu0 = process.cpuUsage();
  const processed = await scheduler.tick();
  const ms = performance.now() - t;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  clearInterval(sampler);
  const line = `| ${PEOPLE} × ${PER_DAY} | ${processed} | ${(ms / 1000).toFixed(1)} s | ${(ms / processed).toFixed(0)} ms | ${cpuS.toFixed(1)} s | ${(peak / 1_048_576).toFixed(0)} MB | ${(setupMs / 1000).toFixed(0)} s |`;
  console.log(line);
  await appendFile(
    join(import.meta.dirname, 'results', 'insights.md'),
    `\n## A night's run (bench/insights-night.bench.ts)\n\nOne scheduler wake after local midnight, concurrency 2, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(
        ' / ',
      )} (shared machine).\n\n| people × memories | days processed (with digest) | total | per person | CPU | peak RSS | setup (cached) |\n|---|---|---|---|---|---|---|\n${line}\n`,
  );
} finally {
  await mv.close();
  await rm(dataDir, { recursive: true, force: true });
}
