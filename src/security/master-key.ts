import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { corruption, MemvaultError, storageError, validationError } from '../core/errors.js';
import { ensurePrivateDir, writeFileAtomic } from './crypto-fs.js';
import { hkdfSha256 } from './kdf.js';

export const MASTER_KEY_BYTES = 32;
export const MASTER_KEY_ENV = 'MEMVAULT_MASTER_KEY';
export const MASTER_KEY_FILE_ENV = 'MEMVAULT_MASTER_KEY_FILE';
export const MASTER_KEY_FILE = 'master.key';
/** The key check value, beside the data it guards (see `verifyMasterKey`). */
export const KEY_CHECK_FILE = 'master.check';

/** Where the master key comes from: the environment, a file named by MEMVAULT_MASTER_KEY_FILE, or the data dir. */
export type MasterKeySource = 'env' | 'file' | 'data-dir';

type Env = Readonly<Record<string, string | undefined>>;

const isSet = (value: string | undefined): value is string => value !== undefined && value.trim() !== '';

export function masterKeySource(env: Env): MasterKeySource {
  if (isSet(env[MASTER_KEY_ENV])) return 'env';
  if (isSet(env[MASTER_KEY_FILE_ENV])) return 'file';
  return 'data-dir';
}

/** How a message names the key, by role: paths are not shown outside the server. */
function keyName(source: MasterKeySource): string {
  return source === 'env'
    ? MASTER_KEY_ENV
    : source === 'file'
      ? `the master key file (${MASTER_KEY_FILE_ENV})`
      : `the master key file (${MASTER_KEY_FILE} in the data directory)`;
}

const HEX = /^[0-9a-fA-F]{64}$/;
const BASE64 = /^[A-Za-z0-9+/]{43}=?$|^[A-Za-z0-9_-]{43}=?$/;

/** Decodes 32 bytes written as 64 hex digits or base64 (standard or URL-safe); null for anything else. */
export function parseMasterKey(text: string): Uint8Array | null {
  const value = text.trim();
  let bytes: Buffer;
  if (HEX.test(value)) bytes = Buffer.from(value, 'hex');
  else if (BASE64.test(value))
    bytes = Buffer.from(value, value.includes('-') || value.includes('_') ? 'base64url' : 'base64');
  else return null;
  if (bytes.length !== MASTER_KEY_BYTES || bytes.every((b) => b === 0)) return null;
  return new Uint8Array(bytes);
}

/**
 * The server's master key: `MEMVAULT_MASTER_KEY` (32 bytes as hex or base64) when set; else the file named by
 * `MEMVAULT_MASTER_KEY_FILE`, which must exist; else `dataDir/master.key`, created at first start (mode 0600,
 * exclusive create). A key file is refused when group or others may read or write it.
 * @throws VALIDATION_ERROR for a malformed environment value or both variables at once; SECURITY_ERROR for an
 *   unsafe or damaged key file; STORAGE_ERROR for a key file that is missing or unreadable.
 */
export async function loadMasterKey(opts: { env: Env; dataDir: string }): Promise<Uint8Array> {
  const fromEnv = opts.env[MASTER_KEY_ENV];
  const fromFile = opts.env[MASTER_KEY_FILE_ENV];
  if (isSet(fromEnv) && isSet(fromFile)) {
    throw validationError(
      `Set ${MASTER_KEY_ENV} or ${MASTER_KEY_FILE_ENV}, not both: memvault cannot tell which key you mean.`,
      { field: MASTER_KEY_FILE_ENV },
    );
  }
  if (isSet(fromEnv)) {
    const key = parseMasterKey(fromEnv);
    if (!key) {
      throw validationError(
        `${MASTER_KEY_ENV} must be 32 random bytes written as 64 hex digits or base64 (generate one with \`openssl rand -base64 32\`).`,
        { field: MASTER_KEY_ENV },
      );
    }
    return key;
  }
  if (isSet(fromFile)) {
    if (fromFile.includes('\u0000')) {
      throw validationError(`${MASTER_KEY_FILE_ENV} is not a usable path.`, { field: MASTER_KEY_FILE_ENV });
    }
    const file = resolve(fromFile);
    const key = await readKeyFile(file, 'file');
    if (!key) {
      throw storageError(
        `${MASTER_KEY_FILE_ENV} names a file that does not exist. Create it (\`(umask 077; openssl rand -base64 32 > FILE)\`) or move the data directory's ${MASTER_KEY_FILE} there; a new key cannot open existing data.`,
        undefined,
        { file, field: MASTER_KEY_FILE_ENV },
      );
    }
    return key;
  }
  const file = join(opts.dataDir, MASTER_KEY_FILE);
  const existing = await readKeyFile(file, 'data-dir');
  if (existing) return existing;
  await ensurePrivateDir(opts.dataDir);
  const fresh = randomBytes(MASTER_KEY_BYTES);
  const created = await writeFileAtomic(file, `${fresh.toString('base64')}\n`, { mode: 0o600, exclusive: true });
  if (created) return new Uint8Array(fresh);
  // Another process created it between our read and our write: use theirs.
  const theirs = await readKeyFile(file, 'data-dir');
  if (!theirs) throw storageError(`Could not create ${keyName('data-dir')}.`, undefined, { file });
  return theirs;
}

// ── key check value ─────────────────────────────────────────────────────────────────────────────────────────

const CHECK_HEADER = 'memvault-key-check 1';
const CHECK_INFO = 'memvault/v1/master-key-check';
const CHECK_CONSTANT = 'memvault master key check value';

/** HMAC-SHA256 of a constant under a key derived from the master key: shows the key without revealing it. */
function checkValue(masterKey: Uint8Array): Buffer {
  const derived = hkdfSha256(masterKey, new Uint8Array(0), CHECK_INFO, 32);
  try {
    return createHmac('sha256', derived).update(CHECK_CONSTANT).digest();
  } finally {
    derived.fill(0);
  }
}

/**
 * Proves `masterKey` is the key this data directory was set up with, before anything reads or writes with it.
 * The first start writes `master.check` (a key check value, 0600, exclusive create); every later start compares
 * in constant time. Without it a wrong key started a server that answered sign-in with 500s and signed new
 * people up under the wrong key: one data dir under two master keys.
 *
 * A data directory from before this check has no `master.check`: the key is recorded only when it opens the
 * data already there (`opensExistingData`).
 * @throws CONFIG_ERROR on a mismatch; DATA_CORRUPTION for a damaged check file; STORAGE_ERROR when unreadable.
 */
export async function verifyMasterKey(opts: {
  dataDir: string;
  masterKey: Uint8Array;
  source: MasterKeySource;
  /**
   * Asked only when there is no check file yet: whether the key opens the data already there (false), or
   * there is nothing to try it on (null). A data dir from before the check is then not sealed to a wrong key.
   */
  opensExistingData?: () => Promise<boolean | null>;
}): Promise<'created' | 'verified'> {
  const file = join(opts.dataDir, KEY_CHECK_FILE);
  const expected = checkValue(opts.masterKey);
  let text = await readCheckFile(file);
  if (text === null && (await opts.opensExistingData?.()) === false) throw wrongKey(opts.source);
  if (text === null) {
    const line = `${CHECK_HEADER} ${expected.toString('base64url')}\n`;
    if (await writeFileAtomic(file, line, { mode: 0o600, exclusive: true })) return 'created';
    // Another process wrote it first: check against theirs.
    text = await readCheckFile(file);
    if (text === null)
      throw storageError(`Could not create the key check file ${KEY_CHECK_FILE}.`, undefined, { file });
  }
  const match = /^memvault-key-check 1 ([A-Za-z0-9_-]{43})\s*$/.exec(text);
  if (!match?.[1]) {
    throw corruption(
      `The key check file ${KEY_CHECK_FILE} in the data directory is damaged. If you are sure the master key is the one this data was created with, delete ${KEY_CHECK_FILE} and start again: it is rewritten from the key.`,
      { file },
    );
  }
  const stored = Buffer.from(match[1], 'base64url');
  if (stored.length !== expected.length || !timingSafeEqual(stored, expected)) throw wrongKey(opts.source);
  return 'verified';
}

function wrongKey(source: MasterKeySource): MemvaultError {
  return new MemvaultError(
    'CONFIG_ERROR',
    `Wrong master key: ${keyName(source)} is not the key this data directory was set up with. Start with the original key (${MASTER_KEY_ENV}, ${MASTER_KEY_FILE_ENV} or ${MASTER_KEY_FILE} in the data directory); nothing was read or written.`,
    {
      details: {
        field: source === 'env' ? MASTER_KEY_ENV : source === 'file' ? MASTER_KEY_FILE_ENV : MASTER_KEY_FILE,
      },
    },
  );
}

async function readCheckFile(file: string): Promise<string | null> {
  try {
    const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      return await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw storageError(`Could not read the key check file ${KEY_CHECK_FILE}.`, error, { file });
  }
}

async function readKeyFile(file: string, source: MasterKeySource): Promise<Uint8Array | null> {
  const name = keyName(source);
  const fix =
    source === 'file' ? `chmod 600 "$${MASTER_KEY_FILE_ENV}"` : `chmod 600 ${MASTER_KEY_FILE} (in the data directory)`;
  let info: Awaited<ReturnType<typeof lstat>>;
  try {
    info = await lstat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw storageError(`Could not read ${name}.`, error, { file });
  }
  if (!info.isFile()) {
    throw new MemvaultError('SECURITY_ERROR', `${capitalize(name)} is not a regular file. Replace it or remove it.`, {
      details: { file },
    });
  }
  if ((info.mode & 0o077) !== 0) {
    throw new MemvaultError(
      'SECURITY_ERROR',
      `${capitalize(name)} is readable or writable by other users. Fix it with: ${fix}`,
      { details: { file } },
    );
  }
  let text: string;
  try {
    // O_NOFOLLOW: the lstat above and this read must see the same file, not a symlink swapped in between.
    const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw storageError(`Could not read ${name}.`, error, { file });
  }
  const key = parseMasterKey(text);
  if (!key) {
    throw new MemvaultError(
      'SECURITY_ERROR',
      `${capitalize(name)} does not hold a 32-byte key (base64 or hex). Restore it from a backup; without it the keyrings cannot be opened.`,
      { details: { file } },
    );
  }
  return key;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
