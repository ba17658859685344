import { type Category, levelOf } from '../core/category.js';
import type { MemoryEntry } from '../core/entry.js';
import { type EntryNote, TRASH_DAYS, type TrashedEntry } from '../ports/vault.js';
import { applyPatch } from './entry-rules.js';
import type { Revision, RevisionKind } from './markdown-codec.js';

/**
 * The rules of entry revisions (docs/entry-format.md, "Revisions") that do not depend on where blocks are stored:
 * the file vault and the PostgreSQL vault both decide with these which block is current, what a change is, what
 * is a version and when the trash lapses.
 */

/** How long a trashed entry is kept, in milliseconds. */
export const TRASH_MS = TRASH_DAYS * 86_400_000;

/** A block as the rules see it: its revision line (null for revision 1), or null when the block is damaged. */
export interface RevisedBlock {
  readonly damaged: boolean;
  readonly revision: Revision | null;
}

/** The revision number of a block: 1 without a revision line, 0 for a damaged block (which never wins). */
export const revisionNumber = (block: RevisedBlock): number => (block.damaged ? 0 : (block.revision?.n ?? 1));

/**
 * The current block among the latest block of an id in each category: the highest revision; on a tie the first
 * one given (callers give the categories in `CATEGORIES` order).
 */
export function latestRevision<T>(candidates: Iterable<T>, blockOf: (candidate: T) => RevisedBlock): T | undefined {
  let best: T | undefined;
  let bestN = -1;
  for (const candidate of candidates) {
    const n = revisionNumber(blockOf(candidate));
    if (best === undefined || n > bestN) {
      best = candidate;
      bestN = n;
    }
  }
  return best;
}

/** True when a current block is a trash revision (hidden from read, get, search and links). */
export const isTrashed = (block: RevisedBlock): boolean => !block.damaged && block.revision?.kind === 'trash';

/** True when a current trash revision has been in the trash for longer than `TRASH_DAYS` at `now` (epoch ms). */
export const trashLapsed = (block: RevisedBlock, now: number): boolean =>
  isTrashed(block) && Date.parse(block.revision!.at) + TRASH_MS <= now;

/**
 * What revision a change appends: `edit` when the text changed, `update` for any other change, null when the
 * entry and its category are as they were (nothing is written).
 */
export function changeKind(current: MemoryEntry, next: MemoryEntry, storedIn: Category): RevisionKind | null {
  if (next.checksum === current.checksum && next.category === storedIn) return null;
  return next.content === current.content ? 'update' : 'edit';
}

/** The revision line of the block that follows `current` (revision `n`). */
export const nextRevision = (n: number, kind: RevisionKind, at: string): Revision => ({ n: n + 1, kind, at });

/**
 * A change that moves an entry up to a more protected level without changing its text erases its blocks at the
 * lower levels (the person said it is more sensitive): true when those must go.
 */
export const erasesLowerCopies = (kind: RevisionKind, from: Category, to: Category): boolean =>
  kind !== 'edit' && levelOf(to) > levelOf(from);

/**
 * The versions among all blocks of one id, sorted by revision ascending: each block a text edit replaced, newest
 * first, with when it was replaced.
 */
export function versionBlocks<T>(
  chain: readonly T[],
  blockOf: (block: T) => RevisedBlock,
): { block: T; replacedAt: string }[] {
  const out: { block: T; replacedAt: string }[] = [];
  for (let i = chain.length - 2; i >= 0; i--) {
    const replacedBy = blockOf(chain[i + 1]!).revision;
    if (replacedBy?.kind !== 'edit' || blockOf(chain[i]!).damaged) continue;
    out.push({ block: chain[i]!, replacedAt: replacedBy.at });
  }
  return out;
}

/** A trash listing line for a current trash revision. */
export function trashListing(
  id: string,
  category: Category,
  revision: Revision,
  entry: MemoryEntry | null,
): TrashedEntry {
  return {
    id,
    category,
    level: levelOf(category),
    trashedAt: revision.at,
    erasedAfter: new Date(Date.parse(revision.at) + TRASH_MS).toISOString(),
    entry,
  };
}

/** Most recently trashed first. */
export const byTrashedAtDesc = (a: TrashedEntry, b: TrashedEntry): number =>
  a.trashedAt < b.trashedAt ? 1 : a.trashedAt > b.trashedAt ? -1 : 0;

/** One of the daily processing's notes applied to an entry (analysis from the current one, links added and removed). */
export function applyNote(entry: MemoryEntry, note: EntryNote): MemoryEntry {
  const unlink = new Set(note.unlink ?? []);
  const related = entry.related.filter((r) => !unlink.has(r));
  for (const r of note.link ?? []) if (r !== entry.id && !related.includes(r)) related.push(r);
  return applyPatch(
    entry,
    { related, ...(note.analysis ? { analysis: note.analysis(entry.analysis) } : {}) },
    Number.MAX_SAFE_INTEGER,
  );
}
