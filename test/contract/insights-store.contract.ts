import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { UserId } from '../../src/core/entry.js';
import { isMemvaultError } from '../../src/core/errors.js';
import { emptyInsightsState, type InsightsState, type InsightsStore } from '../../src/ports/insights.js';
import { testOpener } from '../vault/fixtures/test-sealer.js';

const ALICE = '+14155550134' as UserId;
const BOB = '+447700900123' as UserId;

/** What an adapter's test hands the contract: an empty store sealing level 1, a second handle, the raw text. */
export interface InsightsStoreFixture {
  /** Seals with test/vault/fixtures/test-sealer.ts (level 1 sealed). */
  readonly store: InsightsStore;
  second(): Promise<InsightsStore>;
  /** The person's state exactly as stored (file text or row), or undefined. */
  raw(userId: UserId): Promise<string | undefined>;
  /** Replaces the person's stored text (to damage it). */
  overwrite(userId: UserId, text: string): Promise<void>;
  cleanup(): Promise<void>;
}

const state = (note: string): InsightsState => ({
  ...emptyInsightsState(),
  days: {
    '2026-11-29': {
      day: '2026-11-29',
      processedAt: '2026-11-30T00:05:00.000Z',
      memories: 1,
      patterns: [],
      insights: [{ kind: 'note', text: note }],
    } as unknown as InsightsState['days'][string],
  },
  postings: { 'p:nadia': ['01JAAAAAAAAAAAAAAAAAAAAAAA'] },
});

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

/**
 * The behaviour every `InsightsStore` adapter must show (src/ports/insights.ts). Files run it in
 * test/security/file-stores.contract.test.ts, PostgreSQL in test/pg/pg-stores.contract.test.ts.
 */
export function describeInsightsStoreContract(name: string, make: () => Promise<InsightsStoreFixture>): void {
  describe(`InsightsStore contract: ${name}`, () => {
    let fx: InsightsStoreFixture;
    beforeEach(async () => {
      fx = await make();
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    it('reads an empty state for a person with none, and stores nothing by reading', async () => {
      expect(await fx.store.load(ALICE, testOpener([1]))).toEqual(emptyInsightsState());
      expect(await fx.raw(ALICE)).toBeUndefined();
    });

    it('returns what was saved, sealed to level 1 as stored, and another handle reads it', async () => {
      await fx.store.save(ALICE, state('Walks with Nadia on Sundays'));
      const other = await fx.second();
      expect(await other.load(ALICE, testOpener([1]))).toEqual(state('Walks with Nadia on Sundays'));
      const raw = await fx.raw(ALICE);
      expect(raw).toMatch(/^memvault-insights 2 sealed\n/);
      expect(raw).not.toContain('Nadia');
    });

    it('the last save wins, and people are kept apart', async () => {
      const other = await fx.second();
      await fx.store.save(ALICE, state('first'));
      await other.save(ALICE, state('second'));
      await fx.store.save(BOB, state('bob'));
      expect(await fx.store.load(ALICE, testOpener([1]))).toEqual(state('second'));
      expect(await other.load(BOB, testOpener([1]))).toEqual(state('bob'));
    });

    it('needs level 1 open to read', async () => {
      await fx.store.save(ALICE, state('locked'));
      expect(isMemvaultError(await caught(fx.store.load(ALICE, testOpener([]))), 'SECURITY_ERROR')).toBe(true);
    });

    it('reports a damaged or moved state as DATA_CORRUPTION, and refuses a user id that is not a number', async () => {
      await fx.store.save(ALICE, state('mine'));
      const alices = (await fx.raw(ALICE))!;
      await fx.overwrite(ALICE, alices.replace('sealed\n', 'sealed\nx'));
      expect(isMemvaultError(await caught(fx.store.load(ALICE, testOpener([1]))), 'DATA_CORRUPTION')).toBe(true);
      // Alice's sealed state under Bob's name does not open: the seal is bound to the person.
      await fx.overwrite(BOB, alices);
      expect(isMemvaultError(await caught(fx.store.load(BOB, testOpener([1]))), 'DATA_CORRUPTION')).toBe(true);
      for (const bad of ['alice', '../+14155550134', '']) {
        expect(isMemvaultError(await caught(fx.store.load(bad as UserId, testOpener([1]))), 'VALIDATION_ERROR')).toBe(
          true,
        );
        expect(isMemvaultError(await caught(fx.store.save(bad as UserId, state('x'))), 'VALIDATION_ERROR')).toBe(true);
      }
    });
  });
}
