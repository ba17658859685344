import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  timingSafeEqual,
  webcrypto,
} from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip, constants as zlibConstants } from 'node:zlib';
import * as tar from 'tar-stream';
import { z } from 'zod';
import { CATEGORIES, type Category } from '../core/category.js';
import type { UserId } from '../core/entry.js';
import { MemvaultError } from '../core/errors.js';
import { isUserId } from '../core/e164.js';

/** Written into every manifest; a reader refuses any higher number (it cannot know what it would miss). */
export const BACKUP_FORMAT_VERSION = 1;
export const BACKUP_FORMAT = 'memvault-backup';
const MANIFEST_NAME = 'manifest.json';
const MAC_NAME = 'manifest.mac';
const FILES_PREFIX = 'files/';
/** A person's whole vault, decompressed, is refused above this (a gzip bomb must not fill the staging disk). */
const MAX_UNPACKED_BYTES = 4 * 1024 ** 3;
/** zlib's output pieces: larger than its 16 KiB default, so tar, hashing and counting see fewer, larger chunks. */
const ZLIB_CHUNK = 256 * 1024;
/** The manifest lists at most 64 files: anything bigger is no manifest of ours (and is never held whole). */
const MAX_MANIFEST_BYTES = 1024 ** 2;

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

const ENTRY_MARK = Buffer.from('\n## Memory Entry #');

/** Entries in a category file: headings can only be structure (content lines never start with `#`). */
export function countEntries(text: string | Uint8Array): number {
  const counter = new EntryCounter();
  counter.update(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
  return counter.count;
}

/**
 * Counts entry headings in a file read chunk by chunk (a heading may straddle two chunks): the file is read as
 * if it began with a newline, so a heading on the first line counts like any other.
 */
export class EntryCounter {
  count = 0;
  #carry: Buffer = Buffer.from('\n');

  update(chunk: Uint8Array): void {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const keep = ENTRY_MARK.length - 1;
    // Marks that begin in the carried tail of the previous chunk and end in this one…
    const seam = Buffer.concat([this.#carry, bytes.subarray(0, keep)]);
    for (let at = seam.indexOf(ENTRY_MARK); at >= 0; at = seam.indexOf(ENTRY_MARK, at + 1)) this.count++;
    // …then those that begin in this chunk (the chunk is searched in place, never copied).
    for (let at = bytes.indexOf(ENTRY_MARK); at >= 0; at = bytes.indexOf(ENTRY_MARK, at + 1)) this.count++;
    // No whole mark fits in the carry, so none is counted twice.
    this.#carry =
      bytes.length >= keep
        ? Buffer.from(bytes.subarray(bytes.length - keep))
        : Buffer.from(Buffer.concat([this.#carry, bytes]).subarray(-keep));
  }
}

/** The revision a manifest names: it depends on the category files' bytes only, not on inodes or times. */
export function contentRevision(userId: UserId, files: readonly BackupFile[]): string {
  return revisionOf(userId, new Map(files.map((f) => [f.name, sha256Hex(f.bytes)])));
}

/** The revision from the category files' SHA-256 (hex) by file name; a missing file counts as missing. */
export function revisionOf(userId: UserId, hashes: ReadonlyMap<string, string>): string {
  const hash = createHash('sha256');
  for (const category of CATEGORIES) {
    hash.update(`${category}:${hashes.get(`${category}.${userId}.md`) ?? 'missing'};`);
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

// ── keys and the age format ──────────────────────────────────────────────────────────────────────────────

/** PKCS#8 prefix of a raw X25519 private key (RFC 8410). */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/**
 * age-encryption loads on first use: its curve tables cost ~150 ms of CPU at import, which every command that
 * builds the container (and never touches a backup) would otherwise pay.
 */
const age = () => import('age-encryption');

/** age v1 payload (C2SP age, "STREAM"): 64 KiB chunks of ChaCha20-Poly1305, the last one flagged in its nonce. */
const AGE_CHUNK = 64 * 1024;
const AGE_TAG = 16;
const AGE_SEALED_CHUNK = AGE_CHUNK + AGE_TAG;
const AGE_NONCE = 16;
const AGE_MAGIC = 'age-encryption.org/v1\n-';
/** A header with a few recipients is a few hundred bytes; a file without its end this far in is no backup. */
const MAX_HEADER_BYTES = 64 * 1024;

/** 11-byte big-endian chunk counter, then the last-chunk flag. */
function chunkNonce(counter: number, last: boolean): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeUIntBE(counter, 5, 6);
  if (last) nonce[11] = 1;
  return nonce;
}

function sealChunk(key: Buffer, counter: number, last: boolean, plain: Uint8Array): Buffer {
  const cipher = createCipheriv('chacha20-poly1305', key, chunkNonce(counter, last), { authTagLength: AGE_TAG });
  return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

const damaged = () =>
  backupError(
    'tampered',
    'This backup is damaged: it was altered or cut short (its encryption no longer authenticates). Use another backup.',
  );

function openChunk(key: Buffer, counter: number, last: boolean, sealed: Buffer): Buffer {
  try {
    const decipher = createDecipheriv('chacha20-poly1305', key, chunkNonce(counter, last), {
      authTagLength: AGE_TAG,
    });
    decipher.setAuthTag(sealed.subarray(sealed.length - AGE_TAG));
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - AGE_TAG)), decipher.final()]);
  } catch {
    // age cannot tell a cut file from an edited one: a shortened last chunk simply fails its tag.
    throw damaged();
  }
}

const payloadKey = (fileKey: Uint8Array, nonce: Uint8Array) =>
  Buffer.from(hkdfSync('sha256', fileKey, nonce, 'payload', 32));

async function* iterate(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield* source;
}

/**
 * The instance's backup keys, all derived from the master key so there is nothing more to keep safe or to
 * lose: an age X25519 identity (backups are encrypted to its recipient) and a MAC key for manifests (age proves
 * integrity but not who wrote a file: anyone holding the public recipient could make one). The identity never
 * touches the disk, so it can never end up inside a backup.
 *
 * The age header (recipient stanzas, header MAC) is made and read by the `age-encryption` package; the payload
 * chunks are sealed and opened here with Node's native ChaCha20-Poly1305, exactly as the age format specifies
 * (the package's own payload code is pure JavaScript: 0.78 s of CPU for an 89 MB archive against 0.12 s here).
 * Both directions stream: at most a chunk and a read buffer are in memory.
 */
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

  /** An age file of `plaintext`, chunk by chunk: the header and payload nonce first, then the sealed chunks. */
  async *encrypt(plaintext: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    const { Encrypter } = await age();
    const e = new Encrypter();
    // The package draws the file key and writes the header; this recipient only learns the key, adding no stanza.
    let fileKey: Uint8Array | null = null;
    e.addRecipient({
      wrapFileKey: (key: Uint8Array) => {
        fileKey = Uint8Array.from(key);
        return [];
      },
    });
    e.addRecipient(await this.recipient());
    for (const r of this.#extraRecipients) e.addRecipient(r);
    // An empty file: header ‖ 16-byte nonce ‖ one sealed empty chunk (its 16-byte tag). Header and nonce are kept.
    const empty = await e.encrypt(new Uint8Array(0));
    if (fileKey === null) throw new Error('age did not wrap a file key');
    const nonce = empty.subarray(empty.length - AGE_TAG - AGE_NONCE, empty.length - AGE_TAG);
    const key = payloadKey(fileKey, nonce);
    (fileKey as Uint8Array).fill(0);
    try {
      yield Buffer.from(empty.subarray(0, empty.length - AGE_TAG));
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      let counter = 0;
      for await (const chunk of iterate(plaintext)) {
        pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        pendingBytes += chunk.byteLength;
        // A chunk is sealed as "not last" only once at least one more byte is known to follow it.
        if (pendingBytes > AGE_CHUNK) {
          const all = Buffer.concat(pending, pendingBytes);
          const out: Buffer[] = [];
          let at = 0;
          while (all.length - at > AGE_CHUNK) {
            out.push(sealChunk(key, counter++, false, all.subarray(at, at + AGE_CHUNK)));
            at += AGE_CHUNK;
          }
          pending = [all.subarray(at)];
          pendingBytes = all.length - at;
          yield out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out);
        }
      }
      // The last chunk may be full; it is empty only when the whole file is.
      yield sealChunk(key, counter, true, Buffer.concat(pending, pendingBytes));
    } finally {
      key.fill(0);
    }
  }

  /**
   * The plaintext of an age file read chunk by chunk; every chunk is authenticated before it is passed on.
   * @throws MemvaultError not_a_backup / foreign_key / tampered.
   */
  async *decrypt(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Buffer> {
    const input = iterate(source);
    let buf = Buffer.alloc(0);
    const more = async (): Promise<boolean> => {
      const next = await input.next();
      if (next.done) return false;
      buf = buf.length === 0 ? Buffer.from(next.value) : Buffer.concat([buf, next.value]);
      return true;
    };
    try {
      while (buf.length < AGE_MAGIC.length + 1 && (await more()));
      if (buf.length <= AGE_MAGIC.length || buf.subarray(0, AGE_MAGIC.length).toString('latin1') !== AGE_MAGIC) {
        throw backupError('not_a_backup', 'This file is not a memvault backup (no age header).');
      }
      // The header ends with its MAC line, `--- <base64>\n`.
      let end = -1;
      for (;;) {
        const mark = buf.indexOf('\n--- ');
        const newline = mark >= 0 ? buf.indexOf(0x0a, mark + 1) : -1;
        if (newline >= 0) {
          end = newline + 1;
          break;
        }
        if (buf.length > MAX_HEADER_BYTES || !(await more())) {
          throw backupError('not_a_backup', 'This file is not a memvault backup (its age header is unreadable).');
        }
      }
      let fileKey: Uint8Array;
      try {
        const { Decrypter } = await age();
        const d = new Decrypter();
        d.addIdentity((await this.#identity) as CryptoKey);
        fileKey = await d.decryptHeader(buf.subarray(0, end));
      } catch (error) {
        throw describeAgeFailure(error);
      }
      while (buf.length < end + AGE_NONCE && (await more()));
      if (buf.length < end + AGE_NONCE) throw damaged();
      const key = payloadKey(fileKey, buf.subarray(end, end + AGE_NONCE));
      fileKey.fill(0);
      try {
        let parts: Buffer[] = [buf.subarray(end + AGE_NONCE)];
        let bytes = parts[0]?.length ?? 0;
        let counter = 0;
        for (;;) {
          // A full chunk is opened as "not last" only once a byte after it has arrived.
          if (bytes > AGE_SEALED_CHUNK) {
            const all = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, bytes);
            let at = 0;
            while (all.length - at > AGE_SEALED_CHUNK) {
              yield openChunk(key, counter++, false, all.subarray(at, at + AGE_SEALED_CHUNK));
              at += AGE_SEALED_CHUNK;
            }
            parts = [all.subarray(at)];
            bytes = all.length - at;
          }
          const next = await input.next();
          if (next.done) break;
          parts.push(Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength));
          bytes += next.value.byteLength;
        }
        const last = Buffer.concat(parts, bytes);
        // Cut inside a tag, or cut exactly after a full chunk (the final chunk is empty only in an empty file).
        if (last.length < AGE_TAG || (last.length === AGE_TAG && counter > 0)) throw damaged();
        yield openChunk(key, counter, true, last);
      } finally {
        key.fill(0);
      }
    } finally {
      await input.return(undefined);
    }
  }

  mac(manifest: Buffer): Buffer {
    return createHmac('sha256', this.#macKey).update(manifest).digest();
  }
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
  return backupError(
    'tampered',
    'This backup is damaged: it was altered or cut short (its encryption no longer authenticates). Use another backup.',
    error,
  );
}

// ── pack ─────────────────────────────────────────────────────────────────────────────────────────────────

/** One file to pack: its size is known up front (tar writes it in the member's header), its bytes are streamed. */
export interface BackupSource {
  readonly name: string;
  readonly size: number;
  read(): AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}

/** Waits until a writable can take more, or rejects when it closes first (the reader stopped). */
function drained(stream: NodeJS.EventEmitter): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: unknown) => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      stream.off('error', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = (error?: unknown) => done(error ?? new Error('the archive stream closed'));
    stream.on('drain', onDrain);
    stream.on('close', onClose);
    stream.on('error', onClose);
  });
}

/** Adds one member to a tar pack, streaming its bytes with backpressure. */
function addMember(
  pack: tar.Pack,
  name: string,
  size: number,
  mtime: Date,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const sink = pack.entry({ name, size, mode: 0o600, mtime }, (err) => (err ? reject(err) : resolve()));
    // A failure reaches the entry's callback (and the pack); the 'error' event itself must not go unheard.
    sink.on('error', () => undefined);
    (async () => {
      for await (const chunk of chunks) {
        if (!sink.write(chunk)) await drained(sink);
      }
      sink.end(() => undefined);
    })().catch((error: unknown) => {
      sink.destroy(error as Error);
      reject(error);
    });
  });
}

/**
 * An archive is age(gzip(tar)). Tar because it is the standard container: an operator holding an extra
 * recipient's identity can inspect one with `age -d -i key f | tar tz`. Inside: `manifest.json` first (so a
 * reader learns the format version before anything else), `manifest.mac`, then `files/<name>`.
 *
 * Produced as a stream of encrypted chunks, and each file is read as it is packed, so neither the archive nor the
 * files are ever whole in memory. A source that throws (e.g. a file that changed under the backup) ends the
 * stream with its error.
 */
export async function* packBackupStream(
  keys: BackupKeys,
  manifest: BackupManifest,
  files: readonly BackupSource[],
): AsyncGenerator<Uint8Array> {
  const manifestBytes = Buffer.from(JSON.stringify(manifest, null, 2), 'utf8');
  const pack = tar.pack();
  const mtime = new Date(manifest.createdAt);
  // tar → gzip (libuv thread pool) → age (this thread) as one stream, so compression and encryption overlap.
  // Huffman-only: sealed entries are base64 of ciphertext, in which LZ77 finds nothing to match; entropy coding
  // alone gives the same 25 % and costs a third of the CPU of level 6 (bench/results/backup.md).
  const gz = createGzip({ strategy: zlibConstants.Z_HUFFMAN_ONLY, chunkSize: ZLIB_CHUNK });
  const piped = pipeline(pack, gz);
  let feedError: unknown = null;
  const feeding = (async () => {
    await addMember(pack, MANIFEST_NAME, manifestBytes.length, mtime, [manifestBytes]);
    const mac = keys.mac(manifestBytes);
    await addMember(pack, MAC_NAME, mac.length, mtime, [mac]);
    for (const file of files) await addMember(pack, `${FILES_PREFIX}${file.name}`, file.size, mtime, file.read());
    pack.finalize();
  })().catch((error: unknown) => {
    feedError = error;
    pack.destroy(error as Error);
  });
  piped.catch(() => undefined);
  let finished = false;
  try {
    try {
      for await (const chunk of keys.encrypt(gz)) yield chunk;
      await feeding;
      if (feedError) throw feedError;
      await piped;
    } catch (error) {
      throw feedError ?? error;
    }
    finished = true;
  } finally {
    if (!finished) {
      // A failure on either side ends both: nothing is left running when the consumer stops (a full disk).
      pack.destroy();
      gz.destroy();
    }
  }
}

/** Files already in memory as sources. */
export const memorySources = (files: readonly BackupFile[]): BackupSource[] =>
  files.map((f) => ({ name: f.name, size: f.bytes.length, read: () => [f.bytes] }));

/** The whole archive in memory (tests, and callers that want the bytes). */
export async function packBackup(
  keys: BackupKeys,
  manifest: BackupManifest,
  files: readonly BackupFile[],
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of packBackupStream(keys, manifest, memorySources(files))) chunks.push(chunk);
  return Buffer.concat(chunks);
}

// ── unpack ───────────────────────────────────────────────────────────────────────────────────────────────

export interface UnpackedBackup {
  readonly manifest: BackupManifest;
  readonly files: BackupFile[];
}

/**
 * Receives each file of a verified manifest as it is unpacked. Its bytes are authenticated by age as they come
 * but checked against the manifest (size, SHA-256) only once the file has passed: a sink keeps nothing it is
 * given until `readBackup` has returned (restore stages into a folder it throws away on any refusal).
 */
export type BackupFileSink = (name: string, data: AsyncIterable<Buffer>) => Promise<void>;

async function collect(data: AsyncIterable<Uint8Array>, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of data) {
    bytes += chunk.byteLength;
    if (bytes > limit) throw backupError('bad_manifest', 'The backup manifest is larger than any manifest can be.');
    parts.push(Buffer.from(chunk));
  }
  return Buffer.concat(parts, bytes);
}

/** The manifest's version, MAC, shape and listed names, before any file is unpacked. */
function checkManifest(keys: BackupKeys, manifestBytes: Buffer, mac: Buffer): BackupManifest {
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
  const listed = new Set<string>();
  for (const f of manifest.files) {
    if (!allowed.has(f.name) || listed.has(f.name)) {
      throw backupError('bad_manifest', `The backup manifest lists an unexpected file (${f.name.slice(0, 80)}).`);
    }
    listed.add(f.name);
  }
  for (const name of requiredFileNames(manifest.userId as UserId)) {
    if (!listed.has(name)) throw backupError('bad_manifest', `The backup lacks ${name}.`);
  }
  return manifest;
}

/**
 * Reads an archive as a stream — decrypt (every chunk authenticated), gunzip, untar — and checks everything a
 * restore relies on: the manifest first (format version, this instance's MAC, its shape and file names; then
 * `onManifest` decides whether to go on, e.g. a restore for the wrong person stops here), then each file's size
 * and SHA-256 as it passes through the sink `onManifest` returned, no unlisted or missing file, the revision and
 * the entry counts. Memory stays at a few chunks whatever the archive's size.
 * @throws MemvaultError with `details.problem` naming what is wrong; an error of the sink itself unchanged.
 */
export async function readBackup(
  keys: BackupKeys,
  archive: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  onManifest: (manifest: BackupManifest) => BackupFileSink | Promise<BackupFileSink>,
): Promise<BackupManifest> {
  let ageFailure: unknown = null;
  let sinkFailure: unknown = null;
  const plain = Readable.from(
    (async function* () {
      try {
        yield* keys.decrypt(archive);
      } catch (error) {
        ageFailure = error;
        throw error;
      }
    })(),
    { objectMode: false },
  );
  let inflated = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      inflated += chunk.length;
      done(inflated > MAX_UNPACKED_BYTES ? new Error('the archive inflates beyond 4 GiB') : null, chunk);
    },
  });
  const extract = tar.extract();
  const feeding = pipeline(
    plain,
    createGunzip({ chunkSize: ZLIB_CHUNK }),
    limit,
    async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) {
        if (!extract.write(chunk)) await drained(extract);
      }
      extract.end(() => undefined);
    },
  );
  feeding.catch((error: unknown) => extract.destroy(error as Error));

  let manifestBytes: Buffer | null = null;
  let manifest: BackupManifest | null = null;
  let sink: BackupFileSink | null = null;
  const hashes = new Map<string, string>();
  const counts = new Map<string, number>();
  try {
    let index = 0;
    for await (const entry of extract) {
      const { name, type } = entry.header;
      if (type !== 'file') throw new Error(`unexpected archive member ${name.slice(0, 80)}`);
      if (index < 2) {
        if (name !== (index === 0 ? MANIFEST_NAME : MAC_NAME)) {
          throw backupError('bad_manifest', 'The backup holds no manifest.');
        }
        const bytes = await collect(entry as AsyncIterable<Buffer>, MAX_MANIFEST_BYTES);
        if (index === 0) manifestBytes = bytes;
        else {
          manifest = checkManifest(keys, manifestBytes ?? Buffer.alloc(0), bytes);
          try {
            sink = await onManifest(manifest);
          } catch (error) {
            sinkFailure = error;
            throw error;
          }
        }
      } else {
        const fileName = name.startsWith(FILES_PREFIX) ? name.slice(FILES_PREFIX.length) : name;
        const listed = manifest?.files.find((f) => f.name === fileName);
        if (!listed || !name.startsWith(FILES_PREFIX)) {
          throw backupError(
            'bad_manifest',
            `The backup holds a file its manifest does not list (${name.slice(0, 80)}).`,
          );
        }
        if (hashes.has(fileName)) throw new Error(`unexpected archive member ${name.slice(0, 80)}`);
        const hash = createHash('sha256');
        const counter = CATEGORIES.some((c) => fileName === `${c}.${manifest?.userId}.md`) ? new EntryCounter() : null;
        let size = 0;
        let streamFailed = false;
        const data = (async function* () {
          try {
            for await (const chunk of entry as AsyncIterable<Buffer>) {
              hash.update(chunk);
              counter?.update(chunk);
              size += chunk.length;
              yield chunk;
            }
          } catch (error) {
            streamFailed = true;
            throw error;
          }
        })();
        try {
          await (sink as BackupFileSink)(fileName, data);
        } catch (error) {
          if (!streamFailed) sinkFailure = error;
          throw error;
        }
        // Whatever the sink left unread still counts.
        for await (const _ of data);
        const sha256 = hash.digest('hex');
        if (size !== listed.size || sha256 !== listed.sha256) {
          throw backupError('tampered', `${fileName} in the backup does not match its manifest (size or SHA-256).`);
        }
        hashes.set(fileName, sha256);
        if (counter) counts.set(fileName, counter.count);
      }
      index++;
    }
    await feeding;
  } catch (error) {
    extract.destroy();
    plain.destroy();
    await feeding.catch(() => undefined);
    if (ageFailure) throw ageFailure;
    if (sinkFailure) throw sinkFailure;
    if (error instanceof MemvaultError) throw error;
    throw backupError('bad_manifest', 'The backup decrypts but its archive is malformed.', error);
  }
  if (!manifest) throw backupError('bad_manifest', 'The backup holds no manifest.');
  for (const f of manifest.files) {
    if (!hashes.has(f.name)) throw backupError('truncated', `The backup lacks ${f.name}, which its manifest lists.`);
  }
  const userId = manifest.userId as UserId;
  if (revisionOf(userId, hashes) !== manifest.revision) {
    throw backupError('tampered', 'The backup revision does not match its category files.');
  }
  for (const category of CATEGORIES) {
    if ((counts.get(`${category}.${userId}.md`) ?? 0) !== manifest.counts[category as Category]) {
      throw backupError('tampered', `The ${category} entry count does not match the manifest.`);
    }
  }
  return manifest;
}

/**
 * Decrypts and checks a whole archive held in memory, returning its files (tests, and recovering single
 * entries from a backup).
 * @throws MemvaultError with `details.problem` naming what is wrong.
 */
export async function unpackBackup(keys: BackupKeys, file: Uint8Array): Promise<UnpackedBackup> {
  const bytes = new Map<string, Buffer>();
  const manifest = await readBackup(keys, [file], () => async (name, data) => {
    bytes.set(name, await collect(data, MAX_UNPACKED_BYTES));
  });
  return {
    manifest,
    files: manifest.files.map((f) => ({ name: f.name, bytes: bytes.get(f.name) ?? Buffer.alloc(0) })),
  };
}
