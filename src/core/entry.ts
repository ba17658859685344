import type { Category, SecurityLevel } from './category.js';

/** Where a message came from. */
export const CHANNELS = ['cli', 'web', 'api', 'mcp', 'telegram', 'whatsapp', 'sms', 'email', 'import'] as const;
export type Channel = (typeof CHANNELS)[number];

/** E.164 phone number that has passed `normalizeUserId`; the only kind of string that reaches a path. */
export type UserId = string & { readonly __brand: 'UserId' };

/**
 * One memory, as the seed's "Memory Entry Format" holds it (docs/entry-format.md), plus the fields DESIGN adds.
 * Dates are ISO 8601 strings in UTC with milliseconds (`2026-11-26T18:04:49.000Z`).
 */
export interface MemoryEntry {
  /** ULID: unique, sortable by creation time, stable. */
  readonly id: string;
  readonly userId: UserId;
  /** When the message was received. */
  readonly date: string;
  /** When the event happened, resolved from "yesterday", "last Friday"…; null when the message names no time. */
  readonly eventDate: string | null;
  readonly category: Category;
  readonly level: SecurityLevel;
  readonly tags: readonly string[];
  readonly content: string;
  /** The classifier's reasoning ("AI Analysis"). */
  readonly analysis: string;
  /** Classification confidence in [0, 1]. */
  readonly confidence: number;
  /** Ids of related memories, kept in both directions. */
  readonly related: readonly string[];
  readonly emotionalContext: string;
  readonly channel: Channel;
  /** Id in the source system (a chat export's message id), for de-duplication and evaluation. */
  readonly externalId: string | null;
  /** Integrity checksum over every other field (see `entryChecksum`). */
  readonly checksum: string;
}

/** What a caller supplies to store a memory; the vault assigns id, level, checksum. */
export interface NewEntry {
  readonly date: string;
  readonly eventDate?: string | null;
  readonly category: Category;
  readonly tags?: readonly string[];
  readonly content: string;
  readonly analysis?: string;
  readonly confidence?: number;
  readonly related?: readonly string[];
  readonly emotionalContext?: string;
  readonly channel: Channel;
  readonly externalId?: string | null;
}

/** Fields a person may change on a stored memory. Changing `category` moves it to another file and level. */
export interface EntryPatch {
  readonly category?: Category;
  readonly eventDate?: string | null;
  readonly tags?: readonly string[];
  readonly content?: string;
  readonly analysis?: string;
  readonly confidence?: number;
  readonly related?: readonly string[];
  readonly emotionalContext?: string;
}
