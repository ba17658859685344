import {
  CATEGORIES,
  type Category,
  categoryLabel,
  isSecurityLevel,
  levelOf,
  type SecurityLevel,
} from '../core/category.js';
import type { MemoryEntry, UserId } from '../core/entry.js';
import { isMemvaultError, MemvaultError, notFound, validationError } from '../core/errors.js';
import { isTimeZone } from '../core/time-zone.js';
import type { Classification, Classifier, CorrectionLearner } from '../ports/classifier.js';
import { type Clock, systemClock } from '../ports/clock.js';
import { type Logger, silentLogger } from '../ports/logger.js';
import type { SearchHit, SearchIndex, SearchQuery } from '../ports/search.js';
import type { AuditLog, AuthService } from '../ports/security.js';
import type {
  DamagedEntry,
  EntryFilter,
  EntryVersion,
  ReadResult,
  TrashedEntry,
  UserProfile,
  Vault,
} from '../ports/vault.js';
import type { MemoryService, MemvaultEvent, Principal, RememberOptions, RememberResult, SignUpInput } from './types.js';
import { correctionAnalysis } from './views.js';

export interface MemoryServiceDeps {
  readonly vault: Vault;
  readonly classifier: Classifier;
  readonly search: SearchIndex;
  readonly auth: AuthService;
  readonly learner?: CorrectionLearner;
  /** Where reads of sealed levels, searches, corrections and deletions are recorded (the person's audit log). */
  readonly audit?: AuditLog;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Longest message accepted, in UTF-8 bytes (default 64 KB). */
  readonly maxContentBytes?: number;
  /**
   * Automatic recovery on read: replaces the damaged entries a read met by intact copies from backups (the
   * reader's opener proves them), returning the ids replaced. Without it a damaged entry is only reported.
   */
  readonly heal?: (principal: Principal, damaged: readonly DamagedEntry[]) => Promise<readonly string[]>;
  /**
   * Runs a change and its audit record as one transaction, when the stores can (PostgreSQL): then a correction
   * or deletion whose audit record cannot be written is not made at all. Without it they are written in turn.
   */
  readonly atomically?: <T>(fn: () => Promise<T>) => Promise<T>;
}

const DAY_MS = 86_400_000;
const EARLIEST_MESSAGE = Date.parse('1900-01-01T00:00:00Z');

/** An unpaired UTF-16 surrogate (a paired one is read as the astral character it encodes). */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * The use cases behind every edge, and the seed's orchestrator (`process_user_message`):
 * classify → policy → seal and append → index → events → a reply for the channel.
 */
export function createMemoryService(deps: MemoryServiceDeps): MemoryService {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? silentLogger;
  const maxBytes = deps.maxContentBytes ?? 65_536;
  const listeners = new Set<(event: MemvaultEvent) => void>();

  /**
   * One audit record for an act on the person's memories: what, at which level, from where; never the text
   * (content, query). `required` records fail the act when they cannot be written (a sealed read must never go
   * unrecorded); the others follow an act already done, so a failure to record it is logged instead.
   */
  const audited = async (
    principal: Principal,
    action:
      | 'memory_read'
      | 'search'
      | 'memory_corrected'
      | 'memory_edited'
      | 'memory_deleted'
      | 'memory_trashed'
      | 'memory_restored',
    level: SecurityLevel | undefined,
    required = false,
    outcome: { result?: 'success' | 'denied'; reason?: string } = {},
  ): Promise<void> => {
    if (!deps.audit) return;
    const { ip, userAgent, deviceId, channel } = principal.meta;
    // The client names who read: an MCP transport, a token's name, or else the channel (web, api, cli).
    const client = principal.client ?? channel;
    try {
      await deps.audit.append(principal.userId, {
        action,
        result: outcome.result ?? 'success',
        ...(outcome.reason ? { reason: outcome.reason } : {}),
        ...(level ? { level } : {}),
        ...(ip ? { ip } : {}),
        ...(userAgent ? { userAgent } : {}),
        ...(deviceId ? { device: deviceId } : {}),
        ...(principal.sessionId ? { session: principal.sessionId } : {}),
        ...(client ? { client } : {}),
      });
    } catch (error) {
      if (required) throw error;
      logger.warn({ userId: principal.userId, action, err: errorSummary(error) }, 'audit record failed');
    }
  };

  /**
   * Reads one entry by id for an act on it. A read refused because its level is locked is recorded as denied
   * (with the level and the client) before the refusal reaches the caller.
   */
  const getFor = async (principal: Principal, id: string): Promise<MemoryEntry> => {
    try {
      return await deps.vault.get(principal.userId, checkId(id), principal.opener);
    } catch (error) {
      if (isMemvaultError(error, 'SECURITY_ERROR')) {
        const level = error.details?.level;
        await audited(principal, 'memory_read', isSecurityLevel(level) ? level : undefined, false, {
          result: 'denied',
          reason: 'level_locked',
        });
      }
      throw error;
    }
  };

  /** One record per sealed level a list or search returned entries of: sealed reads never go unrecorded. */
  const auditSealedReads = async (principal: Principal, entries: readonly MemoryEntry[], act: string) => {
    const counts = new Map<SecurityLevel, number>();
    for (const entry of entries) if (entry.level >= 2) counts.set(entry.level, (counts.get(entry.level) ?? 0) + 1);
    for (const [level, n] of [...counts].sort((a, b) => a[0] - b[0])) {
      await audited(principal, 'memory_read', level, true, { reason: `${act}: ${n} ${n === 1 ? 'entry' : 'entries'}` });
    }
  };

  /** Recovery is a bonus on a read: its own failure is logged, and the read answers as it would have without it. */
  const healQuietly = async (principal: Principal, damaged: readonly DamagedEntry[]): Promise<readonly string[]> => {
    try {
      return (await deps.heal?.(principal, damaged)) ?? [];
    } catch (error) {
      logger.warn({ userId: principal.userId, err: errorSummary(error) }, 'automatic recovery from backups failed');
      return [];
    }
  };

  const emit = (event: MemvaultEvent): void => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        // A consumer's failure (a notifier, the insights job) never fails the write that triggered it.
        logger.warn({ event: event.type, err: errorSummary(error) }, 'event listener failed');
      }
    }
  };

  const checkText = (text: unknown): string => {
    if (typeof text !== 'string') throw validationError('The message must be text.', { field: 'text' });
    if (text.trim().length === 0)
      throw validationError('Nothing to remember: the message is empty.', { field: 'text' });
    if (text.includes('\u0000')) throw validationError('The message contains a NUL character.', { field: 'text' });
    // Refused at the edge rather than stored: an unpaired surrogate is not Unicode text, cannot be sealed, and
    // would be replaced by U+FFFD by any UTF-8 reader. Entries stored before this check still read back as written.
    if (LONE_SURROGATE.test(text)) {
      throw validationError(
        'The message contains a broken character (an unpaired UTF-16 surrogate). Send it as valid Unicode text.',
        { field: 'text' },
      );
    }
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > maxBytes) {
      throw validationError(
        `The message is ${Math.ceil(bytes / 1024)} KB; the limit is ${Math.floor(maxBytes / 1024)} KB. Split it into smaller memories.`,
        { field: 'text', bytes, limit: maxBytes },
      );
    }
    return text;
  };

  const profileOf = async (userId: UserId): Promise<UserProfile> => deps.vault.getProfile(userId);

  /** Indexing is derived work: a failure is logged and repaired by the next rebuild, never lost data. */
  const index = async (userId: UserId, entry: MemoryEntry): Promise<boolean> => {
    try {
      await deps.search.upsert(userId, entry);
      return true;
    } catch (error) {
      logger.warn({ userId, entryId: entry.id, err: errorSummary(error) }, 'index update failed; it will catch up');
      return false;
    }
  };

  const service: MemoryService = {
    async signUp(input: SignUpInput): Promise<UserProfile> {
      // The phone-number metadata loads on the first sign-up, not in every command that reads a vault.
      const { normalizeUserId } = await import('../core/user-id.js');
      const userId = normalizeUserId(input.phone);
      const timezone = input.timezone ?? 'UTC';
      if (!isTimeZone(timezone)) {
        throw validationError(`Unknown time zone "${timezone.slice(0, 60)}". Use an IANA name such as Europe/Lisbon.`, {
          field: 'timezone',
        });
      }
      if (input.name != null && input.name.length > 200) {
        throw validationError('The name is longer than 200 characters.', { field: 'name' });
      }
      // The policy first: a refused password must leave nothing behind. Then the vault folder (created
      // atomically), then the keyring and audit log inside it. A person exists once the keyring does: a sign-up
      // that stopped between the folder and the keyring (a crash, a full disk) left a folder nobody can use,
      // and signing up again finishes it instead of answering CONFLICT for ever.
      let profile: UserProfile;
      if (await deps.vault.hasUser(userId)) {
        if (await deps.auth.isEnrolled(userId)) {
          throw new MemvaultError('CONFLICT', 'A user with this phone number already exists. Sign in instead.');
        }
        if (input.password != null) deps.auth.checkPassword(input.password, { userId, name: input.name ?? null });
        // The profile written by the interrupted attempt is kept: the vault has no profile rewrite, and the
        // number is the same person's.
        profile = await deps.vault.getProfile(userId);
        logger.warn({ userId }, 'finishing a sign-up that stopped before the keyring was created');
      } else {
        if (input.password != null) deps.auth.checkPassword(input.password, { userId, name: input.name ?? null });
        profile = await deps.vault.createUser({
          userId,
          name: input.name ?? null,
          timezone,
          email: input.email ?? null,
        });
      }
      await deps.auth.enroll(userId, input.password ?? null, { name: input.name ?? null });
      logger.info({ userId }, 'user created');
      return profile;
    },

    profile: profileOf,
    updateProfile: (userId, patch) => deps.vault.updateProfile(userId, patch),

    async remember(principal: Principal, rawText: string, options: RememberOptions): Promise<RememberResult> {
      const text = checkText(rawText);
      const at = options.at ?? clock.now();
      if (Number.isNaN(at.getTime())) throw validationError('The message time is not a valid date.', { field: 'at' });
      // A message cannot be written in the future (a day of slack covers clocks and zones) nor before 1900: a
      // date like 9999-12-31 is a slip, and stored it would sit at the top of every timeline for ever.
      if (at.getTime() > clock.now().getTime() + DAY_MS || at.getTime() < EARLIEST_MESSAGE) {
        throw validationError(
          `The message time ${at.toISOString().slice(0, 10)} is not plausible: give when it was written, between 1900 and now.`,
          { field: 'at' },
        );
      }
      const profile = await profileOf(principal.userId);
      const classified = await deps.classifier.classify(text, {
        userId: principal.userId,
        now: at,
        timezone: profile.timezone,
      });
      // A person's explicit choice wins over the classifier; the classifier still supplies tags and dates.
      const category: Category = options.category ?? classified.category;
      const classification: Classification =
        category === classified.category ? classified : { ...classified, category, level: levelOf(category) };
      // Writing never needs more than an authenticated channel (DESIGN §5): the sealer needs only public keys.
      const entry = await deps.vault.append(principal.userId, {
        date: at.toISOString(),
        eventDate: classification.eventDate ?? null,
        category,
        tags: classification.tags,
        content: text,
        analysis: analysisOf(classification),
        confidence: classification.confidence,
        emotionalContext: classification.emotionalContext,
        channel: options.channel,
        externalId: options.externalId ?? null,
      });
      const indexed = await index(principal.userId, entry);
      if (classification.fallbackReason) {
        // Ids and the reason only: the message never reaches a log.
        logger.warn(
          { userId: principal.userId, entryId: entry.id, reason: classification.fallbackReason },
          'LLM classification failed; the local classifier answered',
        );
      }
      emit({ type: 'memory.stored', userId: principal.userId, entryId: entry.id, level: entry.level });
      logger.info(
        { userId: principal.userId, entryId: entry.id, category, source: classification.source, indexed },
        'memory stored',
      );
      return { entry, classification, reply: replyFor(entry), indexed };
    },

    async list(principal: Principal, filter: EntryFilter): Promise<ReadResult> {
      const result = await deps.vault.read(principal.userId, filter, principal.opener);
      let final = result;
      if (deps.heal && result.damaged.some((d) => d.id !== null)) {
        const recovered = await healQuietly(principal, result.damaged);
        // Read again: the replaced entries are now intact and take their place in the page.
        if (recovered.length > 0)
          final = { ...(await deps.vault.read(principal.userId, filter, principal.opener)), recovered };
      }
      await auditSealedReads(principal, final.entries, 'list');
      return final;
    },

    async get(principal: Principal, id: string): Promise<MemoryEntry> {
      let entry: MemoryEntry;
      try {
        entry = await getFor(principal, id);
      } catch (error) {
        if (!deps.heal || !isMemvaultError(error, 'DATA_CORRUPTION')) throw error;
        // A read of one entry knows its id, not its file: ask for it under every category.
        const wanted = checkId(id);
        const damaged = CATEGORIES.map((category) => ({ id: wanted, category, reason: error.message }));
        if (!(await healQuietly(principal, damaged)).includes(wanted)) throw error;
        entry = await deps.vault.get(principal.userId, wanted, principal.opener);
      }
      // Level 1 is readable by any session; opening a sealed level is what the audit log is for.
      if (entry.level >= 2) await audited(principal, 'memory_read', entry.level, true);
      return entry;
    },

    async correct(principal: Principal, id: string, category: Category): Promise<MemoryEntry> {
      const before = await getFor(principal, id);
      if (before.category === category) return before;
      const at = clock.now().toISOString();
      // The person's choice is certain, and "why this category" should say it was theirs, not the classifier's.
      const patch = {
        category,
        analysis: correctionAnalysis(before.category, category, at, before.analysis),
        confidence: 1,
      };
      const after = deps.atomically
        ? await deps.atomically(async () => {
            const changed = await deps.vault.update(principal.userId, before.id, patch, principal.opener);
            await audited(principal, 'memory_corrected', Math.max(before.level, changed.level) as SecurityLevel, true);
            return changed;
          })
        : await deps.vault.update(principal.userId, before.id, patch, principal.opener);
      await deps.learner?.learn({
        userId: principal.userId,
        entryId: before.id,
        text: before.content,
        from: before.category,
        to: category,
        at,
      });
      await index(principal.userId, after);
      if (!deps.atomically) {
        await audited(principal, 'memory_corrected', Math.max(before.level, after.level) as SecurityLevel);
      }
      emit({ type: 'memory.corrected', userId: principal.userId, entryId: after.id, to: category });
      logger.info({ userId: principal.userId, entryId: after.id, from: before.category, to: category }, 'corrected');
      return after;
    },

    async edit(principal: Principal, id: string, rawText: string): Promise<MemoryEntry> {
      const text = checkText(rawText);
      const before = await getFor(principal, id);
      if (text === before.content) return before;
      const profile = await profileOf(principal.userId);
      // The same classifier path as a capture, at the message's own time (so "yesterday" keeps its day).
      const classification = await deps.classifier.classify(text, {
        userId: principal.userId,
        now: new Date(before.date),
        timezone: profile.timezone,
      });
      const patch = {
        content: text,
        category: classification.category,
        tags: classification.tags,
        analysis: analysisOf(classification),
        confidence: classification.confidence,
        emotionalContext: classification.emotionalContext,
        eventDate: classification.eventDate ?? null,
      };
      const edit = () => deps.vault.update(principal.userId, before.id, patch, principal.opener);
      const level = (after: MemoryEntry) => Math.max(before.level, after.level) as SecurityLevel;
      const after = deps.atomically
        ? await deps.atomically(async () => {
            const changed = await edit();
            await audited(principal, 'memory_edited', level(changed), true);
            return changed;
          })
        : await edit();
      await index(principal.userId, after);
      if (!deps.atomically) await audited(principal, 'memory_edited', level(after));
      // Ids and categories only: neither text reaches a log.
      logger.info(
        { userId: principal.userId, entryId: after.id, from: before.category, to: after.category },
        'memory edited',
      );
      return after;
    },

    async versions(principal: Principal, id: string): Promise<EntryVersion[]> {
      const current = await getFor(principal, id);
      if (!deps.vault.versions) return [];
      const versions = await deps.vault.versions(principal.userId, current.id, principal.opener);
      await auditSealedReads(
        principal,
        versions.flatMap((v) => (v.entry ? [v.entry] : [])),
        'versions',
      );
      return versions;
    },

    async delete(
      principal: Principal,
      id: string,
      options: { permanent?: boolean } = {},
    ): Promise<'trashed' | 'erased'> {
      const wanted = checkId(id);
      const trash = deps.vault.trash?.bind(deps.vault);
      let level: SecurityLevel | undefined;
      let outcome: 'trashed' | 'erased';
      if (!options.permanent && trash) {
        const entry = await getFor(principal, wanted);
        level = entry.level;
        outcome = 'trashed';
        const act = () => trash(principal.userId, entry.id, principal.opener);
        if (deps.atomically) {
          await deps.atomically(async () => {
            await act();
            await audited(principal, 'memory_trashed', entry.level, true);
          });
        } else await act();
      } else {
        // A memory already in the trash can be erased for good too; its level comes from the trash listing.
        level = await getFor(principal, wanted).then(
          (entry) => entry.level,
          async (error) => {
            if (!isMemvaultError(error, 'NOT_FOUND') || !deps.vault.listTrash) throw error;
            const inTrash = (await deps.vault.listTrash(principal.userId, principal.opener)).find(
              (t) => t.id === wanted,
            );
            if (!inTrash) throw error;
            return inTrash.level;
          },
        );
        outcome = 'erased';
        const act = () => deps.vault.delete(principal.userId, wanted, principal.opener);
        if (deps.atomically) {
          await deps.atomically(async () => {
            await act();
            await audited(principal, 'memory_deleted', level, true);
          });
        } else await act();
      }
      try {
        await deps.search.remove(principal.userId, wanted);
      } catch (error) {
        logger.warn({ userId: principal.userId, entryId: wanted, err: errorSummary(error) }, 'index removal failed');
      }
      if (!deps.atomically)
        await audited(principal, outcome === 'trashed' ? 'memory_trashed' : 'memory_deleted', level);
      emit({ type: 'memory.deleted', userId: principal.userId, entryId: wanted });
      return outcome;
    },

    async restore(principal: Principal, id: string): Promise<MemoryEntry> {
      const wanted = checkId(id);
      if (!deps.vault.restore) throw notFound(`Memory ${wanted} is not in the trash.`, { id: wanted });
      const entry = await deps.vault.restore(principal.userId, wanted, principal.opener);
      await index(principal.userId, entry);
      await audited(principal, 'memory_restored', entry.level);
      return entry;
    },

    async trash(principal: Principal): Promise<TrashedEntry[]> {
      if (!deps.vault.listTrash) return [];
      const items = await deps.vault.listTrash(principal.userId, principal.opener);
      await auditSealedReads(
        principal,
        items.flatMap((t) => (t.entry ? [t.entry] : [])),
        'trash',
      );
      return items;
    },

    async emptyTrash(principal: Principal): Promise<number> {
      if (!deps.vault.emptyTrash) return 0;
      const items = deps.vault.listTrash ? await deps.vault.listTrash(principal.userId, principal.opener) : [];
      const erased = await deps.vault.emptyTrash(principal.userId, principal.opener);
      for (const item of items) {
        if (!principal.opener.canOpen(item.level)) continue;
        try {
          await deps.search.remove(principal.userId, item.id);
        } catch (error) {
          logger.warn({ userId: principal.userId, entryId: item.id, err: errorSummary(error) }, 'index removal failed');
        }
      }
      if (erased > 0)
        await audited(principal, 'memory_deleted', undefined, false, { reason: `emptied the trash: ${erased}` });
      return erased;
    },

    async related(principal: Principal, id: string): Promise<MemoryEntry[]> {
      const entry = await getFor(principal, id);
      const out: MemoryEntry[] = [];
      for (const relatedId of entry.related) {
        try {
          out.push(await deps.vault.get(principal.userId, relatedId, principal.opener));
        } catch (error) {
          // A related memory at a locked level, or one deleted meanwhile, is simply not shown.
          if (!(error instanceof MemvaultError) || !['SECURITY_ERROR', 'NOT_FOUND'].includes(error.code)) throw error;
        }
      }
      await auditSealedReads(principal, out, 'related');
      return out;
    },

    async search(principal: Principal, query: SearchQuery): Promise<SearchHit[]> {
      if (typeof query.text !== 'string' || query.text.trim().length === 0) {
        throw validationError('The search query is empty.', { field: 'query' });
      }
      if (query.text.length > 1_000) throw validationError('The search query is longer than 1,000 characters.');
      const profile = await profileOf(principal.userId);
      const hits = await deps.search.search(
        principal.userId,
        { ...query, timezone: query.timezone ?? profile.timezone, now: query.now ?? clock.now() },
        principal.opener,
      );
      await audited(principal, 'search', undefined);
      await auditSealedReads(
        principal,
        hits.map((hit) => hit.entry),
        'search',
      );
      emit({ type: 'memory.searched', userId: principal.userId });
      return hits;
    },

    async classify(text: string, userId?: UserId): Promise<Classification> {
      const checked = checkText(text);
      const profile = userId ? await profileOf(userId) : undefined;
      return deps.classifier.classify(checked, {
        ...(userId ? { userId } : {}),
        now: clock.now(),
        timezone: profile?.timezone ?? 'UTC',
      });
    },

    reindex(principal: Principal) {
      return deps.search.rebuild(principal.userId, principal.opener);
    },

    on(listener: (event: MemvaultEvent) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return service;
}

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

function checkId(id: string): string {
  if (typeof id !== 'string' || !ULID.test(id.toUpperCase())) {
    throw notFound('No memory has that id. Ids are 26 characters, e.g. 01JD3Q2X8M4K5N6P7R8S9T0V1W.');
  }
  return id.toUpperCase();
}

/** A confirmation that never repeats the content: it may travel over SMS or a chat network. */
export function replyFor(entry: MemoryEntry): string {
  const where = `Saved to ${categoryLabel(entry.category)}`;
  if (entry.level >= 2) return `${where} · sealed at level ${entry.level}`;
  return entry.tags.length > 0 ? `${where} · tagged ${entry.tags.slice(0, 5).join(', ')}` : where;
}

function errorSummary(error: unknown): { code?: string; name?: string } {
  if (error instanceof MemvaultError) return { code: error.code };
  if (error instanceof Error) return { name: error.name };
  return {};
}

/**
 * The stored analysis: the classifier's reasoning, and when a configured LLM failed (timed out, unreachable,
 * refused, or answered something that is not a classification), that the local classifier answered instead and
 * why — a person reading the entry later sees the LLM was not heard.
 */
export function analysisOf(classification: Classification): string {
  if (!classification.fallbackReason) return classification.reasoning;
  return `${classification.reasoning} [LLM fallback: ${classification.fallbackReason}]`;
}
