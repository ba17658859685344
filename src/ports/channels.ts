import type { UserId } from '../core/entry.js';

/** The messengers and mailboxes memvault talks to a person through (DESIGN: channels are thin edges). */
export const CHANNEL_KINDS = ['telegram', 'whatsapp', 'sms', 'email'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

/** What an outbound message is for: decides quiet hours (alerts and codes ignore them) and the template. */
export type OutboundPurpose = 'reply' | 'welcome' | 'digest' | 'alert' | 'code' | 'notice';

/** One message to one address, already rendered for the channel. Never holds content above what it may show. */
export interface OutboundMessage {
  readonly purpose: OutboundPurpose;
  readonly subject: string;
  readonly text: string;
  /** E-mail only: the HTML body rendered from the same template as `text`. */
  readonly html?: string;
}

export interface ChannelHealth {
  readonly configured: boolean;
  /** True when the provider answered a cheap request just now (getMe, an account fetch, an SMTP greeting). */
  readonly reachable: boolean;
  /** A person-readable line: what is set up, or what to set. Never a token. */
  readonly detail: string;
}

/** The outbound half of one provider adapter. */
export interface ChannelSender {
  readonly kind: ChannelKind;
  /** @throws NETWORK_ERROR when the provider refused or could not be reached. */
  send(address: string, message: OutboundMessage): Promise<void>;
  health(): Promise<ChannelHealth>;
}

/** An in-app notification as the web app lists it. Texts never hold content above level 1. */
export interface AppNotification {
  readonly id: string;
  readonly at: string;
  readonly purpose: OutboundPurpose;
  readonly subject: string;
  readonly text: string;
  readonly read: boolean;
}

/** The tutorial's checklist (seed §5): real steps, each done when its event happened. */
export interface OnboardingView {
  readonly steps: ReadonlyArray<{ readonly id: string; readonly title: string; readonly doneAt: string | null }>;
  readonly completed: number;
  readonly total: number;
  readonly skipped: boolean;
  /** The first step not done yet, or null when all are. */
  readonly next: string | null;
}

/** The messengers a person links (e-mail is the profile's address, not a link). */
export const CHAT_KINDS = ['telegram', 'whatsapp', 'sms'] as const;
export type ChatKind = (typeof CHAT_KINDS)[number];

/** A person's channel settings: where digests, notices and alerts go, where level 2 may show, quiet hours. */
export interface ChannelSettingsView {
  /** Digests and notices; null → every linked channel and the e-mail address. */
  readonly notify: readonly ChannelKind[] | null;
  /** Security alerts; null → all channels. */
  readonly alerts: readonly ChannelKind[] | null;
  /** Messengers whose replies and searches may show level 2 (only while no password guards level 2). */
  readonly level2: readonly ChannelKind[];
  /** Local times between which digests and notices wait for messengers and e-mail. */
  readonly quietHours: { readonly start: string; readonly end: string } | null;
  readonly locale: string;
}

/** What the web's Settings → Channels shows. */
export interface ChannelPreferencesView {
  readonly links: ReadonlyArray<{
    readonly kind: ChannelKind;
    readonly address: string;
    readonly verified: boolean;
    readonly stopped: boolean;
    readonly linkedAt: string;
  }>;
  readonly email: string | null;
  /** The person's secret address for writing memories by e-mail; null when inbound e-mail is off. */
  readonly mailAddress: string | null;
  readonly settings: ChannelSettingsView;
  /** Which channels this server has configured. */
  readonly available: Readonly<Record<ChannelKind, boolean>>;
}

export type ChannelPreferencesPatch = {
  readonly notify?: ChannelKind[] | null;
  readonly alerts?: ChannelKind[] | null;
  readonly level2?: ChatKind[];
  readonly quietHours?: { start: string; end: string } | null;
};

/** What the HTTP edge needs of the channels (the composition root passes it in; edges never import each other). */
export interface ChannelsHttp {
  /** Present when Telegram is configured. */
  readonly telegramWebhook?: (request: Request) => Promise<Response>;
  /** Present when Twilio is configured. */
  readonly twilioWebhook?: (kind: 'sms' | 'whatsapp', request: Request) => Promise<Response>;
  notifications(userId: UserId): Promise<{ items: AppNotification[]; unread: number }>;
  markRead(userId: UserId, id?: string): Promise<AppNotification[]>;
  subscribe(userId: UserId, listener: (item: AppNotification) => void): () => void;
  onboarding(userId: UserId): Promise<OnboardingView>;
  skipOnboarding(userId: UserId, skipped: boolean): Promise<OnboardingView>;
  preferences(userId: UserId): Promise<ChannelPreferencesView>;
  updatePreferences(userId: UserId, patch: ChannelPreferencesPatch): Promise<ChannelPreferencesView>;
  /** A new secret inbound address (the old one stops working). @throws NOT_FOUND when inbound e-mail is off */
  newMailAddress(userId: UserId): Promise<ChannelPreferencesView>;
  /** @throws NOT_FOUND when the person has no such link. */
  unlink(userId: UserId, kind: ChatKind): Promise<ChannelPreferencesView>;
  /** Present when Telegram is configured: a `https://t.me/<bot>?start=<token>` deep link, single use. */
  readonly telegramLink?: (userId: UserId) => Promise<{ url: string; expiresAt: string }>;
}
