import { categoryLabel } from '../core/category.js';
import type { MemoryEntry } from '../core/entry.js';
import type { SearchHit } from '../ports/search.js';
import { memoryView } from '../services/views.js';

/** The `--json` shape of an entry (docs/cli.md): the shared view, plus the owner and the integrity checksum. */
export function entryJson(entry: MemoryEntry): Record<string, unknown> {
  return { ...memoryView(entry), userId: entry.userId, checksum: entry.checksum };
}

/** The `search --json` result shape of DESIGN §9. */
export function hitJson(hit: SearchHit): Record<string, unknown> {
  const e = hit.entry;
  return {
    id: e.id,
    category: e.category,
    level: e.level,
    date: e.date,
    eventDate: e.eventDate,
    content: e.content,
    score: Number(hit.score.toFixed(6)),
    externalId: e.externalId,
    tags: [...e.tags],
    signals: [...hit.signals],
  };
}

function oneLine(text: string, width: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= width ? flat : `${flat.slice(0, width - 1)}…`;
}

export function entryLine(entry: MemoryEntry): string {
  const when = entry.date.slice(0, 16).replace('T', ' ');
  return `${when}  ${entry.id}  ${categoryLabel(entry.category).padEnd(13)}  ${oneLine(entry.content, 70)}`;
}

export function entryDetail(entry: MemoryEntry): string {
  return [
    `Memory ${entry.id}`,
    `  Date:        ${entry.date}`,
    ...(entry.eventDate ? [`  Happened:    ${entry.eventDate}`] : []),
    `  Category:    ${categoryLabel(entry.category)} (level ${entry.level})`,
    `  Tags:        ${entry.tags.join(', ') || '—'}`,
    `  Confidence:  ${entry.confidence.toFixed(2)}`,
    `  Emotion:     ${entry.emotionalContext || '—'}`,
    `  Source:      ${entry.channel}${entry.externalId ? ` (${entry.externalId})` : ''}`,
    ...(entry.related.length > 0 ? [`  Related:     ${entry.related.join(', ')}`] : []),
    '',
    entry.content,
    '',
    `  Analysis:    ${entry.analysis || '—'}`,
  ].join('\n');
}

export function hitLine(hit: SearchHit): string {
  return `${hit.score.toFixed(3)}  ${entryLine(hit.entry)}`;
}

/**
 * Search results for a person: the matches, then apart under a heading the hits that share no word or name with
 * the query and are only close by meaning (signal "related"), so a near miss never reads as an answer.
 */
export function hitLines(hits: readonly SearchHit[]): string[] {
  const matching = hits.filter((h) => !h.signals.includes('related'));
  const related = hits.filter((h) => h.signals.includes('related'));
  const lines = matching.length > 0 ? matching.map(hitLine) : ['No memory matches.'];
  if (related.length > 0) lines.push('', 'Related, not matching:', ...related.map(hitLine));
  return lines;
}
