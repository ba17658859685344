/**
 * A night's scheduled run: P people (default 100; `INSIGHTS_NIGHT_PEOPLE`) with 50 memories each on the day,
 * processed by the DailyScheduler (concurrency 2) in one wake. Reports total time and peak RSS.
 * Run: `npx tsx bench/insights-night.bench.ts`; appends to bench/results/insights.md.
 */
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/app/config.js';
import { createMemvault } from '../src/app/container.js';
import type { UserId } from '../src/core/entry.js';
import { localTimeToUtc } from '../src/core/time-zone.js';
import { DailyScheduler } from '../src/insights/scheduler.js';
import { seeded } from '../test/insights/synthetic-life.js';

const PEOPLE = Number(process.env.INSIGHTS_NIGHT_PEOPLE ?? 100);
const PER_DAY = 50;
const NAMES = ['Nadia', 'Tom', 'Sam', 'Maya', 'Hemi', 'Priya'];
const PLACES = ['Blue Bottle', 'Lisbon', 'Porto', 'Belem'];

const dataDir = await mkdtemp(join(tmpdir(), 'memvault-insights-night-'));
const now = new Date('2026-12-01T03:00:00Z');
const mv = await createMemvault(loadConfig({ MEMVAULT_DATA_DIR: dataDir, MEMVAULT_LOG_LEVEL: 'silent' }), {
  clock: { now: () => now },
});
try {
  const rnd = seeded(7);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const setup = performance.now();
  for (let p = 0; p < PEOPLE; p++) {
    const phone = `+3519100${String(p).padStart(5, '0')}`;
    await mv.memory.signUp({ phone, timezone: 'Europe/Lisbon' });
    for (let m = 0; m < PER_DAY; m++) {
      await mv.vault.append(phone as UserId, {
        date: new Date(localTimeToUtc('Europe/Lisbon', 2026, 11, 30, 7) + m * 600_000).toISOString(),
        category: 'CHRONOLOGICAL',
        content: `Coffee with ${pick(NAMES)} at ${pick(PLACES)}, then went running.`,
        emotionalContext: pick(['joy', 'neutral', 'frustration']),
        channel: 'import',
      });
    }
  }
  const setupMs = performance.now() - setup;
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  const scheduler = new DailyScheduler({
    listUsers: () => mv.vault.listUsers(),
    timezoneOf: async (u) => (await mv.vault.getProfile(u)).timezone,
    processedDays: (u) => mv.insights.processedDays(u),
    process: (u, d) => mv.insights.processDay(u, d),
    clock: { now: () => now },
    catchUpDays: 1,
  });
  const t = performance.now();
  const processed = await scheduler.tick();
  const ms = performance.now() - t;
  clearInterval(sampler);
  const line = `| ${PEOPLE} × ${PER_DAY} | ${processed} | ${(ms / 1000).toFixed(1)} s | ${(ms / processed).toFixed(0)} ms | ${(peak / 1_048_576).toFixed(0)} MB | ${(setupMs / 1000).toFixed(0)} s |`;
  console.log(line);
  await appendFile(
    join(import.meta.dirname, 'results', 'insights.md'),
    `\n## A night's run (bench/insights-night.bench.ts)\n\nOne scheduler wake after local midnight, concurrency 2, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(
        ' / ',
      )} (shared machine).\n\n| people × memories | days processed | total | per person | peak RSS | setup |\n|---|---|---|---|---|---|\n${line}\n`,
  );
} finally {
  await mv.close();
  await rm(dataDir, { recursive: true, force: true });
}
