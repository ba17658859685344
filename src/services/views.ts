import type { MemoryEntry } from '../core/entry.js';

/**
 * A memory as every edge shows it (HTTP, CLI `--json`): an explicit field list, so a field added inside the
 * core never reaches a wire by accident.
 */
export function memoryView(entry: MemoryEntry) {
  return {
    id: entry.id,
    date: entry.date,
    eventDate: entry.eventDate,
    category: entry.category,
    level: entry.level,
    tags: [...entry.tags],
    content: entry.content,
    analysis: entry.analysis,
    confidence: entry.confidence,
    related: [...entry.related],
    emotionalContext: entry.emotionalContext,
    channel: entry.channel,
    externalId: entry.externalId,
  };
}
