import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { UserId } from '../../src/core/entry.js';
import { isMemvaultError } from '../../src/core/errors.js';
import type { AuditLog } from '../../src/ports/security.js';

const ALICE = '+14155550134' as UserId;
const BOB = '+447700900123' as UserId;

/** What an adapter's test hands the contract: an empty log, a second handle, and ways to damage what is stored. */
export interface AuditLogFixture {
  readonly log: AuditLog;
  /** Another handle on the same stored log (another pool or instance, as a second server or process would use). */
  second(): Promise<AuditLog>;
  /** A handle on the same stored log under another master key. */
  withOtherKey(): Promise<AuditLog>;
  /** Rewrites record `seq` of the person as stored, replacing `from` with `to` in its text. */
  edit(userId: UserId, seq: number, from: string, to: string): Promise<void>;
  /** Removes record `seq` of the person as stored (the head stays as it was). */
  remove(userId: UserId, seq: number): Promise<void>;
  cleanup(): Promise<void>;
}

/**
 * The behaviour every `AuditLog` adapter must show (src/ports/security.ts): an append-only, hash-chained and
 * MAC'd log per person whose `verify` finds an edited, removed or cut record and another master key. The file log
 * runs it in test/security/file-stores.contract.test.ts, PostgreSQL in test/pg/pg-stores.contract.test.ts.
 */
export function describeAuditLogContract(name: string, make: () => Promise<AuditLogFixture>): void {
  describe(`AuditLog contract: ${name}`, () => {
    let fx: AuditLogFixture;
    let log: AuditLog;
    beforeEach(async () => {
      fx = await make();
      log = fx.log;
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    const signin = (ip?: string) => ({ action: 'signin', result: 'success' as const, ...(ip ? { ip } : {}) });

    it('numbers records from 1, chains them, and lists them newest first with limit and before', async () => {
      expect(await log.list(ALICE)).toEqual([]);
      expect(await log.verify(ALICE)).toEqual({ ok: true, records: 0 });
      const first = await log.append(ALICE, signin('10.0.0.1'));
      const second = await log.append(ALICE, { action: 'unlock', result: 'failure', level: 2, reason: 'wrong' });
      expect([first.seq, second.seq]).toEqual([1, 2]);
      expect(second.prev).not.toBe(first.prev);
      expect(second).toMatchObject({ userId: ALICE, action: 'unlock', result: 'failure', level: 2 });
      for (let i = 0; i < 8; i++) await log.append(ALICE, signin());
      expect((await log.list(ALICE)).map((r) => r.seq)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
      expect((await log.list(ALICE, { limit: 3, before: 6 })).map((r) => r.seq)).toEqual([5, 4, 3]);
      expect((await log.list(ALICE, { limit: 2 }))[1]).toMatchObject({ seq: 9, action: 'signin' });
      expect(await log.verify(ALICE)).toEqual({ ok: true, records: 10 });
    });

    it('keeps people apart', async () => {
      await log.append(ALICE, signin());
      await log.append(BOB, signin());
      await log.append(BOB, signin());
      expect((await log.list(ALICE)).map((r) => r.userId)).toEqual([ALICE]);
      expect(await log.verify(BOB)).toEqual({ ok: true, records: 2 });
    });

    it('chains parallel appends through two handles into one log that verifies', async () => {
      const other = await fx.second();
      const records = await Promise.all(
        Array.from({ length: 30 }, (_, i) => (i % 2 ? log : other).append(ALICE, signin(`10.0.1.${i}`))),
      );
      expect(records.map((r) => r.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      expect(await other.verify(ALICE)).toEqual({ ok: true, records: 30 });
      expect((await log.list(ALICE, { limit: 1 }))[0]?.seq).toBe(30);
    });

    it('refuses a record it must not store', async () => {
      for (const bad of [
        { action: 'Sign In!', result: 'success' as const },
        { action: 'signin', result: 'success' as const, level: 7 as 1 },
        { action: 'signin', result: 'success' as const, risk: 2 },
      ]) {
        let error: unknown;
        try {
          await log.append(ALICE, bad);
        } catch (caught) {
          error = caught;
        }
        expect(isMemvaultError(error, 'VALIDATION_ERROR')).toBe(true);
      }
      expect(await log.verify(ALICE)).toEqual({ ok: true, records: 0 });
    });

    it('finds an edited record, and verifies again once it is put back', async () => {
      for (let i = 0; i < 5; i++) await log.append(ALICE, signin());
      await fx.edit(ALICE, 3, '"success"', '"failure"');
      expect(await log.verify(ALICE)).toMatchObject({ ok: false, badSeq: 3, reason: 'edited' });
      await fx.edit(ALICE, 3, '"failure"', '"success"');
      expect(await log.verify(ALICE)).toEqual({ ok: true, records: 5 });
    });

    it('finds a removed record and a cut tail', async () => {
      for (let i = 0; i < 5; i++) await log.append(ALICE, signin());
      await fx.remove(ALICE, 5);
      expect(await log.verify(ALICE)).toMatchObject({ ok: false, badSeq: 5, reason: 'truncated' });
      await fx.remove(ALICE, 2);
      expect(await log.verify(ALICE)).toMatchObject({ ok: false, badSeq: 2, reason: 'removed' });
    });

    it('does not verify under another master key', async () => {
      for (let i = 0; i < 3; i++) await log.append(ALICE, signin());
      expect(await (await fx.withOtherKey()).verify(ALICE)).toMatchObject({ ok: false });
    });
  });
}
