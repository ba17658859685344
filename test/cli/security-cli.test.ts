import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { generateSync } from 'otplib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.js';
import { createMemvault } from '../../src/app/container.js';
import { createRuntime } from '../../src/app/main.js';
import { normalizeUserId } from '../../src/core/user-id.js';
import { runCli } from '../../src/cli/program.js';
import { memvault, tempDir } from '../helpers/cli.js';

const USER = '+14155550134';
const PASSWORD = 'correct horse battery staple 42';

let dir: { path: string; cleanup(): void };
let D: string;
beforeEach(async () => {
  dir = tempDir();
  D = join(dir.path, 'data');
  const created = await memvault(['user', 'create', '--phone', USER, '--password-stdin', '--data-dir', D], {
    stdin: `${PASSWORD}\n`,
  });
  expect(created.code, created.stderr).toBe(0);
});
afterEach(() => dir.cleanup());

/** `totp enroll` is interactive: password first, then a code computed from the secret it prints. */
async function enrollTotp(): Promise<string> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let printed = '';
  const secret = new Promise<string>((resolve) => {
    stdout.on('data', (chunk: Buffer) => {
      printed += chunk.toString('utf8');
      const first = printed.split('\n')[0];
      if (first && printed.includes('\n')) resolve((JSON.parse(first) as { secret: string }).secret);
    });
  });
  const done = runCli(
    ['totp', 'enroll', '--user', USER, '--password-stdin', '--data-dir', D, '--json'],
    createRuntime({ stdin, stdout, stderr }, { MEMVAULT_LOG_LEVEL: 'silent' }),
  );
  stdin.write(`${PASSWORD}\n`);
  const s = await secret;
  stdin.end(`${generateSync({ secret: s })}\n`);
  expect(await done).toBe(0);
  expect(printed).toContain('"enrolled":true');
  return s;
}

describe('reading SECRET from the CLI', () => {
  it('needs the password and a TOTP code; a code used once is refused the second time', async () => {
    const added = await memvault(['add', '--user', USER, '--data-dir', D, '--json', 'My gym locker code is 5521']);
    const { entry } = added.json<{ entry: { id: string; level: number } }>();
    expect(entry.level).toBe(3);
    const secret = await enrollTotp();

    const passwordOnly = await memvault(['show', '--user', USER, '--data-dir', D, '--password-stdin', entry.id], {
      stdin: `${PASSWORD}\n`,
    });
    expect(passwordOnly.code).toBe(77);
    expect(passwordOnly.stderr).toMatch(/SECURITY_ERROR \((insufficient_permissions|second_factor_required)\)/);

    // The enrolment used the current step; the next step's code is inside the ±1 window and still fresh.
    const code = generateSync({ secret, epoch: Math.floor(Date.now() / 1000) + 30 });
    const withCode = await memvault(
      ['show', '--user', USER, '--data-dir', D, '--password-stdin', '--totp', code, entry.id],
      {
        stdin: `${PASSWORD}\n`,
      },
    );
    expect(withCode.code, withCode.stderr).toBe(0);
    expect(withCode.stdout).toContain('My gym locker code is 5521');

    const replay = await memvault(
      ['show', '--user', USER, '--data-dir', D, '--password-stdin', '--totp', code, entry.id],
      {
        stdin: `${PASSWORD}\n`,
      },
    );
    expect(replay.code).toBe(77);
    expect(replay.stdout).not.toContain('5521');
  });

  it('a wrong password is refused with a typed reason', async () => {
    const result = await memvault(['list', '--user', USER, '--data-dir', D, '--password-stdin'], {
      stdin: 'wrong password!!\n',
    });
    expect(result.code).toBe(77);
    expect(result.stderr).toContain('authentication_failed');
  });

  it('a SECRET entry never appears in search without an unlocked session', async () => {
    await memvault(['add', '--user', USER, '--data-dir', D, 'My gym locker code is 5521']);
    await memvault(['add', '--user', USER, '--data-dir', D, 'Bought a new lock for the gym bag']);
    const result = await memvault(['search', '--user', USER, '--data-dir', D, '--json', 'gym', 'locker', 'code']);
    expect(result.code, result.stderr).toBe(0);
    const contents = result.json<{ results: { content: string }[] }>().results.map((r) => r.content);
    expect(contents.join('\n')).not.toContain('5521');
    expect(contents).toContain('Bought a new lock for the gym bag');
  });
});

describe('memvault keys rotate', () => {
  it('re-seals every entry under new keys; everything still opens and nothing reads as before on disk', async () => {
    const texts = [
      'Went kayaking with Odette yesterday',
      'Therapy session notes: feeling calmer',
      'My gym locker code is 5521',
    ];
    for (const text of texts) expect((await memvault(['add', '--user', USER, '--data-dir', D, text])).code).toBe(0);
    const folder = join(D, 'users', USER);
    const before = Object.fromEntries(
      ['CHRONOLOGICAL', 'CONFIDENTIAL', 'SECRET'].map((k) => [
        k,
        readFileSync(join(folder, `${k}.${USER}.md`), 'utf8'),
      ]),
    );
    const keyringBefore = readFileSync(join(folder, `KEYRING.${USER}.json`), 'utf8');

    const rotated = await memvault(['keys', 'rotate', '--user', USER, '--data-dir', D, '--password-stdin', '--json'], {
      stdin: `${PASSWORD}\n`,
    });
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.json<{ resealed: number }>().resealed).toBe(3);
    expect(readFileSync(join(folder, `KEYRING.${USER}.json`), 'utf8')).not.toBe(keyringBefore);
    for (const [kind, text] of Object.entries(before)) {
      expect(readFileSync(join(folder, `${kind}.${USER}.md`), 'utf8')).not.toBe(text);
    }
    const list = await memvault(['list', '--user', USER, '--data-dir', D, '--json', '--password-stdin'], {
      stdin: `${PASSWORD}\n`,
    });
    expect(list.code, list.stderr).toBe(0);
    const listed = list.json<{ entries: { content: string }[]; damaged: unknown[]; locked: number }>();
    expect(listed.damaged).toEqual([]);
    expect(listed.entries.map((e) => e.content).sort()).toEqual(texts.slice(0, 2).sort());
    expect(listed.locked).toBe(1);
  });

  it('refuses a wrong password and leaves the keyring as it was', async () => {
    const keyring = join(D, 'users', USER, `KEYRING.${USER}.json`);
    const before = readFileSync(keyring, 'utf8');
    const result = await memvault(['keys', 'rotate', '--user', USER, '--data-dir', D, '--password-stdin'], {
      stdin: 'not the password at all\n',
    });
    expect(result.code).toBe(77);
    expect(readFileSync(keyring, 'utf8')).toBe(before);
  });
});

describe('memvault audit verify', () => {
  const log = () => join(D, 'users', USER, `AUDIT.${USER}.log`);
  const lines = () => readFileSync(log(), 'utf8').split('\n').filter(Boolean);

  beforeEach(async () => {
    // A few sign-ins, good and bad, to fill the log.
    for (const pw of [PASSWORD, 'wrong password!!', PASSWORD]) {
      await memvault(['list', '--user', USER, '--data-dir', D, '--password-stdin'], { stdin: `${pw}\n` });
    }
    expect(lines().length).toBeGreaterThanOrEqual(3);
  });

  it('passes on an untouched log', async () => {
    const result = await memvault(['audit', 'verify', '--user', USER, '--data-dir', D]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('intact');
  });

  it('passes on a log whose last append crashed halfway, and says so', async () => {
    appendFileSync(log(), '{"seq":99,"at":"2026-');
    const result = await memvault(['audit', 'verify', '--user', USER, '--data-dir', D]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('intact');
    expect(result.stdout).toContain('crashed before it finished');
    const json = await memvault(['audit', 'verify', '--user', USER, '--data-dir', D, '--json']);
    expect(json.json()).toMatchObject({ ok: true, tornTail: true });
  });

  const tamperings: [string, (l: string[]) => string[]][] = [
    ['edited', (l) => l.map((x, i) => (i === 1 ? x.replace(/"action":"([^"]+)"/, '"action":"$1.edited"') : x))],
    ['removed', (l) => l.filter((_, i) => i !== 1)],
    ['reordered', (l) => [l[0], l[2], l[1], ...l.slice(3)] as string[]],
    ['inserted', (l) => [l[0], l[1], l[1], ...l.slice(2)] as string[]],
    ['truncated', (l) => l.slice(0, -1)],
  ];
  it.each(tamperings)('fails on a %s record and names it', async (_kind, tamper) => {
    const original = lines();
    const changed = tamper(original);
    expect(changed).not.toEqual(original);
    writeFileSync(log(), `${changed.join('\n')}\n`);
    const result = await memvault(['audit', 'verify', '--user', USER, '--data-dir', D]);
    expect(result.code).toBe(76);
    expect(result.stderr).toMatch(/fails at record \d+/);
  });
});

describe('memvault user password', () => {
  it('a person without a password reads level 2 locally; setting one takes it out of the operator’s reach', async () => {
    const phone = '+14155550177';
    expect((await memvault(['user', 'create', '--phone', phone, '--data-dir', D])).code).toBe(0);
    const add = await memvault([
      'add',
      '--user',
      phone,
      '--data-dir',
      D,
      '--json',
      '--category',
      'CONFIDENTIAL',
      'Salary is 91k',
    ]);
    expect(add.code, add.stderr).toBe(0);
    await memvault(['add', '--user', phone, '--data-dir', D, '--category', 'SECRET', 'Bike lock combo 4-1-7-7']);
    const before = await memvault(['list', '--user', phone, '--data-dir', D, '--json']);
    const open = before.json<{ locked: number; entries: { content: string }[] }>();
    expect(open.entries.map((e) => e.content)).toEqual(['Salary is 91k']);
    expect(open.locked).toBe(1);

    const set = await memvault(['user', 'password', '--user', phone, '--data-dir', D, '--password-stdin'], {
      stdin: `${PASSWORD}\n`,
    });
    expect(set.code, set.stderr).toBe(0);
    const locked = await memvault(['list', '--user', phone, '--data-dir', D, '--json']);
    expect(locked.json<{ locked: number; entries: unknown[] }>()).toMatchObject({ locked: 2, entries: [] });
    const unlocked = await memvault(['list', '--user', phone, '--data-dir', D, '--json', '--password-stdin'], {
      stdin: `${PASSWORD}\n`,
    });
    expect(unlocked.code, unlocked.stderr).toBe(0);
    expect(unlocked.json<{ entries: { content: string }[] }>().entries.map((e) => e.content)).toEqual([
      'Salary is 91k',
    ]);
  });

  it('changes a password only with the current one', async () => {
    const next = 'a different long passphrase 7';
    const wrong = await memvault(['user', 'password', '--user', USER, '--data-dir', D, '--password-stdin'], {
      stdin: `not the current one at all\n${next}\n`,
    });
    expect(wrong.code).toBe(77);
    const right = await memvault(['user', 'password', '--user', USER, '--data-dir', D, '--password-stdin'], {
      stdin: `${PASSWORD}\n${next}\n`,
    });
    expect(right.code, right.stderr).toBe(0);
    const old = await memvault(['list', '--user', USER, '--data-dir', D, '--password-stdin'], {
      stdin: `${PASSWORD}\n`,
    });
    expect(old.code).toBe(77);
    const fresh = await memvault(['list', '--user', USER, '--data-dir', D, '--password-stdin'], { stdin: `${next}\n` });
    expect(fresh.code, fresh.stderr).toBe(0);
  });
});

describe('ending sessions from the CLI while a server runs', () => {
  it('`user password` and `user sign-out-everywhere` end the server’s sessions at their next request', async () => {
    // The server: another memvault instance over the same data dir, holding sessions in its memory.
    const server = await createMemvault(loadConfig({ MEMVAULT_DATA_DIR: D, MEMVAULT_LOG_LEVEL: 'silent' }));
    try {
      const userId = normalizeUserId(USER);
      const meta = { ip: '203.0.113.7', channel: 'web' };
      const first = await server.auth.signIn(userId, PASSWORD, meta);
      const NEW = 'a brand new long passphrase 42';
      const changed = await memvault(['user', 'password', '--user', USER, '--password-stdin', '--data-dir', D], {
        stdin: `${PASSWORD}\n${NEW}\n`,
      });
      expect(changed.code, changed.stderr).toBe(0);
      await expect(server.auth.resolve(first.token, meta)).rejects.toMatchObject({ reason: 'authentication_failed' });

      const second = await server.auth.signIn(userId, NEW, meta);
      const out = await memvault(['user', 'sign-out-everywhere', '--user', USER, '--data-dir', D, '--json']);
      expect(out.code, out.stderr).toBe(0);
      expect(out.json()).toEqual({ signedOut: true });
      await expect(server.auth.resolve(second.token, meta)).rejects.toMatchObject({ reason: 'authentication_failed' });
      // Signing in again works.
      await server.auth.resolve((await server.auth.signIn(userId, NEW, meta)).token, meta);
    } finally {
      await server.close();
    }
  }, 60_000);
});
