/**
 * Insights benchmark: daily processing of one person-day of 200 memories in a vault of N memories (default
 * 10,000; `INSIGHTS_BENCH_SIZES=1000,10000,100000`), with the real wiring (sealed level 1, search index, wink-nlp,
 * importance and links written into the vault). Memories go straight to the vault (no classifier): up to 1,000
 * through `vault.append`, larger vaults as one category file written through the vault's own codec and sealer.
 * The filled vault (history, the 30 days before processed, the search index built) is cached under
 * `/tmp/memvault-insights-bench/<N>` and copied for each run.
 * Measured: DAYS distinct days of 200 memories each, processed in order (each run writes its day's importance and
 * links into the vault), p50/p95 of the total, and per new memory the time spent finding its connections.
 * Run: `npx tsx bench/insights.bench.ts`; writes bench/results/insights.md (the night's section is kept).
 */
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import pino from 'pino';
import { loadConfig } from '../src/app/config.js';
import { createMemvault } from '../src/app/container.js';
import type { UserId } from '../src/core/entry.js';
import { localTimeToUtc } from '../src/core/time-zone.js';
import { monotonicFactory } from 'ulidx';
import { writeFileAtomic } from '../src/infra/atomic-file.js';
import { KeyringStore } from '../src/security/keyring.js';
import { loadMasterKey } from '../src/security/master-key.js';
import { createSealer } from '../src/security/seal.js';
import { buildEntry } from '../src/vault/entry-rules.js';
import { renderEntry, renderSealedEntry } from '../src/vault/markdown-codec.js';
import { seeded } from '../test/insights/synthetic-life.js';

const SIZES = (process.env.INSIGHTS_BENCH_SIZES ?? '10000').split(',').map(Number);
const DAYS = Number(process.env.INSIGHTS_BENCH_DAYS ?? 5);
const DAY_SIZE = 200;
const CACHE = process.env.INSIGHTS_BENCH_CACHE ?? join(tmpdir(), 'memvault-insights-bench');
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
const PHONE = '+351912345678';
const userId = PHONE as UserId;
const TZ = 'Europe/Lisbon';
/** The measured days: the last DAYS days of November 2026; the history ends before the first. */
const measured = Array.from({ length: DAYS }, (_, i) => `2026-11-${String(31 - DAYS + i).padStart(2, '0')}`);

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { p50: at(0.5), p95: at(0.95), max: s.at(-1)! };
};

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

/** Fills a data dir with `size` memories and processes the 30 days before the measured ones; cached. */
async function filled(size: number): Promise<{ dir: string; setupMs: number }> {
  const cached = join(CACHE, String(size));
  if (await exists(join(cached, 'READY'))) {
    return { dir: cached, setupMs: Number(await readFile(join(cached, 'READY'), 'utf8')) };
  }
  await rm(cached, { recursive: true, force: true });
  await mkdir(cached, { recursive: true });
  const started = performance.now();
  let mv = await createMemvault(loadConfig({ MEMVAULT_DATA_DIR: cached, MEMVAULT_LOG_LEVEL: 'silent' }));
  try {
    await mv.memory.signUp({ phone: PHONE, timezone: TZ });
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
    // The history over the two years before the measured days, then DAYS days of 200 memories each.
    const history = size - DAY_SIZE * DAYS;
    const start = localTimeToUtc(TZ, 2024, 11, 30);
    const end = localTimeToUtc(TZ, 2026, 11, 31 - DAYS);
    const dates: Date[] = [];
    for (let n = 0; n < history; n++) dates.push(new Date(start + ((end - start) * n) / history));
    for (const day of measured) {
      const [y, m, d] = day.split('-').map(Number) as [number, number, number];
      for (let n = 0; n < DAY_SIZE; n++) dates.push(new Date(localTimeToUtc(TZ, y, m, d, 7, 0) + n * 240_000));
    }
    if (size <= 1_000) {
      for (const at of dates) await add(at);
    } else {
      // One durable append per memory takes well over an hour for 100k on this shared machine (10k: 12
      // minutes): the category file is written in one go instead, entry by entry through the vault's own codec and sealer (the same
      // bytes `append` writes), and the vault reads and checks it on open like any other.
      await mv.close();
      await fastFill(cached, dates, () => {
        const i = Math.floor(rnd() * TEMPLATES.length);
        return { content: TEMPLATES[i]!(pick(PEOPLE), pick(PLACES)), emotionalContext: MOODS[i]! };
      });
      mv = await createMemvault(loadConfig({ MEMVAULT_DATA_DIR: cached, MEMVAULT_LOG_LEVEL: 'silent' }));
    }
    // The 30 days before, processed: the windows and postings of a person in steady state; the search index
    // is built on the way (its first search).
    const day0 = Date.UTC(2026, 10, 31 - DAYS - 30);
    for (let d = 0; d < 30; d++)
      await mv.insights.processDay(userId, new Date(day0 + d * 86_400_000).toISOString().slice(0, 10));
  } finally {
    await mv.close();
  }
  const setupMs = performance.now() - started;
  await writeFile(join(cached, 'READY'), String(Math.round(setupMs)));
  return { dir: cached, setupMs };
}

/** Writes the person's CHRONOLOGICAL file with one sealed entry per date, as `Vault.append` renders them. */
async function fastFill(
  dataDir: string,
  dates: readonly Date[],
  next: () => { content: string; emotionalContext: string },
): Promise<void> {
  const masterKey = await loadMasterKey({ env: {}, dataDir });
  // The person's level-1 public key, read once: the keyring checks its file (a stat) on every `publicKey`, and
  // 100k stats on a disk busy with other engineers' fsyncs stalled the fill for many minutes. Same key, same
  // sealer code; only the per-call file check is skipped (nothing rotates the keys during the fill).
  const keyring = new KeyringStore({ dataDir, masterKey });
  const levelOne = await keyring.publicKey(userId, 1);
  const sealer = createSealer(
    {
      publicKey: async (u, level) => {
        if (u !== userId || level !== 1) throw new Error('the fill seals level 1 of the bench person only');
        return levelOne;
      },
    },
    { level1Plain: false },
  );
  const ulid = monotonicFactory();
  const path = join(dataDir, 'users', userId, `CHRONOLOGICAL.${userId}.md`);
  const parts: string[] = [await readFile(path, 'utf8')];
  for (const [n, at] of dates.entries()) {
    const entry = buildEntry(
      userId,
      ulid(at.getTime()),
      { date: at.toISOString(), category: 'CHRONOLOGICAL', channel: 'import', ...next() },
      65_536,
    );
    const payload = await sealer.seal(
      { userId, level: 1, category: 'CHRONOLOGICAL', entryId: entry.id },
      renderEntry(entry),
    );
    parts.push(renderSealedEntry({ id: entry.id, date: entry.date, payload }), '\n');
    if (n % 20_000 === 0) console.log(`  ${dates.length}: ${n} sealed`);
  }
  await writeFileAtomic(path, parts.join(''), { mode: 0o600 });
}

const rows: string[] = [];
for (const size of SIZES) {
  const { dir, setupMs } = await filled(size);
  const dataDir = await mkdtemp(join(tmpdir(), 'memvault-insights-bench-run-'));
  await cp(dir, dataDir, { recursive: true });
  type Log = { msg?: string; readMs?: number; loadMs?: number; connectMs?: number; saveMs?: number; vaultMs?: number };
  const logs: Array<Log & { rewritten?: number }> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const mv = await createMemvault(loadConfig({ MEMVAULT_DATA_DIR: dataDir }), {
    logger: pino({ level: 'info' }, sink),
  });
  try {
    // Warm-up (not measured): the language model and the search index load on first use, as in a running server.
    await mv.insights.processDay(
      userId,
      new Date(Date.parse(`${measured[0]}T12:00:00Z`) - 86_400_000).toISOString().slice(0, 10),
    );
    logs.length = 0;
    const times: number[] = [];
    const cpu: number[] = [];
    let connections = 0;
    for (const day of measured) {
      const c = process.cpuUsage();
      const t = performance.now();
      const result = await mv.insights.processDay(userId, day);
      times.push(performance.now() - t);
      const used = process.cpuUsage(c);
      cpu.push((used.user + used.system) / 1000);
      connections += result.connections.length;
    }
    const days = logs.filter((l) => l.msg === 'insights: day processed');
    const s = stats(times);
    const phase = (k: keyof Log) => stats(days.map((l) => Number(l[k] ?? 0))).p50.toFixed(0);
    const connect = stats(days.map((l) => l.connectMs ?? 0));
    const vault = stats(days.map((l) => l.vaultMs ?? 0));
    const stateMb = (await stat(join(dataDir, 'users', userId, `INSIGHTS.${userId}.sealed`))).size / 1e6;
    const load = loadavg()[0]!.toFixed(1);
    const rewritten = days.reduce((n, l) => n + (l.rewritten ?? 0), 0) / days.length;
    rows.push(
      `| ${size.toLocaleString('en')} | ${DAY_SIZE} | ${DAYS} | ${s.p50.toFixed(0)} | ${s.p95.toFixed(0)} | ${stats(cpu).p50.toFixed(0)} | ${stats(cpu).p95.toFixed(0)} | ${phase('readMs')} / ${phase('loadMs')} / ${phase('saveMs')} | ${(connect.p50 / DAY_SIZE).toFixed(2)} | ${vault.p50.toFixed(0)} (${rewritten.toFixed(0)} entries) | ${(connections / DAYS).toFixed(0)} | ${stateMb.toFixed(1)} MB | ${load} | ${(setupMs / 1000).toFixed(0)} s |`,
    );
    console.log(rows.at(-1), loadavg());
  } finally {
    await mv.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const path = process.env.INSIGHTS_BENCH_OUT ?? join(import.meta.dirname, 'results', 'insights.md');
const old = await readFile(path, 'utf8').catch(() => '');
const night = old.indexOf("\n## A night's run");
const md = `# Insights benchmark

Daily processing (\`processDay\`) of one person-day of ${DAY_SIZE} memories, real wiring: level 1 sealed, the
search index, wink-nlp, importance and links written into the vault (\`Vault.annotate\`). The vault is filled
without the classifier (up to 1,000 through \`vault.append\`, larger as one category file through the vault's
codec and sealer) and cached under ${CACHE}; the 30 days before are processed first. ${DAYS} distinct days of ${DAY_SIZE} memories are then processed in order (\`bench/insights.bench.ts\`).

Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, load average at the end
${loadavg()
  .map((l) => l.toFixed(2))
  .join(' / ')} — **shared with other engineers' builds and tests at the time**, so wall-clock numbers are upper
bounds; CPU time is this process's own.

| vault size | memories that day | days | p50 ms (wall) | p95 ms (wall) | CPU ms (p50) | CPU ms (p95) | read / state load / state save ms (p50, wall) | connections ms per new memory (p50, wall) | vault write ms (p50, wall) | connections per day | insights state file | load (1 min) | setup (cached) |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}
${night >= 0 ? old.slice(night) : ''}`;
await writeFile(path, md);
