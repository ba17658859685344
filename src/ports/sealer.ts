import type { Category, SecurityLevel } from '../core/category.js';
import type { UserId } from '../core/entry.js';

/** What a sealed payload is bound to (AEAD associated data, DESIGN §5). */
export interface SealContext {
  readonly userId: UserId;
  readonly level: SecurityLevel;
  readonly category: Category;
  readonly entryId: string;
}

/**
 * The write side of sealing. It needs only public keys, so any channel can store a secret while its level
 * is locked.
 */
export interface EntrySealer {
  /** Whether entries of this level are stored sealed (level 1 may be kept plain: MEMVAULT_LEVEL1=plain). */
  seals(level: SecurityLevel): boolean;
  /** Seals the entry's plaintext Markdown block; returns the armored payload (ASCII, no back-ticks). */
  seal(ctx: SealContext, plaintext: string): Promise<string>;
  /**
   * The generation of the keys `seal` uses for this person now; it only grows (key rotation). Equal answers
   * before and after a seal mean the seal used the keys current at the second answer. A sealer without it
   * may still change keys: the vault then seals under the person's lock.
   */
  keyGeneration?(userId: UserId): Promise<number>;
}

/**
 * The read side: holds private keys unlocked for one session or one command. Never persisted, never logged.
 */
export interface EntryOpener {
  canOpen(level: SecurityLevel): boolean;
  /** @throws MemvaultError DATA_CORRUPTION when the payload was edited, truncated or moved. */
  open(ctx: SealContext, payload: string): string;
}

/** Stores everything in plain Markdown: for tests of the vault alone and for tools that never seal. */
export const plainSealer: EntrySealer = {
  seals: () => false,
  seal: () => Promise.reject(new Error('plainSealer never seals')),
};

/** An opener for callers that may read every level of plain vaults (tests, plain mode). */
export const plainOpener = (levels: readonly SecurityLevel[] = [1, 2, 3, 4]): EntryOpener => ({
  canOpen: (level) => levels.includes(level),
  open: () => {
    throw new Error('plainOpener cannot open sealed payloads');
  },
});
