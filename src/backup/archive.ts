import { createHash, createHmac, hkdfSync, timingSafeEqual, webcrypto } from 'node:crypto';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { pipeline } from 'node:stream/promises';
import { createGzip, gunzip as gunzipCb, constants as zlibConstants } from 'node:zlib';
import * as tar from 'tar-stream';
import { z } from 'zod';
import { CATEGORIES, type Category } from '../core/category.js';
import type { UserId } from '../core/entry.js';
import { MemvaultError } from '../core/errors.js';
import { isUserId } from '../core/e164.js';

const gunzip = promisify(gunzipCb);

/** Written into every manifest; a reader refuses any higher number (it cannot know what it would miss). */
export const BACKUP_FORMAT_VERSION = 1;
export const BACKUP_FORMAT = 'memvault-backup';
const MANIFEST_NAME = 'manifest.json';
const MAC_NAME = 'manifest.mac';
const FILES_PREFIX = 'files/';
/** A person's whole vault, decompressed, is refused above this (a gzip bomb must not exhaust memory). */
const MAX_UNPACKED_BYTES = 4 * 1024 ** 3;

/** Why a backup was refused; `details.problem` of the error carries it. */
export type BackupProblem =
  | 'not_a_backup'
  | 'foreign_key'
  | 'tampered'
  | 'truncated'
  | 'newer_format'
  | 'wrong_person'
  | 'bad_manifest';

export function backupError(problem: BackupProblem, message: string, cause?: unknown): MemvaultError {
  const code = problem === 'wrong_person' || problem === 'newer_format' ? 'VALIDATION_ERROR' : 'DATA_CORRUPTION';
  return new MemvaultError(code, message, { details: { problem }, ...(cause ? { cause } : {}) });
}

/**
 * The files of a person's folder that a backup carries, by exact name: the profile and category files (entries
 * stay sealed as they are on disk), the keyring (wrapped keys only, MAC'd), its generation record and the copy
 * kept during a rotation, the audit log and head, the factor record (passkeys, TOTP sealed under the master key),
 * the personal classifier model (salted hashed features), the import ledger (digests of imported ids) and the
 * person's settings. Never the master key (outside the folder), the search index (derived, rebuilt after a restore),
 * lock files, torn tails or temp files; sessions live in the session store, never in a backup.
 */
export function backupFileNames(userId: UserId): string[] {
  return [
    `USER.${userId}.md`,
    ...CATEGORIES.map((c) => `${c}.${userId}.md`),
    `KEYRING.${userId}.json`,
    `KEYRING.${userId}.json.previous`,
    `KEYRING.${userId}.json.generation`,
    `AUDIT.${userId}.log`,
    `AUDIT.${userId}.head`,
    `AUTH.${userId}.json`,
    `MODEL.${userId}.json`,
    `IMPORTS.${userId}.log`,
    // The person's settings (what an LLM may read for digests), MAC'd under the master key.
    `SETTINGS.${userId}.json`,
  ];
}

/** Files that must be in every backup: without them the folder is no vault. */
export function requiredFileNames(userId: UserId): string[] {
  return [`USER.${userId}.md`, ...CATEGORIES.map((c) => `${c}.${userId}.md`), `KEYRING.${userId}.json`];
}

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

const ManifestSchema = z.strictObject({
  format: z.literal(BACKUP_FORMAT),
  version: z.number().int().min(1),
  createdAt: z.iso.datetime(),
  userId: z.string().refine(isUserId, 'not an E.164 user id'),
  /** SHA-256 over the category files' names and hashes: equal revisions hold equal entries. */
  revision: Sha256Hex,
  files: z
    .array(z.strictObject({ name: z.string().min(1).max(200), size: z.number().int().min(0), sha256: Sha256Hex }))
    .max(64),
  counts: z.record(z.enum(CATEGORIES), z.number().int().min(0)),
  keyring: z.strictObject({
    generation: z.number().int().min(0),
    /** Level → first 32 hex digits of SHA-256 of the level's public key. */
    fingerprints: z.partialRecord(z.enum(['1', '2', '3', '4']), z.string().regex(/^[0-9a-f]{32}$/)),
  }),
});

export type BackupManifest = z.infer<typeof ManifestSchema>;

export interface BackupFile {
  readonly name: string;
  readonly bytes: Buffer;
}

export const sha256Hex = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

/** Entries in a category file: headings can only be structure (content lines never start with `#`). */
export function countEntries(text: string): number {
  let n = text.startsWith('## Memory Entry #') ? 1 : 0;
  let at = text.indexOf('\n## Memory Entry #');
  while (at >= 0) {
    n++;
    at = text.indexOf('\n## Memory Entry #', at + 1);
  }
  return n;
}

/** The revision a manifest names: it depends on the category files' bytes only, not on inodes or times. */
export function contentRevision(userId: UserId, files: readonly BackupFile[]): string {
  const hash = createHash('sha256');
  for (const category of CATEGORIES) {
    const file = files.find((f) => f.name === `${category}.${userId}.md`);
    hash.update(`${category}:${file ? sha256Hex(file.bytes) : 'missing'};`);
  }
  return hash.digest('hex');
}

/** Generation and public-key fingerprints of a keyring file, read without any key (they are public). */
export function keyringSummary(bytes: Buffer | undefined): BackupManifest['keyring'] {
  if (!bytes) return { generation: 0, fingerprints: {} };
  let parsed: { generation?: unknown; levels?: Record<string, { publicKey?: unknown }> };
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new MemvaultError('DATA_CORRUPTION', 'The keyring file is not JSON; run `memvault doctor`.', { cause });
  }
  const fingerprints: Record<string, string> = {};
  for (const level of ['1', '2', '3', '4'] as const) {
    const pub = parsed.levels?.[level]?.publicKey;
    if (typeof pub === 'string') fingerprints[level] = sha256Hex(Buffer.from(pub, 'base64')).slice(0, 32);
  }
  const generation = typeof parsed.generation === 'number' ? parsed.generation : 0;
  return { generation, fingerprints };
}

// ── keys ─────────────────────────────────────────────────────────────────────────────────────────────────

/** PKCS#8 prefix of a raw X25519 private key (RFC 8410). */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/**
 * The instance's backup keys, all derived from the master key so there is nothing more to keep safe or to
 * lose: an age X25519 identity (backups are encrypted to its recipient) and a MAC key for manifests (age proves
 * integrity but not who wrote a file: anyone holding the public recipient could make one). The identity never
 * touches the disk, so it can never end up inside a backup.
 */
/**
 * age-encryption loads on first use: its curve tables cost ~150 ms of CPU at import, which every command that
 * builds the container (and never touches a backup) would otherwise pay.
 */
const age = () => import('age-encryption');

export class BackupKeys {
  readonly #identity: Promise<webcrypto.CryptoKey>;
  readonly #macKey: Buffer;
  readonly #extraRecipients: readonly string[];

  constructor(masterKey: Uint8Array, extraRecipients: readonly string[] = []) {
    const secret = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'memvault/v1/backup/identity', 32));
    this.#identity = webcrypto.subtle.importKey(
      'pkcs8',
      Buffer.concat([X25519_PKCS8_PREFIX, secret]),
      { name: 'X25519' },
      false,
      ['deriveBits'],
    );
    secret.fill(0);
    this.#macKey = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'memvault/v1/backup/manifest-mac', 32));
    this.#extraRecipients = extraRecipients;
  }

  /** The age recipient (`age1…`) backups are encrypted to. */
  async recipient(): Promise<string> {
    const { identityToRecipient } = await age();
    return identityToRecipient((await this.#identity) as CryptoKey);
  }

  async encryptStream(payload: ReadableStream<Uint8Array>): Promise<ReadableStream<Uint8Array>> {
    const { Encrypter } = await age();
    const e = new Encrypter();
    e.addRecipient(await this.recipient());
    for (const r of this.#extraRecipients) e.addRecipient(r);
    return e.encrypt(payload);
  }

  async decrypt(file: Uint8Array): Promise<Uint8Array> {
    const { Decrypter } = await age();
    const d = new Decrypter();
    d.addIdentity((await this.#identity) as CryptoKey);
    return d.decrypt(file);
  }

  mac(manifest: Buffer): Buffer {
    return createHmac('sha256', this.#macKey).update(manifest).digest();
  }
}

// ── pack and unpack ──────────────────────────────────────────────────────────────────────────────────────

/**
 * An archive is age(gzip(tar)). Tar because it is the standard container: an operator holding an extra
 * recipient's identity can inspect one with `age -d -i key f | tar tz`. Inside: `manifest.json` first (so a
 * reader learns the format version before anything else), `manifest.mac`, then `files/<name>`.
 *
 * Produced as a stream of encrypted chunks, so the caller writes them to disk as they come and the archive is
 * never held whole in memory next to the files it packs.
 */
export async function* packBackupStream(
  keys: BackupKeys,
  manifest: BackupManifest,
  files: readonly BackupFile[],
): AsyncGenerator<Uint8Array> {
  const manifestBytes = Buffer.from(JSON.stringify(manifest, null, 2), 'utf8');
  const pack = tar.pack();
  const mtime = new Date(manifest.createdAt);
  // tar → gzip (libuv thread pool) → age (this thread) as one stream, so compression and encryption overlap.
  // Huffman-only: sealed entries are base64 of ciphertext, in which LZ77 finds nothing to match; entropy coding
  // alone gives the same 25 % and costs a third of the CPU of level 6 (bench/results/backup.md).
  const gz = createGzip({ strategy: zlibConstants.Z_HUFFMAN_ONLY });
  const piped = pipeline(pack, gz);
  const encrypted = await keys.encryptStream(Readable.toWeb(gz) as unknown as ReadableStream<Uint8Array>);
  const add = (name: string, bytes: Buffer) =>
    new Promise<void>((resolve, reject) =>
      pack.entry({ name, size: bytes.length, mode: 0o600, mtime }, bytes, (err) => (err ? reject(err) : resolve())),
    );
  const feeding = (async () => {
    await add(MANIFEST_NAME, manifestBytes);
    await add(MAC_NAME, keys.mac(manifestBytes));
    for (const file of files) await add(`${FILES_PREFIX}${file.name}`, file.bytes);
    pack.finalize();
  })();
  // A failure on either side ends both: nothing is left running when the consumer stops (a full disk).
  feeding.catch(() => undefined);
  piped.catch(() => undefined);
  const reader = encrypted.getReader();
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield value;
    }
    await Promise.all([feeding, piped]);
    finished = true;
  } finally {
    if (!finished) {
      await reader.cancel().catch(() => undefined);
      pack.destroy();
      gz.destroy();
    }
  }
}

/** The whole archive in memory (tests, and callers that want the bytes). */
export async function packBackup(
  keys: BackupKeys,
  manifest: BackupManifest,
  files: readonly BackupFile[],
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of packBackupStream(keys, manifest, files)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export interface UnpackedBackup {
  readonly manifest: BackupManifest;
  readonly files: BackupFile[];
}

function describeAgeFailure(error: unknown): MemvaultError {
  const message = error instanceof Error ? error.message : String(error);
  if (/no identity matched/i.test(message)) {
    return backupError(
      'foreign_key',
      "This backup is not encrypted to this instance's backup key (it was made with another master key, or its header was altered).",
      error,
    );
  }
  if (/invalid version|header|stanza|intro|recipient/i.test(message) && !/mac/i.test(message)) {
    return backupError('not_a_backup', `This file is not a memvault backup (its age header is unreadable).`, error);
  }
  // age cannot tell a cut file from an edited one: a shortened last chunk simply fails its tag.
  return backupError(
    'tampered',
    'This backup is damaged: it was altered or cut short (its encryption no longer authenticates). Use another backup.',
    error,
  );
}

/**
 * Decrypts and checks a whole archive without writing anything: age authentication (header MAC and every
 * chunk), the manifest's MAC under this instance's key, its format version, and every file's size and SHA-256.
 * @throws MemvaultError with `details.problem` naming what is wrong.
 */
export async function unpackBackup(keys: BackupKeys, file: Uint8Array): Promise<UnpackedBackup> {
  if (file.byteLength < 24 || Buffer.from(file.subarray(0, 23)).toString('latin1') !== 'age-encryption.org/v1\n-') {
    throw backupError('not_a_backup', 'This file is not a memvault backup (no age header).');
  }
  let compressed: Uint8Array;
  try {
    compressed = await keys.decrypt(file);
  } catch (error) {
    throw describeAgeFailure(error);
  }
  let tarBytes: Buffer;
  try {
    tarBytes = await gunzip(compressed, { maxOutputLength: MAX_UNPACKED_BYTES });
  } catch (error) {
    throw backupError('bad_manifest', 'The backup decrypts but its content is not a gzip archive.', error);
  }
  const entries = new Map<string, Buffer>();
  const order: string[] = [];
  try {
    const extract = tar.extract();
    Readable.from([tarBytes]).pipe(extract);
    for await (const entry of extract) {
      const parts: Buffer[] = [];
      for await (const chunk of entry) parts.push(chunk as Buffer);
      if (entry.header.type !== 'file' || entries.has(entry.header.name)) {
        throw new Error(`unexpected archive member ${entry.header.name.slice(0, 80)}`);
      }
      entries.set(entry.header.name, Buffer.concat(parts));
      order.push(entry.header.name);
    }
  } catch (error) {
    throw backupError('bad_manifest', 'The backup decrypts but its archive is malformed.', error);
  }
  const manifestBytes = entries.get(MANIFEST_NAME);
  const mac = entries.get(MAC_NAME);
  if (order[0] !== MANIFEST_NAME || !manifestBytes || !mac) {
    throw backupError('bad_manifest', 'The backup holds no manifest.');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(manifestBytes.toString('utf8'));
  } catch (error) {
    throw backupError('bad_manifest', 'The backup manifest is not JSON.', error);
  }
  const version = (raw as { version?: unknown } | null)?.version;
  if (typeof version === 'number' && version > BACKUP_FORMAT_VERSION) {
    throw backupError(
      'newer_format',
      `This backup has format version ${version}; this memvault reads up to version ${BACKUP_FORMAT_VERSION}. Upgrade memvault to restore it.`,
    );
  }
  const expected = keys.mac(manifestBytes);
  if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) {
    throw backupError('tampered', 'The backup manifest was not written by this instance (its MAC does not match).');
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    throw backupError('bad_manifest', `The backup manifest is invalid: ${parsed.error.issues[0]?.message ?? 'bad'}.`);
  }
  const manifest = parsed.data;
  const allowed = new Set(backupFileNames(manifest.userId as UserId));
  const files: BackupFile[] = [];
  const listed = new Set<string>();
  for (const f of manifest.files) {
    if (!allowed.has(f.name) || listed.has(f.name)) {
      throw backupError('bad_manifest', `The backup manifest lists an unexpected file (${f.name.slice(0, 80)}).`);
    }
    listed.add(f.name);
    const bytes = entries.get(`${FILES_PREFIX}${f.name}`);
    if (!bytes) throw backupError('truncated', `The backup lacks ${f.name}, which its manifest lists.`);
    if (bytes.length !== f.size || sha256Hex(bytes) !== f.sha256) {
      throw backupError('tampered', `${f.name} in the backup does not match its manifest (size or SHA-256).`);
    }
    files.push({ name: f.name, bytes });
  }
  for (const name of entries.keys()) {
    if (name !== MANIFEST_NAME && name !== MAC_NAME && !listed.has(name.slice(FILES_PREFIX.length))) {
      throw backupError('bad_manifest', `The backup holds a file its manifest does not list (${name.slice(0, 80)}).`);
    }
  }
  for (const name of requiredFileNames(manifest.userId as UserId)) {
    if (!listed.has(name)) throw backupError('bad_manifest', `The backup lacks ${name}.`);
  }
  if (contentRevision(manifest.userId as UserId, files) !== manifest.revision) {
    throw backupError('tampered', 'The backup revision does not match its category files.');
  }
  for (const category of CATEGORIES) {
    const text = files.find((f) => f.name === `${category}.${manifest.userId}.md`)?.bytes.toString('utf8') ?? '';
    if (countEntries(text) !== manifest.counts[category as Category]) {
      throw backupError('tampered', `The ${category} entry count does not match the manifest.`);
    }
  }
  return { manifest, files };
}
