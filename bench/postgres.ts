// File vault vs PostgreSQL vault on this machine: append latency (1 and 2 "servers" = vault instances with their
// own pools), and read latency at 10k memories per person (cold: a fresh process's first read; warm: a revision
// check per read). Needs PostgreSQL (MEMVAULT_TEST_DATABASE_URL or the local one). Run: npx tsx bench/postgres.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NewEntry, UserId } from '../src/core/entry.js';
import type { Vault } from '../src/ports/vault.js';
import { PgDatabase } from '../src/pg/database.js';
import { PgVault } from '../src/pg/pg-vault.js';
import { FsVault } from '../src/vault/fs-vault.js';
import { testOpener, testSealer } from '../test/vault/fixtures/test-sealer.js';
import { dropSchema, TEST_DATABASE_URL, uniqueSchema } from '../test/pg/pg-test-db.js';

const USER = '+14155550134' as UserId;
const APPENDS = Number(process.env.APPENDS ?? 400);
const BIG = Number(process.env.BIG ?? 10_000);
const entry = (i: number): NewEntry => ({
  date: new Date(Date.parse('2026-01-01T00:00:00Z') + i * 60_000).toISOString(),
  category: i % 5 === 0 ? 'CONFIDENTIAL' : 'CHRONOLOGICAL',
  content: `Memory number ${i}: walked along the river with Sara and talked about the week ahead.`,
  tags: ['walk', 'sara'],
  channel: 'cli',
});
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ms = (x: number) => x.toFixed(2);

async function appendRun(
  vaults: Vault[],
  n: number,
  concurrency: number,
): Promise<{ lat: number[]; wall: number; cpu: number }> {
  const lat: number[] = [];
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        const s = performance.now();
        await vaults[w % vaults.length]!.append(USER, entry(i));
        lat.push(performance.now() - s);
      }
    }),
  );
  const c = process.cpuUsage(cpu0);
  return { lat, wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 };
}

const lines: string[] = [];
const say = (s: string) => {
  console.log(s);
  lines.push(s);
};

const sealer = testSealer({ plainLevel1: true });
const dir = mkdtempSync(join(tmpdir(), 'memvault-bench-pg-'));
const schema = uniqueSchema('mvbench');
try {
  say(`# PostgreSQL vs file vault (bench/postgres.ts)\n`);
  say(
    `Run ${new Date().toISOString()}, load average before: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')} (2 cores, shared with other work).`,
  );
  say(
    `Sealer: AES-256-GCM test sealer, level 1 plain. PostgreSQL 15 on the same machine, ${APPENDS} appends per row.\n`,
  );
  say(
    '| store | servers | concurrency | append p50 ms | append p99 ms | appends/s | CPU ms per append (this process) |',
  );
  say('|---|---|---|---|---|---|---|');
  const fs = new FsVault({ dataDir: dir, sealer });
  await fs.createUser({ userId: USER });
  for (const conc of [1, 16]) {
    const r = await appendRun([fs], APPENDS, conc);
    say(
      `| files | 1 | ${conc} | ${ms(pct(r.lat, 50))} | ${ms(pct(r.lat, 99))} | ${((APPENDS / r.wall) * 1000).toFixed(0)} | ${ms(r.cpu / APPENDS)} |`,
    );
  }
  const dbs = [
    await PgDatabase.open({ url: TEST_DATABASE_URL, schema, applicationName: 'memvault:bench' }),
    await PgDatabase.open({ url: TEST_DATABASE_URL, schema, applicationName: 'memvault:bench' }),
  ];
  const pgs = dbs.map((db) => new PgVault({ db, sealer }));
  await pgs[0]!.createUser({ userId: USER });
  for (const [servers, conc] of [
    [1, 1],
    [1, 16],
    [2, 16],
  ] as const) {
    const r = await appendRun(pgs.slice(0, servers), APPENDS, conc);
    say(
      `| PostgreSQL | ${servers} | ${conc} | ${ms(pct(r.lat, 50))} | ${ms(pct(r.lat, 99))} | ${((APPENDS / r.wall) * 1000).toFixed(0)} | ${ms(r.cpu / APPENDS)} |`,
    );
  }

  // Reads at BIG memories per person.
  const have = (await pgs[0]!.read(USER, { limit: 0 }, testOpener())).total;
  await Promise.all(
    Array.from({ length: 8 }, async (_, w) => {
      for (let j = have + w; j < BIG; j += 8) await pgs[0]!.append(USER, entry(j));
    }),
  );
  const fsHave = (await fs.read(USER, { limit: 0 }, testOpener())).total;
  await Promise.all(
    Array.from({ length: 8 }, async (_, w) => {
      for (let j = fsHave + w; j < BIG; j += 8) await fs.append(USER, entry(j));
    }),
  );
  say(
    `\n| store | memories | first read in a fresh process ms | warm read (newest 20) p50 ms | p95 ms | revision check ms |`,
  );
  say('|---|---|---|---|---|---|');
  for (const [name, make] of [
    ['files', () => new FsVault({ dataDir: dir, sealer })],
    ['PostgreSQL', () => new PgVault({ db: dbs[1]!, sealer })],
  ] as const) {
    const v: Vault = make();
    const opener = testOpener([1, 2]);
    let t = performance.now();
    const first = await v.read(USER, { limit: 20 }, opener);
    const cold = performance.now() - t;
    const warm: number[] = [];
    const rev: number[] = [];
    for (let i = 0; i < 50; i++) {
      t = performance.now();
      await v.read(USER, { limit: 20 }, opener);
      warm.push(performance.now() - t);
      t = performance.now();
      await v.revision(USER);
      rev.push(performance.now() - t);
    }
    say(
      `| ${name} | ${first.total} | ${ms(cold)} | ${ms(pct(warm, 50))} | ${ms(pct(warm, 95))} | ${ms(pct(rev, 50))} |`,
    );
  }
  const size = await dbs[0]!.query<{ b: string }>('size', "SELECT pg_total_relation_size('mv_entries') AS b");
  const rows = await dbs[0]!.query<{ n: string }>('size', 'SELECT count(*) AS n FROM mv_entries');
  say(
    `\nDatabase size: mv_entries ${(Number(size[0]!.b) / 1e6).toFixed(1)} MB for ${rows[0]!.n} memories (${(Number(size[0]!.b) / Number(rows[0]!.n)).toFixed(0)} bytes per memory with indexes).`,
  );
  say(
    `Load average after: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}.`,
  );
  for (const db of dbs) await db.close();
} finally {
  await dropSchema(schema).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}
const { writeFileSync } = await import('node:fs');
writeFileSync(join(import.meta.dirname, 'results', 'postgres-run.md'), `${lines.join('\n')}\n`);
