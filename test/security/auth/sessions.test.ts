import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SecurityLevel } from '../../../src/core/category.js';
import type { UserId } from '../../../src/core/entry.js';
import { MemvaultError } from '../../../src/core/errors.js';
import type { Clock } from '../../../src/ports/clock.js';
import type { EntryOpener } from '../../../src/ports/sealer.js';
import { type OpenerFactory, SessionManager } from '../../../src/security/sessions.js';
import { SqliteSessionStore } from '../../../src/security/sqlite-session-store.js';

const ALICE = '+14155550134' as UserId;
const BOB = '+442079460958' as UserId;
const MIN = 60_000;

/** An opener that "opens" by echoing which key it holds, so tests can see keys without real crypto. */
const fakeOpener: OpenerFactory = (_userId, keys) => {
  const held = new Map([...keys].map(([level, key]) => [level, Uint8Array.from(key)]));
  const opener: EntryOpener & { dispose(): void } = {
    canOpen: (level) => held.has(level),
    open: (ctx, payload) => `${payload}:${held.get(ctx.level)?.[0]}`,
    dispose: () => held.clear(),
  };
  return opener;
};

let dir: string;
let at: number;
const clock: Clock = { now: () => new Date(at) };
const stores: SqliteSessionStore[] = [];
const advance = (ms: number) => {
  at += ms;
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mv-sessions-'));
  at = Date.parse('2026-11-26T12:00:00Z');
});

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** A session manager over the shared file, as one server process would have it. */
function manager(
  options: { locks?: Array<[UserId, SecurityLevel[]]>; expired?: string[]; maxPerUser?: number } = {},
): SessionManager {
  const store = new SqliteSessionStore({ path: join(dir, 'sessions.db'), clock });
  stores.push(store);
  return new SessionManager({
    store,
    clock,
    createOpener: fakeOpener,
    ...(options.maxPerUser ? { limits: { maxPerUser: options.maxPerUser } } : {}),
    onLock: (userId, levels) => options.locks?.push([userId, levels]),
    onExpire: ({ id }) => options.expired?.push(id),
  });
}

const keys = () =>
  new Map<SecurityLevel, Uint8Array>([
    [1, new Uint8Array(32).fill(1)],
    [2, new Uint8Array(32).fill(2)],
  ]);

async function reasonOf(fn: () => unknown): Promise<string | undefined> {
  try {
    await fn();
    return 'ok';
  } catch (error) {
    if (!(error instanceof MemvaultError)) throw error;
    return error.reason;
  }
}
const ctx = (level: SecurityLevel) => ({ userId: ALICE, level, category: 'GENERAL' as const, entryId: 'e' });

describe('sessions in the shared store', () => {
  it('hands out 256-bit base64url tokens once; the store keeps their hash and state nobody else can open', async () => {
    const m = manager();
    const a = await m.create(ALICE, keys());
    const b = await m.create(ALICE, keys());
    expect(a.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.token).not.toBe(b.token);
    expect(a.session.id).not.toBe(b.session.id);
    const record = await m.store.get(a.session.tokenHash);
    expect(record).toBeDefined();
    const raw = Buffer.concat([record!.tokenHash, record!.sealed, Buffer.from(JSON.stringify(record!.seen))]);
    expect(raw.includes(Buffer.from(a.token))).toBe(false);
    expect(raw.includes(Buffer.alloc(32, 2))).toBe(false); // the level-2 key is not there in the clear
    expect(raw.includes(Buffer.alloc(16, 1))).toBe(false);
    // Another session's state under this session's hash does not open with this token.
    const other = await m.store.get(b.session.tokenHash);
    await m.store.replace(a.session.tokenHash, record!.version, { sealed: other!.sealed });
    expect(await reasonOf(() => m.resolve(a.token))).toBe('authentication_failed');
    expect((await m.resolve(b.token)).unlocked).toEqual([1, 2]);
  });

  it('another process (a second handle) serves the same session with its levels: a restart signs no one out', async () => {
    const first = manager();
    const { token, session } = await first.create(ALICE, keys(), 7);
    await first.unlock(session, 3, new Uint8Array(32).fill(3));
    await first.release(session);
    first.close();
    const second = manager();
    const again = await second.resolve(token);
    expect(again.id).toBe(session.id);
    expect(again.epoch).toBe(7);
    expect(again.unlocked).toEqual([1, 2, 3]);
    expect(again.opener.open(ctx(3), 'p')).toBe('p:3');
    await second.release(again);
  });

  it('release zeroes the request’s keys; its opener opens nothing after', async () => {
    const m = manager();
    const { token } = await m.create(ALICE, keys());
    const session = await m.resolve(token);
    const held = [...session.levels.values()].map((h) => h.key);
    expect(session.opener.open(ctx(2), 'p')).toBe('p:2');
    await m.release(session);
    expect(held.every((k) => k.every((b) => b === 0))).toBe(true);
    expect(session.opener.canOpen(1)).toBe(false);
    expect(await reasonOf(() => session.opener.open(ctx(1), 'p'))).toBe('insufficient_permissions');
  });

  it('the keys handed to create and unlock are zeroed at once (the session keeps its own copies)', async () => {
    const m = manager();
    const given = keys();
    const { session } = await m.create(ALICE, given);
    expect([...given.values()].every((k) => k.every((b) => b === 0))).toBe(true);
    const k3 = new Uint8Array(32).fill(3);
    await m.unlock(session, 3, k3);
    expect(k3.every((b) => b === 0)).toBe(true);
    expect(session.opener.open(ctx(3), 'p')).toBe('p:3');
  });

  it('locks each level after its idle limit, in whichever process looks next', async () => {
    const locks: Array<[UserId, SecurityLevel[]]> = [];
    const m = manager({ locks });
    const { token, session } = await m.create(ALICE, keys());
    await m.unlock(session, 3, new Uint8Array(32).fill(3));
    await m.release(session);
    advance(15 * MIN + 1);
    const later = await manager({ locks }).resolve(token);
    expect(later.unlocked).toEqual([1, 2]);
    expect(await reasonOf(() => later.opener.open(ctx(3), 'p'))).toBe('session_expired');
    advance(15 * MIN);
    const last = await m.resolve(token);
    expect(last.unlocked).toEqual([1]);
    expect(locks).toEqual([
      [ALICE, [3]],
      [ALICE, [2]],
    ]);
  });

  it('reading with a level keeps it open (written back on release); its absolute limit still ends it', async () => {
    const m = manager();
    const { token, session } = await m.create(ALICE, keys());
    await m.release(session);
    for (let i = 0; i < 24; i++) {
      advance(29 * MIN);
      const s = await m.resolve(token);
      expect(s.opener.open(ctx(2), 'p')).toBe('p:2');
      await m.release(s);
    }
    advance(29 * MIN); // 25 × 29 min > 12 h
    expect((await m.resolve(token)).opener.canOpen(2)).toBe(false);
  });

  it('an idle session expires as session_expired (reported once); a signed-out one is unknown', async () => {
    const expired: string[] = [];
    const m = manager({ expired });
    const n = manager({ expired });
    const a = await m.create(ALICE, keys());
    const b = await m.create(ALICE, keys());
    await m.end(b.session);
    expect(await reasonOf(() => n.resolve(b.token))).toBe('authentication_failed');
    advance(24 * 60 * MIN + 1);
    expect(await reasonOf(() => n.resolve(a.token))).toBe('session_expired');
    expect(await reasonOf(() => m.resolve(a.token))).toBe('session_expired');
    expect(expired).toEqual([a.session.id]);
    const record = await m.store.get(a.session.tokenHash);
    expect(record?.sealed.length).toBe(0); // its keys are gone from the store
  });

  it('lock drops the chosen levels everywhere, never level 1; the index forgets only what no session holds', async () => {
    const locks: Array<[UserId, SecurityLevel[]]> = [];
    const m = manager({ locks });
    const a = await m.create(ALICE, keys());
    const b = await m.create(ALICE, keys());
    await m.lock(a.session);
    expect(a.session.unlocked).toEqual([1]);
    expect(locks).toEqual([]); // b still holds level 2
    expect((await manager().resolve(a.token)).unlocked).toEqual([1]);
    expect(await reasonOf(() => a.session.opener.open(ctx(2), 'p'))).toBe('insufficient_permissions');
    await expect(m.lock(a.session, [1])).rejects.toThrow(MemvaultError);
    await m.end(b.session);
    expect(locks).toEqual([[ALICE, [2]]]); // a still holds level 1
    await m.end(a.session);
    expect(locks.at(-1)).toEqual([ALICE, [1]]);
  });

  it('endAll in one process signs the person out in every other one, and leaves others alone', async () => {
    const m = manager();
    const a = await m.create(ALICE, keys());
    const b = await m.create(BOB, keys());
    await manager().endAll(ALICE);
    expect(await reasonOf(() => m.resolve(a.token))).toBe('authentication_failed');
    expect((await m.resolve(b.token)).id).toBe(b.session.id);
  });

  it('keeps at most maxPerUser sessions, ending the least recently used', async () => {
    const m = manager({ maxPerUser: 3 });
    const made: Array<{ token: string }> = [];
    for (let i = 0; i < 4; i++) {
      advance(1000);
      made.push(await m.create(ALICE, new Map([[1, new Uint8Array(32)]])));
    }
    expect(await reasonOf(() => m.resolve(made[0]!.token))).toBe('authentication_failed');
    expect(await m.count()).toBe(3);
  });

  it('challenges are single-use across processes, purpose-bound, and expire', async () => {
    const m = manager();
    const { token, session } = await m.create(ALICE, keys());
    const c = await m.issueChallenge(session, 'authenticate');
    expect(c).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const elsewhere = await manager().resolve(token);
    expect(await m.takeChallenge(elsewhere, 'authenticate')).toBe(c);
    expect(await m.takeChallenge(session, 'authenticate')).toBeUndefined(); // the stale copy re-reads first
    await m.issueChallenge(session, 'authenticate');
    expect(await m.takeChallenge(session, 'register')).toBeUndefined();
    await m.issueChallenge(session, 'authenticate');
    advance(5 * MIN + 1);
    expect(await m.takeChallenge(session, 'authenticate')).toBeUndefined();
  });

  it('two processes unlocking different levels of one session at once both keep theirs', async () => {
    const m = manager();
    const n = manager();
    const { token } = await m.create(ALICE, keys());
    const [x, y] = [await m.resolve(token), await n.resolve(token)];
    await Promise.all([m.unlock(x, 3, new Uint8Array(32).fill(3)), n.unlock(y, 4, new Uint8Array(32).fill(4))]);
    expect((await m.resolve(token)).unlocked).toEqual([1, 2, 3, 4]);
  });

  it('refuses to put a key into a session that has ended, and zeroes that key', async () => {
    const m = manager();
    const { session } = await m.create(ALICE, keys(), 3);
    await m.end(session);
    const late = new Uint8Array(32).fill(9);
    expect(await reasonOf(() => m.unlock(session, 3, late))).toBe('authentication_failed');
    expect(late.every((b) => b === 0)).toBe(true);
    expect(session.levels.size).toBe(0);
  });

  it('the sweep ends expired sessions of people it served and tells the index, without any request', async () => {
    const locks: Array<[UserId, SecurityLevel[]]> = [];
    const expired: string[] = [];
    const m = manager({ locks, expired });
    const { token, session } = await m.create(ALICE, keys());
    await m.unlock(session, 4, new Uint8Array(32).fill(4));
    await m.release(session);
    advance(5 * MIN + 1);
    await m.sweep();
    expect(locks).toEqual([[ALICE, [4]]]);
    advance(24 * 60 * MIN);
    await m.sweep();
    expect(expired).toEqual([session.id]);
    expect((await m.store.get(session.tokenHash))?.sealed.length).toBe(0);
    expect(await reasonOf(() => m.resolve(token))).toBe('session_expired');
  });

  it('never lets a level outlive its limits (model check)', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 2 * 60 * MIN }) }),
      fc.record({ kind: fc.constant('open' as const), level: fc.constantFrom<SecurityLevel>(1, 2, 3, 4) }),
      fc.record({ kind: fc.constant('unlock' as const), level: fc.constantFrom<SecurityLevel>(2, 3, 4) }),
      fc.record({ kind: fc.constant('lock' as const), level: fc.constantFrom<SecurityLevel>(2, 3, 4) }),
      fc.record({ kind: fc.constant('resolve' as const) }),
    );
    const m = manager();
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 30 }), async (ops) => {
        const { token, session: first } = await m.create(ALICE, new Map([[1, new Uint8Array(32).fill(1)]]));
        let session = first;
        for (const o of ops) {
          if (o.kind === 'advance') advance(o.ms);
          else if (o.kind === 'open') session.opener.canOpen(o.level);
          else if (o.kind === 'unlock') await m.unlock(session, o.level, new Uint8Array(32).fill(o.level));
          else if (o.kind === 'lock') await m.lock(session, [o.level]);
          else {
            await m.release(session);
            try {
              session = await m.resolve(token);
            } catch {
              return;
            }
          }
          for (const level of [1, 2, 3, 4] as const) session.opener.canOpen(level);
          const due = m.expiries(session);
          for (const level of session.unlocked) expect(due[level]!).toBeGreaterThanOrEqual(at);
        }
        await m.end(session);
      }),
      { numRuns: 40 },
    );
  });
});
