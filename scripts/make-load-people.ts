/**
 * Creates (once) a data dir of N people for the load benchmark (bench/stateless-load.ts), each with a password and
 * a few memories, and caches it: signing up 1,000 people with the production Argon2id setting (64 MiB, t=3) takes
 * ~5 minutes of CPU on the 2-core machine, so this uses a cheap one (1 MiB, t=1) stored in each keyring. Sign-in
 * cost is therefore NOT what production pays: the benchmark measures the serving of signed-in people.
 *
 *   npx tsx scripts/make-load-people.ts [--people 1000] [--dir /tmp/memvault-load-people-1000]
 *
 * Prints the directory. Phones are +1415555xxxx with xxxx = 0000 + i; the password is LOAD_PASSWORD.
 */
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/app/config.js';
import { createMemvault } from '../src/app/container.js';
import type { UserId } from '../src/core/entry.js';
import { systemClock } from '../src/ports/clock.js';
import { KeyringStore } from '../src/security/keyring.js';
import { loadMasterKey } from '../src/security/master-key.js';
import { createSealer } from '../src/security/seal.js';
import { FsVault } from '../src/vault/fs-vault.js';

export const LOAD_PASSWORD = 'load test passphrase 2026';
/** Bench-only Argon2id cost (the keyring records it; production people get DEFAULT_KDF). */
const BENCH_KDF = { memoryCost: 1024, timeCost: 1, parallelism: 1 };
const SEED = [
  'Had coffee with Marta at the corner place, she starts the new job on Monday.',
  'Ran 5 km along the river before work, knee felt fine.',
  'Dentist appointment moved to next Thursday at 3pm.',
];

export const phoneOf = (i: number) => `+1415555${String(i).padStart(4, '0')}` as UserId;

export async function makeLoadPeople(people: number, dir: string): Promise<string> {
  if (existsSync(join(dir, '.complete'))) return dir;
  const building = `${dir}.building`;
  await rm(building, { recursive: true, force: true });
  const masterKey = await loadMasterKey({ env: {}, dataDir: building });
  const keyring = new KeyringStore({ dataDir: building, masterKey, kdf: BENCH_KDF });
  const vault = new FsVault({
    dataDir: building,
    sealer: createSealer(keyring, { level1Plain: false }),
    clock: systemClock,
    maxContentBytes: 65_536,
  });
  for (let i = 0; i < people; i++) {
    const userId = phoneOf(i);
    await vault.createUser({ userId, name: null, timezone: 'Europe/Lisbon' });
    await keyring.create(userId, LOAD_PASSWORD);
  }
  await vault.close();
  // The memories go through the real pipeline (classify, seal, index) at level 1, as the channels write them.
  const mv = await createMemvault(loadConfig({ MEMVAULT_LOG_LEVEL: 'warn' }, { dataDir: building }));
  for (let i = 0; i < people; i++) {
    const userId = phoneOf(i);
    const opener = await mv.auth.channelOpener(userId);
    for (const text of SEED)
      await mv.memory.remember({ userId, opener, meta: { channel: 'cli' } }, text, { channel: 'cli' });
  }
  await mv.close();
  await rm(join(building, 'sessions.db'), { force: true });
  const { writeFile } = await import('node:fs/promises');
  await writeFile(join(building, '.complete'), `${people}\n`);
  await rm(dir, { recursive: true, force: true });
  await rename(building, dir);
  return dir;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const people = Number(arg('people') ?? 1000);
  const dir = arg('dir') ?? join(tmpdir(), `memvault-load-people-${people}`);
  const started = Date.now();
  await makeLoadPeople(people, dir);
  process.stdout.write(`${dir} (${Math.round((Date.now() - started) / 1000)} s)\n`);
}
