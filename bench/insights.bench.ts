/**
 * Insights benchmark: daily processing of one person-day of 200 memories in a vault of N memories (default
 * 10,000; `INSIGHTS_BENCH_SIZES=1000,10000`), with the real wiring (sealed level 1, search index, wink-nlp).
 * Memories are appended straight to the vault (no classifier) so the setup stays short; each size re-runs the
 * same day (the run is idempotent) and reports p50/p95 and the cost per memory of the day.
 * Run: `npx tsx bench/insights.bench.ts`; writes bench/results/insights.md.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/app/config.js';
import { createMemvault } from '../src/app/container.js';
import type { UserId } from '../src/core/entry.js';
import { localTimeToUtc } from '../src/core/time-zone.js';
import { seeded } from '../test/insights/synthetic-life.js';

const SIZES = (process.env.INSIGHTS_BENCH_SIZES ?? '10000').split(',').map(Number);
const RUNS = Number(process.env.INSIGHTS_BENCH_RUNS ?? 5);
const DAY_SIZE = 200;
const PEOPLE = ['Nadia', 'Tom', 'Sam', 'Maya', 'Hemi', 'Priya', 'Lucas', 'Ines', 'Omar', 'Yuki'];
const PLACES = ['Blue Bottle', 'Lisbon', 'Porto', 'Belem', 'Sintra', 'Cascais'];
const TEMPLATES = [
  (p: string, l: string) => `Brunch with ${p} at ${l}, we laughed so much.`,
  (p: string, l: string) => `Went running with ${p} in ${l} this morning, proud of my pace.`,
  (p: string) => `${p} moved the deadline again, so frustrated.`,
  (_p: string, l: string) => `Cooked lentil soup and walked around ${l} after dinner.`,
  (p: string) => `Long call with ${p} about the move, feeling anxious but hopeful.`,
  () => 'Fixed the leaking kitchen tap and watered the plants.',
];
const MOODS = ['joy', 'pride', 'frustration', 'neutral', 'anxiety', 'neutral'];

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { p50: at(0.5), p95: at(0.95), max: s.at(-1)! };
};

const rows: string[] = [];
for (const size of SIZES) {
  const dataDir = await mkdtemp(join(tmpdir(), 'memvault-insights-bench-'));
  const mv = await createMemvault(loadConfig({ MEMVAULT_DATA_DIR: dataDir, MEMVAULT_LOG_LEVEL: 'silent' }));
  try {
    const phone = '+351912345678';
    const userId = phone as UserId;
    await mv.memory.signUp({ phone, timezone: 'Europe/Lisbon' });
    const rnd = seeded(size);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
    const add = async (at: Date) => {
      const i = Math.floor(rnd() * TEMPLATES.length);
      await mv.vault.append(userId, {
        date: at.toISOString(),
        category: 'CHRONOLOGICAL',
        content: TEMPLATES[i]!(pick(PEOPLE), pick(PLACES)),
        emotionalContext: MOODS[i]!,
        channel: 'import',
      });
    };
    const setup = performance.now();
    // The history: spread over the two years before the measured day.
    const start = localTimeToUtc('Europe/Lisbon', 2024, 11, 30);
    const end = localTimeToUtc('Europe/Lisbon', 2026, 11, 30);
    for (let n = 0; n < size - DAY_SIZE; n++) await add(new Date(start + ((end - start) * n) / (size - DAY_SIZE)));
    for (let n = 0; n < DAY_SIZE; n++)
      await add(new Date(localTimeToUtc('Europe/Lisbon', 2026, 11, 30, 7, 0) + n * 240_000));
    // Process the 30 days before, so the windows and postings are those of a person in steady state.
    const day0 = Date.UTC(2026, 9, 31);
    for (let d = 0; d < 30; d++)
      await mv.insights.processDay(userId, new Date(day0 + d * 86_400_000).toISOString().slice(0, 10));
    const setupMs = performance.now() - setup;
    const times: number[] = [];
    let connections = 0;
    for (let r = 0; r < RUNS; r++) {
      const t = performance.now();
      const result = await mv.insights.processDay(userId, '2026-11-30');
      times.push(performance.now() - t);
      connections = result.connections.length;
    }
    const s = stats(times);
    rows.push(
      `| ${size.toLocaleString('en')} | ${DAY_SIZE} | ${RUNS} | ${s.p50.toFixed(0)} | ${s.p95.toFixed(0)} | ${(s.p50 / DAY_SIZE).toFixed(1)} | ${connections} | ${(setupMs / 1000).toFixed(0)} s |`,
    );
    console.log(rows.at(-1));
  } finally {
    await mv.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const md = `# Insights benchmark

Daily processing (\`processDay\`) of one person-day of ${DAY_SIZE} memories, real wiring: level 1 sealed, the
search index, wink-nlp. The vault is filled straight through \`vault.append\` (no classifier); the 30 days before
are processed first. Each run re-processes the same day (idempotent: the day's results are replaced).

Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load average at the end
${loadavg()
  .map((l) => l.toFixed(2))
  .join(' / ')} — **shared with four other engineers' builds and tests at the time**, so these are upper bounds.

| vault size | memories that day | runs | p50 ms | p95 ms | ms per memory (p50) | connections | setup |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}

Not measured yet: a night of 1,000 people × 50 memories, and 100k vaults (the setup alone is long here).
`;
await writeFile(join(import.meta.dirname, 'results', 'insights.md'), md);
