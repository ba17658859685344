import { chmod, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemvaultError } from '../core/errors.js';
import { loadMasterKey, parseMasterKey, verifyMasterKey } from './master-key.js';

const KEY = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'memvault-master-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

async function failure(promise: Promise<unknown>): Promise<MemvaultError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MemvaultError);
  return error as MemvaultError;
}

describe('parseMasterKey', () => {
  it('accepts 32 bytes as hex, base64 and base64url, with surrounding whitespace', () => {
    for (const text of [
      KEY.toString('hex'),
      KEY.toString('base64'),
      KEY.toString('base64url'),
      ` ${KEY.toString('hex')}\n`,
    ]) {
      expect(Buffer.from(parseMasterKey(text)!)).toEqual(KEY);
    }
  });

  it('refuses other lengths, other alphabets and an all-zero key', () => {
    for (const text of [
      '',
      'abc',
      KEY.subarray(0, 31).toString('base64'),
      `${KEY.toString('hex')}00`,
      'g'.repeat(64),
    ]) {
      expect(parseMasterKey(text)).toBeNull();
    }
    expect(parseMasterKey('0'.repeat(64))).toBeNull();
  });
});

describe('loadMasterKey', () => {
  it('takes MEMVAULT_MASTER_KEY over the file and never creates one then', async () => {
    const key = await loadMasterKey({ env: { MEMVAULT_MASTER_KEY: KEY.toString('base64') }, dataDir });
    expect(Buffer.from(key)).toEqual(KEY);
    await expect(stat(join(dataDir, 'master.key'))).rejects.toThrow();
  });

  it('refuses a malformed environment value without echoing it', async () => {
    const secretish = 'not-a-key-but-secret-looking-value';
    const error = await failure(loadMasterKey({ env: { MEMVAULT_MASTER_KEY: secretish }, dataDir }));
    expect(error.code).toBe('VALIDATION_ERROR');
    expect(error.message).toContain('MEMVAULT_MASTER_KEY');
    expect(error.message).not.toContain(secretish);
  });

  it('creates a 0600 key file at first start and reads the same key afterwards', async () => {
    const first = await loadMasterKey({ env: {}, dataDir });
    const file = join(dataDir, 'master.key');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(first.byteLength).toBe(32);
    expect(await loadMasterKey({ env: { MEMVAULT_MASTER_KEY: '' }, dataDir })).toEqual(first);
    expect((await readFile(file, 'utf8')).trim()).toBe(Buffer.from(first).toString('base64'));
  });

  it('creates the data directory when missing, and concurrent first starts agree on one key', async () => {
    const nested = join(dataDir, 'a', 'b');
    const keys = await Promise.all(Array.from({ length: 5 }, () => loadMasterKey({ env: {}, dataDir: nested })));
    for (const key of keys) expect(key).toEqual(keys[0]);
  });

  it('refuses a key file readable or writable by group or others, naming the fix', async () => {
    await loadMasterKey({ env: {}, dataDir });
    const file = join(dataDir, 'master.key');
    for (const mode of [0o640, 0o604, 0o620, 0o666]) {
      await chmod(file, mode);
      const error = await failure(loadMasterKey({ env: {}, dataDir }));
      expect(error.code).toBe('SECURITY_ERROR');
      // Named by role, never by absolute path (issue 18); the path stays in the details for the logs.
      expect(error.message).toContain('chmod 600 master.key');
      expect(error.details?.file).toBe(file);
    }
  });

  it('refuses a key file of the wrong length or content', async () => {
    const file = join(dataDir, 'master.key');
    await writeFile(file, KEY.subarray(0, 16).toString('base64'), { mode: 0o600 });
    const error = await failure(loadMasterKey({ env: {}, dataDir }));
    expect(error.code).toBe('SECURITY_ERROR');
    expect(error.message).toContain('master.key in the data directory');
    expect(error.message).not.toContain(dataDir);
  });

  it('refuses a symlink in place of the key file', async () => {
    const real = join(dataDir, 'elsewhere.key');
    await writeFile(real, KEY.toString('base64'), { mode: 0o600 });
    await symlink(real, join(dataDir, 'master.key'));
    expect((await failure(loadMasterKey({ env: {}, dataDir }))).code).toBe('SECURITY_ERROR');
  });
});

describe('verifyMasterKey', () => {
  const OTHER = Buffer.alloc(32, 9);

  it('writes the check value at first start (0600), then accepts the same key and refuses another', async () => {
    expect(await verifyMasterKey({ dataDir, masterKey: KEY, source: 'env' })).toBe('created');
    const file = join(dataDir, 'master.check');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const text = await readFile(file, 'utf8');
    // A MAC, not the key or anything the key can be read from.
    expect(text).not.toContain(KEY.toString('base64'));
    expect(text).not.toContain(KEY.toString('hex'));
    expect(await verifyMasterKey({ dataDir, masterKey: KEY, source: 'data-dir' })).toBe('verified');
    const error = await failure(verifyMasterKey({ dataDir, masterKey: OTHER, source: 'env' }));
    expect(error.code).toBe('CONFIG_ERROR');
    expect(error.message).toContain('MEMVAULT_MASTER_KEY');
    expect(error.message).not.toContain(dataDir);
    expect(await readFile(file, 'utf8')).toBe(text);
  });

  it('lets concurrent first starts agree: one key wins, the other is refused', async () => {
    const results = await Promise.allSettled([
      verifyMasterKey({ dataDir, masterKey: KEY, source: 'env' }),
      verifyMasterKey({ dataDir, masterKey: KEY, source: 'env' }),
      verifyMasterKey({ dataDir, masterKey: OTHER, source: 'env' }),
    ]);
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused.length).toBeLessThanOrEqual(2);
    for (const r of refused) expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'CONFIG_ERROR' });
  });

  it('reports a damaged check file as DATA_CORRUPTION, saying how to recover', async () => {
    await writeFile(join(dataDir, 'master.check'), 'garbage\n', { mode: 0o600 });
    const error = await failure(verifyMasterKey({ dataDir, masterKey: KEY, source: 'env' }));
    expect(error.code).toBe('DATA_CORRUPTION');
    expect(error.message).toContain('delete master.check');
  });
});
