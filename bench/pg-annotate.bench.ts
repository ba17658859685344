/**
 * The daily processing's vault write in PostgreSQL mode: `PgVault.annotate` of one day's 200 memories (importance in
 * the analysis, links both ways) for a person of N memories (default 100,000; `PG_ANNOTATE_BENCH_SIZE`), DAYS days
 * in a row (default 5; `PG_ANNOTATE_BENCH_DAYS`), each day a different 200: one transaction inserting 200 revision
 * rows. For comparison the same 200 changes as 200 `update` calls (what the daily processing did in PostgreSQL mode
 * before the vault had `annotate`). Level 1 plain, so the numbers are the write path's own.
 *
 * Needs PostgreSQL (MEMVAULT_TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test); uses a schema of its
 * own and drops it. Run: `npx tsx bench/pg-annotate.bench.ts`. Prints Markdown rows; bench/results/pg-annotate.md
 * keeps the measured ones. CPU is this process's (process.cpuUsage), not the database server's.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { monotonicFactory } from 'ulidx';
import type { UserId } from '../src/core/entry.js';
import { PgDatabase } from '../src/pg/database.js';
import { PgVault } from '../src/pg/pg-vault.js';
import { plainOpener } from '../src/ports/sealer.js';
import { buildEntry } from '../src/vault/entry-rules.js';
import { renderEntry } from '../src/vault/markdown-codec.js';
import { renderProfile, buildProfile } from '../src/vault/templates.js';

const URL = process.env.MEMVAULT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SIZE = Number(process.env.PG_ANNOTATE_BENCH_SIZE ?? 100_000);
const DAYS = Number(process.env.PG_ANNOTATE_BENCH_DAYS ?? 5);
const DAY = 200;
const userId = '+351912345678' as UserId;
const all = plainOpener();
const schema = `mvbench_${randomBytes(5).toString('hex')}`;

const db = await PgDatabase.open({ url: URL, schema });
try {
  const vault = new PgVault({ db });
  const ulid = monotonicFactory();
  const start = Date.UTC(2024, 10, 30);
  const units: { category: 'CHRONOLOGICAL'; unit: string }[] = [];
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
    units.push({ category: 'CHRONOLOGICAL', unit: renderEntry(e) });
  }
  await vault.importFiles(
    userId,
    renderProfile(buildProfile({ userId, timezone: 'Europe/Lisbon' }, new Date().toISOString())),
    units,
  );
  await vault.read(userId, { limit: 1 }, all); // cached once, as in a running server

  const measure = async (fn: () => Promise<void>) => {
    const c = process.cpuUsage();
    const t = performance.now();
    await fn();
    const used = process.cpuUsage(c);
    return { wall: performance.now() - t, cpu: (used.user + used.system) / 1000 };
  };
  const rows: string[] = [];
  const runs: Record<'annotate' | 'update', { wall: number; cpu: number }[]> = { annotate: [], update: [] };
  for (let d = 0; d < DAYS; d++) {
    for (const how of ['annotate', 'update'] as const) {
      const offset = (how === 'annotate' ? 0 : DAYS) + d;
      const day = ids.slice(SIZE - (offset + 1) * DAY, SIZE - offset * DAY);
      const analysis = (x: string, i: number) =>
        `${x.split('\n\nImportance')[0]}\n\nImportance 0.${(i % 90) + 10} of 1.`;
      runs[how].push(
        await measure(async () => {
          if (how === 'annotate') {
            const notes = day.map((id, i) => ({
              id,
              analysis: (x: string) => analysis(x, i),
              link: [day[(i + 1) % DAY]!, day[(i + DAY - 1) % DAY]!],
            }));
            const written = await vault.annotate(userId, notes, all);
            if (written !== DAY) throw new Error(`annotate wrote ${written}, expected ${DAY}`);
          } else {
            for (const [i, id] of day.entries()) {
              const current = await vault.get(userId, id, all);
              await vault.update(
                userId,
                id,
                { analysis: analysis(current.analysis, i), related: [day[(i + 1) % DAY]!, day[(i + DAY - 1) % DAY]!] },
                all,
              );
            }
          }
        }),
      );
    }
  }
  const fresh = new PgVault({ db });
  const check = await fresh.read(userId, { limit: 1 }, all);
  if (check.total !== SIZE || check.damaged.length > 0) throw new Error('the vault does not read back whole');
  const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const how of ['annotate', 'update'] as const) {
    const r = runs[how];
    rows.push(
      `| ${how === 'annotate' ? 'annotate (1 transaction)' : '200 × update'} | ${SIZE.toLocaleString('en')} | ${DAYS} × ${DAY} | ${p50(r.map((x) => x.wall)).toFixed(0)} | ${Math.max(...r.map((x) => x.wall)).toFixed(0)} | ${p50(r.map((x) => x.cpu)).toFixed(0)} | ${Math.max(...r.map((x) => x.cpu)).toFixed(0)} | ${loadavg()[0]!.toFixed(1)} |`,
    );
  }
  console.log(rows.join('\n'));
  await fresh.close();
  await vault.close();
} finally {
  await db.close();
  const client = new pg.Client({ connectionString: URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
}
