import type { SecurityLevel } from '../core/category.js';
import type { MemoryEntry, UserId } from '../core/entry.js';
import { MemvaultError, validationError } from '../core/errors.js';
import { addDays, isLocalDay, localDayRange, localParts } from '../core/local-day.js';
import { KeyedMutex } from '../infra/keyed-mutex.js';
import { type Clock, systemClock } from '../ports/clock.js';
import {
  type Connection,
  type DayResult,
  DEFAULT_LLM_LEVEL,
  type Digest,
  type DigestAuthor,
  type DigestItem,
  type DigestNotifier,
  type DigestReady,
  type DigestWriter,
  type FeatureExtractor,
  type Importance,
  type InsightsState,
  type InsightsStore,
  type LlmLevel,
  type MemoryFeatures,
  type PersonSettings,
  type PersonSettingsStore,
  type UpcomingItem,
} from '../ports/insights.js';
import { type Logger, silentLogger } from '../ports/logger.js';
import type { EntryOpener } from '../ports/sealer.js';
import type { SearchIndex } from '../ports/search.js';
import type { EntryNote, Vault } from '../ports/vault.js';
import {
  type Candidate,
  connect,
  findInsights,
  scoreImportance,
  termsOf,
  windowFeatures,
  windowPatterns,
  withImportance,
} from './insights-analysis.js';
import { digestFacts, writeWithLlm } from './digest-llm.js';
import { writeDigest } from './digest-text.js';
import type { Principal } from './types.js';

export interface InsightsServiceDeps {
  readonly vault: Vault;
  readonly search: SearchIndex;
  readonly store: InsightsStore;
  readonly extractor: FeatureExtractor;
  /** The level-1 opener the scheduled run holds (no one's password): the auth service's channel opener. */
  readonly levelOneOpener: (userId: UserId) => Promise<EntryOpener>;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Per-person settings (what an LLM may read). Without it, every person has the defaults. */
  readonly settings?: PersonSettingsStore;
  /**
   * The LLM that writes digests when one is configured. It is used only together with `maskSecrets`: a text
   * leaves for the LLM only after the secret detectors masked it.
   */
  readonly llm?: {
    readonly writer: DigestWriter;
    readonly maskSecrets: (text: string) => string;
    readonly budgetMs?: number;
  };
  /** Told about each scheduled digest (`deliverDay`); the channels deliver it. More can join with `onDigestReady`. */
  readonly notifier?: DigestNotifier;
}

export interface DigestOptions {
  /** Local day YYYY-MM-DD; default today in the person's zone. */
  readonly date?: string;
  readonly week?: boolean;
  /** Levels whose content the digest may include (default [1]); capped by what the principal holds. */
  readonly levels?: readonly SecurityLevel[];
}

export interface InsightsView {
  readonly day: string | null;
  readonly result: DayResult | null;
}

/** The Daily Memory Manager (seed §3, DESIGN §7). */
export interface InsightsService {
  /** Processes one person's local day from level 1 (what a scheduled run can open); replaces earlier results. */
  processDay(userId: UserId, day?: string): Promise<DayResult>;
  /** The latest processed day's patterns and insights, or the given day's. */
  insights(principal: Principal, day?: string): Promise<InsightsView>;
  /** The days already processed, oldest first. */
  processedDays(userId: UserId): Promise<string[]>;
  digest(principal: Principal, options?: DigestOptions): Promise<Digest>;
  /** Stored connections of one memory, with their reasons. */
  connections(principal: Principal, id: string): Promise<Connection[]>;
  /** Whether an LLM writes digests (one is configured); otherwise the template does. */
  readonly llmConfigured: boolean;
  /** The person's settings (what an LLM may read), or the defaults. */
  settings(principal: Principal): Promise<PersonSettings>;
  /**
   * Sets the highest level an LLM may read for digests (0–2). Raising it above 1 needs a principal that holds
   * that level itself. @throws SECURITY_ERROR (insufficient_permissions); VALIDATION_ERROR.
   */
  setLlmLevel(principal: Principal, level: number): Promise<PersonSettings>;
  /**
   * The scheduled run of one person-day: processes it, writes its digest from level 1 (the run holds no one's
   * password) and hands it to the notifier and every `onDigestReady` listener. A listener's failure is logged,
   * never fails the run.
   */
  deliverDay(userId: UserId, day: string): Promise<DigestReady>;
  /** Adds a listener for scheduled digests (the channels' hook); returns a function that removes it. */
  onDigestReady(listener: (event: DigestReady) => Promise<void> | void): () => void;
}

/** How many neighbours per memory the search index and each shared name may propose. */
const SEARCH_NEIGHBOURS = 6;
const POSTING_CANDIDATES = 12;
const MAX_CONNECTIONS = 5;
/**
 * Days of features kept: the 365-day window and "a year apart" need a little over a year. Older days leave the
 * file (their connections stay), so loading and saving it each night does not grow with the years.
 */
const KEEP_DAYS = 400;

function prune(state: InsightsState, before: string): void {
  const old = Object.keys(state.days).filter((d) => d < before);
  if (old.length === 0) return;
  const gone = new Set<string>();
  for (const d of old) {
    for (const id of state.days[d]?.memories ?? []) {
      gone.add(id);
      delete state.features[id];
    }
    delete state.days[d];
  }
  for (const [term, ids] of Object.entries(state.postings)) {
    const kept = ids.filter((id) => !gone.has(id));
    if (kept.length > 0) state.postings[term] = kept;
    else delete state.postings[term];
  }
}

const restrict = (opener: EntryOpener, levels: readonly SecurityLevel[]): EntryOpener => ({
  canOpen: (level) => levels.includes(level) && opener.canOpen(level),
  open: (ctx, payload) => {
    if (!levels.includes(ctx.level)) {
      throw new MemvaultError('SECURITY_ERROR', 'This level is not part of the insights.', {
        reason: 'insufficient_permissions',
      });
    }
    return opener.open(ctx, payload);
  },
});

export function createInsightsService(deps: InsightsServiceDeps): InsightsService {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? silentLogger;
  const running = new KeyedMutex<UserId>();
  const listeners = new Set<(event: DigestReady) => Promise<void> | void>();
  if (deps.notifier) {
    const notifier = deps.notifier;
    listeners.add((event) => notifier.digestReady(event));
  }

  async function loadSettings(userId: UserId): Promise<PersonSettings> {
    return deps.settings ? deps.settings.load(userId) : { llmLevel: DEFAULT_LLM_LEVEL, updatedAt: null };
  }

  const checkDay = (day: string, field = 'date'): string => {
    if (!isLocalDay(day))
      throw validationError(`"${String(day).slice(0, 20)}" is not a day: use YYYY-MM-DD.`, { field });
    return day;
  };

  const today = (timezone: string): string => localParts(clock.now(), timezone).day;

  /** Removes a day's results; returns the vault links the processing had made for it (to be undone). */
  function dropDay(state: InsightsState, day: string): Array<[string, string]> {
    const old = state.days[day]?.memories ?? [];
    const unlinked: Array<[string, string]> = [];
    for (const id of old) {
      for (const other of state.linked[id] ?? []) {
        unlinked.push([id, other]);
        const back = state.linked[other]?.filter((x) => x !== id);
        if (back && back.length > 0) state.linked[other] = back;
        else delete state.linked[other];
      }
      delete state.linked[id];
      const f = state.features[id];
      if (f) {
        for (const t of termsOf(f)) {
          const list = state.postings[t]?.filter((x) => x !== id);
          if (list && list.length > 0) state.postings[t] = list;
          else delete state.postings[t];
        }
      }
      for (const c of state.connections[id] ?? []) {
        const back = state.connections[c.to]?.filter((x) => x.to !== id);
        if (back && back.length > 0) state.connections[c.to] = back;
        else delete state.connections[c.to];
      }
      delete state.connections[id];
      delete state.features[id];
    }
    delete state.days[day];
    return unlinked;
  }

  async function process(userId: UserId, day: string): Promise<DayResult> {
    const started = performance.now();
    const profile = await deps.vault.getProfile(userId);
    const opener = restrict(await deps.levelOneOpener(userId), [1]);
    const { start, end } = localDayRange(day, profile.timezone);
    const read = await deps.vault.read(
      userId,
      { from: start.toISOString(), to: end.toISOString(), order: 'asc' },
      opener,
    );
    const readMs = performance.now() - started;
    const entries = read.entries.filter((e) => e.level === 1);
    const sealed = read.locked + (read.entries.length - entries.length);
    const loading = performance.now();
    const state = await deps.store.load(userId, opener);
    const loadMs = performance.now() - loading;
    const unlinked = dropDay(state, day);

    const features = entries.map((e) => deps.extractor.extract(e, profile.timezone));
    const byId = new Map(entries.map((e) => [e.id, e]));
    for (const f of features) {
      state.features[f.id] = f;
      for (const t of termsOf(f)) {
        const list = state.postings[t] ?? [];
        list.push(f.id);
        state.postings[t] = list;
      }
    }
    for (const t of new Set(features.flatMap(termsOf))) {
      // Ids are ULIDs: sorting keeps each posting oldest first, so "the latest few" stays a slice.
      state.postings[t]?.sort();
    }

    const importance = scoreImportance(features, {
      before: windowFeatures(state, addDays(day, -1), 30),
      contentLength: (id) => byId.get(id)?.content.length ?? 0,
      exclamations: (id) => (byId.get(id)?.content.match(/!/g) ?? []).length,
    });

    // Neighbours through shared names and the search index, never all pairs: per memory, the latest few
    // memories sharing each name, and a fixed number of search hits.
    const connecting = performance.now();
    const connections: Connection[] = [];
    for (const f of features) {
      const entry = byId.get(f.id)!;
      const candidates = new Map<string, Candidate>();
      for (const t of termsOf(f)) {
        for (const id of (state.postings[t] ?? []).slice(-POSTING_CANDIDATES - 1)) {
          const other = state.features[id];
          if (id !== f.id && other && !candidates.has(id)) candidates.set(id, { features: other });
        }
      }
      // A search costs ~10–20 ms on a 10k vault, most of a day's processing: the index is asked only when the
      // postings offer few candidates (a memory without names, or names not seen since processing began).
      if (candidates.size < 2 * MAX_CONNECTIONS)
        try {
          const hits = await deps.search.search(
            userId,
            { text: neighbourQuery(f, entry), limit: SEARCH_NEIGHBOURS + 1, levels: [1] },
            opener,
          );
          for (const hit of hits) {
            if (hit.entry.id === f.id || hit.entry.level !== 1) continue;
            const other = state.features[hit.entry.id] ?? deps.extractor.extract(hit.entry, profile.timezone);
            candidates.set(hit.entry.id, { features: other, tags: hit.entry.tags, date: hit.entry.date });
          }
        } catch (error) {
          logger.warn({ userId, entryId: f.id, err: summary(error) }, 'insights: search neighbours failed');
        }
      const found = [...candidates.values()]
        .map((c) => {
          const link = connect(f, { tags: entry.tags, date: entry.date }, c);
          return link ? { ...link, from: f.id, to: c.features.id } : null;
        })
        .filter((c): c is Connection => c !== null)
        .sort((a, b) => b.score - a.score || b.to.localeCompare(a.to))
        .slice(0, MAX_CONNECTIONS);
      connections.push(...found);
    }
    const connectMs = performance.now() - connecting;
    const pairs = new Set<string>();
    const linked: Array<[string, string]> = [];
    for (const c of connections) {
      const id = [c.from, c.to].sort().join(':');
      if (pairs.has(id)) continue;
      pairs.add(id);
      linked.push([c.from, c.to]);
      for (const [a, b] of [
        [c.from, c.to],
        [c.to, c.from],
      ] as const) {
        const list = state.linked[a] ?? [];
        if (!list.includes(b)) list.push(b);
        state.linked[a] = list;
      }
      for (const [from, to] of [
        [c.from, c.to],
        [c.to, c.from],
      ] as const) {
        const list = (state.connections[from] ?? []).filter((x) => x.to !== to);
        list.push({ ...c, from, to });
        state.connections[from] = list;
      }
    }

    state.days[day] = {
      day,
      timezone: profile.timezone,
      processedAt: clock.now().toISOString(),
      memories: features.map((f) => f.id),
      sealed,
      importance: [],
      connections: [],
      patterns: [],
      insights: [],
    };
    const week = windowFeatures(state, day, 7);
    const month = windowFeatures(state, day, 30);
    const result: DayResult = {
      ...state.days[day]!,
      importance,
      connections: connections.filter((c) => pairs.has([c.from, c.to].sort().join(':'))),
      patterns: [
        windowPatterns(week, 7),
        windowPatterns(month, 30),
        windowPatterns(windowFeatures(state, day, 365), 365),
      ],
      insights: findInsights(week, month),
    };
    state.days[day] = result;
    prune(state, addDays(day, -KEEP_DAYS));
    // The state first: it records which vault links this run made, so a crash after it never leaves links that a
    // re-run could not find and undo.
    const saving = performance.now();
    await deps.store.save(userId, state);
    const saveMs = performance.now() - saving;
    const mirroring = performance.now();
    const written = await mirror(userId, opener, { importance, linked, unlinked });
    const vaultMs = performance.now() - mirroring;

    logger.info(
      {
        userId,
        day,
        memories: features.length,
        sealed,
        connections: pairs.size,
        insights: result.insights.length,
        rewritten: written,
        ms: Math.round(performance.now() - started),
        // Where the time went (bench/insights.bench.ts reads these): reading the day's memories, loading the
        // insights state, finding connections, saving the state, writing the vault.
        readMs: Math.round(readMs),
        loadMs: Math.round(loadMs),
        connectMs: Math.round(connectMs),
        saveMs: Math.round(saveMs),
        vaultMs: Math.round(vaultMs),
      },
      'insights: day processed',
    );
    return result;
  }

  /**
   * Writes the day's importance into each entry's AI Analysis and its connections into "Related Memories"
   * (both ends), undoing the links an earlier run of the day made and this one did not. With `Vault.annotate`
   * each category file is rewritten at most once; a run whose results did not change writes nothing. A failure
   * is logged: the results stay in the insights file, where readers find them too.
   */
  async function mirror(
    userId: UserId,
    opener: EntryOpener,
    day: {
      importance: readonly Importance[];
      linked: ReadonlyArray<readonly [string, string]>;
      unlinked: ReadonlyArray<readonly [string, string]>;
    },
  ): Promise<number> {
    const notes = new Map<string, { link: Set<string>; unlink: Set<string>; importance?: Importance }>();
    const note = (id: string) => {
      let n = notes.get(id);
      if (!n) {
        n = { link: new Set(), unlink: new Set() };
        notes.set(id, n);
      }
      return n;
    };
    for (const [a, b] of day.unlinked) {
      note(a).unlink.add(b);
      note(b).unlink.add(a);
    }
    for (const [a, b] of day.linked) {
      for (const [x, y] of [
        [a, b],
        [b, a],
      ] as const) {
        note(x).link.add(y);
        note(x).unlink.delete(y);
      }
    }
    for (const i of day.importance) note(i.id).importance = i;
    const list: EntryNote[] = [...notes].map(([id, n]) => ({
      id,
      ...(n.link.size ? { link: [...n.link] } : {}),
      ...(n.unlink.size ? { unlink: [...n.unlink] } : {}),
      ...(n.importance ? { analysis: (current: string) => withImportance(current, n.importance!) } : {}),
    }));
    try {
      if (deps.vault.annotate) return await deps.vault.annotate(userId, list, opener);
      // A vault without batch notes: one update per entry (cheap where an entry is a row).
      let written = 0;
      for (const n of list) {
        try {
          const e = await deps.vault.get(userId, n.id, opener);
          const unlink = new Set(n.unlink ?? []);
          const related = e.related.filter((r) => !unlink.has(r));
          for (const r of n.link ?? []) if (!related.includes(r)) related.push(r);
          const analysis = n.analysis ? n.analysis(e.analysis) : e.analysis;
          if (analysis === e.analysis && related.join() === e.related.join()) continue;
          await deps.vault.update(userId, n.id, { related, analysis }, opener);
          written++;
        } catch (error) {
          if (!(error instanceof MemvaultError) || error.code !== 'NOT_FOUND') throw error;
        }
      }
      return written;
    } catch (error) {
      logger.warn({ userId, err: summary(error) }, 'insights: importance and links not written to the vault');
      return 0;
    }
  }

  async function digest(principal: Principal, options: DigestOptions = {}): Promise<Digest> {
    const profile = await deps.vault.getProfile(principal.userId);
    const tz = profile.timezone;
    const last = options.date === undefined ? today(tz) : checkDay(options.date);
    const first = options.week ? addDays(last, -6) : last;
    const levels = (options.levels ?? [1]).filter((l) => principal.opener.canOpen(l));
    const opener = restrict(principal.opener, levels);
    const from = localDayRange(first, tz).start;
    const to = localDayRange(last, tz).end;
    const read = await deps.vault.read(
      principal.userId,
      { from: from.toISOString(), to: to.toISOString(), order: 'asc' },
      opener,
    );
    const entries = read.entries.filter((e) => levels.includes(e.level));
    const sealed = read.locked + (read.entries.length - entries.length);
    let state: InsightsState | null = null;
    try {
      if (opener.canOpen(1)) state = await deps.store.load(principal.userId, opener);
    } catch (error) {
      logger.warn({ userId: principal.userId, err: summary(error) }, 'insights: stored insights unreadable');
    }
    const features = entries.map((e) => deps.extractor.extract(e, tz));
    const byId = new Map(entries.map((e) => [e.id, e]));
    const importance = scoreImportance(features, {
      before: state ? windowFeatures(state, addDays(first, -1), 30) : [],
      contentLength: (id) => byId.get(id)?.content.length ?? 0,
      exclamations: (id) => (byId.get(id)?.content.match(/!/g) ?? []).length,
    });
    const highlights = importance.slice(0, options.week ? 5 : 3).map((i) => ({
      ...item(byId.get(i.id)!),
      importance: i.score,
    }));
    const patterns = windowPatterns(features, 7);

    // Upcoming: from the end of the period (or now, if later) over the next week, or two after a weekly digest.
    const upFrom = new Date(Math.max(to.getTime(), clock.now().getTime()));
    const upTo = new Date(upFrom.getTime() + (options.week ? 14 : 7) * 86_400_000);
    const upcomingRead = await deps.vault.read(
      principal.userId,
      { dateField: 'eventDate', from: upFrom.toISOString(), to: upTo.toISOString(), order: 'asc', limit: 10 },
      opener,
    );
    const upcoming: UpcomingItem[] = upcomingRead.entries
      .filter((e) => levels.includes(e.level) && e.eventDate)
      .map((e) => ({ ...item(e), eventDate: e.eventDate!, when: formatWhen(e.eventDate!, tz) }));

    // On this day: the same local dates in each of the five years before.
    const onThisDay: Array<DigestItem & { yearsAgo: number }> = [];
    const onThisDayLevels: Array<{ id: string; level: SecurityLevel }> = [];
    for (let years = 1; years <= 5; years++) {
      for (let d = first; d <= last; d = addDays(d, 1)) {
        const earlier = `${Number(d.slice(0, 4)) - years}${d.slice(4)}`;
        if (!isLocalDay(earlier)) continue; // 29 February
        const r = localDayRange(earlier, tz);
        const past = await deps.vault.read(
          principal.userId,
          { from: r.start.toISOString(), to: r.end.toISOString(), order: 'asc', limit: 3 },
          opener,
        );
        for (const e of past.entries) {
          if (!levels.includes(e.level)) continue;
          onThisDay.push({ ...item(e), yearsAgo: years });
          onThisDayLevels.push({ id: e.id, level: e.level });
        }
      }
    }
    const insights = state?.days[last]?.insights ?? [];
    const level = entries.reduce((max, e) => Math.max(max, e.level), 1);
    const levelById = new Map<string, SecurityLevel>();
    for (const e of [...entries, ...upcomingRead.entries]) levelById.set(e.id, e.level);
    for (const o of onThisDayLevels) levelById.set(o.id, o.level);
    const base = {
      kind: options.week ? ('weekly' as const) : ('daily' as const),
      userId: principal.userId,
      from: first,
      to: last,
      timezone: tz,
      memories: entries.length,
      sealed,
      level,
      highlights,
      people: patterns.people,
      places: patterns.places,
      mood: {
        dominant: patterns.moods.find((m) => m.name !== 'neutral')?.name ?? 'neutral',
        valence: features.length ? features.reduce((s, f) => s + f.valence, 0) / features.length : 0,
        moods: patterns.moods,
      },
      upcoming,
      onThisDay: onThisDay.slice(0, 5),
      insights,
    };
    const template = writeDigest(base, { features, byHour: patterns.byHour });
    if (!deps.llm) return { ...base, text: template, author: { by: 'template' } };
    const written = await llmText(principal.userId, base, {
      memories: entries.map((e, i) => ({ id: e.id, level: e.level, features: features[i]! })),
      levelOf: (id) => levelById.get(id) ?? 4,
    });
    return { ...base, text: 'text' in written ? written.text : template, author: written.author };
  }

  /** The digest's text by the LLM, from what the person allows it to read; the reason when not. */
  async function llmText(
    userId: UserId,
    base: Omit<Digest, 'text' | 'author'>,
    read: {
      memories: ReadonlyArray<{ id: string; level: SecurityLevel; features: MemoryFeatures }>;
      levelOf: (id: string) => SecurityLevel;
    },
  ): Promise<{ text: string; author: DigestAuthor } | { author: DigestAuthor }> {
    const llm = deps.llm!;
    let allowed: LlmLevel;
    try {
      allowed = (await loadSettings(userId)).llmLevel;
    } catch (error) {
      logger.warn({ userId, err: summary(error) }, 'insights: settings unreadable, the LLM reads nothing');
      return { author: { by: 'template', fallbackReason: 'settings_unreadable' } };
    }
    const facts =
      allowed === 0
        ? null
        : digestFacts({ digest: base, memories: read.memories, levelOf: read.levelOf, allowed, mask: llm.maskSecrets });
    const started = performance.now();
    const written = await writeWithLlm({ writer: llm.writer, facts, allowed, budgetMs: llm.budgetMs ?? 10_000 });
    const ms = Math.round(performance.now() - started);
    if (written.author.by === 'template') {
      logger.info({ userId, reason: written.author.fallbackReason, ms }, 'insights: digest written by the template');
    } else logger.info({ userId, ms }, 'insights: digest written by the LLM');
    return written;
  }

  return {
    async processDay(userId: UserId, day?: string): Promise<DayResult> {
      const profile = await deps.vault.getProfile(userId);
      const target = day === undefined ? addDays(today(profile.timezone), -1) : checkDay(day);
      // One person's day never runs twice at once: a second call waits for the first and then replaces it.
      return running.run(userId, () => process(userId, target));
    },

    async insights(principal: Principal, day?: string): Promise<InsightsView> {
      if (day !== undefined) checkDay(day);
      const state = await deps.store.load(principal.userId, restrict(principal.opener, [1]));
      const target = day ?? Object.keys(state.days).sort().at(-1) ?? null;
      return { day: target, result: target ? (state.days[target] ?? null) : null };
    },

    async processedDays(userId: UserId): Promise<string[]> {
      const opener = restrict(await deps.levelOneOpener(userId), [1]);
      return Object.keys((await deps.store.load(userId, opener)).days).sort();
    },

    digest,
    llmConfigured: deps.llm !== undefined,

    async settings(principal: Principal): Promise<PersonSettings> {
      return loadSettings(principal.userId);
    },

    async setLlmLevel(principal: Principal, level: number): Promise<PersonSettings> {
      if (level !== 0 && level !== 1 && level !== 2) {
        throw validationError('The LLM level must be 0 (nothing), 1 (everyday memories) or 2 (also confidential).', {
          field: 'level',
        });
      }
      if (!deps.settings) throw new MemvaultError('CONFIG_ERROR', 'Settings are not available in this setup.');
      // Letting an LLM read confidential memories is a choice only someone who can read them may make.
      if (level === 2 && !principal.opener.canOpen(2)) {
        throw new MemvaultError(
          'SECURITY_ERROR',
          `Unlock level ${level} first: only a session that can read those memories may let an LLM read them.`,
          { reason: 'insufficient_permissions' },
        );
      }
      const next: PersonSettings = { llmLevel: level, updatedAt: clock.now().toISOString() };
      await deps.settings.save(principal.userId, next);
      logger.info({ userId: principal.userId, llmLevel: level }, 'insights: LLM level set');
      return next;
    },

    async deliverDay(userId: UserId, day: string): Promise<DigestReady> {
      checkDay(day);
      await running.run(userId, () => process(userId, day));
      const principal: Principal = {
        userId,
        opener: await deps.levelOneOpener(userId),
        meta: { channel: 'api' },
      };
      // The scheduled digest reads level 1 only: it is never more than the run itself could open.
      const event: DigestReady = { userId, day, digest: await digest(principal, { date: day, levels: [1] }) };
      for (const listener of listeners) {
        try {
          await listener(event);
        } catch (error) {
          logger.warn({ userId, day, err: summary(error) }, 'insights: a digest listener failed');
        }
      }
      return event;
    },

    onDigestReady(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },

    async connections(principal: Principal, id: string): Promise<Connection[]> {
      try {
        const state = await deps.store.load(principal.userId, restrict(principal.opener, [1]));
        return state.connections[id.toUpperCase()] ?? [];
      } catch (error) {
        // The reasons are an extra: a damaged or unreadable insights file never hides the related memories.
        logger.warn({ userId: principal.userId, err: summary(error) }, 'insights: connections unreadable');
        return [];
      }
    },
  };
}

/**
 * What a memory's neighbours are looked up by: its names, activities and tags — a few words, since a search
 * costs in proportion to the query's terms — or, when it has none, its opening words.
 */
function neighbourQuery(f: MemoryFeatures, entry: MemoryEntry): string {
  const words = [...new Set([...f.people, ...f.places, ...f.activities, ...entry.tags])].slice(0, 8);
  return words.length > 0 ? words.join(' ') : entry.content.slice(0, 120);
}

function item(e: MemoryEntry): DigestItem {
  return { id: e.id, date: e.date, excerpt: excerpt(e.content) };
}

/** The first sentence or so, cut at a word. */
export function excerpt(text: string, max = 140): string {
  const clean = text.replace(/\s+/g, ' ').trim();
  if (clean.length <= max) return clean;
  const cut = clean.slice(0, max);
  const space = cut.lastIndexOf(' ');
  return `${(space > max / 2 ? cut.slice(0, space) : cut).replace(/[,;:.\s]+$/, '')}…`;
}

function formatWhen(iso: string, timeZone: string): string {
  const d = new Date(iso);
  const date = new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'long', day: 'numeric', month: 'long' }).format(d);
  const time = new Intl.DateTimeFormat('en-US', { timeZone, hour: 'numeric', minute: '2-digit' }).format(d);
  // Midnight usually means the message named a day without a time.
  return time === '12:00 AM' ? date : `${date} at ${time.toLowerCase().replace(' ', '\u00a0')}`;
}

function summary(error: unknown): { code?: string; name?: string } {
  if (error instanceof MemvaultError) return { code: error.code };
  if (error instanceof Error) return { name: error.name };
  return {};
}

export type { MemoryFeatures };
