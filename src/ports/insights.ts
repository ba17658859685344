import type { MemoryEntry, UserId } from '../core/entry.js';
import type { EntryOpener } from './sealer.js';

/**
 * What the Daily Memory Manager keeps about one memory it has processed: enough to compute patterns over 365
 * days without opening and re-analysing a year of memories every night. Derived only from level-1 content.
 */
export interface MemoryFeatures {
  readonly id: string;
  /** The person's local day of the message, YYYY-MM-DD. */
  readonly day: string;
  /** Local hour 0–23 and weekday 0 (Sunday)–6. */
  readonly hour: number;
  readonly weekday: number;
  /** The stored emotional context ("joy", "anxiety"…) and its valence in [-1, 1]. */
  readonly mood: string;
  readonly valence: number;
  readonly people: readonly string[];
  readonly places: readonly string[];
  readonly activities: readonly string[];
  /** ISO event date when it is after the message date (something coming up). */
  readonly upcoming: string | null;
}

export type ConnectionKind = 'people' | 'location' | 'thematic' | 'emotional' | 'temporal';

/** A link between two memories and why ("both mention Nadia"). Stored once per direction. */
export interface Connection {
  readonly from: string;
  readonly to: string;
  readonly kind: ConnectionKind;
  readonly reason: string;
  readonly score: number;
}

export interface ImportanceFactors {
  readonly emotionalIntensity: number;
  readonly socialSignificance: number;
  readonly uniqueness: number;
  readonly futureRelevance: number;
  readonly personalSignificance: number;
}

export interface Importance {
  readonly id: string;
  readonly score: number;
  readonly factors: ImportanceFactors;
}

/** A short, specific, true statement and the memories it came from. */
export interface Insight {
  readonly kind: string;
  readonly text: string;
  readonly sources: readonly string[];
}

export interface Count {
  readonly name: string;
  readonly count: number;
}

export interface WindowPatterns {
  readonly days: 7 | 30 | 365;
  readonly memories: number;
  /** Memories per local hour (24 slots) and per weekday (7 slots, Sunday first). */
  readonly byHour: readonly number[];
  readonly byWeekday: readonly number[];
  /** Mean valence per local day in the window that has memories, oldest first. */
  readonly moodByDay: ReadonlyArray<{ readonly day: string; readonly valence: number; readonly memories: number }>;
  readonly moods: readonly Count[];
  readonly people: readonly Count[];
  readonly places: readonly Count[];
  readonly activities: readonly Count[];
  /** Mean valence of memories with the person, against the window's mean, for people seen at least 3 times. */
  readonly moodWithPerson: ReadonlyArray<{
    readonly name: string;
    readonly valence: number;
    readonly baseline: number;
  }>;
  /** The weekday an activity happens on most, where it is at least half of its occurrences (3 or more). */
  readonly activityWeekday: ReadonlyArray<{ readonly name: string; readonly weekday: number; readonly share: number }>;
}

/** The results of one person-day; re-running the day replaces them. */
export interface DayResult {
  readonly day: string;
  readonly timezone: string;
  readonly processedAt: string;
  readonly memories: readonly string[];
  /** Memories of that day the run could not open (levels above what it holds). */
  readonly sealed: number;
  readonly importance: readonly Importance[];
  readonly connections: readonly Connection[];
  readonly patterns: readonly WindowPatterns[];
  readonly insights: readonly Insight[];
}

/** Everything the manager keeps for one person (INSIGHTS.<id>.sealed, sealed at level 1). */
export interface InsightsState {
  readonly version: 1;
  /** Per memory id. */
  features: Record<string, MemoryFeatures>;
  /** Per local day, YYYY-MM-DD. */
  days: Record<string, DayResult>;
  /** Per memory id: its connections, outgoing (each is also stored from the other side). */
  connections: Record<string, Connection[]>;
  /** Per person, place or activity ("p:nadia", "l:lisbon", "a:run"): memory ids, oldest first. */
  postings: Record<string, string[]>;
}

export const emptyInsightsState = (): InsightsState => ({
  version: 1,
  features: {},
  days: {},
  connections: {},
  postings: {},
});

/** Where the per-person insights live, sealed at rest like entries. */
export interface InsightsStore {
  /** The stored state, or an empty one. @throws SECURITY_ERROR when level 1 is not open; DATA_CORRUPTION. */
  load(userId: UserId, opener: EntryOpener): Promise<InsightsState>;
  /** Replaces the stored state atomically. */
  save(userId: UserId, state: InsightsState): Promise<void>;
}

/** Turns one opened memory into the features the manager keeps (people, places, activities, mood, local time). */
export interface FeatureExtractor {
  extract(entry: MemoryEntry, timezone: string): MemoryFeatures;
}

export interface DigestItem {
  readonly id: string;
  readonly date: string;
  /** A short excerpt of the memory (only from levels the digest may read). */
  readonly excerpt: string;
}

export interface UpcomingItem extends DigestItem {
  readonly eventDate: string;
  /** "Tuesday 8 December at 3:00 pm", in the person's zone. */
  readonly when: string;
}

export interface Digest {
  readonly kind: 'daily' | 'weekly';
  readonly userId: UserId;
  /** First and last local day covered, YYYY-MM-DD. */
  readonly from: string;
  readonly to: string;
  readonly timezone: string;
  readonly memories: number;
  /** Memories of the period at levels the digest did not read. */
  readonly sealed: number;
  /** Highest level whose content the digest holds. */
  readonly level: number;
  readonly highlights: ReadonlyArray<DigestItem & { readonly importance: number }>;
  readonly people: readonly Count[];
  readonly places: readonly Count[];
  readonly mood: { readonly dominant: string; readonly valence: number; readonly moods: readonly Count[] };
  readonly upcoming: readonly UpcomingItem[];
  readonly onThisDay: ReadonlyArray<DigestItem & { readonly yearsAgo: number }>;
  readonly insights: readonly Insight[];
  /** The digest written out for a person to read. */
  readonly text: string;
}
