// The per-request shared state in both modes, on this machine: a session's get + touch (every authenticated
// request), a rate-limit increment (every sign-in and OAuth call), a lockout update, and a keyring / sign-in record
// version check (every sealed append, every request's credential epoch). SQLite sessions.db and files vs
// PostgreSQL (MEMVAULT_TEST_DATABASE_URL or the local one). Wall and CPU time of this process per operation, and the
// 1-minute load average (other engineers share the machine). Run: npx tsx bench/shared-state.bench.ts
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UserId } from '../src/core/entry.js';
import { PgDatabase } from '../src/pg/database.js';
import { PgDocuments } from '../src/pg/pg-documents.js';
import { PgSessionStore } from '../src/pg/pg-session-store.js';
import type { DocumentStore } from '../src/ports/documents.js';
import type { SessionStorePort } from '../src/ports/session-store.js';
import { FileDocuments } from '../src/security/file-documents.js';
import { SqliteSessionStore } from '../src/security/sqlite-session-store.js';
import { dropSchema, TEST_DATABASE_URL, uniqueSchema } from '../test/pg/pg-test-db.js';

const N = Number(process.env.OPS ?? 500);
const USER = '+14155550134' as UserId;
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function measure(op: (i: number) => Promise<unknown>): Promise<{ p50: number; p99: number; cpu: number }> {
  for (let i = 0; i < 20; i++) await op(i); // warm-up
  const lat: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    await op(i);
    lat.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  return { p50: pct(lat, 50), p99: pct(lat, 99), cpu: (cpu.user + cpu.system) / 1000 / N };
}

async function run(label: string, sessions: SessionStorePort, docs: DocumentStore): Promise<string[]> {
  const hash = createHash('sha256').update(label).digest();
  const now = Date.now();
  await sessions.create({
    tokenHash: hash,
    id: randomBytes(12).toString('base64url'),
    userId: USER,
    createdAt: now,
    expiresAt: now + 86_400_000,
    seen: { '1': now },
    sealed: randomBytes(300),
  });
  await docs.write(USER, `KEYRING.${USER}.json`, 'x'.repeat(2_000));
  const rows: Array<[string, (i: number) => Promise<unknown>]> = [
    [
      'session get + touch',
      async (i) => {
        await sessions.get(hash);
        await sessions.touch(hash, { '1': now + i });
      },
    ],
    ['rate-limit increment', (i) => sessions.incrementWindow(`ip:${i % 50}`, 60_000)],
    ['lockout update', (i) => sessions.update(`lockout:${i % 50}`, 60_000, (c) => ({ n: Number(c?.n ?? 0) + 1 }))],
    ['keyring version check', () => docs.version(USER, `KEYRING.${USER}.json`)],
    [
      'sign-in record change (exclusive read + write)',
      (i) =>
        docs.exclusive(USER, `AUTH.${USER}.json`, async () => {
          await docs.read(USER, `AUTH.${USER}.json`);
          await docs.write(USER, `AUTH.${USER}.json`, `{"n":${i}}`);
        }),
    ],
  ];
  const out: string[] = [];
  for (const [name, op] of rows) {
    const r = await measure(op);
    out.push(`| ${label} | ${name} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.cpu.toFixed(3)} |`);
  }
  return out;
}

const lines = [`load average (1 min) before: ${loadavg()[0]!.toFixed(1)}; ${N} operations each, one at a time`, ''];
lines.push('| store | operation | p50 ms | p99 ms | CPU ms per op (this process) |', '|---|---|---|---|---|');
const dir = mkdtempSync(join(tmpdir(), 'memvault-shared-state-'));
try {
  writeFileSync(join(dir, '.keep'), '');
  const sqlite = new SqliteSessionStore({ path: join(dir, 'sessions.db') });
  lines.push(...(await run('files + SQLite', sqlite, new FileDocuments(dir))));
  await sqlite.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const schema = uniqueSchema('mvbench');
const db = await PgDatabase.open({ url: TEST_DATABASE_URL, schema });
try {
  lines.push(...(await run('PostgreSQL', new PgSessionStore({ db }), new PgDocuments({ db }))));
} finally {
  await db.close();
  await dropSchema(schema);
}
lines.push('', `load average (1 min) after: ${loadavg()[0]!.toFixed(1)}`);
console.log(lines.join('\n'));
