import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, planPgSuite, TEST_DATABASE_URL } from './pg-test-db.js';

const plan = await planPgSuite();
if (plan.action === 'fail') throw new Error(plan.message);
if (plan.action === 'skip') console.warn(plan.line);

const BIN = resolve(import.meta.dirname, '../../bin/memvault.js');
const PHONE = '+14155550134';
const PASSWORD = 'correct horse battery staple 42';
const PER_SERVER = 200;

interface Server {
  readonly child: ChildProcess;
  readonly url: string;
  readonly appName: string;
  /** Everything the process printed so far. */
  output(): string;
}

/**
 * `memvault serve` in its own process on a free port, over the shared database and a data dir of its own: like
 * servers on different hosts, they share nothing but PostgreSQL (and the master key).
 */
function serve(env: NodeJS.ProcessEnv, appName: string, extra: NodeJS.ProcessEnv = {}): Promise<Server> {
  const dataDir = mkdtempSync(join(tmpdir(), `memvault-multi-${appName}-`));
  dataDirs.push(dataDir);
  const child = spawn(process.execPath, [BIN, 'serve'], {
    env: {
      ...process.env,
      ...env,
      MEMVAULT_DATA_DIR: dataDir,
      MEMVAULT_PORT: '0',
      // One process per server (no cluster): its connections are then named memvault:<this child's pid>.
      MEMVAULT_WORKERS: '1',
      MEMVAULT_LOG_LEVEL: 'warn',
      MEMVAULT_INSIGHTS_SCHEDULE: 'off',
      MEMVAULT_BACKUP_SCHEDULE: 'off',
      ...extra,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolveServer, reject) => {
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = out.match(/running at (http:\/\/\S+)/);
      if (m?.[1]) resolveServer({ child, url: m[1], appName, output: () => out });
    });
    child.stderr?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.once('exit', (code) => {
      if (process.env.DEBUG_MULTI) console.error(`serve ${appName} exited with ${code}: ${out.slice(-3000)}`);
      reject(new Error(`serve exited with ${code}: ${out}`));
    });
  });
}

const dataDirs: string[] = [];

/** Stops a server the way an operator does (SIGTERM), and waits until its process is gone. */
async function stop(server: Server): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const gone = new Promise((r) => server.child.once('exit', r));
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 15_000);
  await gone;
  clearTimeout(timer);
}

// biome-ignore lint/suspicious/noExplicitAny: the test reads a few fields of several response shapes.
type Json = any;

async function call(url: string, path: string, body: unknown, token?: string): Promise<{ status: number; json: Json }> {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

describe.skipIf(plan.action === 'skip')('three servers over one PostgreSQL', () => {
  let fx: Awaited<ReturnType<typeof freshDatabase>>;
  let env: NodeJS.ProcessEnv;
  let servers: Server[] = [];
  const tokens: string[] = [];

  beforeAll(async () => {
    fx = await freshDatabase();
    env = {
      MEMVAULT_MASTER_KEY: randomBytes(32).toString('base64'),
      MEMVAULT_DATABASE_URL: TEST_DATABASE_URL,
      MEMVAULT_DATABASE_SCHEMA: fx.schema,
    };
    servers = await Promise.all(['a', 'b', 'c'].map((name) => serve(env, name)));
    const up = await call(servers[0]!.url, '/v1/auth/sign-up', { phone: PHONE, password: PASSWORD });
    expect(up.status).toBe(201);
    tokens.push(up.json.token);
    for (const server of servers.slice(1)) {
      const signed = await call(server.url, '/v1/auth/sign-in', { phone: PHONE, password: PASSWORD });
      expect(signed.status).toBe(200);
      tokens.push(signed.json.token);
    }
  }, 180_000);

  afterAll(async () => {
    for (const server of servers) server.child.kill('SIGKILL');
    await fx?.drop();
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every one of 200 parallel appends per server to one person, each at its own revision', async () => {
    const before = await fx.db.query<{ revision: string }>('x', 'SELECT revision FROM mv_users');
    const results = await Promise.all(
      servers.flatMap((server, s) =>
        Array.from({ length: PER_SERVER }, (_, i) =>
          call(server.url, '/v1/memories', { text: `server ${s} memory ${i}`, category: 'GENERAL' }, tokens[s]),
        ),
      ),
    );
    expect(results.filter((r) => r.status !== 201 && r.status !== 200).map((r) => r.json)).toEqual([]);
    const acknowledged = new Set(results.map((r) => r.json.memory.id as string));
    expect(acknowledged.size).toBe(3 * PER_SERVER);
    const rows = await fx.db.query<{ id: string; pos: string; revision: string }>(
      'x',
      'SELECT id, pos, revision FROM mv_entries ORDER BY pos',
    );
    expect(new Set(rows.map((r) => r.id))).toEqual(acknowledged);
    // One revision per append, strictly increasing, none shared, none skipped.
    const after = await fx.db.query<{ revision: string }>('x', 'SELECT revision FROM mv_users');
    expect(Number(after[0]!.revision) - Number(before[0]!.revision)).toBe(3 * PER_SERVER);
    const positions = rows.map((r) => Number(r.pos));
    expect(new Set(positions).size).toBe(positions.length);
    // Every server lists all of them.
    for (const [s, server] of servers.entries()) {
      const list = await fetch(`${server.url}/v1/memories?limit=1`, {
        headers: { authorization: `Bearer ${tokens[s]}` },
      });
      expect(((await list.json()) as { total: number }).total).toBe(3 * PER_SERVER);
    }
  }, 300_000);

  it('keeps the order of appends made one after another through different servers', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const s = i % 3;
      const made = await call(
        servers[s]!.url,
        '/v1/memories',
        { text: `in order ${i}`, category: 'GENERAL' },
        tokens[s],
      );
      ids.push(made.json.memory.id);
    }
    const rows = await fx.db.query<{ id: string }>('x', 'SELECT id FROM mv_entries WHERE id = ANY($1) ORDER BY pos', [
      ids,
    ]);
    expect(rows.map((r) => r.id)).toEqual(ids);
  }, 120_000);

  it('answers 503 while its database connections are killed, and recovers by itself', async () => {
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    try {
      const kill = () =>
        // Only these three servers' connections: other suites use the same PostgreSQL at the same time.
        admin.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ANY($1) AND pid <> pg_backend_pid()',
          [servers.map((server) => `memvault:${server.child.pid}`)],
        );
      let stop = false;
      const killer = (async () => {
        while (!stop) {
          await kill();
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      let during: Awaited<ReturnType<typeof call>>[];
      try {
        during = await Promise.all(
          Array.from({ length: 60 }, (_, i) =>
            call(servers[i % 3]!.url, '/v1/memories', { text: `under fire ${i}`, category: 'GENERAL' }, tokens[i % 3]),
          ),
        );
      } finally {
        stop = true;
        await killer;
      }
      for (const r of during) expect([200, 201, 503]).toContain(r.status);
      const refused = during.filter((r) => r.status === 503);
      expect(refused.length).toBeGreaterThan(0);
      for (const r of refused) expect(r.json.error.code).toBe('STORAGE_ERROR');
      // Every acknowledged write is there; none that was refused.
      const acked = during.filter((r) => r.status !== 503).map((r) => r.json.memory.id as string);
      const stored = await fx.db.query<{ id: string }>('x', 'SELECT id FROM mv_entries WHERE id = ANY($1)', [acked]);
      expect(stored.length).toBe(acked.length);
      // With the killing over, every server serves again without a restart.
      for (const [s, server] of servers.entries()) {
        const after = await call(server.url, '/v1/memories', { text: `after ${s}`, category: 'GENERAL' }, tokens[s]);
        expect([200, 201]).toContain(after.status);
      }
    } finally {
      await admin.end();
    }
  }, 180_000);

  it('shares sessions and lockouts: a session made on one server works on the others, failures anywhere lock everywhere', async () => {
    const list = (server: Server, token: string) =>
      fetch(`${server.url}/v1/memories?limit=1`, { headers: { authorization: `Bearer ${token}` } });
    // The session signed in on server a is used on b and c (each has a data dir of its own: no sessions.db shared).
    for (const server of servers) expect((await list(server, tokens[0]!)).status).toBe(200);
    // Signed out on b, refused on c at once.
    const out = await fetch(`${servers[1]!.url}/v1/auth/sign-out`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens[1]}` },
    });
    expect(out.status).toBeLessThan(300);
    expect((await list(servers[2]!, tokens[1]!)).status).toBe(401);
    expect((await list(servers[0]!, tokens[0]!)).status).toBe(200);

    const other = '+14155550177';
    expect((await call(servers[0]!.url, '/v1/auth/sign-up', { phone: other, password: PASSWORD })).status).toBe(201);
    for (let i = 0; i < 5; i++) {
      const wrong = await call(servers[i % 3]!.url, '/v1/auth/sign-in', {
        phone: other,
        password: `wrong guess ${i}!`,
      });
      expect(wrong.json.error.reason).toBe('authentication_failed');
    }
    // Five failures spread over three servers lock the person on a server that saw none of them.
    const locked = await call(servers[2]!.url, '/v1/auth/sign-in', { phone: other, password: PASSWORD });
    expect(locked.status).toBe(423);
    expect(locked.json.error.reason).toBe('locked_out');
  }, 120_000);

  it('runs a scheduled day once, not three times, and a restart signs no one out', async () => {
    await Promise.all(servers.map(stop));
    const people = Number((await fx.db.query<{ n: string }>('x', 'SELECT count(*) AS n FROM mv_users'))[0]!.n);
    // Restarted with the daily schedule on: each server's first check finds the last 7 days of every person due.
    servers = await Promise.all(
      ['d', 'e', 'f'].map((name) => serve(env, name, { MEMVAULT_INSIGHTS_SCHEDULE: 'on', MEMVAULT_LOG_LEVEL: 'info' })),
    );
    const finished = async () =>
      Number(
        (
          await fx.db.query<{ n: string }>(
            'x',
            "SELECT count(*) AS n FROM mv_job_runs WHERE job = 'insights.day' AND finished_at IS NOT NULL",
          )
        )[0]!.n,
      );
    // The servers run on the real clock: when a day ends during the test (UTC midnight and its 5 minutes of grace,
    // once a day), their next check finds one more day of every person due.
    await expect.poll(finished, { timeout: 120_000, interval: 250 }).toBeGreaterThanOrEqual(7 * people);
    // Let a server that found a day busy or done log its check.
    await new Promise((r) => setTimeout(r, 1_000));
    const ranBy = () =>
      servers
        .flatMap((server) => server.output().split('\n'))
        .filter((line) => line.includes('insights scheduler: days processed'))
        .reduce((sum, line) => sum + Number((JSON.parse(line) as { processed: number }).processed), 0);
    // Each finished person-day ran once, on one server (a check still under way logs when it is done).
    await expect.poll(async () => ranBy() - (await finished())).toBe(0);
    expect(await finished()).toBeLessThanOrEqual(8 * people);
    // The session made before the restart, on a server that is gone, still works on the new ones.
    const list = await fetch(`${servers[1]!.url}/v1/memories?limit=1`, {
      headers: { authorization: `Bearer ${tokens[0]}` },
    });
    expect(list.status).toBe(200);
  }, 240_000);
});
