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
  /**
   * Per memory id: the related ids the processing wrote into the vault's "Related Memories" (both ends), so that
   * re-running a day removes exactly the links it made before and no others.
   */
  linked: Record<string, string[]>;
}

export const emptyInsightsState = (): InsightsState => ({
  version: 1,
  features: {},
  days: {},
  connections: {},
  postings: {},
  linked: {},
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
  /** Who wrote `text`: the LLM, or the template (and why, when an LLM is configured). */
  readonly author: DigestAuthor;
}

/** Why a digest's text came from the template although an LLM is configured. */
export const DIGEST_FALLBACK_REASONS = [
  /** The person allows the LLM to see nothing (their setting is 0). */
  'not_allowed',
  /** Nothing of the period is at a level the LLM may see. */
  'nothing_allowed',
  'timeout',
  'network',
  'rate_limited',
  'http_error',
  'bad_output',
  /** The person's LLM setting could not be read (damaged): the LLM is not asked. */
  'settings_unreadable',
  /** The facts failed their own check before leaving (a bug): nothing was sent. */
  'invalid_facts',
] as const;
export type DigestFallbackReason = (typeof DIGEST_FALLBACK_REASONS)[number];

/** Who wrote a digest's text, and, for the template, why not the LLM (absent when no LLM is configured). */
export interface DigestAuthor {
  readonly by: 'llm' | 'template';
  readonly fallbackReason?: DigestFallbackReason;
}

/**
 * What an LLM is given to write a digest from: only memories at levels the person allowed for LLM use, every
 * string already masked for detected secrets. Validated (src/services/digest-llm.ts) before it leaves.
 */
export interface DigestFacts {
  readonly kind: 'daily' | 'weekly';
  readonly from: string;
  readonly to: string;
  readonly timezone: string;
  readonly memories: number;
  readonly highlights: ReadonlyArray<{ readonly excerpt: string; readonly level: number }>;
  readonly people: readonly string[];
  readonly places: readonly string[];
  readonly mood: { readonly dominant: string; readonly tone: 'good' | 'mixed' | 'hard' };
  readonly upcoming: ReadonlyArray<{ readonly when: string; readonly excerpt: string; readonly level: number }>;
  readonly onThisDay: ReadonlyArray<{ readonly yearsAgo: number; readonly excerpt: string; readonly level: number }>;
  readonly insights: readonly string[];
  /** Memories left out (sealed, or above what the LLM may see): counted, never described. */
  readonly notShown: number;
}

/**
 * Writes a digest's text from its facts (an OpenAI-compatible LLM). Throws an error whose `kind` is one of
 * the `DigestFallbackReason`s (timeout, network, rate_limited, http_error, bad_output).
 */
export interface DigestWriter {
  write(facts: DigestFacts, signal: AbortSignal): Promise<string>;
}

/** The highest level an LLM may read for a person: 0 (nothing), 1 (default) or 2. */
export type LlmLevel = 0 | 1 | 2;
export const DEFAULT_LLM_LEVEL: LlmLevel = 1;

/** Per-person settings the Daily Memory Manager reads. */
export interface PersonSettings {
  readonly llmLevel: LlmLevel;
  readonly updatedAt: string | null;
}

export interface PersonSettingsStore {
  /** The stored settings, or the defaults. @throws DATA_CORRUPTION when the file fails its check. */
  load(userId: UserId): Promise<PersonSettings>;
  save(userId: UserId, settings: PersonSettings): Promise<void>;
}

/** A digest ready for delivery (the scheduled run's, after a person's day was processed). */
export interface DigestReady {
  readonly userId: UserId;
  readonly day: string;
  readonly digest: Digest;
}

/** Where the scheduled digests go: the channels (a notification port) hook in here. */
export interface DigestNotifier {
  digestReady(event: DigestReady): Promise<void>;
}
