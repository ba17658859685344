import type { BackupListing } from '../ports/backup.js';

/** How many backups to keep per person: the newest of each of the last N days, ISO weeks and months that have one. */
export interface RetentionPolicy {
  readonly daily: number;
  readonly weekly: number;
  readonly monthly: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { daily: 7, weekly: 4, monthly: 12 };

/** ISO 8601 week of a UTC date, e.g. "2026-W48" (the week belongs to the year of its Thursday). */
export function isoWeek(date: Date): string {
  const d = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const day = d.getUTCDay() || 7;
  d.setUTCDate(d.getUTCDate() + 4 - day);
  const yearStart = Date.UTC(d.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((d.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${d.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

/**
 * The backups of one person to keep under `policy` (grandfather-father-son, as restic's `--keep-daily` etc.):
 * walking from newest to oldest, the first backup seen in each day, week and month is kept until that rule has
 * kept its count. The newest backup is always kept, so pruning can never leave a person with none.
 */
export function retained(backups: readonly BackupListing[], policy: RetentionPolicy): Set<string> {
  const sorted = [...backups].sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
  const keep = new Set<string>();
  if (sorted[0]) keep.add(sorted[0].file);
  const rules: Array<[number, (d: Date) => string]> = [
    [policy.daily, (d) => d.toISOString().slice(0, 10)],
    [policy.weekly, isoWeek],
    [policy.monthly, (d) => d.toISOString().slice(0, 7)],
  ];
  for (const [count, bucketOf] of rules) {
    const seen = new Set<string>();
    for (const b of sorted) {
      if (seen.size >= count) break;
      const bucket = bucketOf(new Date(b.createdAt));
      if (seen.has(bucket)) continue;
      seen.add(bucket);
      keep.add(b.file);
    }
  }
  return keep;
}
