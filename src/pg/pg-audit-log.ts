import { createHmac, timingSafeEqual } from 'node:crypto';
import type { UserId } from '../core/entry.js';
import { MemvaultError } from '../core/errors.js';
import { type Clock, systemClock } from '../ports/clock.js';
import type { AuditLog, AuditRecord } from '../ports/security.js';
import {
  AUDIT_GENESIS,
  type AuditAppend,
  type AuditHead,
  type AuditVerifyResult,
  auditBody,
  auditHeadText,
  auditKey,
  canonical,
  checkAuditEvent,
  parseRecord,
  sha256,
  verifyAuditLines,
} from '../security/audit-log.js';
import type { PgDatabase } from './database.js';

const AUDIT_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtextextended('memvault.audit:' || $1, 0))";
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1000;

/**
 * The audit log in PostgreSQL: the very lines the file log holds (canonical JSON, hash-chained, HMAC'd under the
 * per-person key derived from the master key) and a MAC'd head, so `verify` finds an edited, removed, reordered
 * or inserted row, or a cut tail, exactly as it does in a file. An append inside `db.atomically` commits with
 * the event it records, or not at all.
 */
export class PgAuditLog implements AuditLog {
  readonly #db: PgDatabase;
  readonly #master: Buffer;
  readonly #clock: Clock;
  readonly #keys = new Map<UserId, Buffer>();

  constructor(opts: { db: PgDatabase; masterKey: Uint8Array; clock?: Clock }) {
    if (opts.masterKey.byteLength !== 32) throw new MemvaultError('SECURITY_ERROR', 'The master key must be 32 bytes.');
    this.#db = opts.db;
    this.#master = Buffer.from(opts.masterKey);
    this.#clock = opts.clock ?? systemClock;
  }

  async append(userId: UserId, event: AuditAppend): Promise<AuditRecord> {
    const risk = checkAuditEvent(event);
    return this.#db.tx('write the audit log', async (client) => {
      await client.query(AUDIT_LOCK_SQL, [userId]);
      const last = await client.query<{ seq: string; line: string }>(
        'SELECT seq, line FROM mv_audit WHERE user_id = $1 ORDER BY seq DESC LIMIT 1',
        [userId],
      );
      const head = await client.query<{ seq: string }>('SELECT seq FROM mv_audit_head WHERE user_id = $1', [userId]);
      const lastLine = last.rows[0]?.line;
      // Rows removed from the end keep the count going from the head, so the gap shows in verify.
      const seq = Math.max(Number(last.rows[0]?.seq ?? 0), Number(head.rows[0]?.seq ?? 0));
      const tail = { seq, hash: lastLine === undefined ? AUDIT_GENESIS : sha256(lastLine) };
      const body = auditBody(userId, event, risk, tail, this.#clock.now().toISOString());
      const record: AuditRecord = { ...body, mac: this.#mac(userId, canonical(body)) };
      const line = canonical(record);
      const next: AuditHead = { seq: record.seq, hash: sha256(line) };
      await client.query('INSERT INTO mv_audit (user_id, seq, line) VALUES ($1, $2, $3)', [userId, record.seq, line]);
      await client.query(
        'INSERT INTO mv_audit_head (user_id, seq, hash, mac) VALUES ($1, $2, $3, $4) ' +
          'ON CONFLICT (user_id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash, mac = EXCLUDED.mac',
        [userId, next.seq, next.hash, this.#mac(userId, auditHeadText(userId, next))],
      );
      return record;
    });
  }

  async list(userId: UserId, opts: { limit?: number; before?: number } = {}): Promise<AuditRecord[]> {
    const limit = Math.min(Math.max(Math.trunc(opts.limit ?? DEFAULT_LIMIT), 1), MAX_LIMIT);
    const before = opts.before ?? Number.MAX_SAFE_INTEGER;
    const rows = await this.#db.query<{ line: string }>(
      'read the audit log',
      'SELECT line FROM mv_audit WHERE user_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3',
      [userId, before, limit],
    );
    return rows.flatMap((r) => {
      const record = parseRecord(r.line);
      return record ? [record] : [];
    });
  }

  async verify(userId: UserId): Promise<AuditVerifyResult> {
    const { lines, head } = await this.#db.tx('read the audit log', async (client) => {
      // One snapshot of the head and the lines, without blocking appends.
      await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const h = await client.query<{ seq: string; hash: string; mac: string }>(
        'SELECT seq, hash, mac FROM mv_audit_head WHERE user_id = $1',
        [userId],
      );
      const l = await client.query<{ line: string }>('SELECT line FROM mv_audit WHERE user_id = $1 ORDER BY seq', [
        userId,
      ]);
      return { lines: l.rows.map((r) => r.line), head: h.rows[0] };
    });
    let checkedHead: AuditHead | null = null;
    if (head) {
      const candidate = { seq: Number(head.seq), hash: head.hash };
      if (!this.#equal(this.#mac(userId, auditHeadText(userId, candidate)), head.mac)) {
        return { ok: false, badSeq: 0, reason: 'edited' };
      }
      checkedHead = candidate;
    }
    return verifyAuditLines(userId, lines, checkedHead, false, (line, mac) => {
      const body = `${line.slice(0, line.lastIndexOf(',"mac":'))}}`;
      return this.#equal(this.#mac(userId, body), mac);
    });
  }

  #mac(userId: UserId, text: string): string {
    let key = this.#keys.get(userId);
    if (!key) {
      key = auditKey(this.#master, userId);
      this.#keys.set(userId, key);
    }
    return createHmac('sha256', key).update(text, 'utf8').digest('base64url');
  }

  #equal(expected: string, actual: string): boolean {
    const a = Buffer.from(expected);
    const b = Buffer.from(actual);
    return a.length === b.length && timingSafeEqual(a, b);
  }
}
