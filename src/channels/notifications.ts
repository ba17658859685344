import { EventEmitter } from 'node:events';
import { ulid } from 'ulidx';
import { z } from 'zod';
import type { UserId } from '../core/entry.js';
import { notFound } from '../core/errors.js';
import type { AppNotification, OutboundMessage } from '../ports/channels.js';
import type { DocumentStore } from '../ports/documents.js';
import { PersonJsonFile } from './json-file.js';

/** The newest notifications kept per person; older ones drop off the end. */
export const MAX_NOTIFICATIONS = 200;

const Item = z.object({
  id: z.string(),
  at: z.string(),
  purpose: z.enum(['reply', 'welcome', 'digest', 'alert', 'code', 'notice']),
  subject: z.string(),
  text: z.string(),
  read: z.boolean(),
});
const Doc = z.object({ items: z.array(Item).default([]) });

/**
 * In-app notifications: stored per person (`NOTIFICATIONS.json`, newest first) and pushed live to every open
 * stream of that person (the web app's server-sent events).
 */
export class NotificationStore {
  readonly #file: PersonJsonFile<typeof Doc>;
  readonly #live = new EventEmitter();

  constructor(documents: DocumentStore) {
    this.#file = new PersonJsonFile(documents, 'NOTIFICATIONS.json', Doc, () => Doc.parse({}));
    this.#live.setMaxListeners(0);
  }

  async add(userId: UserId, message: OutboundMessage, at: Date): Promise<AppNotification> {
    const item: AppNotification = {
      id: ulid(at.getTime()),
      at: at.toISOString(),
      purpose: message.purpose,
      subject: message.subject,
      text: message.text,
      read: false,
    };
    await this.#file.update(userId, (doc) => {
      doc.items.unshift(item);
      doc.items.length = Math.min(doc.items.length, MAX_NOTIFICATIONS);
    });
    this.#live.emit(userId, item);
    return item;
  }

  async list(userId: UserId, limit = 50): Promise<{ items: AppNotification[]; unread: number }> {
    const doc = await this.#file.read(userId);
    return { items: doc.items.slice(0, limit), unread: doc.items.filter((i) => !i.read).length };
  }

  /** Marks one notification read (or all, without an id); returns the marked items. @throws NOT_FOUND */
  async markRead(userId: UserId, id?: string): Promise<AppNotification[]> {
    return this.#file.update(userId, (doc) => {
      const marked = doc.items.filter((i) => !i.read && (id === undefined || i.id === id));
      if (id !== undefined && !doc.items.some((i) => i.id === id)) throw notFound('No such notification.', { id });
      for (const i of marked) i.read = true;
      return marked.map((i) => ({ ...i }));
    });
  }

  /** Calls `listener` for each new notification of the person until the returned function is called. */
  subscribe(userId: UserId, listener: (item: AppNotification) => void): () => void {
    this.#live.on(userId, listener);
    return () => this.#live.off(userId, listener);
  }
}
