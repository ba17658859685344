import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { memvault, tempDir } from '../helpers/cli.js';

const BIN = resolve(import.meta.dirname, '../../bin/memvault.js');

function start(
  dataDir: string,
  extraEnv: NodeJS.ProcessEnv = {},
): {
  child: ChildProcess;
  url: Promise<string>;
  exited: Promise<number | null>;
  stdout: () => string;
  stderr: () => string;
} {
  // One process: these tests are about the server itself (test/integration/stateless-serve.test.ts covers workers).
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MEMVAULT_PORT: '0',
    MEMVAULT_LOG_LEVEL: 'warn',
    MEMVAULT_WORKERS: '1',
  };
  delete env.MEMVAULT_MASTER_KEY;
  delete env.MEMVAULT_MASTER_KEY_FILE;
  Object.assign(env, extraEnv);
  const child = spawn(process.execPath, [BIN, 'serve', '--data-dir', dataDir], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const url = new Promise<string>((resolveUrl, reject) => {
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = out.match(/running at (http:\/\/\S+)/);
      if (m?.[1]) resolveUrl(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`serve exited early with ${code}: ${out}`)));
  });
  // A test that expects an early exit need not handle this rejection.
  url.catch(() => undefined);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, url, exited, stdout: () => out, stderr: () => err };
}

describe('memvault serve', () => {
  let dir: { path: string; cleanup(): void } | undefined;
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill('SIGKILL');
    dir?.cleanup();
  });

  it('starts with no set-up: creates the data directory and a 0600 master key, serves the API and the web app', async () => {
    dir = tempDir();
    const dataDir = join(dir.path, 'fresh', 'data');
    const server = start(dataDir);
    child = server.child;
    const url = await server.url;
    expect((await fetch(`${url}/v1/health`)).status).toBe(200);
    const page = await fetch(`${url}/`);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(existsSync(join(dataDir, 'master.key'))).toBe(true);
    expect(statSync(join(dataDir, 'master.key')).mode & 0o777).toBe(0o600);
    const openapi = (await (await fetch(`${url}/v1/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/v1/memories', '/v1/search']));
  });

  it('says once, at start, how to keep the master key out of the data dir; not when it already is', async () => {
    dir = tempDir();
    const first = start(join(dir.path, 'data'));
    child = first.child;
    await first.url;
    // The hint follows the "running" line on stdout.
    await new Promise((r) => setTimeout(r, 200));
    const hints = first
      .stdout()
      .split('\n')
      .filter((l) => l.includes('MEMVAULT_MASTER_KEY_FILE'));
    expect(hints).toHaveLength(1);
    expect(hints[0]).toContain('docs/security.md');
    child.kill('SIGKILL');

    const keyFile = join(dir.path, 'memvault.key');
    writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    const second = start(join(dir.path, 'other-data'), { MEMVAULT_MASTER_KEY_FILE: keyFile });
    child = second.child;
    await second.url;
    await new Promise((r) => setTimeout(r, 200));
    expect(second.stdout()).not.toContain('MEMVAULT_MASTER_KEY_FILE');
  });

  it('refuses to start under a master key other than the data dir’s (exit 78), without showing paths', async () => {
    dir = tempDir();
    const dataDir = join(dir.path, 'data');
    const right = randomBytes(32).toString('base64');
    expect(
      (
        await memvault(['user', 'create', '--phone', '+14155550134', '--data-dir', dataDir], {
          env: { MEMVAULT_MASTER_KEY: right },
        })
      ).code,
    ).toBe(0);
    const server = start(dataDir, { MEMVAULT_MASTER_KEY: randomBytes(32).toString('base64') });
    child = server.child;
    expect(await server.exited).toBe(78);
    expect(server.stderr()).toContain('CONFIG_ERROR');
    expect(server.stderr()).toMatch(/master key/i);
    expect(server.stderr()).not.toContain(dir.path);
    expect(server.stdout()).not.toContain('running at');
  });

  it('finishes in-flight writes on SIGTERM, then exits 0', async () => {
    dir = tempDir();
    const dataDir = join(dir.path, 'data');
    const server = start(dataDir);
    child = server.child;
    const url = await server.url;
    const json = { 'content-type': 'application/json' };
    const signUp = await fetch(`${url}/v1/auth/sign-up`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ phone: '+14155550134', password: 'correct horse battery staple 42' }),
    });
    expect(signUp.status, await signUp.clone().text()).toBeLessThan(300);
    const { token } = (await signUp.json()) as { token: string };
    const headers = { ...json, authorization: `Bearer ${token}` };
    const writes = Array.from({ length: 40 }, (_, i) =>
      fetch(`${url}/v1/memories`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ text: `Walked the dog, lap ${i}` }),
      }),
    );
    // Signal as soon as the first write is acknowledged, with the others still in flight.
    await Promise.race(writes);
    child?.kill('SIGTERM');
    const settled = await Promise.allSettled(writes);
    expect(await server.exited).toBe(0);
    const acknowledged: string[] = [];
    for (const s of settled) {
      if (s.status === 'fulfilled' && s.value.status === 201) {
        acknowledged.push(((await s.value.json()) as { memory: { id: string } }).memory.id);
      }
    }
    expect(acknowledged.length).toBeGreaterThan(0);
    const listed = await memvault([
      'list',
      '--user',
      '+14155550134',
      '--data-dir',
      dataDir,
      '--json',
      '--limit',
      '100',
    ]);
    const ids = listed.json<{ entries: { id: string }[] }>().entries.map((e) => e.id);
    expect(ids).toEqual(expect.arrayContaining(acknowledged));
  });
});
