import type { SecurityLevel } from '../core/category.js';
import type { UserId } from '../core/entry.js';
import { isMemvaultError, MemvaultError } from '../core/errors.js';
import { isUserId } from '../core/e164.js';
import type { AppNotification, ChannelKind, ChannelSender, OutboundMessage } from '../ports/channels.js';
import { type Clock, systemClock } from '../ports/clock.js';
import type { Digest } from '../ports/insights.js';
import { type Logger, silentLogger } from '../ports/logger.js';
import type { EntryOpener } from '../ports/sealer.js';
import type { MemoryService, Principal } from '../services/types.js';
import { addressTag, type ChannelDb, LINK_TOKEN_TTL_MS } from './channel-db.js';
import type { NotificationStore } from './notifications.js';
import type { ONBOARDING_STEPS, OnboardingStore, OnboardingView } from './onboarding.js';
import { type ChannelLink, type ChannelRegistry, type ChannelSettings, inQuietHours } from './registry.js';
import { render, type TemplateName } from './templates.js';
import { TokenBuckets } from './token-buckets.js';
import type { JobRuns } from '../ports/jobs.js';
import type { LinkIndex } from './link-index.js';

/** /undo reaches back this far. */
export const UNDO_WINDOW_MS = 10 * 60 * 1000;
/** Security alerts per person: a burst of 3, then one every 20 minutes. */
const ALERTS = { capacity: 3, perSecond: 1 / (20 * 60) };
/** Messages per chat: a burst of 20, then 5 a second (more is answered "slow down" and not stored). */
const INBOUND = { capacity: 20, perSecond: 5 };
const SEARCH_RESULTS = 5;
const EXCERPT = 120;

/** One message from a provider, already verified as coming from that provider (signature or secret checked). */
export interface InboundMessage {
  readonly channel: ChannelKind;
  /** The provider's id of this delivery (Telegram update_id, Twilio MessageSid): the idempotency key. */
  readonly providerId: string;
  /** Telegram chat id; the sender's number for WhatsApp/SMS; the recipient token for e-mail. */
  readonly address: string;
  /** The text or caption; null for a message without text (a sticker, a photo without a caption). */
  readonly text: string | null;
  /** An edit of an earlier message: not applied. */
  readonly edited?: boolean;
  /** Telegram: a shared contact, and whether it is the sender's own (contact.user_id === from.id). */
  readonly contact?: { readonly phone: string; readonly ownContact: boolean };
  readonly at?: Date;
}

export type InboundStatus = 'stored' | 'answered' | 'duplicate' | 'rate_limited' | 'ignored';

export interface InboundResult {
  readonly status: InboundStatus;
  readonly reply: OutboundMessage | null;
  /** Telegram: show the "share my phone number" button with the reply. */
  readonly requestContact?: boolean;
}

export interface DeliveryReport {
  readonly notification: AppNotification;
  readonly delivered: ChannelKind[];
  readonly failed: ChannelKind[];
  /** Quiet hours: only the in-app notification was made. */
  readonly deferred: boolean;
}

/** A person's channels as the Settings page shows them. */
export interface ChannelPreferences {
  readonly links: readonly ChannelLink[];
  /** The profile's e-mail address: where e-mail goes (not a link of its own). */
  readonly email: string | null;
  readonly settings: ChannelSettings;
}

/** The job name provider message ids are claimed under in `messageClaims`. */
export const MESSAGE_JOB = 'channel-message';

export interface ChannelServiceDeps {
  readonly memory: MemoryService;
  readonly db: ChannelDb;
  /**
   * Provider message ids claimed across servers (PostgreSQL mode: `mv_job_runs`, one row per id under a unique
   * key). Without it the channel database's `seen` table claims them, which one host shares.
   */
  readonly messageClaims?: JobRuns | undefined;
  /** Chat → person, link tokens and started links shared by every server (PostgreSQL mode); `db`'s without it. */
  readonly links?: LinkIndex | undefined;
  readonly registry: ChannelRegistry;
  readonly notifications: NotificationStore;
  readonly onboarding: OnboardingStore;
  readonly senders: Partial<Record<ChannelKind, ChannelSender>>;
  /** An opener for the levels a messenger may show (level 1, or 1–2 where the person allowed it). */
  readonly opener: (userId: UserId, levels: readonly SecurityLevel[]) => Promise<EntryOpener>;
  /** The insights service's digest (absent: /today says it is not available). */
  readonly digest?: (
    principal: Principal,
    options: { readonly levels: readonly SecurityLevel[]; readonly date?: string },
  ) => Promise<Digest>;
  /** Whether the person has a second factor (TOTP or passkey): the tutorial's two-step step. */
  readonly hasSecondFactor?: (userId: UserId) => Promise<boolean>;
  /** Where sign-up lives, for invitations. */
  readonly publicUrl: string;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

export interface ChannelService {
  /** Inbound message → person → pipeline → reply. Never throws for a person's input; only for storage faults. */
  handle(message: InboundMessage): Promise<InboundResult>;
  /** Renders a template per channel and delivers it to the person's preferred channels and the in-app list. */
  notify(userId: UserId, template: TemplateName, vars?: Readonly<Record<string, string>>): Promise<DeliveryReport>;
  /**
   * Builds the person's level-1 digest of `day` (default today) and delivers it: the insights issue's
   * notification port. Null when no insights service is wired.
   */
  deliverDigest(userId: UserId, day?: string): Promise<DeliveryReport | null>;
  /**
   * A security alert to every channel of the person, quiet hours or not, at most 3 then one per 20 minutes.
   * `what` is a fixed, non-secret description ("a recovery code was used"). Returns false when rate limited.
   */
  alert(userId: UserId, what: string): Promise<boolean>;
  onboarding(userId: UserId): Promise<OnboardingView>;
  skipOnboarding(userId: UserId, skipped: boolean): Promise<OnboardingView>;
  notifications(userId: UserId): Promise<{ items: AppNotification[]; unread: number }>;
  markRead(userId: UserId, id?: string): Promise<AppNotification[]>;
  subscribe(userId: UserId, listener: (item: AppNotification) => void): () => void;
  settings(userId: UserId): Promise<ChannelSettings>;
  updateSettings(userId: UserId, patch: Partial<ChannelSettings>): Promise<ChannelSettings>;
  /** The links, the e-mail address and the settings, for the Settings page. */
  preferences(userId: UserId): Promise<ChannelPreferences>;
  /** Unlinks a messenger: nothing more is sent there or stored from there. False when there was no such link. */
  unlink(userId: UserId, kind: ChannelKind): Promise<boolean>;
  /**
   * Starts linking a Telegram chat from the web: a single-use token for `t.me/<bot>?start=<token>`, valid 15
   * minutes. The chat that opens it is linked once the person shares their own contact with this person's number.
   */
  telegramLinkToken(userId: UserId): Promise<{ token: string; expiresAt: string }>;
  /** Rebuilds the chat-id index from every person's CHANNELS.json (start-up; the index is derived data). */
  rebuildIndex(users: readonly UserId[]): Promise<number>;
  /** The person's secret inbound e-mail token (made on first use); `rotate` replaces it. */
  mailToken(userId: UserId, rotate?: boolean): string;
  close(): Promise<void>;
}

const SMS_STOP = new Set(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT']);
const SMS_START = new Set(['START', 'YES', 'UNSTOP']);
const SMS_HELP = new Set(['HELP', 'INFO']);

type Command =
  | { name: 'start'; payload?: string }
  | { name: 'stop' | 'help' | 'today' | 'undo' }
  | { name: 'search'; words: string }
  | null;

/** Telegram's deep-link start parameter: 1–64 of A–Z, a–z, 0–9, `_` and `-`. */
const START_PAYLOAD = /^[A-Za-z0-9_-]{1,64}$/;

function commandOf(text: string): Command {
  const t = text.trim();
  const upper = t.toUpperCase();
  if (SMS_STOP.has(upper)) return { name: 'stop' };
  if (SMS_START.has(upper)) return { name: 'start' };
  if (SMS_HELP.has(upper)) return { name: 'help' };
  // "/search@memvault_bot words" in groups; the bot name is dropped.
  const m = /^\/(start|stop|help|today|undo|search)(?:@\w+)?(?:\s+([\s\S]*))?$/i.exec(t);
  if (!m) return null;
  const name = m[1]!.toLowerCase() as 'start' | 'stop' | 'help' | 'today' | 'undo' | 'search';
  if (name === 'search') return { name, words: (m[2] ?? '').trim() };
  // "/start <token>": Telegram's deep link t.me/<bot>?start=<token> (a link started on the web).
  if (name === 'start') {
    const payload = (m[2] ?? '').trim();
    return payload ? { name, payload } : { name };
  }
  return { name };
}

/** The phone-number metadata loads with the first number a channel has to read, not in every command. */
const normalizeUserId = async (input: string): Promise<UserId> =>
  (await import('../core/user-id.js')).normalizeUserId(input);

/** Telegram sends numbers without the plus sign ("447700900123"). */
async function phoneFromContact(raw: string): Promise<UserId | null> {
  const digits = raw.trim().startsWith('+') ? raw.trim() : `+${raw.trim()}`;
  try {
    return await normalizeUserId(digits);
  } catch {
    return null;
  }
}

function excerpt(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length <= EXCERPT ? one : `${one.slice(0, EXCERPT - 1)}…`;
}

const plain = (text: string): OutboundMessage => ({ purpose: 'reply', subject: 'memvault', text });

export function createChannelService(deps: ChannelServiceDeps): ChannelService {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? silentLogger;
  const links: LinkIndex = deps.links ?? deps.db;
  const inbound = new TokenBuckets(INBOUND, clock);
  const alerts = new TokenBuckets(ALERTS, clock);
  const inflight = new Map<string, Promise<InboundResult>>();
  let lastPrune = 0;

  // Tutorial steps are recorded beside the act that earned them; `close` waits for them, so a command that
  // ends right after its memory was stored never leaves a half-written record or a held lock behind.
  const marking = new Set<Promise<void>>();
  const track = (work: Promise<void>) => {
    marking.add(work);
    void work.finally(() => marking.delete(work));
  };
  const stopMemoryEvents = deps.memory.on((event) => {
    if (event.type === 'memory.stored') track(mark(event.userId, 'first_memory'));
    if (event.type === 'memory.searched') track(mark(event.userId, 'first_search'));
  });

  async function mark(userId: UserId, step: (typeof ONBOARDING_STEPS)[number]): Promise<void> {
    try {
      await deps.onboarding.mark(userId, step, clock.now());
    } catch (error) {
      // The tutorial is a courtesy: its failure never fails the message that triggered it.
      logger.warn({ userId, step, code: isMemvaultError(error) ? error.code : 'unknown' }, 'onboarding not updated');
    }
  }

  async function exists(userId: UserId): Promise<boolean> {
    try {
      await deps.memory.profile(userId);
      return true;
    } catch (error) {
      if (isMemvaultError(error, 'NOT_FOUND')) return false;
      throw error;
    }
  }

  async function levelsFor(userId: UserId, channel: ChannelKind): Promise<SecurityLevel[]> {
    const doc = await deps.registry.get(userId);
    return doc.settings.level2.includes(channel) ? [1, 2] : [1];
  }

  async function principalFor(userId: UserId, channel: ChannelKind): Promise<Principal> {
    const levels = await levelsFor(userId, channel);
    return { userId, opener: await deps.opener(userId, levels), meta: { channel } };
  }

  async function progressLine(userId: UserId): Promise<string> {
    const view = await onboardingView(userId);
    if (view.next === null) return 'all steps done';
    const step = view.steps.find((s) => s.id === view.next);
    return `${view.completed} of ${view.total} steps done; next: ${step?.title ?? view.next}`;
  }

  async function onboardingView(userId: UserId): Promise<OnboardingView> {
    if (deps.hasSecondFactor && (await deps.hasSecondFactor(userId))) await mark(userId, 'two_factor');
    return deps.onboarding.view(userId);
  }

  async function send(kind: ChannelKind, address: string, message: OutboundMessage): Promise<boolean> {
    const sender = deps.senders[kind];
    if (!sender) return false;
    try {
      await sender.send(address, message);
      return true;
    } catch (error) {
      logger.warn(
        { channel: kind, to: addressTag(address), code: isMemvaultError(error) ? error.code : 'unknown' },
        'outbound message failed',
      );
      return false;
    }
  }

  async function linkVerified(userId: UserId, kind: ChannelKind, address: string): Promise<OutboundMessage> {
    await deps.registry.link(userId, kind, address, true, clock.now());
    await links.setLink(kind, address, userId);
    await mark(userId, 'link_channel');
    logger.info({ userId, channel: kind }, 'channel linked');
    const profile = await deps.memory.profile(userId);
    const locale = (await deps.registry.get(userId)).settings.locale;
    if (await deps.onboarding.claimWelcome(userId, kind)) {
      return render('welcome', { who: profile.name ? `, ${profile.name}` : '' }, { locale, channel: kind });
    }
    return render('linked', {}, { locale, channel: kind });
  }

  /** The person a deep-link token was issued to (the token is used up), or null. */
  async function linkTokenOwner(payload: string): Promise<UserId | null> {
    if (!START_PAYLOAD.test(payload)) return null;
    return links.takeLinkToken(payload, 'telegram', clock.now().getTime());
  }

  /** Telegram: /start (with the web's link token or without) and the contact share. */
  async function telegramUnlinked(message: InboundMessage): Promise<InboundResult> {
    const cmd = message.text === null ? null : commandOf(message.text);
    if (cmd?.name === 'start' && cmd.payload !== undefined) {
      const owner = await linkTokenOwner(cmd.payload);
      if (!owner) {
        return {
          status: 'answered',
          reply: plain(
            'This link has expired or was already used. Open Settings → Channels in memvault for a new one, or share your phone number with the button below.',
          ),
          requestContact: true,
        };
      }
      // The token says who started the link on the web; the contact share still proves the number.
      await links.setPendingLink('telegram', message.address, owner, clock.now().getTime() + LINK_TOKEN_TTL_MS);
      return {
        status: 'answered',
        reply: plain(
          'Almost linked: tap "Share my phone number" below, so I can check it is the number of your memvault account.',
        ),
        requestContact: true,
      };
    }
    if (message.contact) {
      if (!message.contact.ownContact) {
        return {
          status: 'answered',
          reply: plain('Please share your own contact with the button below.'),
          requestContact: true,
        };
      }
      const userId = await phoneFromContact(message.contact.phone);
      const started = await links.takePendingLink('telegram', message.address, clock.now().getTime());
      if (started && started !== userId) {
        logger.warn({ userId: started, channel: 'telegram' }, 'web link refused: the shared number is another one');
        return {
          status: 'answered',
          reply: plain(
            'This Telegram account’s phone number is not the one of the memvault account that opened the link, so nothing was linked. Sign in to memvault with this number and open the link again.',
          ),
        };
      }
      if (!userId || !(await exists(userId))) {
        return { status: 'answered', reply: render('invite', { url: deps.publicUrl }) };
      }
      // Telegram verified the number, and it belongs to the sender (contact.user_id === from.id).
      return { status: 'answered', reply: await linkVerified(userId, 'telegram', message.address) };
    }
    return {
      status: 'answered',
      reply: plain(
        'To link this chat to your memvault, share your phone number with the button below. Nothing is saved until then.',
      ),
      requestContact: true,
    };
  }

  /** WhatsApp/SMS from a registered number whose link is not verified yet: a one-time code first. */
  async function verifyNumber(userId: UserId, message: InboundMessage): Promise<InboundResult> {
    const now = clock.now().getTime();
    const text = (message.text ?? '').trim();
    if (/^\d{6}$/.test(text) && deps.db.hasPendingCode(userId, message.channel, now)) {
      const check = deps.db.checkCode(userId, message.channel, message.address, text, now);
      if (check === 'ok')
        return { status: 'answered', reply: await linkVerified(userId, message.channel, message.address) };
      const why =
        check === 'too_many'
          ? 'Too many wrong codes. Send any message to get a new one.'
          : check === 'expired'
            ? 'That code has expired. Send any message to get a new one.'
            : 'That code is not right. Check the last code we sent and try again.';
      return { status: 'answered', reply: plain(why) };
    }
    const code = deps.db.issueCode(userId, message.channel, message.address, now);
    if (code === null) {
      return {
        status: 'answered',
        reply: plain('Three codes were sent in the last hour. Wait a while, then try again.'),
      };
    }
    // Sent through the provider's REST API to the number itself: a forged sender never sees it.
    const sent = await send(message.channel, message.address, render('code', { code }));
    if (!sent) return { status: 'answered', reply: plain('We could not send a code right now. Try again later.') };
    return { status: 'answered', reply: render('code_prompt') };
  }

  async function command(userId: UserId, message: InboundMessage, cmd: NonNullable<Command>): Promise<InboundResult> {
    const kind = message.channel;
    const answered = (reply: OutboundMessage): InboundResult => ({ status: 'answered', reply });
    switch (cmd.name) {
      case 'stop':
        await deps.registry.setStopped(userId, kind, true);
        logger.info({ userId, channel: kind }, 'channel stopped');
        return answered(render('stopped'));
      case 'start': {
        // A web link opened in a chat that is already linked: only its own person's token is welcome here.
        const owner = cmd.payload !== undefined && kind === 'telegram' ? await linkTokenOwner(cmd.payload) : null;
        if (owner && owner !== userId) {
          return answered(plain('This Telegram chat is already linked to another memvault account; nothing changed.'));
        }
        await deps.registry.setStopped(userId, kind, false);
        return answered(render(owner ? 'linked' : 'started'));
      }
      case 'help':
        return answered(render('help', { progress: await progressLine(userId) }));
      case 'today': {
        if (!deps.digest) return answered(plain('The digest is not available on this server.'));
        const digest = await deps.digest(await principalFor(userId, kind), { levels: [1] });
        await mark(userId, 'first_digest_read');
        return answered(plain(digest.text));
      }
      case 'undo': {
        const id = deps.db.takeLastStored(userId, kind, clock.now().getTime(), UNDO_WINDOW_MS);
        if (!id) return answered(plain('Nothing to undo: /undo works on the last message within 10 minutes.'));
        try {
          await deps.memory.delete(await principalFor(userId, kind), id);
        } catch (error) {
          if (isMemvaultError(error, 'SECURITY_ERROR')) {
            return answered(plain('That memory is sealed; delete it in the web app after unlocking its level.'));
          }
          if (isMemvaultError(error, 'NOT_FOUND')) return answered(plain('That memory is already gone.'));
          throw error;
        }
        return answered(plain('Done: your last message was forgotten.'));
      }
      case 'search': {
        if (cmd.words.length === 0) return answered(plain('Write what to look for: /search hiking with Sara'));
        const levels = await levelsFor(userId, kind);
        const principal = await principalFor(userId, kind);
        let hits: Awaited<ReturnType<MemoryService['search']>>;
        try {
          hits = await deps.memory.search(principal, {
            text: cmd.words.slice(0, 1_000),
            limit: SEARCH_RESULTS,
            levels,
          });
        } catch (error) {
          if (isMemvaultError(error, 'VALIDATION_ERROR')) return answered(plain(error.message));
          throw error;
        }
        await mark(userId, 'first_search');
        // The index only opens what the opener holds; this keeps the rule even if an index ever returned more.
        const shown = hits.filter((h) => levels.includes(h.entry.level)).slice(0, SEARCH_RESULTS);
        if (shown.length === 0) return answered(plain('Nothing found at the levels this chat may show.'));
        const lines = shown.map((h) => `• ${h.entry.date.slice(0, 10)} — ${excerpt(h.entry.content)}`);
        return answered(plain(lines.join('\n')));
      }
    }
  }

  async function process(message: InboundMessage): Promise<InboundResult> {
    const kind = message.channel;
    let userId: UserId | null;
    if (kind === 'email') {
      // The secret address is the link; e-mail only stores (no commands, no STOP: unlink by a new address).
      userId = deps.db.mailTokenOwner(message.address);
      if (!userId) return { status: 'ignored', reply: null };
      if (message.text === null || message.text.trim().length === 0)
        return { status: 'answered', reply: render('empty') };
      return store(userId, message, message.text);
    }
    if (kind === 'telegram') {
      userId = await links.personOf(kind, message.address);
      if (!userId) return telegramUnlinked(message);
    } else {
      try {
        userId = await normalizeUserId(message.address);
      } catch {
        return { status: 'ignored', reply: null };
      }
      if (!(await exists(userId))) return { status: 'answered', reply: render('invite', { url: deps.publicUrl }) };
    }
    const doc = await deps.registry.get(userId);
    const link = doc.links.find((l) => l.kind === kind && l.address === message.address);
    const cmd = message.text === null ? null : commandOf(message.text);
    // STOP/START/HELP are honoured for SMS and WhatsApp even before the number is verified (carrier rules).
    if (link?.stopped) {
      if (cmd?.name === 'start') return command(userId, message, cmd);
      if (cmd?.name === 'help') return command(userId, message, cmd);
      return { status: 'ignored', reply: null };
    }
    if (cmd?.name === 'stop' && (kind === 'sms' || kind === 'whatsapp') && !link) {
      await deps.registry.link(userId, kind, message.address, false, clock.now());
      await deps.registry.setStopped(userId, kind, true);
      return { status: 'answered', reply: render('stopped') };
    }
    if (!link?.verified) {
      if (kind === 'telegram') return telegramUnlinked(message);
      if (cmd?.name === 'help') return command(userId, message, cmd);
      return verifyNumber(userId, message);
    }
    if (message.contact) return { status: 'answered', reply: render('linked') };
    if (cmd) return command(userId, message, cmd);
    if (message.edited) return { status: 'answered', reply: render('edited') };
    if (message.text === null) return { status: 'answered', reply: render('unsupported') };
    if (message.text.trim().length === 0) return { status: 'answered', reply: render('empty') };
    return store(userId, message, message.text);
  }

  async function store(userId: UserId, message: InboundMessage, text: string): Promise<InboundResult> {
    const kind = message.channel;
    try {
      const result = await deps.memory.remember(
        { userId, opener: await deps.opener(userId, [1]), meta: { channel: kind } },
        text,
        { channel: kind, ...(message.at ? { at: message.at } : {}), externalId: `${kind}:${message.providerId}` },
      );
      deps.db.setLastStored(userId, kind, result.entry.id, clock.now().getTime());
      // memory-service's reply: the category and tags for level 1, "sealed at level N" above it — never content.
      return { status: 'stored', reply: plain(result.reply) };
    } catch (error) {
      // Too long, or otherwise not storable: the person's own mistake, told to them; nothing stored.
      if (isMemvaultError(error, 'VALIDATION_ERROR')) return { status: 'answered', reply: plain(error.message) };
      throw error;
    }
  }

  async function handleOnce(message: InboundMessage, key: string): Promise<InboundResult> {
    const now = clock.now().getTime();
    if (now - lastPrune > 60 * 60 * 1000) {
      lastPrune = now;
      deps.db.prune(now);
    }
    const shared = deps.messageClaims;
    if (shared) {
      // One INSERT … ON CONFLICT on (job, key): of two servers given the same provider id, one wins. 'busy' is
      // the same message being handled by another server right now; its answer goes to the provider, and if it
      // fails, its release lets the provider's next retry through.
      const claim = await shared.claim(MESSAGE_JOB, key);
      if (claim !== 'run') return { status: 'duplicate', reply: null };
    } else if (deps.db.claim(key, now) === 'done') return { status: 'duplicate', reply: null };
    // A claim without `done` is a message whose handling died with the process: handled again now.
    const finish = () => (shared ? shared.finish(MESSAGE_JOB, key) : deps.db.finish(key));
    const release = () => (shared ? shared.release(MESSAGE_JOB, key) : deps.db.release(key));
    const bucket = `${message.channel}:${message.address}`;
    if (!inbound.take(bucket)) {
      await release(); // the provider's retry (or the person's resend) is then handled normally
      return { status: 'rate_limited', reply: render('slow_down') };
    }
    let result: InboundResult;
    try {
      result = await process(message);
    } catch (error) {
      await release();
      throw error;
    }
    await finish();
    return result;
  }

  return {
    async handle(message) {
      const key = `${message.channel}:${message.providerId}`;
      // A retry that arrives while the first delivery is still being handled waits for it and stores nothing.
      const running = inflight.get(key);
      if (running) {
        await running.catch(() => undefined);
        return { status: 'duplicate', reply: null };
      }
      const work = handleOnce(message, key);
      inflight.set(key, work);
      try {
        return await work;
      } finally {
        inflight.delete(key);
      }
    },

    async notify(userId, template, vars = {}) {
      const profile = await deps.memory.profile(userId);
      const doc = await deps.registry.get(userId);
      const locale = doc.settings.locale;
      const inapp = render(template, vars, { locale, channel: 'inapp' });
      const notification = await deps.notifications.add(userId, inapp, clock.now());
      const urgent = inapp.purpose === 'alert' || inapp.purpose === 'code';
      if (!urgent && inQuietHours(doc.settings, clock.now(), profile.timezone)) {
        return { notification, delivered: [], failed: [], deferred: true };
      }
      // Security alerts follow their own choice (all channels by default), the rest follow `notify`.
      const chosen = inapp.purpose === 'alert' ? doc.settings.alerts : doc.settings.notify;
      const wanted = (k: ChannelKind) => chosen === null || chosen.includes(k);
      const targets: Array<[ChannelKind, string]> = doc.links
        .filter((l) => l.verified && !l.stopped && l.kind !== 'email' && wanted(l.kind))
        .map((l) => [l.kind, l.address]);
      if (profile.email && wanted('email')) targets.push(['email', profile.email]);
      const delivered: ChannelKind[] = [];
      const failed: ChannelKind[] = [];
      for (const [kind, address] of targets) {
        if (!deps.senders[kind]) continue;
        const ok = await send(kind, address, render(template, vars, { locale, channel: kind }));
        (ok ? delivered : failed).push(kind);
      }
      return { notification, delivered, failed, deferred: false };
    },

    async deliverDigest(userId, day) {
      if (!deps.digest) return null;
      // Level 1 only, whatever the channel settings: a digest travels to every channel and the in-app list.
      const digest = await deps.digest(
        { userId, opener: await deps.opener(userId, [1]), meta: {} },
        { levels: [1], ...(day ? { date: day } : {}) },
      );
      return this.notify(userId, 'digest', { day: digest.to, digest: digest.text });
    },

    async alert(userId, what) {
      if (!isUserId(userId))
        throw new MemvaultError('VALIDATION_ERROR', 'Not a person id.', { details: { field: 'userId' } });
      if (!alerts.take(userId)) {
        logger.warn({ userId }, 'security alert not sent: rate limited');
        return false;
      }
      await this.notify(userId, 'alert', {
        what,
        at: clock.now().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
      });
      return true;
    },

    onboarding: onboardingView,
    async skipOnboarding(userId, skipped) {
      return deps.onboarding.setSkipped(userId, skipped);
    },

    async notifications(userId) {
      // The in-app welcome is the first notification of a person who signed up on the web.
      if (await deps.onboarding.claimWelcome(userId, 'inapp')) {
        const profile = await deps.memory.profile(userId);
        await deps.notifications.add(
          userId,
          render('welcome', { who: profile.name ? `, ${profile.name}` : '' }),
          clock.now(),
        );
      }
      return deps.notifications.list(userId);
    },
    async markRead(userId, id) {
      const marked = await deps.notifications.markRead(userId, id);
      if (marked.some((n) => n.purpose === 'digest')) await mark(userId, 'first_digest_read');
      return marked;
    },
    subscribe: (userId, listener) => deps.notifications.subscribe(userId, listener),
    settings: async (userId) => (await deps.registry.get(userId)).settings,
    updateSettings: (userId, patch) => deps.registry.updateSettings(userId, patch),

    async preferences(userId) {
      const [doc, profile] = await Promise.all([deps.registry.get(userId), deps.memory.profile(userId)]);
      return { links: doc.links, email: profile.email ?? null, settings: doc.settings };
    },

    async unlink(userId, kind) {
      const gone = await deps.registry.unlink(userId, kind);
      if (!gone) return false;
      // Only this person's entry: the address may since have been linked by someone else.
      if ((await links.personOf(kind, gone.address)) === userId) await links.removeLink(kind, gone.address);
      logger.info({ userId, channel: kind }, 'channel unlinked');
      return true;
    },

    async telegramLinkToken(userId) {
      if (!isUserId(userId))
        throw new MemvaultError('VALIDATION_ERROR', 'Not a person id.', { details: { field: 'userId' } });
      const { token, expires } = await links.issueLinkToken(userId, 'telegram', clock.now().getTime());
      return { token, expiresAt: new Date(expires).toISOString() };
    },

    mailToken(userId, rotate = false) {
      if (!isUserId(userId))
        throw new MemvaultError('VALIDATION_ERROR', 'Not a person id.', { details: { field: 'userId' } });
      return deps.db.mailToken(userId, rotate);
    },

    async rebuildIndex(users) {
      let count = 0;
      for (const userId of users) {
        for (const link of (await deps.registry.get(userId)).links) {
          if (!link.verified) continue;
          await links.setLink(link.kind, link.address, userId);
          count++;
        }
      }
      return count;
    },

    async close() {
      stopMemoryEvents();
      await Promise.allSettled([...marking]);
      deps.db.close();
    },
  };
}
