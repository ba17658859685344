import type { UserId } from '../core/entry.js';
import type { SecurityLevel } from '../core/category.js';
import { ChannelDb } from '../channels/channel-db.js';
import { SharedLinkIndex } from '../channels/link-index.js';
import { NotificationStore } from '../channels/notifications.js';
import { OnboardingStore } from '../channels/onboarding.js';
import { ChannelRegistry } from '../channels/registry.js';
import { type ChannelService, createChannelService } from '../channels/service.js';
import type { TelegramChannel } from '../channels/telegram.js';
import type { TwilioKind } from '../channels/twilio.js';
import { notFound } from '../core/errors.js';
import {
  CHANNEL_KINDS,
  type ChannelHealth,
  type ChannelKind,
  type ChannelPreferencesView,
  type ChannelSender,
  type ChannelsHttp,
} from '../ports/channels.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { EntryOpener } from '../ports/sealer.js';
import type { AuditLog } from '../ports/security.js';
import type { DocumentStore } from '../ports/documents.js';
import type { JobRuns } from '../ports/jobs.js';
import { documentsOf } from '../security/file-documents.js';
import type { InsightsService } from '../services/insights-service.js';
import type { MemoryService } from '../services/types.js';
import type { Config } from './config.js';

/** Where the providers' APIs are: the real ones by default; tests point them at loopback stand-ins. */
export interface ChannelEndpoints {
  readonly telegramApiRoot?: string;
  readonly twilioApiBase?: string;
  readonly smtpAllowSelfSigned?: boolean;
}

export type LazyTelegram = Pick<TelegramChannel, 'webhook' | 'startPolling' | 'stop' | 'username'>;
export interface LazyTwilio {
  webhook(kind: TwilioKind, request: Request): Promise<Response>;
}

/** The channels of one memvault: the service, the configured providers, and their status. */
export interface Channels {
  readonly service: ChannelService;
  readonly telegram: LazyTelegram | null;
  readonly twilio: LazyTwilio | null;
  /** Which channel kinds this server has configured (nothing is contacted to tell). */
  readonly configured: Readonly<Record<ChannelKind, boolean>>;
  /** Each channel kind: configured, and reachable right now (`memvault channels status`). */
  status(): Promise<Record<ChannelKind, ChannelHealth>>;
  /**
   * Alerts the person's channels (rate limited). For fixed, non-secret descriptions only: "a recovery code was
   * used". The backup helper's recovery kit calls it.
   */
  alerts(userId: UserId, what: string): Promise<boolean>;
  /** The person's inbound address `<secret>@<domain>` (made on first use), or null when inbound mail is off. */
  mailAddress(userId: UserId, rotate?: boolean): string | null;
  /**
   * Long polling, when Telegram is configured without a webhook secret, and the inbound SMTP server when
   * configured (a server only, never the CLI).
   */
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface ChannelsDeps {
  readonly config: Config;
  readonly memory: MemoryService;
  readonly insights: InsightsService;
  readonly audit: AuditLog;
  readonly listUsers: () => Promise<UserId[]>;
  readonly opener: (userId: UserId, levels: readonly SecurityLevel[]) => Promise<EntryOpener>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly endpoints?: ChannelEndpoints;
  /** Where the per-person channel documents live (PostgreSQL mode's store); the data dir's files without it. */
  readonly documents?: DocumentStore | undefined;
  /** Claims of provider message ids shared by every server (PostgreSQL mode); the channel database's without it. */
  readonly messageClaims?: JobRuns | undefined;
}

const NOT_SET: Record<ChannelKind, string> = {
  telegram: 'not configured (set MEMVAULT_TELEGRAM_BOT_TOKEN)',
  whatsapp: 'not configured (set MEMVAULT_TWILIO_ACCOUNT_SID, MEMVAULT_TWILIO_AUTH_TOKEN, MEMVAULT_TWILIO_FROM)',
  sms: 'not configured (set MEMVAULT_TWILIO_ACCOUNT_SID, MEMVAULT_TWILIO_AUTH_TOKEN, MEMVAULT_TWILIO_FROM)',
  email: 'not configured (set MEMVAULT_SMTP_URL and MEMVAULT_MAIL_FROM)',
};

/** Wires the channel stores and the configured providers. With nothing configured only in-app notifications work. */
export function createChannels(deps: ChannelsDeps): Channels {
  const { config, logger } = deps;
  const cfg = config.channels ?? { telegram: null, twilio: null, smtp: null };
  // Links, preferences, onboarding and notifications: files in file mode, rows shared by every server in PostgreSQL.
  const files = documentsOf({ dataDir: config.dataDir, documents: deps.documents });
  // The provider libraries (twilio alone takes over a second to load) load on first use, not in every command.
  const loadTelegram = cfg.telegram
    ? once(async () => {
        const { createTelegramChannel } = await import('../channels/telegram.js');
        const channel = createTelegramChannel({
          token: cfg.telegram!.token,
          ...(cfg.telegram!.webhookSecret ? { webhookSecret: cfg.telegram!.webhookSecret } : {}),
          ...(deps.endpoints?.telegramApiRoot ? { apiRoot: deps.endpoints.telegramApiRoot } : {}),
          logger,
        });
        channel.attach(service);
        return channel;
      })
    : null;
  const loadTwilio = cfg.twilio
    ? once(async () => {
        const { createTwilioChannel } = await import('../channels/twilio.js');
        const channel = createTwilioChannel({
          ...cfg.twilio!,
          publicUrl: config.publicUrl,
          ...(deps.endpoints?.twilioApiBase ? { apiBase: deps.endpoints.twilioApiBase } : {}),
          logger,
        });
        channel.attach(service);
        return channel;
      })
    : null;
  const loadEmail = cfg.smtp
    ? once(async () => {
        const { createEmailSender } = await import('../channels/email.js');
        return createEmailSender({
          smtpUrl: cfg.smtp!.url,
          from: cfg.smtp!.from,
          ...(deps.endpoints?.smtpAllowSelfSigned ? { allowSelfSigned: true } : {}),
        });
      })
    : null;
  const lazySender = (kind: ChannelKind, load: () => Promise<ChannelSender>): ChannelSender => ({
    kind,
    send: async (address, message) => (await load()).send(address, message),
    health: async () => (await load()).health(),
  });
  const senders: Partial<Record<ChannelKind, ChannelSender>> = {
    ...(loadTelegram ? { telegram: lazySender('telegram', async () => (await loadTelegram()).sender) } : {}),
    ...(loadTwilio
      ? {
          sms: lazySender('sms', async () => (await loadTwilio()).sms),
          whatsapp: lazySender('whatsapp', async () => (await loadTwilio()).whatsapp),
        }
      : {}),
    ...(loadEmail ? { email: lazySender('email', loadEmail) } : {}),
  };
  const telegram: LazyTelegram | null = loadTelegram
    ? {
        webhook: async (request) => (await loadTelegram()).webhook(request),
        startPolling: async () => (await loadTelegram()).startPolling(),
        username: async () => (await loadTelegram()).username(),
        stop: async () => {
          if (loadTelegram.loaded) await (await loadTelegram()).stop();
        },
      }
    : null;
  const twilio: LazyTwilio | null = loadTwilio
    ? { webhook: async (kind, request) => (await loadTwilio()).webhook(kind, request) }
    : null;
  const db = new ChannelDb(config.dataDir);
  const service = createChannelService({
    memory: deps.memory,
    db,
    messageClaims: deps.messageClaims,
    // With a shared store (PostgreSQL mode) chats, link tokens and started links are found by every server.
    ...(deps.documents ? { links: new SharedLinkIndex(deps.documents) } : {}),
    registry: new ChannelRegistry(files),
    notifications: new NotificationStore(files),
    onboarding: new OnboardingStore(files),
    senders,
    opener: deps.opener,
    digest: (principal, options) => deps.insights.digest(principal, options),
    // Two-step verification is set up once a TOTP enrolment or a passkey registration succeeded.
    hasSecondFactor: async (userId) => {
      const records = await deps.audit.list(userId, { limit: 500 });
      return records.some(
        (r) => r.result === 'success' && (r.action === 'totp_enroll' || r.action.startsWith('passkey_register')),
      );
    },
    publicUrl: config.publicUrl,
    clock: deps.clock,
    logger,
  });
  const inbound = cfg.inboundMail ?? null;
  let mailServer: { close(): Promise<void> } | null = null;
  let indexed = false;
  const ensureIndex = async () => {
    if (indexed) return;
    indexed = true;
    const links = await service.rebuildIndex(await deps.listUsers());
    logger.info({ links }, 'channel links indexed');
  };
  return {
    service,
    telegram,
    twilio,
    configured: Object.fromEntries(CHANNEL_KINDS.map((k) => [k, senders[k] !== undefined])) as Record<
      ChannelKind,
      boolean
    >,
    async status() {
      const health = async (kind: ChannelKind): Promise<ChannelHealth> =>
        senders[kind] ? senders[kind].health() : { configured: false, reachable: false, detail: NOT_SET[kind] };
      const [t, w, s, e] = await Promise.all([health('telegram'), health('whatsapp'), health('sms'), health('email')]);
      return { telegram: t, whatsapp: w, sms: s, email: e };
    },
    alerts: (userId, what) => service.alert(userId, what),
    mailAddress: (userId, rotate = false) =>
      inbound ? `${service.mailToken(userId, rotate)}@${inbound.domain}` : null,
    async start() {
      await ensureIndex();
      if (inbound && !mailServer) {
        const { createInboundMail } = await import('../channels/email-inbound.js');
        const server = createInboundMail({
          ...inbound,
          service,
          knows: (token) => db.mailTokenOwner(token) !== null,
          logger,
        });
        const port = await server.start();
        mailServer = server;
        logger.info({ host: inbound.host, port, domain: inbound.domain }, 'inbound mail listening');
      }
      if (telegram && !cfg.telegram?.webhookSecret) await telegram.startPolling();
    },
    async close() {
      await mailServer?.close();
      mailServer = null;
      await telegram?.stop();
      if (loadEmail?.loaded) (await loadEmail()).close();
      await service.close();
    },
  };
}

/** Runs `load` on the first call only; `loaded` says whether it has been called. */
function once<T>(load: () => Promise<T>): (() => Promise<T>) & { readonly loaded: boolean } {
  let promise: Promise<T> | undefined;
  const fn = () => {
    promise ??= load();
    return promise;
  };
  return Object.defineProperty(fn, 'loaded', { get: () => promise !== undefined }) as (() => Promise<T>) & {
    readonly loaded: boolean;
  };
}

/** The HTTP edge's view of the channels. */
export function channelsHttp(channels: Channels): ChannelsHttp {
  const s = channels.service;
  const telegram = channels.telegram;
  const twilio = channels.twilio;
  const preferences = async (userId: UserId): Promise<ChannelPreferencesView> => ({
    ...(await s.preferences(userId)),
    mailAddress: channels.mailAddress(userId),
    available: channels.configured,
  });
  return {
    ...(telegram ? { telegramWebhook: (request: Request) => telegram.webhook(request) } : {}),
    ...(twilio ? { twilioWebhook: (kind: TwilioKind, request: Request) => twilio.webhook(kind, request) } : {}),
    notifications: (userId) => s.notifications(userId),
    markRead: (userId, id) => s.markRead(userId, id),
    subscribe: (userId, listener) => s.subscribe(userId, listener),
    onboarding: (userId) => s.onboarding(userId),
    skipOnboarding: (userId, skipped) => s.skipOnboarding(userId, skipped),
    preferences,
    async updatePreferences(userId, patch) {
      await s.updateSettings(userId, {
        ...(patch.notify !== undefined ? { notify: patch.notify === null ? null : [...patch.notify] } : {}),
        ...(patch.alerts !== undefined ? { alerts: patch.alerts === null ? null : [...patch.alerts] } : {}),
        ...(patch.level2 !== undefined ? { level2: [...patch.level2] } : {}),
        ...(patch.quietHours !== undefined ? { quietHours: patch.quietHours } : {}),
      });
      return preferences(userId);
    },
    async newMailAddress(userId) {
      if (channels.mailAddress(userId, true) === null)
        throw notFound('Inbound e-mail is not configured on this server.');
      return preferences(userId);
    },
    async unlink(userId, kind) {
      if (!(await s.unlink(userId, kind))) throw notFound(`No ${kind} link to remove.`, { kind });
      return preferences(userId);
    },
    ...(telegram
      ? {
          telegramLink: async (userId: UserId) => {
            // The bot's name first: when Telegram cannot be reached, no token is issued.
            const bot = await telegram.username();
            const { token, expiresAt } = await s.telegramLinkToken(userId);
            return { url: `https://t.me/${bot}?start=${token}`, expiresAt };
          },
        }
      : {}),
  };
}
