import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.js';
import { type RunningServer, startServer } from '../../src/app/serve.js';
import { tempDir } from '../helpers/cli.js';
import { freePort } from './real.js';

/** The real server's /metrics (issue 17 §5): what only the wired-up process can report, such as vault lock waits. */
let dir: ReturnType<typeof tempDir>;
let server: RunningServer;
let base: string;

beforeAll(async () => {
  dir = tempDir();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = await startServer(
    loadConfig(
      { MEMVAULT_DATA_DIR: join(dir.path, 'data'), MEMVAULT_LOG_LEVEL: 'silent', MEMVAULT_PUBLIC_URL: base },
      { host: '127.0.0.1', port },
    ),
  );
}, 60_000);

afterAll(async () => {
  await server?.stop();
  dir?.cleanup();
});

function lockWaitCount(text: string): number {
  const m = /^memvault_vault_lock_wait_seconds_count\{worker="0"\} (\d+)$/m.exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

describe('GET /metrics on a running server', () => {
  it('counts every vault write’s wait for the person’s lock, parallel captures included', async () => {
    const before = lockWaitCount(await (await fetch(`${base}/metrics`)).text());
    expect(before).toBeGreaterThanOrEqual(0);
    const up = await fetch(`${base}/v1/auth/sign-up`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ phone: '+14155550166', password: 'correct horse battery staple' }),
    });
    expect(up.status).toBe(201);
    const { token } = (await up.json()) as { token: string };
    const texts = ['Lunch with Sara.', 'Walked the dog.', 'Read a book about maps.', 'Called mum.', 'Baked bread.'];
    const saved = await Promise.all(
      texts.map((text) =>
        fetch(`${base}/v1/memories`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ text }),
        }),
      ),
    );
    expect(saved.map((r) => r.status)).toEqual(texts.map(() => 201));
    const text = await (await fetch(`${base}/metrics`)).text();
    // At least one write per capture (sign-up writes too); each observation is a wait, so the sum is finite.
    expect(lockWaitCount(text) - before).toBeGreaterThanOrEqual(texts.length);
    const sum = /^memvault_vault_lock_wait_seconds_sum\{worker="0"\} ([0-9.e+-]+)$/m.exec(text);
    expect(Number(sum?.[1])).toBeGreaterThanOrEqual(0);
    expect(text).toMatch(/memvault_vault_lock_wait_seconds_bucket\{le="0\.001",worker="0"\} \d+/);
  });
});
