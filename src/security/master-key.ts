import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { join } from 'node:path';
import { MemvaultError, storageError, validationError } from '../core/errors.js';
import { ensurePrivateDir, writeFileAtomic } from './crypto-fs.js';

export const MASTER_KEY_BYTES = 32;
export const MASTER_KEY_ENV = 'MEMVAULT_MASTER_KEY';
export const MASTER_KEY_FILE = 'master.key';

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
 * The server's master key: `MEMVAULT_MASTER_KEY` (32 bytes as hex or base64) when set, else `dataDir/master.key`,
 * created at first start (mode 0600, exclusive create) and refused when group or others may read or write it.
 * @throws VALIDATION_ERROR for a malformed environment value; SECURITY_ERROR for an unsafe or damaged key file.
 */
export async function loadMasterKey(opts: {
  env: Readonly<Record<string, string | undefined>>;
  dataDir: string;
}): Promise<Uint8Array> {
  const fromEnv = opts.env[MASTER_KEY_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    const key = parseMasterKey(fromEnv);
    if (!key) {
      throw validationError(
        `${MASTER_KEY_ENV} must be 32 random bytes written as 64 hex digits or base64 (generate one with \`openssl rand -base64 32\`).`,
        { field: MASTER_KEY_ENV },
      );
    }
    return key;
  }
  const file = join(opts.dataDir, MASTER_KEY_FILE);
  const existing = await readKeyFile(file);
  if (existing) return existing;
  await ensurePrivateDir(opts.dataDir);
  const fresh = randomBytes(MASTER_KEY_BYTES);
  const created = await writeFileAtomic(file, `${fresh.toString('base64')}\n`, { mode: 0o600, exclusive: true });
  if (created) return new Uint8Array(fresh);
  // Another process created it between our read and our write: use theirs.
  const theirs = await readKeyFile(file);
  if (!theirs) throw storageError(`Could not create the master key file ${file}.`, undefined, { file });
  return theirs;
}

async function readKeyFile(file: string): Promise<Uint8Array | null> {
  let info: Awaited<ReturnType<typeof lstat>>;
  try {
    info = await lstat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw storageError(`Could not read the master key file ${file}.`, error, { file });
  }
  if (!info.isFile()) {
    throw new MemvaultError(
      'SECURITY_ERROR',
      `The master key file ${file} is not a regular file. Replace it or remove it.`,
      {
        details: { file },
      },
    );
  }
  if ((info.mode & 0o077) !== 0) {
    throw new MemvaultError(
      'SECURITY_ERROR',
      `The master key file ${file} is readable or writable by other users. Fix it with: chmod 600 ${file}`,
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
    throw storageError(`Could not read the master key file ${file}.`, error, { file });
  }
  const key = parseMasterKey(text);
  if (!key) {
    throw new MemvaultError(
      'SECURITY_ERROR',
      `The master key file ${file} does not hold a 32-byte key (base64 or hex). Restore it from a backup; without it the keyrings cannot be opened.`,
      { details: { file } },
    );
  }
  return key;
}
