import { appendFile, mkdtemp, readFile, rm, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { UserId } from '../core/entry.js';
import { MemvaultError } from '../core/errors.js';
import type { Clock } from '../ports/clock.js';
import { AUDIT_GENESIS, FileAuditLog } from './audit-log.js';

const MASTER = new Uint8Array(32).fill(3);
const ALICE = '+15551234567' as UserId;
const BOB = '+447700900123' as UserId;

/** A clock that advances one second per reading. */
function steppingClock(): Clock {
  let t = Date.parse('2026-11-26T12:00:00.000Z');
  return {
    now: () => {
      t += 1000;
      return new Date(t);
    },
  };
}

let dataDir: string;
let log: FileAuditLog;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'memvault-audit-'));
  log = new FileAuditLog({ dataDir, masterKey: MASTER, clock: steppingClock() });
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

async function fill(n: number, userId = ALICE) {
  for (let i = 0; i < n; i++) {
    await log.append(userId, { action: 'signin', result: i % 3 === 0 ? 'failure' : 'success', ip: `10.0.0.${i}` });
  }
}
const lines = async () => (await readFile(log.path(ALICE), 'utf8')).split('\n').filter(Boolean);
const writeLines = (all: readonly string[]) => writeFile(log.path(ALICE), all.map((l) => `${l}\n`).join(''));
/** A fresh instance, as after a restart: nothing cached. */
const reopened = () => new FileAuditLog({ dataDir, masterKey: MASTER });

describe('append', () => {
  it('keeps the client that acted, bounded, and covers it with the MAC', async () => {
    await log.append(ALICE, { action: 'memory_read', result: 'success', level: 2, client: 'Claude Desktop' });
    await log.append(ALICE, { action: 'memory_read', result: 'denied', level: 3, client: 'x'.repeat(500) });
    const [second, first] = await reopened().list(ALICE);
    expect(first).toMatchObject({ client: 'Claude Desktop', level: 2 });
    expect(second?.client).toHaveLength(128);
    expect(await reopened().verify(ALICE)).toEqual({ ok: true, records: 2 });
    // Renaming the client in the file is tampering like any other edit.
    const all = await lines();
    await writeLines([all[0]!.replace('Claude Desktop', 'Cursor'), all[1]!]);
    expect(await reopened().verify(ALICE)).toMatchObject({ ok: false, badSeq: 1 });
  });

  it('chains records with seq, prev and mac, in a private file', async () => {
    const first = await log.append(ALICE, {
      action: 'unlock',
      result: 'denied',
      reason: 'time_restriction',
      level: 3,
      ip: '203.0.113.9',
      userAgent: 'Firefox',
      device: 'dev-1',
      session: 'sess-1',
      risk: 0.4,
    });
    expect(first).toMatchObject({ seq: 1, prev: AUDIT_GENESIS, userId: ALICE, level: 3, risk: 0.4 });
    expect(first.at).toBe('2026-11-26T12:00:01.000Z');
    const second = await log.append(ALICE, { action: 'signin', result: 'success' });
    expect(second.seq).toBe(2);
    expect(second.risk).toBe(0);
    expect(second.prev).not.toBe(AUDIT_GENESIS);
    expect((await stat(log.path(ALICE))).mode & 0o777).toBe(0o600);
    expect((await stat(log.headPath(ALICE))).mode & 0o777).toBe(0o600);
    expect(await log.verify(ALICE)).toEqual({ ok: true, records: 2 });
  });

  it('stores only the known fields, whatever else a caller passes', async () => {
    const event = { action: 'signin', result: 'failure', password: 'hunter2', message: 'my secret' } as const;
    await log.append(ALICE, event);
    const text = await readFile(log.path(ALICE), 'utf8');
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('my secret');
  });

  it('clips client-supplied text and refuses malformed actions, levels and risks', async () => {
    const record = await log.append(ALICE, { action: 'signin', result: 'success', userAgent: 'x'.repeat(5000) });
    expect(record.userAgent).toHaveLength(256);
    const bad = [
      { action: 'Sign In', result: 'success' },
      { action: '', result: 'success' },
      { action: 'signin', result: 'success', risk: 2 },
      { action: 'signin', result: 'success', risk: Number.NaN },
      { action: 'signin', result: 'success', level: 7 },
    ];
    for (const event of bad) {
      await expect(log.append(ALICE, event as never)).rejects.toBeInstanceOf(MemvaultError);
    }
  });

  it('serialises concurrent appends into one unbroken chain', async () => {
    await Promise.all(Array.from({ length: 50 }, () => log.append(ALICE, { action: 'search', result: 'success' })));
    const seqs = (await lines()).map((l) => JSON.parse(l).seq);
    expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(await log.verify(ALICE)).toEqual({ ok: true, records: 50 });
  });

  it('verifies a consistent snapshot while appends go on', async () => {
    await fill(5);
    const work: Array<Promise<unknown>> = [];
    for (let i = 0; i < 20; i++) {
      work.push(log.append(ALICE, { action: 'search', result: 'success' }));
      if (i % 4 === 0) work.push(reopened().verify(ALICE));
    }
    const results = await Promise.all(work);
    for (const result of results) if ('ok' in (result as object)) expect(result).toMatchObject({ ok: true });
    expect(await log.verify(ALICE)).toEqual({ ok: true, records: 25 });
  });

  it('continues the chain after a restart and after another writer appended', async () => {
    await fill(3);
    const other = reopened();
    await other.append(ALICE, { action: 'export', result: 'success' });
    await log.append(ALICE, { action: 'signout', result: 'success' });
    expect(await reopened().verify(ALICE)).toEqual({ ok: true, records: 5 });
  });

  it('reports a torn final write (crash mid-append) as a torn tail, not tampering, and drops it', async () => {
    await fill(3);
    await appendFile(log.path(ALICE), '{"seq":4,"at":"2026-');
    // Issue 16 #13: the fragment was never acknowledged and the head never named it.
    expect(await reopened().verify(ALICE)).toEqual({ ok: true, records: 3, tornTail: true });
    await reopened().append(ALICE, { action: 'signin', result: 'success' });
    expect(await reopened().verify(ALICE)).toEqual({ ok: true, records: 4 });
    expect(await readFile(log.path(ALICE), 'utf8')).not.toContain('"at":"2026-{');
  });

  it('still reports a cut inside an acknowledged record as truncated', async () => {
    await fill(3);
    const text = await readFile(log.path(ALICE), 'utf8');
    await writeFile(log.path(ALICE), text.slice(0, text.length - 20));
    expect(await reopened().verify(ALICE)).toEqual({ ok: false, badSeq: 3, reason: 'truncated' });
  });

  it('keeps users apart', async () => {
    await fill(2, ALICE);
    await fill(1, BOB);
    expect(await log.verify(ALICE)).toEqual({ ok: true, records: 2 });
    expect(await log.verify(BOB)).toEqual({ ok: true, records: 1 });
  });
});

describe('list', () => {
  it('returns newest first with limit and before', async () => {
    await fill(120);
    const page = await log.list(ALICE, { limit: 10 });
    expect(page.map((r) => r.seq)).toEqual([120, 119, 118, 117, 116, 115, 114, 113, 112, 111]);
    expect((await log.list(ALICE, { limit: 3, before: 5 })).map((r) => r.seq)).toEqual([4, 3, 2]);
    expect(await log.list(ALICE)).toHaveLength(50);
    expect((await log.list(ALICE, { limit: 5000 })).length).toBe(120);
    expect(await log.list(BOB)).toEqual([]);
  });

  it('reads across chunk boundaries of a large log', async () => {
    await fill(1);
    const big = await log.append(ALICE, { action: 'signin', result: 'success', userAgent: 'é'.repeat(256) });
    for (let i = 0; i < 700; i++)
      await log.append(ALICE, { action: 'signin', result: 'success', userAgent: 'ü'.repeat(200) });
    const all = await log.list(ALICE, { limit: 1000 });
    expect(all.map((r) => r.seq)).toEqual(Array.from({ length: 702 }, (_, i) => 702 - i));
    expect(all.find((r) => r.seq === 2)).toEqual(big);
  });
});

describe('verify detects', () => {
  beforeEach(async () => {
    await fill(6);
  });

  it('an edited field', async () => {
    const all = await lines();
    all[2] = all[2]!
      .replace('"result":"success"', '"result":"failure"')
      .replace('"result":"failure"', '"result":"denied"');
    await writeLines(all);
    expect(await reopened().verify(ALICE)).toEqual({ ok: false, badSeq: 3, reason: 'edited' });
  });

  it('an edit that keeps the JSON meaning (whitespace)', async () => {
    const all = await lines();
    all[1] = all[1]!.replace('{"seq"', '{ "seq"');
    await writeLines(all);
    expect(await reopened().verify(ALICE)).toMatchObject({ ok: false, badSeq: 2 });
  });

  it('a removed record', async () => {
    const all = await lines();
    all.splice(3, 1);
    await writeLines(all);
    expect(await reopened().verify(ALICE)).toEqual({ ok: false, badSeq: 4, reason: 'removed' });
  });

  it('reordered records', async () => {
    const all = await lines();
    [all[2], all[3]] = [all[3]!, all[2]!];
    await writeLines(all);
    expect(await reopened().verify(ALICE)).toEqual({ ok: false, badSeq: 3, reason: 'reordered' });
  });

  it('an inserted forged record', async () => {
    const all = await lines();
    const forged = JSON.parse(all[2]!);
    forged.action = 'signout';
    all.splice(3, 0, JSON.stringify(forged));
    await writeLines(all);
    expect(await reopened().verify(ALICE)).toEqual({ ok: false, badSeq: 4, reason: 'inserted' });
  });

  it('a replayed (duplicated) record', async () => {
    const all = await lines();
    all.splice(3, 0, all[2]!);
    await writeLines(all);
    expect(await reopened().verify(ALICE)).toEqual({ ok: false, badSeq: 3, reason: 'inserted' });
  });

  it('a cut tail, through the head file', async () => {
    const all = await lines();
    await writeLines(all.slice(0, 4));
    expect(await reopened().verify(ALICE)).toEqual({ ok: false, badSeq: 5, reason: 'truncated' });
  });

  it('a deleted log or a deleted head', async () => {
    await unlink(log.headPath(ALICE));
    expect(await reopened().verify(ALICE)).toEqual({ ok: false, badSeq: 7, reason: 'truncated' });
    await truncate(log.path(ALICE), 0);
    expect(await reopened().verify(ALICE)).toEqual({ ok: true, records: 0 });
  });

  it('an emptied log, even after later appends', async () => {
    await truncate(log.path(ALICE), 0);
    expect(await reopened().verify(ALICE)).toEqual({ ok: false, badSeq: 1, reason: 'truncated' });
    await reopened().append(ALICE, { action: 'signin', result: 'success' });
    expect(await reopened().verify(ALICE)).toEqual({ ok: false, badSeq: 1, reason: 'removed' });
  });

  it('an edited head and a record moved from another user', async () => {
    const head = JSON.parse(await readFile(log.headPath(ALICE), 'utf8'));
    await writeFile(log.headPath(ALICE), JSON.stringify({ ...head, seq: 3 }));
    expect(await reopened().verify(ALICE)).toMatchObject({ ok: false, reason: 'edited' });
    await rm(log.headPath(ALICE));
    await fill(1, BOB);
    const bobLine = (await readFile(log.path(BOB), 'utf8')).trim();
    const all = await lines();
    all[0] = bobLine;
    await writeLines(all);
    expect(await reopened().verify(ALICE)).toMatchObject({ ok: false, badSeq: 1, reason: 'edited' });
  });

  it('a log written under another master key', async () => {
    const other = new FileAuditLog({ dataDir, masterKey: new Uint8Array(32).fill(9) });
    expect(await other.verify(ALICE)).toEqual({ ok: false, badSeq: 0, reason: 'edited' });
  });
});
