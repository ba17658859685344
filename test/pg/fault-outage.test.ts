import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planPgSuite, TEST_DATABASE_URL } from './pg-test-db.js';

/**
 * The database away under load, the way a restart looks to memvault: every open connection is ended by the
 * server (57P01) and, for a few seconds, no new one is let in. The brief's `pg_ctlcluster 15 main restart` would
 * do the same to every other suite using this shared PostgreSQL at the same time, so the outage is made on a
 * database of this test's own: ALLOW_CONNECTIONS false, then pg_terminate_backend of its connections, then
 * ALLOW_CONNECTIONS true (always, in a finally). Two `serve` processes with their own data dirs write to it.
 */
const plan = await planPgSuite();
if (plan.action === 'fail') throw new Error(plan.message);
if (plan.action === 'skip') console.warn(plan.line);

const BIN = resolve(import.meta.dirname, '../../bin/memvault.js');
const PHONE = '+14155550134';
const PASSWORD = 'correct horse battery staple 42';
const OUTAGE_MS = 3_000;

interface Server {
  readonly child: ChildProcess;
  readonly url: string;
}

// biome-ignore lint/suspicious/noExplicitAny: the test reads a few fields of several response shapes.
type Json = any;
interface Answer {
  readonly status: number;
  readonly json: Json;
  readonly at: number;
}

function serve(env: NodeJS.ProcessEnv, dataDir: string): Promise<Server> {
  const child = spawn(process.execPath, [BIN, 'serve'], {
    env: {
      ...process.env,
      ...env,
      MEMVAULT_DATA_DIR: dataDir,
      MEMVAULT_PORT: '0',
      // One process per server (no cluster): its connections are then named memvault:<this child's pid>.
      MEMVAULT_WORKERS: '1',
      MEMVAULT_LOG_LEVEL: 'error',
      MEMVAULT_INSIGHTS_SCHEDULE: 'off',
      MEMVAULT_BACKUP_SCHEDULE: 'off',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolveServer, reject) => {
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = out.match(/running at (http:\/\/\S+)/);
      if (m?.[1]) resolveServer({ child, url: m[1] });
    });
    child.stderr?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
  });
}

async function call(url: string, path: string, body: unknown, token?: string): Promise<Answer> {
  try {
    const response = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    return { status: response.status, json: await response.json(), at: Date.now() };
  } catch (error) {
    // The server itself must stay up: a dropped HTTP connection would be a failure of this test.
    return { status: 0, json: { error: String(error) }, at: Date.now() };
  }
}

describe.skipIf(plan.action === 'skip')('PostgreSQL away under load', () => {
  const name = `mvfault_${process.pid}_${randomBytes(4).toString('hex')}`;
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  const dirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'memvault-fault-')));
  let servers: Server[] = [];
  let token = '';

  beforeAll(async () => {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const env = { MEMVAULT_MASTER_KEY: randomBytes(32).toString('base64'), MEMVAULT_DATABASE_URL: url.toString() };
    servers = await Promise.all(dirs.map((dir) => serve(env, dir)));
    const up = await call(servers[0]!.url, '/v1/auth/sign-up', { phone: PHONE, password: PASSWORD });
    expect(up.status).toBe(201);
    token = up.json.token;
  }, 180_000);

  afterAll(async () => {
    for (const server of servers) server.child.kill('SIGKILL');
    await admin.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS true`).catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    await admin.end().catch(() => undefined);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503 with a clear error while the database is away, recovers by itself, and loses no acknowledged write', async () => {
    const answers: Answer[] = [];
    let stop = false;
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const server = servers[(w + i) % servers.length]!;
        answers.push(await call(server.url, '/v1/memories', { text: `load ${w}/${i}`, category: 'GENERAL' }, token));
      }
    };
    const writers = Array.from({ length: 4 }, (_, w) => writer(w));
    let downAt = 0;
    let upAt = 0;
    try {
      await expect.poll(() => answers.filter((a) => a.status === 201).length, { timeout: 60_000 }).toBeGreaterThan(10);
      downAt = Date.now();
      try {
        await admin.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS false`);
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
        await new Promise((r) => setTimeout(r, OUTAGE_MS));
      } finally {
        // Always: the database comes back even when something above failed.
        await admin.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS true`);
        upAt = Date.now();
      }
      // Recovery by itself: no restart of memvault, the next requests succeed.
      await expect
        .poll(() => answers.filter((a) => a.at > upAt && a.status === 201).length, { timeout: 60_000 })
        .toBeGreaterThan(10);
    } finally {
      stop = true;
      await Promise.all(writers);
    }
    expect(answers.filter((a) => ![201, 503].includes(a.status)).map((a) => [a.status, a.json])).toEqual([]);
    const away = answers.filter((a) => a.status === 503);
    expect(away.length).toBeGreaterThan(0);
    for (const a of away) {
      expect(a.at).toBeGreaterThanOrEqual(downAt);
      expect(a.json.error.code).toBe('STORAGE_ERROR');
      expect(a.json.error.message).toContain('The database is unavailable');
      expect(a.json.error.message).toContain('try again in a moment');
    }
    // Every acknowledged write is in the database.
    const acked = answers.filter((a) => a.status === 201).map((a) => a.json.memory.id as string);
    const db = new pg.Client({ connectionString: url.toString() });
    await db.connect();
    try {
      const stored = await db.query<{ id: string }>('SELECT id FROM memvault.mv_entries WHERE id = ANY($1)', [acked]);
      expect(stored.rows.length).toBe(acked.length);
    } finally {
      await db.end();
    }
    console.info(
      `fault test: ${acked.length} writes acknowledged, ${away.length} answered 503 during a ${OUTAGE_MS} ms outage`,
    );
  }, 240_000);
});
