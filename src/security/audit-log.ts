import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isSecurityLevel } from '../core/category.js';
import type { UserId } from '../core/entry.js';
import { MemvaultError, storageError, validationError } from '../core/errors.js';
import { type Clock, systemClock } from '../ports/clock.js';
import type { AuditLog, AuditRecord } from '../ports/security.js';
import { ensurePrivateDir, userDir } from './crypto-fs.js';
import { hkdfSha256 } from './kdf.js';
import { withPersonFile } from './person-lock.js';

/** `prev` of the first record. */
export const AUDIT_GENESIS = '0'.repeat(64);

/** Why `verify` rejected a log. */
export type AuditFailure = 'edited' | 'removed' | 'reordered' | 'inserted' | 'truncated';

export type AuditAppend = Parameters<AuditLog['append']>[1];
export type AuditVerifyResult = Awaited<ReturnType<AuditLog['verify']>>;

const ACTION = /^[a-z][a-z0-9_.:-]{0,63}$/;
const TAIL_CHUNK = 64 * 1024;
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1000;
const LIMITS = { reason: 200, ip: 64, userAgent: 256, device: 128, session: 128, client: 128 } as const;

export type AuditBody = Omit<AuditRecord, 'mac'>;
type Body = AuditBody;

/** Clips client-supplied text (a user agent) instead of refusing the event it describes. */
const clip = (value: string | undefined, max: number) => (value === undefined ? undefined : value.slice(0, max));

/**
 * A record's canonical JSON: fields in a fixed order, optional ones omitted when absent. The stored line is
 * exactly this text, so any edit — even one that keeps the JSON meaning — changes either the MAC or the line.
 */
export function canonical(record: Body | AuditRecord): string {
  const ordered: Record<string, unknown> = {
    seq: record.seq,
    at: record.at,
    userId: record.userId,
    action: record.action,
    result: record.result,
  };
  if (record.reason !== undefined) ordered.reason = record.reason;
  if (record.level !== undefined) ordered.level = record.level;
  if (record.ip !== undefined) ordered.ip = record.ip;
  if (record.userAgent !== undefined) ordered.userAgent = record.userAgent;
  if (record.device !== undefined) ordered.device = record.device;
  if (record.session !== undefined) ordered.session = record.session;
  if (record.client !== undefined) ordered.client = record.client;
  ordered.risk = record.risk;
  ordered.prev = record.prev;
  if ('mac' in record) ordered.mac = record.mac;
  return JSON.stringify(ordered);
}

export const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** Parses a line into a record of the right shape, or null. */
export function parseRecord(line: string): AuditRecord | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const r = value as Record<string, unknown>;
  const optionalString = (key: string) => r[key] === undefined || typeof r[key] === 'string';
  if (
    !Number.isSafeInteger(r.seq) ||
    (r.seq as number) < 1 ||
    typeof r.at !== 'string' ||
    typeof r.userId !== 'string' ||
    typeof r.action !== 'string' ||
    (r.result !== 'success' && r.result !== 'failure' && r.result !== 'denied') ||
    !['reason', 'ip', 'userAgent', 'device', 'session', 'client'].every(optionalString) ||
    (r.level !== undefined && !isSecurityLevel(r.level)) ||
    typeof r.risk !== 'number' ||
    typeof r.prev !== 'string' ||
    typeof r.mac !== 'string'
  ) {
    return null;
  }
  return r as unknown as AuditRecord;
}

export interface AuditHead {
  readonly seq: number;
  readonly hash: string;
}

interface Tail {
  /** File size the state was read at; another writer changes it and forces a re-read. */
  readonly size: number;
  readonly seq: number;
  readonly hash: string;
}

/**
 * The tamper-evident access log (DESIGN §5): `dataDir/users/<E164>/AUDIT.<E164>.log`, append-only JSON lines.
 * Each record carries `seq`, `prev` (SHA-256 of the previous line) and `mac` (HMAC-SHA256 under a per-user key
 * derived from the master key); `AUDIT.<E164>.head` holds the last seq and hash, MAC'd, so a cut tail shows.
 * Appends are serialised per user in this process and made durable (fdatasync) before they return.
 */
export class FileAuditLog implements AuditLog {
  readonly #dataDir: string;
  readonly #master: Buffer;
  readonly #clock: Clock;
  readonly #keys = new Map<UserId, Buffer>();
  readonly #tails = new Map<UserId, Tail>();

  constructor(opts: { dataDir: string; masterKey: Uint8Array; clock?: Clock }) {
    if (opts.masterKey.byteLength !== 32) throw new MemvaultError('SECURITY_ERROR', 'The master key must be 32 bytes.');
    this.#dataDir = opts.dataDir;
    this.#master = Buffer.from(opts.masterKey);
    this.#clock = opts.clock ?? systemClock;
  }

  /** Path of a user's log file. */
  path(userId: UserId): string {
    return join(userDir(this.#dataDir, userId), `AUDIT.${userId}.log`);
  }

  /** Path of a user's head file. */
  headPath(userId: UserId): string {
    return join(userDir(this.#dataDir, userId), `AUDIT.${userId}.head`);
  }

  async append(userId: UserId, event: AuditAppend): Promise<AuditRecord> {
    const risk = checkAuditEvent(event);
    const file = this.path(userId);
    await ensurePrivateDir(userDir(this.#dataDir, userId)).catch((error: unknown) => {
      throw storageError('Could not create the user folder for the audit log.', error, { file });
    });
    return withPersonFile(this.#dataDir, userId, `AUDIT.${userId}.log`, () => this.#appendLocked(userId, event, risk));
  }

  async #appendLocked(userId: UserId, event: AuditAppend, risk: number): Promise<AuditRecord> {
    const file = this.path(userId);
    const tail = await this.#tail(userId);
    // Only the known fields are copied: whatever else a caller passes never reaches the disk.
    const body = auditBody(userId, event, risk, tail, this.#clock.now().toISOString());
    const record: AuditRecord = { ...body, mac: this.#mac(userId, canonical(body)) };
    const line = canonical(record);
    const bytes = Buffer.from(`${line}\n`, 'utf8');
    try {
      const handle = await open(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
      try {
        await handle.write(bytes);
        await handle.datasync();
      } finally {
        await handle.close();
      }
      const hash = sha256(line);
      await this.#writeHead(userId, { seq: record.seq, hash });
      this.#tails.set(userId, { size: tail.size + bytes.length, seq: record.seq, hash });
    } catch (error) {
      this.#tails.delete(userId);
      throw storageError('Could not write the audit log.', error, { file });
    }
    return record;
  }

  async list(userId: UserId, opts: { limit?: number; before?: number } = {}): Promise<AuditRecord[]> {
    const limit = Math.min(Math.max(Math.trunc(opts.limit ?? DEFAULT_LIMIT), 1), MAX_LIMIT);
    const before = opts.before ?? Number.POSITIVE_INFINITY;
    const out: AuditRecord[] = [];
    await this.#readLinesBackwards(this.path(userId), (line) => {
      const record = parseRecord(line.toString('utf8'));
      if (record && record.seq < before) out.push(record);
      return out.length < limit;
    });
    return out;
  }

  async verify(userId: UserId): Promise<AuditVerifyResult> {
    const file = this.path(userId);
    // Snapshot the head and the log's length under the lock, then read that prefix without holding it: records are
    // only ever appended, so a long verify never blocks sign-ins that append meanwhile.
    const snapshot = (await exists(userDir(this.#dataDir, userId)))
      ? await withPersonFile(this.#dataDir, userId, `AUDIT.${userId}.log`, async () => ({
          head: await this.#readHead(userId),
          size: await sizeOf(file),
        }))
      : { head: null, size: 0 };
    const { head, size } = snapshot;
    if (head === 'invalid') return { ok: false, badSeq: 0, reason: 'edited' };
    const text = size === 0 ? '' : await readPrefix(file, size);
    const lines = text === '' ? [] : text.split('\n');
    // A complete log ends with a newline; anything after the last one is a torn or cut record.
    const torn = lines.length > 0 && lines.at(-1) !== '';
    if (lines.at(-1) === '') lines.pop();
    return verifyAuditLines(userId, lines, head, torn, (line, mac) => this.#macOk(userId, line, mac));
  }

  // ---- internals ----

  #key(userId: UserId): Buffer {
    let key = this.#keys.get(userId);
    if (!key) {
      key = auditKey(this.#master, userId);
      this.#keys.set(userId, key);
    }
    return key;
  }

  #mac(userId: UserId, text: string): string {
    return createHmac('sha256', this.#key(userId)).update(text, 'utf8').digest('base64url');
  }

  /** Checks the MAC of a canonical line: it covers the same text without its final `,"mac":"…"` member. */
  #macOk(userId: UserId, line: string, mac: string): boolean {
    const body = `${line.slice(0, line.lastIndexOf(',"mac":'))}}`;
    const expected = Buffer.from(this.#mac(userId, body));
    const actual = Buffer.from(mac);
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }

  #headMac(userId: UserId, head: AuditHead): string {
    return this.#mac(userId, auditHeadText(userId, head));
  }

  async #writeHead(userId: UserId, head: AuditHead): Promise<void> {
    const file = this.headPath(userId);
    const temp = `${file}.tmp`;
    const text = `${JSON.stringify({ seq: head.seq, hash: head.hash, mac: this.#headMac(userId, head) })}\n`;
    const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600);
    try {
      await handle.writeFile(text);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    // No directory fsync: if a crash loses this rename, the head lags the log, which verify accepts.
    await rename(temp, file);
  }

  async #readHead(userId: UserId): Promise<AuditHead | null | 'invalid'> {
    const text = await readOptional(this.headPath(userId));
    if (text === null) return null;
    try {
      const value = JSON.parse(text) as Record<string, unknown>;
      const head = { seq: value.seq, hash: value.hash };
      if (!Number.isSafeInteger(head.seq) || typeof head.hash !== 'string' || typeof value.mac !== 'string') {
        return 'invalid';
      }
      const valid = head as AuditHead;
      const expected = Buffer.from(this.#headMac(userId, valid));
      const actual = Buffer.from(value.mac);
      return expected.length === actual.length && timingSafeEqual(expected, actual) ? valid : 'invalid';
    } catch {
      return 'invalid';
    }
  }

  /** The chain's current end: from memory when the file has not changed size, else from the file's last line. */
  async #tail(userId: UserId): Promise<Tail> {
    const file = this.path(userId);
    let size: number;
    try {
      size = (await stat(file)).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        throw storageError('Could not read the audit log.', error);
      size = 0;
    }
    const cached = this.#tails.get(userId);
    if (cached && cached.size === size) return cached;
    if (size === 0) {
      const head = await this.#readHead(userId);
      // An emptied log keeps counting from its head, so the removed records show as a gap.
      return { size: 0, seq: head && head !== 'invalid' ? head.seq : 0, hash: AUDIT_GENESIS };
    }
    let last: string | null = null;
    let cut = size;
    await this.#readLinesBackwards(file, (line, start, complete) => {
      if (!complete) {
        cut = start;
        return true;
      }
      last = line.toString('utf8');
      return false;
    });
    if (cut < size) {
      // A torn final write (crash mid-append): the fragment was never a committed record, so drop it.
      const handle = await open(file, constants.O_WRONLY);
      try {
        await handle.truncate(cut);
        await handle.datasync();
      } finally {
        await handle.close();
      }
    }
    if (last === null) return { size: cut, seq: 0, hash: AUDIT_GENESIS };
    const record = parseRecord(last);
    const head = await this.#readHead(userId);
    const headSeq = head && head !== 'invalid' ? head.seq : 0;
    // An unreadable last line still chains (prev is the hash of its bytes); verify reports it.
    return { size: cut, seq: Math.max(record?.seq ?? 0, headSeq), hash: sha256(last) };
  }

  /**
   * Calls `visit` with each line from the end of the file, newest first, until it returns false; blank lines are
   * skipped. The first call may be a final fragment without its newline (`complete: false`). `start` is the
   * line's byte offset in the file.
   */
  async #readLinesBackwards(
    file: string,
    visit: (line: Buffer, start: number, complete: boolean) => boolean,
  ): Promise<void> {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(file, constants.O_RDONLY);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw storageError('Could not read the audit log.', error);
    }
    try {
      // `buffer` holds the bytes [pos, end) not yet visited.
      let pos = (await handle.stat()).size;
      let buffer = Buffer.alloc(0);
      let first = true;
      for (;;) {
        const nl = buffer.lastIndexOf(0x0a);
        if (nl === -1 && pos > 0) {
          const start = Math.max(0, pos - TAIL_CHUNK);
          const chunk = Buffer.alloc(pos - start);
          await handle.read(chunk, 0, chunk.length, start);
          buffer = Buffer.concat([chunk, buffer]);
          pos = start;
          continue;
        }
        const line = buffer.subarray(nl + 1);
        if (line.length > 0 && !visit(line, pos + nl + 1, !first)) return;
        first = false;
        if (nl === -1) return;
        buffer = buffer.subarray(0, nl);
      }
    } finally {
      await handle.close();
    }
  }
}

/** Validates an event before it is recorded; returns its risk. @throws VALIDATION_ERROR */
export function checkAuditEvent(event: AuditAppend): number {
  if (!ACTION.test(event.action)) {
    throw validationError('Audit action must be a short lowercase name such as "signin" or "unlock".', {
      field: 'action',
    });
  }
  if (event.level !== undefined && !isSecurityLevel(event.level)) {
    throw validationError('Security level must be 1 to 4.', { field: 'level' });
  }
  const risk = event.risk ?? 0;
  if (!Number.isFinite(risk) || risk < 0 || risk > 1)
    throw validationError('Risk must be in [0, 1].', { field: 'risk' });
  return risk;
}

/** The record after `tail`: only the known fields are copied, so whatever else a caller passes is never stored. */
export function auditBody(
  userId: UserId,
  event: AuditAppend,
  risk: number,
  tail: { readonly seq: number; readonly hash: string },
  at: string,
): AuditBody {
  return {
    seq: tail.seq + 1,
    at,
    userId,
    action: event.action,
    result: event.result,
    ...optional('reason', clip(event.reason, LIMITS.reason)),
    ...optional('level', event.level),
    ...optional('ip', clip(event.ip, LIMITS.ip)),
    ...optional('userAgent', clip(event.userAgent, LIMITS.userAgent)),
    ...optional('device', clip(event.device, LIMITS.device)),
    ...optional('session', clip(event.session, LIMITS.session)),
    ...optional('client', clip(event.client, LIMITS.client)),
    risk,
    prev: tail.hash,
  };
}

/** The per-person MAC key of the audit log, derived from the master key. */
export const auditKey = (master: Uint8Array, userId: UserId): Buffer =>
  hkdfSha256(Buffer.from(master), Buffer.alloc(0), `memvault/v1/audit/${userId}`, 32);

/** The MAC'd text of a head (the last seq and hash). */
export const auditHeadText = (userId: UserId, head: AuditHead) =>
  `memvault/v1/audit-head|${userId}|${head.seq}|${head.hash}`;

/**
 * Checks a log's lines against the chain, the MACs (`macOk`) and the head. Shared by every audit store, so the
 * file and the database say the same thing about the same records.
 */
export function verifyAuditLines(
  userId: UserId,
  lines: readonly string[],
  head: AuditHead | null,
  torn: boolean,
  macOk: (line: string, mac: string) => boolean,
): AuditVerifyResult {
  const parsed = lines.map((line) => {
    const record = parseRecord(line);
    return record && canonical(record) === line && macOk(line, record.mac) ? record : null;
  });
  const seqs = new Set(parsed.flatMap((r) => (r ? [r.seq] : [])));
  const seen = new Set<number>();
  let expected = 1;
  let prevHash = AUDIT_GENESIS;
  const fail = (badSeq: number, reason: AuditFailure) => ({ ok: false as const, badSeq, reason });
  const count = torn ? lines.length - 1 : lines.length;
  for (let i = 0; i < count; i++) {
    const record = parsed[i];
    if (!record || record.userId !== userId) {
      // A forged line whose removal would heal the chain was inserted; otherwise a record was edited.
      const next = parsed[i + 1];
      const healed = next && next.seq === expected && next.prev === prevHash;
      return fail(expected, healed ? 'inserted' : 'edited');
    }
    if (record.seq > expected) return fail(expected, seqs.has(expected) ? 'reordered' : 'removed');
    if (record.seq < expected) return fail(record.seq, seen.has(record.seq) ? 'inserted' : 'reordered');
    if (record.prev !== prevHash) return fail(expected, 'edited');
    seen.add(record.seq);
    prevHash = sha256(lines[i]!);
    expected++;
  }
  const last = expected - 1;
  // A final fragment without its newline is an append that crashed before it finished: it was never
  // acknowledged, and the head was never moved to it (the head is written after the line is durable). It is
  // not tampering as long as the head agrees with the complete records; a cut inside an acknowledged record
  // leaves the head naming a record the log no longer holds, which fails below as `truncated`.
  const ok = torn ? { ok: true as const, records: last, tornTail: true } : { ok: true as const, records: last };
  if (head === null) return last === 0 ? ok : fail(last + 1, 'truncated');
  if (head.seq > last) return fail(last + 1, 'truncated');
  // The log may run ahead of the head by records written just before a crash; they are MAC'd and chained.
  if (head.seq > 0 && sha256(lines[head.seq - 1]!) !== head.hash) return fail(head.seq, 'edited');
  return ok;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

async function readOptional(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw storageError('Could not read the audit log.', error, { file });
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw storageError('Could not read the audit log.', error, { file });
  }
}

/** The first `size` bytes of a file as UTF-8. */
async function readPrefix(file: string, size: number): Promise<string> {
  try {
    const handle = await open(file, constants.O_RDONLY);
    try {
      const buffer = Buffer.alloc(size);
      let filled = 0;
      while (filled < size) {
        const { bytesRead } = await handle.read(buffer, filled, size - filled, filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return buffer.subarray(0, filled).toString('utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw storageError('Could not read the audit log.', error, { file });
  }
}
