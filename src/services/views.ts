import { type Category, categoryLabel } from '../core/category.js';
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

const CORRECTION = /^Moved by you from \S+ to \S+ on \S+\. The classifier had said: /su;

/**
 * The analysis a corrected memory keeps: who moved it, from where to where and when (ISO, UTC), then the
 * classifier's own reasoning, kept once however often the person moves it again. The web app recognises this
 * sentence (web/assets/pages/memory.js, `correctionOf`), so its shape is part of the entry format (docs/entry-format.md).
 */
export function correctionAnalysis(from: Category, to: Category, at: string, previous: string): string {
  const classifier = previous.replace(CORRECTION, '');
  return `Moved by you from ${categoryLabel(from)} to ${categoryLabel(to)} on ${at}. The classifier had said: ${classifier}`;
}
