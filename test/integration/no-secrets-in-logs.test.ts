import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { generateSync } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.js';
import { createMemvault, type Memvault } from '../../src/app/container.js';
import { createLogger } from '../../src/app/logger.js';
import { createHttpApp } from '../../src/server/http-app.js';
import { holdsSecret } from '../helpers/leak.js';

/**
 * A full scenario through the real wiring with logging at its most verbose; afterwards no log line and no file
 * outside the sealed payloads may hold a password, a token, a TOTP secret or code, or the text of a memory.
 */
describe('no secret in any log', () => {
  const PASSWORD = 'Ultramarine-Walrus-1987!';
  const WRONG = 'Ultramarine-Walrus-1988!';
  const secrets: string[] = [PASSWORD, WRONG, '5521', 'kayaking', 'Odette'];
  const lines: string[] = [];
  let dataDir: string;
  let mv: Memvault;
  let app: ReturnType<typeof createHttpApp>;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'memvault-logs-'));
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    const config = loadConfig({ MEMVAULT_DATA_DIR: dataDir, MEMVAULT_PUBLIC_URL: 'http://localhost:8787' });
    mv = await createMemvault(config, { logger: createLogger('trace', sink) });
    app = createHttpApp({
      memory: mv.memory,
      auth: mv.auth,
      audit: mv.audit,
      logger: mv.logger,
      config: { cookieSecure: false, maxBodyBytes: 256 * 1024, webauthnOrigin: 'http://localhost:8787' },
    });
  });

  afterAll(async () => {
    await mv.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const call = async (method: string, path: string, body?: unknown, token?: string) => {
    const res = await app.request(`http://localhost:8787${path}`, {
      method,
      headers: {
        'content-type': 'application/json',
        origin: 'http://localhost:8787',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  };

  it('runs sign-up, failures, capture, TOTP, unlock, search, lock and sign-out without leaking', async () => {
    const phone = '+14155550134';
    const signUp = await call('POST', '/v1/auth/sign-up', { phone, password: PASSWORD, name: 'Ada' });
    expect(signUp.status).toBe(201);
    const token = signUp.json.token as string;
    secrets.push(token);

    expect((await call('POST', '/v1/auth/sign-in', { phone, password: WRONG })).status).toBe(401);
    // A request that fails validation still carries the password in its body.
    expect((await call('POST', '/v1/auth/sign-in', { phone, password: PASSWORD, extra: 1 })).status).toBe(400);

    for (const text of ['My gym locker code is 5521', 'Went kayaking with Odette yesterday']) {
      expect((await call('POST', '/v1/memories', { text }, token)).status).toBe(201);
    }
    const begin = await call('POST', '/v1/auth/totp/begin', {}, token);
    expect(begin.status).toBe(200);
    const secret = begin.json.secret as string;
    const now = Math.floor(Date.now() / 1000);
    const confirmCode = generateSync({ secret, epoch: now });
    const unlockCode = generateSync({ secret, epoch: now + 30 });
    secrets.push(secret, confirmCode, unlockCode);
    expect((await call('POST', '/v1/auth/totp/confirm', { code: confirmCode }, token)).status).toBe(204);
    const unlock = await call('POST', '/v1/auth/unlock', { level: 3, password: PASSWORD, totp: unlockCode }, token);
    expect(unlock.status).toBe(200);
    const found = await call('POST', '/v1/search', { query: 'locker code' }, token);
    expect(JSON.stringify(found.json)).toContain('5521');
    expect((await call('POST', '/v1/auth/lock', {}, token)).status).toBe(200);
    expect((await call('POST', '/v1/auth/sign-out', {}, token)).status).toBeLessThan(300);

    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines) {
      for (const s of secrets)
        expect(holdsSecret(line, s), `log line leaks a secret: ${line.slice(0, 200)}`).toBe(false);
    }
  });

  it('leaves no secret in any file under the data directory either', async () => {
    const walk = async (dir: string): Promise<string[]> => {
      const out: string[] = [];
      for (const name of await readdir(dir)) {
        const full = join(dir, name);
        out.push(...((await stat(full)).isDirectory() ? await walk(full) : [full]));
      }
      return out;
    };
    for (const file of await walk(dataDir)) {
      const text = (await readFile(file)).toString('latin1');
      for (const s of secrets) expect(holdsSecret(text, s), `${file} holds a secret`).toBe(false);
    }
  });
});
