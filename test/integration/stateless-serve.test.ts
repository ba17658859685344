import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { memvault } from '../helpers/cli.js';

// Real `memvault serve --workers N` processes (primary + workers) over one data dir, started from the sources.
const ENTRY = resolve(import.meta.dirname, '../helpers/memvault-src.ts');
const PASSWORD = 'stateless servers 2026';

interface Server {
  readonly child: ChildProcess;
  readonly url: string;
  readonly exited: Promise<number | null>;
  output(): string;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

function spawnServe(dataDir: string, port: number, workers: number, extraEnv: NodeJS.ProcessEnv = {}) {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MEMVAULT_LOG_LEVEL: 'warn',
    MEMVAULT_INSIGHTS_SCHEDULE: 'off',
    MEMVAULT_BACKUP_SCHEDULE: 'off',
    MEMVAULT_PUBLIC_URL: `http://localhost:${port}`,
  };
  delete env.MEMVAULT_MASTER_KEY;
  delete env.MEMVAULT_MASTER_KEY_FILE;
  Object.assign(env, extraEnv);
  return spawn(
    process.execPath,
    ['--import', 'tsx', ENTRY, 'serve', '--data-dir', dataDir, '--port', String(port), '--workers', String(workers)],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

async function serve(dataDir: string, port: number, workers: number): Promise<Server> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MEMVAULT_LOG_LEVEL: 'warn',
    MEMVAULT_INSIGHTS_SCHEDULE: 'off',
    MEMVAULT_BACKUP_SCHEDULE: 'off',
    MEMVAULT_PUBLIC_URL: `http://localhost:${port}`,
  };
  delete env.MEMVAULT_MASTER_KEY;
  delete env.MEMVAULT_MASTER_KEY_FILE;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', ENTRY, 'serve', '--data-dir', dataDir, '--port', String(port), '--workers', String(workers)],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 90_000);
    child.stdout?.on('data', () => {
      const m = out.match(/running at (http:\/\/\S+)/);
      if (m?.[1]) {
        clearTimeout(timer);
        resolveUrl(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited early with ${code}: ${out}`));
    });
  });
  return { child, url: `http://127.0.0.1:${port}`, exited, output: () => out };
}

/** One HTTP call; a connection that drops (a worker killed or draining) is retried like a real client would. */
async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
  timeoutMs?: number,
): Promise<{ status: number; body: Record<string, unknown> }> {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetch(`${base}${path}`, {
        method,
        ...(timeoutMs === undefined ? {} : { signal: AbortSignal.timeout(timeoutMs) }),
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    } catch (error) {
      if (attempt >= 20) throw error;
      await sleep(250);
    }
  }
}

/** The worker pids answering now (round-robin spreads a handful of fresh connections over all of them). */
async function workerPids(base: string, tries = 12): Promise<Set<number>> {
  const pids = new Set<number>();
  for (let i = 0; i < tries; i++) {
    const res = await fetch(`${base}/v1/health`, { headers: { connection: 'close' } }).catch(() => null);
    if (res?.ok) pids.add(((await res.json()) as { worker: { pid: number } }).worker.pid);
  }
  return pids;
}

async function signUp(base: string, phone: string): Promise<string> {
  const res = await call(base, 'POST', '/v1/auth/sign-up', { phone, password: PASSWORD });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.token as string;
}

let dir: string | undefined;
const running: Server[] = [];

afterEach(async () => {
  for (const server of running.splice(0)) {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
    await server.exited;
  }
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function stop(server: Server): Promise<number | null> {
  server.child.kill('SIGTERM');
  return server.exited;
}

describe('memvault serve --workers 2', () => {
  it('a restart of every process and a rolling restart sign no one out; unlocked levels stay unlocked', async () => {
    dir = await mkdtemp(join(tmpdir(), 'mv-stateless-'));
    const dataDir = join(dir, 'data');
    const port = await freePort();
    const first = await serve(dataDir, port, 2);
    running.push(first);
    const base = first.url;
    const token = await signUp(base, '+14155550101');
    const saved = await call(
      base,
      'POST',
      '/v1/memories',
      { text: 'The locker code at the gym is 4471.', category: 'CONFIDENTIAL' },
      token,
    );
    expect(saved.status).toBe(201);
    const memory = saved.body.memory as { id: string; level: number; content: string };
    expect(memory.level).toBe(2);

    expect(await stop(first)).toBe(0);
    const second = await serve(dataDir, port, 2);
    running.push(second);
    const me = await call(base, 'GET', '/v1/me', undefined, token);
    expect(me.status).toBe(200);
    expect((me.body.session as { unlocked: number[] }).unlocked).toEqual([1, 2]);
    const read = await call(base, 'GET', `/v1/memories/${memory.id}`, undefined, token);
    expect(read.status).toBe(200);
    expect((read.body.memory as { content: string }).content).toBe(memory.content);

    // Rolling restart under traffic: every request answers 200 (a dropped connection is retried).
    let before = new Set<number>();
    for (let i = 0; i < 120 && before.size < 2; i++) {
      before = await workerPids(base); // the second worker may still be starting
      if (before.size < 2) await sleep(500);
    }
    expect(before.size).toBe(2);
    let traffic = true;
    const statuses: number[] = [];
    const load = (async () => {
      while (traffic) statuses.push((await call(base, 'GET', `/v1/memories/${memory.id}`, undefined, token)).status);
    })();
    second.child.kill('SIGHUP');
    let after = new Set<number>();
    for (let i = 0; i < 120; i++) {
      await sleep(500);
      after = await workerPids(base, 6);
      if (after.size === 2 && [...after].every((pid) => !before.has(pid))) break;
    }
    traffic = false;
    await load;
    expect([...after].some((pid) => before.has(pid))).toBe(false);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const again = await call(base, 'GET', '/v1/me', undefined, token);
    expect((again.body.session as { unlocked: number[] }).unlocked).toEqual([1, 2]);
    expect(await stop(second)).toBe(0);
  }, 600_000);

  it('a worker that cannot start (another master key than the data dir’s) stops the cluster with its code', async () => {
    dir = await mkdtemp(join(tmpdir(), 'mv-stateless-'));
    const dataDir = join(dir, 'data');
    const made = await memvault(['user', 'create', '--phone', '+14155550199', '--data-dir', dataDir], {
      env: { MEMVAULT_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') },
    });
    expect(made.code).toBe(0);
    const wrong = spawnServe(dataDir, await freePort(), 2, {
      MEMVAULT_MASTER_KEY: Buffer.alloc(32, 9).toString('base64'),
    });
    let stderr = '';
    wrong.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const [code] = (await once(wrong, 'exit')) as [number | null];
    expect(code).toBe(78);
    expect(stderr).toContain('CONFIG_ERROR');
  }, 300_000);

  it('kill -9 of a worker mid-run: every acknowledged write is in the vault, no session is lost', async () => {
    dir = await mkdtemp(join(tmpdir(), 'mv-stateless-'));
    const dataDir = join(dir, 'data');
    const port = await freePort();
    const server = await serve(dataDir, port, 2);
    running.push(server);
    const base = server.url;
    const people = ['+14155550111', '+14155550112', '+14155550113'];
    const tokens = await Promise.all(people.map((phone) => signUp(base, phone)));
    const acked = new Map<string, Set<string>>(tokens.map((t) => [t, new Set()]));
    let failures = 0;
    let go = true;
    const writers = tokens.map(async (token, p) => {
      for (let i = 0; go; i++) {
        const res = await call(
          base,
          'POST',
          '/v1/memories',
          { text: `Walked ${i} km along the river today, person ${p}.`, externalId: `p${p}-${i}` },
          token,
          // A connection node:cluster's primary handed to the worker at the instant it was killed is never answered
          // (the primary waits for an acknowledgement the dead worker cannot send): a client times out and retries,
          // as any client of a crashed server must. The externalId makes the retry idempotent.
          20_000,
        );
        if (res.status === 201) acked.get(token)?.add((res.body.memory as { id: string }).id);
        else failures++;
      }
    });
    await sleep(1500);
    const [victim] = await workerPids(base);
    expect(victim).toBeDefined();
    process.kill(victim as number, 'SIGKILL');
    await sleep(2500);
    go = false;
    await Promise.all(writers);
    // The primary replaced the dead worker: two workers answer again, the victim is not among them.
    let pids = new Set<number>();
    for (let i = 0; i < 60 && (pids.size < 2 || pids.has(victim as number)); i++) {
      await sleep(500);
      pids = await workerPids(base);
    }
    expect(pids.size).toBe(2);
    expect(pids.has(victim as number)).toBe(false);
    expect(failures).toBe(0);
    for (const token of tokens) {
      const mine = acked.get(token) ?? new Set();
      expect(mine.size).toBeGreaterThan(0);
      const me = await call(base, 'GET', '/v1/me', undefined, token);
      expect(me.status).toBe(200);
      const list = await call(base, 'GET', '/v1/memories?limit=500', undefined, token);
      const stored = new Set((list.body.memories as Array<{ id: string }>).map((m) => m.id));
      for (const id of mine) expect(stored.has(id), `acknowledged ${id} is stored`).toBe(true);
    }
    expect(await stop(server)).toBe(0);
  }, 600_000);
});
