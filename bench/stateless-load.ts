/**
 * Open-loop load on `memvault serve --workers N` (DESIGN §11, issue #17): N signed-in people, each capturing a
 * memory every 10 s and searching every 30 s on average (Poisson arrivals: ~133 req/s for 1,000 people), then a
 * burst at twice that rate. The server runs as real processes (primary + workers, the built `bin/memvault.js`);
 * this process is only the generator (undici Pool). Latency is measured from each request's *scheduled* time, so
 * a server that falls behind shows it (no coordinated omission).
 *
 * The people come from a cached data dir (scripts/make-load-people.ts; cheap bench-only Argon2id). Each run copies
 * it, signs every person in through the auth service in-process (their sessions land in sessions.db), starts the
 * server, and the server serves those sessions — which is itself the statelessness under test.
 *
 *   npm run build && npx tsx bench/stateless-load.ts [--people 1000] [--workers 1,2] [--steady 60] [--burst 30]
 *     [--scale 1]   (comma-separated multiples of the model's rate: a sweep finds where p99 crosses 200 ms)
 *     [--out bench/results/load.md]
 *     [--database postgres://postgres@127.0.0.1:5432/test]   (PostgreSQL mode, issue 14: each run copies the
 *       people into a fresh schema with `migrate --to-postgres`; workers then share the database, not the files)
 *
 * Writes bench/results/load.md (or --out).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { loadConfig } from '../src/app/config.js';
import { createMemvault } from '../src/app/container.js';
import { LOAD_PASSWORD, makeLoadPeople, phoneOf } from '../scripts/make-load-people.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const BIN = resolve(HERE, '../bin/memvault.js');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}
const PEOPLE = Number(arg('people', '1000'));
const WORKERS = arg('workers', '1,2').split(',').map(Number);
const STEADY_S = Number(arg('steady', '60'));
const BURST_S = Number(arg('burst', '30'));
const WARMUP_S = Number(arg('warmup', '10'));
const SCALES = arg('scale', '1').split(',').map(Number);
const OUT = resolve(arg('out', join(HERE, 'results', 'load.md')));
const DATABASE = arg('database', '');
const CAPTURE_EVERY_S = 10;
const SEARCH_EVERY_S = 30;

const TEXTS = [
  'Lunch with Sara at the harbour, we talked about her trip to Porto.',
  'Picked up the dry cleaning and bought bread on the way home.',
  'Meeting with the landlord about the heating moved to Friday.',
  'Walked the dog in the park, saw the first snow of the year.',
  'Called mum, she is feeling better after the flu.',
  'Finished reading the book about the history of maps.',
];
const QUERIES = ['coffee', 'dentist', 'river', 'Sara', 'landlord heating', 'mum flu', 'job Monday'];

type Kind = 'capture' | 'search';
interface Sample {
  readonly kind: Kind;
  readonly phase: 'warmup' | 'steady' | 'burst';
  readonly ms: number;
  readonly status: number; // 0 = network error
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** Prometheus text → { worker → { metric → value } } for the few series this report reads. */
function parseMetrics(text: string): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  const wanted = [
    'process_cpu_seconds_total',
    'process_resident_memory_bytes',
    'nodejs_eventloop_lag_p50_seconds',
    'nodejs_eventloop_lag_p99_seconds',
    'nodejs_eventloop_lag_max_seconds',
    'nodejs_heap_size_used_bytes',
  ];
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{([^}]*)\} ([0-9.e+-]+)$/.exec(line);
    if (!m?.[1] || !wanted.includes(m[1])) continue;
    const worker = /worker="(\d+)"/.exec(m[2] ?? '')?.[1] ?? '?';
    const row = out.get(worker) ?? {};
    row[m[1]] = Number(m[3]);
    out.set(worker, row);
  }
  return out;
}

async function startServer(dataDir: string, port: number, workers: number, dbEnv: Record<string, string>) {
  const child: ChildProcess = spawn(
    process.execPath,
    [BIN, 'serve', '--data-dir', dataDir, '--port', String(port), '--workers', String(workers)],
    {
      env: {
        ...process.env,
        MEMVAULT_LOG_LEVEL: 'warn',
        MEMVAULT_INSIGHTS_SCHEDULE: 'off',
        MEMVAULT_BACKUP_SCHEDULE: 'off',
        MEMVAULT_PUBLIC_URL: `http://localhost:${port}`,
        ...dbEnv,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600 && !/running at/.test(out); i++) await new Promise((r) => setTimeout(r, 200));
  // Every worker answers before the clock starts.
  for (let i = 0; i < 300; i++) {
    const pids = new Set<number>();
    for (let j = 0; j < workers * 4; j++) {
      const res = await fetch(`${base}/v1/health`, { headers: { connection: 'close' } }).catch(() => null);
      if (res?.ok) pids.add(((await res.json()) as { worker: { pid: number } }).worker.pid);
    }
    if (pids.size >= workers) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  return { child, base };
}

async function runOnce(cache: string, workers: number, scale: number) {
  const dataDir = await mkdtemp(join(tmpdir(), 'mv-load-'));
  await cp(cache, dataDir, { recursive: true });
  const dbEnv: Record<string, string> = {};
  if (DATABASE) {
    // PostgreSQL mode: the people's memories move into a schema of their own, as `memvault migrate --to-postgres`.
    const schema = `mvload_${process.pid}_${workers}_${String(scale).replace('.', '_')}`;
    const { PgDatabase } = await import('../src/pg/database.js');
    const { migrateStore } = await import('../src/app/store-migration.js');
    const db = await PgDatabase.open({ url: DATABASE, schema });
    await migrateStore('to-postgres', { dataDir, db });
    await db.close();
    Object.assign(dbEnv, { MEMVAULT_DATABASE_URL: DATABASE, MEMVAULT_DATABASE_SCHEMA: schema });
  }
  // Sign everyone in through the real auth service; the sessions are in the shared store for the server to serve.
  const signInStarted = performance.now();
  const mv = await createMemvault(loadConfig({ MEMVAULT_LOG_LEVEL: 'warn', ...dbEnv }, { dataDir }));
  const tokens: string[] = new Array(PEOPLE);
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < PEOPLE) {
        const i = next++;
        const signed = await mv.auth.signIn(phoneOf(i), LOAD_PASSWORD, { ip: `10.0.${i >> 8}.${i & 255}` });
        await signed.release?.();
        tokens[i] = signed.token;
      }
    }),
  );
  await mv.close();
  const signInS = (performance.now() - signInStarted) / 1000;

  const port = await freePort();
  const load0 = loadavg()[0] ?? 0;
  const { child, base } = await startServer(dataDir, port, workers, dbEnv);
  const pool = new Pool(base, { connections: 128, keepAliveTimeout: 30_000 });
  const samples: Sample[] = [];
  const acked = new Map<number, string[]>();

  const rate = scale * (PEOPLE / CAPTURE_EVERY_S + PEOPLE / SEARCH_EVERY_S);
  const phases = [
    { phase: 'warmup' as const, seconds: WARMUP_S, rate },
    { phase: 'steady' as const, seconds: STEADY_S, rate },
    { phase: 'burst' as const, seconds: BURST_S, rate: rate * 2 },
  ];
  const captureShare = 1 / CAPTURE_EVERY_S / (1 / CAPTURE_EVERY_S + 1 / SEARCH_EVERY_S);
  const events: Array<{ at: number; kind: Kind; person: number; phase: Sample['phase'] }> = [];
  let t = 0;
  let phaseStart = 0;
  for (const p of phases) {
    while (true) {
      t += -Math.log(1 - Math.random()) / p.rate;
      if (t >= phaseStart + p.seconds) break;
      events.push({
        at: t * 1000,
        kind: Math.random() < captureShare ? 'capture' : 'search',
        person: Math.floor(Math.random() * PEOPLE),
        phase: p.phase,
      });
    }
    t = phaseStart + p.seconds;
    phaseStart += p.seconds;
  }

  let metricsBefore = new Map<string, Record<string, number>>();
  const scrape = async () => {
    const res = await pool.request({ path: '/metrics', method: 'GET' });
    return parseMetrics(await res.body.text());
  };
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  let inFlight = 0;
  let maxInFlight = 0;
  const fire = async (e: (typeof events)[number]) => {
    const scheduled = started + e.at;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    let status = 0;
    try {
      const headers = { authorization: `Bearer ${tokens[e.person]}`, 'content-type': 'application/json' };
      const res =
        e.kind === 'capture'
          ? await pool.request({
              path: '/v1/memories',
              method: 'POST',
              headers,
              body: JSON.stringify({ text: TEXTS[Math.floor(Math.random() * TEXTS.length)] }),
            })
          : await pool.request({
              path: '/v1/search',
              method: 'POST',
              headers,
              body: JSON.stringify({ query: QUERIES[Math.floor(Math.random() * QUERIES.length)], limit: 10 }),
            });
      status = res.statusCode;
      const body = await res.body.text();
      if (e.kind === 'capture' && status === 201) {
        const id = (JSON.parse(body) as { memory: { id: string } }).memory.id;
        const mine = acked.get(e.person) ?? [];
        mine.push(id);
        acked.set(e.person, mine);
      }
    } catch {
      status = 0;
    } finally {
      inFlight--;
    }
    samples.push({ kind: e.kind, phase: e.phase, ms: performance.now() - scheduled, status });
  };
  const pending: Promise<void>[] = [];
  let metricsTaken = false;
  for (const e of events) {
    const wait = started + e.at - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    if (!metricsTaken && e.phase !== 'warmup') {
      metricsTaken = true;
      metricsBefore = await scrape(); // also resets the event-loop delay histograms
    }
    pending.push(fire(e));
  }
  await Promise.all(pending);
  const wallS = (performance.now() - started) / 1000 - WARMUP_S;
  const metricsAfter = await scrape();
  const genCpu = process.cpuUsage(cpu0);
  const load1 = loadavg()[0] ?? 0;
  let primaryRss = 0;
  try {
    primaryRss =
      Number(
        execFileSync('ps', ['-o', 'rss=', '-p', String(child.pid)])
          .toString()
          .trim(),
      ) * 1024;
  } catch {
    primaryRss = Number.NaN;
  }

  // Zero lost writes: every acknowledged capture is listed afterwards (through the server, any worker).
  let lost = 0;
  let checked = 0;
  for (const [person, ids] of acked) {
    const res = await pool.request({
      path: '/v1/memories?limit=500',
      method: 'GET',
      headers: { authorization: `Bearer ${tokens[person]}` },
    });
    const listed = new Set(((await res.body.json()) as { memories: Array<{ id: string }> }).memories.map((m) => m.id));
    for (const id of ids) {
      checked++;
      if (!listed.has(id)) lost++;
    }
  }
  await pool.close();
  child.kill('SIGTERM');
  const [exitCode] = (await once(child, 'exit')) as [number | null];
  await rm(dataDir, { recursive: true, force: true });
  if (dbEnv.MEMVAULT_DATABASE_SCHEMA) {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: DATABASE });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${dbEnv.MEMVAULT_DATABASE_SCHEMA} CASCADE`);
    await client.end();
  }

  const measured = samples.filter((s) => s.phase !== 'warmup');
  const cpuServerS = [...metricsAfter].reduce(
    (sum, [w, row]) =>
      sum + (row.process_cpu_seconds_total ?? 0) - (metricsBefore.get(w)?.process_cpu_seconds_total ?? 0),
    0,
  );
  return {
    workers,
    scale,
    mode: DATABASE ? 'PostgreSQL' : 'files',
    signInS,
    load0,
    load1,
    wallS,
    samples: measured,
    rate,
    cpuServerS,
    perWorker: [...metricsAfter]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([w, row]) => ({
        worker: w,
        cpuS: (row.process_cpu_seconds_total ?? 0) - (metricsBefore.get(w)?.process_cpu_seconds_total ?? 0),
        rssMb: (row.process_resident_memory_bytes ?? 0) / 2 ** 20,
        heapMb: (row.nodejs_heap_size_used_bytes ?? 0) / 2 ** 20,
        lagP50: (row.nodejs_eventloop_lag_p50_seconds ?? 0) * 1000,
        lagP99: (row.nodejs_eventloop_lag_p99_seconds ?? 0) * 1000,
        lagMax: (row.nodejs_eventloop_lag_max_seconds ?? 0) * 1000,
      })),
    primaryRssMb: primaryRss / 2 ** 20,
    genCpuS: (genCpu.user + genCpu.system) / 1e6,
    maxInFlight,
    lost,
    checked,
    exitCode,
  };
}

function table(run: Awaited<ReturnType<typeof runOnce>>): string {
  const rows: string[] = [];
  for (const phase of ['steady', 'burst'] as const) {
    for (const kind of ['capture', 'search'] as const) {
      const s = run.samples.filter((x) => x.phase === phase && x.kind === kind);
      const ok = s
        .filter((x) => x.status >= 200 && x.status < 300)
        .map((x) => x.ms)
        .sort((a, b) => a - b);
      const errors = s.length - ok.length;
      const seconds = phase === 'steady' ? STEADY_S : BURST_S;
      rows.push(
        `| ${phase} | ${kind === 'capture' ? 'POST /v1/memories' : 'POST /v1/search'} | ${s.length} (${(s.length / seconds).toFixed(1)}/s) | ${quantile(ok, 0.5).toFixed(0)} | ${quantile(ok, 0.95).toFixed(0)} | ${quantile(ok, 0.99).toFixed(0)} | ${quantile(ok, 1).toFixed(0)} | ${errors} |`,
      );
    }
  }
  const requests = run.samples.length;
  const captures = run.samples.filter((x) => x.kind === 'capture').length;
  return [
    `### ${run.workers} worker${run.workers > 1 ? 's' : ''}${run.scale === 1 ? '' : ` at ${run.scale}× the model's rate`}${run.mode === 'files' ? '' : `, ${run.mode}`}`,
    '',
    `1-min load average ${run.load0.toFixed(2)} before, ${run.load1.toFixed(2)} after · signing in ${PEOPLE} people took ${run.signInS.toFixed(1)} s (bench KDF) · target rate ${run.rate.toFixed(0)} req/s, burst ${(run.rate * 2).toFixed(0)} req/s · most requests in flight at once: ${run.maxInFlight}`,
    '',
    '| phase | route | requests | p50 ms | p95 ms | p99 ms | max ms | errors |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `Server CPU over the measured ${run.wallS.toFixed(0)} s: ${run.cpuServerS.toFixed(1)} s (${((100 * run.cpuServerS) / run.wallS).toFixed(0)}% of one core) → **${((1000 * run.cpuServerS) / requests).toFixed(2)} ms CPU per request** (${captures} captures, ${requests - captures} searches; a capture costs most of it). Generator CPU: ${run.genCpuS.toFixed(1)} s.`,
    '',
    '| worker | CPU s | CPU % of a core | RSS MB | heap used MB | event-loop delay p50 / p99 / max ms (measured phases) |',
    '|---|---|---|---|---|---|',
    ...run.perWorker.map(
      (w) =>
        `| ${w.worker} | ${w.cpuS.toFixed(1)} | ${((100 * w.cpuS) / run.wallS).toFixed(0)} | ${w.rssMb.toFixed(0)} | ${w.heapMb.toFixed(0)} | ${w.lagP50.toFixed(0)} / ${w.lagP99.toFixed(0)} / ${w.lagMax.toFixed(0)} |`,
    ),
    `| primary | — | — | ${run.primaryRssMb.toFixed(0)} | — | — |`,
    '',
    `Acknowledged captures checked afterwards: ${run.checked}; lost: **${run.lost}**. Server exit code after SIGTERM: ${run.exitCode}.`,
    '',
  ].join('\n');
}

const cache = await makeLoadPeople(PEOPLE, join(tmpdir(), `memvault-load-people-${PEOPLE}`));
const runs: Array<Awaited<ReturnType<typeof runOnce>>> = [];
for (const workers of WORKERS) {
  for (const scale of SCALES) {
    process.stdout.write(`== ${workers} worker(s), ${scale}× rate\n`);
    const run = await runOnce(cache, workers, scale);
    process.stdout.write(`${table(run)}\n`);
    runs.push(run);
  }
}
/** One line per run: where p99 stands against 200 ms (steady and burst, captures and searches together). */
function sweepRow(run: Awaited<ReturnType<typeof runOnce>>): string {
  const p99 = (phase: 'steady' | 'burst') => {
    const ok = run.samples
      .filter((x) => x.phase === phase && x.status >= 200 && x.status < 300)
      .map((x) => x.ms)
      .sort((a, b) => a - b);
    return quantile(ok, 0.99);
  };
  const errors = run.samples.filter((x) => x.status < 200 || x.status >= 300).length;
  return `| ${run.workers} | ${run.scale} | ${run.rate.toFixed(0)} | ${p99('steady').toFixed(0)} | ${(run.rate * 2).toFixed(0)} | ${p99('burst').toFixed(0)} | ${((1000 * run.cpuServerS) / run.samples.length).toFixed(2)} | ${errors} | ${run.lost} |`;
}
const cpu = cpus()[0]?.model ?? 'unknown CPU';
const report = [
  '# Load: 1,000 signed-in people, open loop, `serve --workers N`',
  '',
  `Run: ${new Date().toISOString()} · ${cpus().length} cores (${cpu}) · Node ${process.version} · generated by \`bench/stateless-load.ts\``,
  '',
  `Model (DESIGN §11): ${PEOPLE} people, each signed in with their own session (bearer token); each captures a memory every ${CAPTURE_EVERY_S} s and searches every ${SEARCH_EVERY_S} s on average (Poisson arrivals, open loop), ${WARMUP_S} s warm-up (not counted), ${STEADY_S} s steady, then ${BURST_S} s at twice the rate. Latency counts from each request's scheduled time. The generator is this process (undici, 128 connections); the server is \`bin/memvault.js serve --workers N\` (primary + N workers) on the same ${cpus().length} cores (the load averages say what else ran). People were created with a cheap bench-only Argon2id (1 MiB, t=1; scripts/make-load-people.ts), so sign-in cost here is not production's; each person starts with 3 memories.`,
  '',
  '| workers | rate × model | steady req/s | steady p99 ms | burst req/s | burst p99 ms | CPU ms/request | errors | lost |',
  '|---|---|---|---|---|---|---|---|---|',
  ...runs.map(sweepRow),
  '',
  ...runs.map(table),
  'The previous closed-loop run (50 people, autocannon, one process) is in `bench/results/load-closed-loop.md`.',
  '',
].join('\n');
await writeFile(OUT, report);
process.stdout.write(`wrote ${OUT}\n`);
