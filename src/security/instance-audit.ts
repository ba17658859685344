import { createHmac, timingSafeEqual } from 'node:crypto';
import { open, readFile, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { UserId } from '../core/entry.js';
import { storageError } from '../core/errors.js';
import { withFileLock } from '../infra/file-lock.js';
import type { InstanceAction, InstanceAudit, InstanceAuditRecord, InstanceAuditVerdict } from '../ports/account.js';
import { type Clock, systemClock } from '../ports/clock.js';
import { hkdfSha256 } from './kdf.js';

const FILE = 'INSTANCE-AUDIT.log';
const GENESIS = 'genesis';

/**
 * The instance-level audit log (docs/backup.md, "Account deletion"): one JSON line per record in
 * `<dataDir>/INSTANCE-AUDIT.log`, each MAC'd under a master-derived key and chained to the one before, like a
 * person's audit log. It outlives the people it speaks of, so it holds no personal text: action, time and the
 * keyed hash of the person's id.
 */
export class InstanceAuditLog implements InstanceAudit {
  readonly #path: string;
  readonly #macKey: Buffer;
  readonly #subjectKey: Buffer;
  readonly #clock: Clock;

  constructor(options: { readonly dataDir: string; readonly masterKey: Uint8Array; readonly clock?: Clock }) {
    this.#path = join(options.dataDir, FILE);
    this.#macKey = hkdfSha256(options.masterKey, Buffer.alloc(0), 'memvault/v1/instance-audit/mac', 32);
    this.#subjectKey = hkdfSha256(options.masterKey, Buffer.alloc(0), 'memvault/v1/instance-audit/subject', 32);
    this.#clock = options.clock ?? systemClock;
  }

  /** The keyed hash a record names `userId` by. */
  subjectOf(userId: UserId): string {
    return createHmac('sha256', this.#subjectKey).update(userId, 'utf8').digest('hex').slice(0, 32);
  }

  async append(action: InstanceAction, userId: UserId): Promise<InstanceAuditRecord> {
    try {
      return await withFileLock(`${this.#path}.lock`, async () => {
        const { records, completeBytes, totalBytes } = await this.#read();
        // A torn last line (a crash mid-append) was never acknowledged: cut it before adding the next.
        if (completeBytes < totalBytes) await truncate(this.#path, completeBytes);
        const last = records[records.length - 1];
        const body = {
          seq: (last?.seq ?? 0) + 1,
          at: this.#clock.now().toISOString(),
          action,
          subject: this.subjectOf(userId),
          prev: last?.mac ?? GENESIS,
        };
        const record: InstanceAuditRecord = { ...body, mac: this.#mac(body) };
        const handle = await open(this.#path, 'a', 0o600);
        try {
          await handle.appendFile(`${JSON.stringify(record)}\n`);
          await handle.sync();
        } finally {
          await handle.close();
        }
        return record;
      });
    } catch (error) {
      throw storageError(
        `Could not write the instance audit log ${this.#path} (${(error as NodeJS.ErrnoException).code ?? 'error'}).`,
        error,
      );
    }
  }

  async list(): Promise<InstanceAuditRecord[]> {
    return (await this.#read()).records;
  }

  async verify(): Promise<InstanceAuditVerdict> {
    const { records, problem } = await this.#read();
    let prev = GENESIS;
    for (const [i, r] of records.entries()) {
      const { mac, ...body } = r;
      if (r.seq !== i + 1) return { ok: false, badSeq: i + 1, reason: 'a record is missing or out of order' };
      if (r.prev !== prev) return { ok: false, badSeq: r.seq, reason: 'the chain is broken' };
      const expected = Buffer.from(this.#mac(body));
      const given = Buffer.from(String(mac));
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
        return { ok: false, badSeq: r.seq, reason: 'the MAC does not match (edited, or another master key)' };
      }
      prev = r.mac;
    }
    if (problem !== null) return { ok: false, badSeq: records.length + 1, reason: problem };
    return { ok: true, records: records.length };
  }

  #mac(body: Omit<InstanceAuditRecord, 'mac'>): string {
    const canonical = JSON.stringify([body.seq, body.at, body.action, body.subject, body.prev]);
    return createHmac('sha256', this.#macKey).update(canonical, 'utf8').digest('base64url');
  }

  async #read(): Promise<{
    records: InstanceAuditRecord[];
    completeBytes: number;
    totalBytes: number;
    problem: string | null;
  }> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return { records: [], completeBytes: 0, totalBytes: 0, problem: null };
      }
      throw error;
    }
    const end = text.lastIndexOf('\n') + 1;
    const records: InstanceAuditRecord[] = [];
    let problem: string | null = null;
    for (const line of text.slice(0, end).split('\n')) {
      if (line === '') continue;
      try {
        records.push(JSON.parse(line) as InstanceAuditRecord);
      } catch {
        problem = 'a line is not a record';
        break;
      }
    }
    return {
      records,
      completeBytes: Buffer.byteLength(text.slice(0, end)),
      totalBytes: Buffer.byteLength(text),
      problem,
    };
  }
}
