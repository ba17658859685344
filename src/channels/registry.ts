import { z } from 'zod';
import type { UserId } from '../core/entry.js';
import { CHANNEL_KINDS, type ChannelKind } from '../ports/channels.js';
import type { DocumentStore } from '../ports/documents.js';
import { PersonJsonFile } from './json-file.js';

const Kind = z.enum(CHANNEL_KINDS);
const HourMinute = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'Expected HH:MM (24-hour)');

const Link = z.object({
  kind: Kind,
  /** Telegram chat id, or the E.164 number for WhatsApp/SMS, or the e-mail address. */
  address: z.string().min(1).max(320),
  verified: z.boolean(),
  linkedAt: z.string(),
  /** STOP (SMS keyword or /stop): nothing is sent there and nothing is stored from there until START. */
  stopped: z.boolean().default(false),
});
export type ChannelLink = z.output<typeof Link>;

export const ChannelSettings = z.object({
  /** Channels digests and notices go to; null → every verified, not stopped link (and the e-mail address). */
  notify: z.array(Kind).nullable().default(null),
  /** Channels security alerts go to; null → all of them, whatever `notify` says. */
  alerts: z.array(Kind).nullable().default(null),
  /** Channels where replies and searches may show level-2 content (never 3–4). */
  level2: z.array(Kind).default([]),
  /** Local times between which digests and notices wait (alerts and codes do not). */
  quietHours: z.object({ start: HourMinute, end: HourMinute }).nullable().default(null),
  locale: z
    .string()
    .regex(/^[a-z]{2}(-[A-Z]{2})?$/)
    .default('en'),
});
export type ChannelSettings = z.output<typeof ChannelSettings>;

const Doc = z.object({
  links: z.array(Link).default([]),
  settings: ChannelSettings.default(ChannelSettings.parse({})),
});
export type ChannelDoc = z.output<typeof Doc>;

/** The per-person channel registry: `users/<E164>/CHANNELS.json`, the source the chat-id index is built from. */
export class ChannelRegistry {
  readonly #file: PersonJsonFile<typeof Doc>;

  constructor(documents: DocumentStore) {
    this.#file = new PersonJsonFile(documents, 'CHANNELS.json', Doc, () => Doc.parse({}));
  }

  get(userId: UserId): Promise<ChannelDoc> {
    return this.#file.read(userId);
  }

  async link(userId: UserId, kind: ChannelKind, address: string, verified: boolean, at: Date): Promise<void> {
    await this.#file.update(userId, (doc) => {
      const existing = doc.links.find((l) => l.kind === kind && l.address === address);
      if (existing) {
        existing.verified ||= verified;
        existing.stopped = false;
        return;
      }
      // One address per kind: linking a new Telegram chat replaces the old one.
      doc.links = doc.links.filter((l) => l.kind !== kind);
      doc.links.push({ kind, address, verified, linkedAt: at.toISOString(), stopped: false });
    });
  }

  async setStopped(userId: UserId, kind: ChannelKind, stopped: boolean): Promise<void> {
    await this.#file.update(userId, (doc) => {
      for (const l of doc.links) if (l.kind === kind) l.stopped = stopped;
    });
  }

  async unlink(userId: UserId, kind: ChannelKind): Promise<ChannelLink | null> {
    return this.#file.update(userId, (doc) => {
      const gone = doc.links.find((l) => l.kind === kind) ?? null;
      doc.links = doc.links.filter((l) => l.kind !== kind);
      return gone;
    });
  }

  /** Changes the settings a patch names (an absent or undefined key keeps its value); lists are deduplicated. */
  async updateSettings(userId: UserId, patch: Partial<ChannelSettings>): Promise<ChannelSettings> {
    const given = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    return this.#file.update(userId, (doc) => {
      const next = ChannelSettings.parse({ ...doc.settings, ...given });
      const unique = (kinds: ChannelKind[] | null) => (kinds === null ? null : [...new Set(kinds)]);
      doc.settings = {
        ...next,
        notify: unique(next.notify),
        alerts: unique(next.alerts),
        level2: [...new Set(next.level2)],
      };
      return doc.settings;
    });
  }
}

/** True when `at` falls inside the quiet hours in `timezone` (a window may wrap midnight, e.g. 22:00–07:00). */
export function inQuietHours(settings: ChannelSettings, at: Date, timezone: string): boolean {
  const q = settings.quietHours;
  if (!q || q.start === q.end) return false;
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: timezone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const hh = parts.find((p) => p.type === 'hour')?.value ?? '00';
  const mm = parts.find((p) => p.type === 'minute')?.value ?? '00';
  const now = `${hh}:${mm}`;
  return q.start < q.end ? now >= q.start && now < q.end : now >= q.start || now < q.end;
}
