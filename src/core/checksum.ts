import { createHash } from 'node:crypto';
import type { MemoryEntry } from './entry.js';

/**
 * Checksum of an entry: SHA-256 over a canonical JSON of every field but `checksum`, first 16 hex digits.
 * It detects accidental damage (a bad edit, a torn block); tampering is caught by sealing (AEAD).
 */
export function entryChecksum(entry: Omit<MemoryEntry, 'checksum'> | MemoryEntry): string {
  const canonical = JSON.stringify([
    entry.id,
    entry.userId,
    entry.date,
    entry.eventDate,
    entry.category,
    entry.level,
    entry.tags,
    entry.content,
    entry.analysis,
    entry.confidence,
    entry.related,
    entry.emotionalContext,
    entry.channel,
    entry.externalId,
  ]);
  return createHash('sha256').update(canonical, 'utf8').digest('hex').slice(0, 16);
}

export function withChecksum(entry: Omit<MemoryEntry, 'checksum'>): MemoryEntry {
  return { ...entry, checksum: entryChecksum(entry) };
}
