import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SecurityLevel } from '../../src/core/category.js';
import { isMemvaultError } from '../../src/core/errors.js';
import { normalizeUserId } from '../../src/core/user-id.js';
import { decodeInsights, encodeInsights } from '../../src/insights/store.js';
import type { Connection, DayResult, InsightsState } from '../../src/ports/insights.js';
import { generateX25519 } from '../../src/security/crypto-x25519.js';
import { createOpener, createSealer } from '../../src/security/seal.js';

/** The stored insights state (format 2): a day's connection kept in `connections` is stored by its pair only. */
const userId = normalizeUserId('+14155550134');
const key = generateX25519();
const sealed = createSealer({ publicKey: async () => key.publicKey }, { level1Plain: false });
const plain = createSealer({ publicKey: async () => key.publicKey }, { level1Plain: true });
const opener = createOpener(userId, new Map<SecurityLevel, Uint8Array>([[1, key.privateKey]]));

const A = '01JDQ7Z3N5X8Y2W4V6T8R0P2MA';
const B = '01JDQ7Z3N5X8Y2W4V6T8R0P2MB';
const C = '01JDQ7Z3N5X8Y2W4V6T8R0P2MC';
const link = (from: string, to: string, score: number, reason = 'both mention Nadia'): Connection => ({
  kind: 'people',
  reason,
  score,
  from,
  to,
});
const dayOf = (day: string, memories: string[], connections: Connection[]): DayResult => ({
  day,
  timezone: 'Europe/Lisbon',
  processedAt: `${day}T23:00:00.000Z`,
  memories,
  sealed: 0,
  importance: [],
  connections,
  patterns: [],
  insights: [],
});

/** Day 1 linked A–B (since re-scored by day 2) and B–C (unchanged); day 2 re-linked A–B with a new score. */
function state(): InsightsState {
  return {
    version: 1,
    features: {},
    days: {
      '2026-11-01': dayOf('2026-11-01', [A, B], [link(A, B, 0.5), link(B, C, 0.7, 'both in Lisbon')]),
      '2026-11-02': dayOf('2026-11-02', [C], [link(A, B, 0.9)]),
    },
    connections: {
      [A]: [link(A, B, 0.9)],
      [B]: [link(B, A, 0.9), link(B, C, 0.7, 'both in Lisbon')],
      [C]: [link(C, B, 0.7, 'both in Lisbon')],
    },
    postings: { 'p:nadia': [A, B] },
    linked: { [A]: [B], [B]: [A, C], [C]: [B] },
  };
}

const json = (text: string) => JSON.parse(text.slice(text.indexOf('\n') + 1));
const decodeError = (text: string) => {
  try {
    decodeInsights(text, userId, opener);
  } catch (error) {
    return error;
  }
  throw new Error('decoded');
};

describe('the insights state format', () => {
  it('stores a connection the pair still holds by reference and restores every day exactly (plain)', async () => {
    const text = await encodeInsights(plain, userId, state());
    expect(text.startsWith('memvault-insights 2 plain ')).toBe(true);
    const stored = json(text);
    // Unchanged since its day: a reference. Re-scored by a later day: kept whole, the old score with it.
    expect(stored.days['2026-11-01'].connections).toEqual([link(A, B, 0.5), `${B} ${C}`]);
    expect(stored.days['2026-11-02'].connections).toEqual([`${A} ${B}`]);
    // Listed under its own `from`: the key stands for it.
    expect(stored.connections[B]).toEqual([
      { kind: 'people', reason: 'both mention Nadia', score: 0.9, to: A },
      { kind: 'people', reason: 'both in Lisbon', score: 0.7, to: C },
    ]);
    expect(decodeInsights(text, userId, opener)).toEqual(state());
  });

  it('round-trips sealed, and a decoded day does not share objects with the connections map', async () => {
    const decoded = decodeInsights(await encodeInsights(sealed, userId, state()), userId, opener);
    expect(decoded).toEqual(state());
    expect(decoded.days['2026-11-02']!.connections[0]).not.toBe(decoded.connections[A]![0]);
  });

  it('keeps a connection whole when it differs from the kept one in any field, or carries one more', async () => {
    const s = state();
    const extra = { ...link(B, C, 0.7, 'both in Lisbon'), note: 'x' } as Connection;
    s.days['2026-11-03'] = dayOf('2026-11-03', [B], [link(B, C, 0.7, 'both in Porto'), extra]);
    const text = await encodeInsights(plain, userId, s);
    expect(json(text).days['2026-11-03'].connections).toEqual([link(B, C, 0.7, 'both in Porto'), extra]);
    expect(decodeInsights(text, userId, opener)).toEqual(s);
  });

  it('still reads format 1 (the whole connection in every day)', () => {
    const body = JSON.stringify(state());
    const text = `memvault-insights 1 plain ${createHash('sha256').update(body).digest('hex')}\n${body}`;
    expect(decodeInsights(text, userId, opener)).toEqual(state());
  });

  it('refuses a reference to a connection the state does not hold as DATA_CORRUPTION', async () => {
    const text = await encodeInsights(plain, userId, state());
    const stored = json(text);
    delete stored.connections[B];
    const body = JSON.stringify(stored);
    const broken = `memvault-insights 2 plain ${createHash('sha256').update(body).digest('hex')}\n${body}`;
    expect(isMemvaultError(decodeError(broken), 'DATA_CORRUPTION')).toBe(true);
  });

  it('stores a day without a connections list as it is, and refuses an unknown format version', async () => {
    const s = state();
    const { connections: _dropped, ...bare } = s.days['2026-11-02']!;
    s.days['2026-11-02'] = bare as DayResult;
    const text = await encodeInsights(plain, userId, s);
    expect(decodeInsights(text, userId, opener)).toEqual(s);
    const body = text.slice(text.indexOf('\n') + 1);
    const sum = createHash('sha256').update(body).digest('hex');
    expect(isMemvaultError(decodeError(`memvault-insights 3 plain ${sum}\n${body}`), 'DATA_CORRUPTION')).toBe(true);
  });
});
