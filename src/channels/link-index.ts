import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { UserId } from '../core/entry.js';
import { isUserId } from '../core/e164.js';
import { MemvaultError } from '../core/errors.js';
import { CHANNEL_KINDS, type ChannelKind } from '../ports/channels.js';
import type { DocumentStore } from '../ports/documents.js';
import { LINK_TOKEN_TTL_MS } from './channel-db.js';

/**
 * Which person a chat belongs to, and the links being made: the index from a chat address to its person,
 * single-use link tokens started on the web (SHA-256 only) and chats owing their contact check. The channel
 * database (src/channels/channel-db.ts, SQLite, one host) answers synchronously; the shared index below answers
 * for every server. The service awaits either.
 */
export interface LinkIndex {
  personOf(kind: ChannelKind, address: string): UserId | null | Promise<UserId | null>;
  setLink(kind: ChannelKind, address: string, userId: UserId): void | Promise<void>;
  removeLink(kind: ChannelKind, address: string): void | Promise<void>;
  issueLinkToken(
    userId: UserId,
    kind: ChannelKind,
    now: number,
  ): { token: string; expires: number } | Promise<{ token: string; expires: number }>;
  takeLinkToken(token: string, kind: ChannelKind, now: number): UserId | null | Promise<UserId | null>;
  setPendingLink(kind: ChannelKind, address: string, userId: UserId, expires: number): void | Promise<void>;
  takePendingLink(kind: ChannelKind, address: string, now: number): UserId | null | Promise<UserId | null>;
}

/** The instance document the shared index lives in (a row of `mv_documents` in PostgreSQL mode). */
export const LINK_INDEX_DOCUMENT = 'CHANNEL-LINKS.json';

const Person = z.string().refine(isUserId);
const Kind = z.enum(CHANNEL_KINDS);
const Doc = z.object({
  /** `<kind> <address>` → person. */
  links: z.record(z.string(), Person).default({}),
  /** SHA-256 of a link token → whom it links, until when. */
  tokens: z.record(z.string(), z.object({ kind: Kind, userId: Person, expires: z.number() })).default({}),
  /** `<kind> <address>` → the person a chat's started link is for, until when. */
  pending: z.record(z.string(), z.object({ userId: Person, expires: z.number() })).default({}),
});
type Doc = z.output<typeof Doc>;

/**
 * The link index in the document store, shared by every server of a PostgreSQL deployment: a Telegram chat
 * linked, or a link token issued, through one server is found through any other. One instance document; every
 * change is a read-modify-write under the store's exclusive hold (an advisory lock in PostgreSQL), so a token is
 * used up once across servers. Readers keep the parsed document and check its version before each use (one
 * indexed row read), re-reading only when it changed. Expired tokens and pending links are dropped by each change.
 */
export class SharedLinkIndex implements LinkIndex {
  readonly #documents: DocumentStore;
  #cached: { version: string; doc: Doc } | null = null;

  constructor(documents: DocumentStore) {
    this.#documents = documents;
  }

  async personOf(kind: ChannelKind, address: string): Promise<UserId | null> {
    return ((await this.#read()).links[key(kind, address)] as UserId | undefined) ?? null;
  }

  async setLink(kind: ChannelKind, address: string, userId: UserId): Promise<void> {
    // Rebuilding the index at start sets every link again: no write when it is already there.
    if ((await this.#read()).links[key(kind, address)] === userId) return;
    await this.#change(0, (doc) => {
      doc.links[key(kind, address)] = userId;
    });
  }

  async removeLink(kind: ChannelKind, address: string): Promise<void> {
    await this.#change(0, (doc) => {
      delete doc.links[key(kind, address)];
    });
  }

  async issueLinkToken(userId: UserId, kind: ChannelKind, now: number): Promise<{ token: string; expires: number }> {
    const token = randomBytes(24).toString('base64url');
    const expires = now + LINK_TOKEN_TTL_MS;
    await this.#change(now, (doc) => {
      // The person's earlier token for this kind stops working.
      for (const [hash, t] of Object.entries(doc.tokens))
        if (t.userId === userId && t.kind === kind) delete doc.tokens[hash];
      doc.tokens[sha256(token)] = { kind, userId, expires };
    });
    return { token, expires };
  }

  async takeLinkToken(token: string, kind: ChannelKind, now: number): Promise<UserId | null> {
    const hash = sha256(token);
    // Looked up by its hash: a 192-bit random token cannot be guessed through the lookup's timing.
    if (!(await this.#read()).tokens[hash]) return null;
    return this.#change(now, (doc) => {
      const found = doc.tokens[hash];
      if (!found || found.kind !== kind) return null;
      delete doc.tokens[hash];
      return found.expires > now ? (found.userId as UserId) : null;
    });
  }

  async setPendingLink(kind: ChannelKind, address: string, userId: UserId, expires: number): Promise<void> {
    await this.#change(0, (doc) => {
      doc.pending[key(kind, address)] = { userId, expires };
    });
  }

  async takePendingLink(kind: ChannelKind, address: string, now: number): Promise<UserId | null> {
    const k = key(kind, address);
    if (!(await this.#read()).pending[k]) return null;
    return this.#change(now, (doc) => {
      const found = doc.pending[k];
      if (!found) return null;
      delete doc.pending[k];
      return found.expires > now ? (found.userId as UserId) : null;
    });
  }

  async #read(): Promise<Doc> {
    const version = await this.#documents.version(null, LINK_INDEX_DOCUMENT);
    if (version === undefined) return Doc.parse({});
    if (this.#cached?.version === version) return this.#cached.doc;
    const stored = await this.#documents.read(null, LINK_INDEX_DOCUMENT);
    if (!stored) return Doc.parse({});
    const doc = parse(stored.text);
    this.#cached = { version: stored.version, doc };
    return doc;
  }

  /** Read-modify-write as the only holder; `now` > 0 also drops expired tokens and pending links. */
  async #change<T>(now: number, fn: (doc: Doc) => T): Promise<T> {
    return this.#documents.exclusive(null, LINK_INDEX_DOCUMENT, async () => {
      const stored = await this.#documents.read(null, LINK_INDEX_DOCUMENT);
      // A copy: the cached document is only ever replaced, never changed in place.
      const doc = stored ? parse(stored.text) : Doc.parse({});
      if (now > 0) {
        for (const [h, t] of Object.entries(doc.tokens)) if (t.expires <= now) delete doc.tokens[h];
        for (const [k, p] of Object.entries(doc.pending)) if (p.expires <= now) delete doc.pending[k];
      }
      const result = fn(doc);
      await this.#documents.write(null, LINK_INDEX_DOCUMENT, `${JSON.stringify(doc)}\n`);
      this.#cached = null;
      return result;
    });
  }
}

function parse(text: string): Doc {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new MemvaultError('DATA_CORRUPTION', `${LINK_INDEX_DOCUMENT} is not valid JSON; restore it from a backup.`, {
      cause,
      details: { file: LINK_INDEX_DOCUMENT },
    });
  }
  const parsed = Doc.safeParse(json);
  if (!parsed.success) {
    throw new MemvaultError(
      'DATA_CORRUPTION',
      `${LINK_INDEX_DOCUMENT} has an unexpected shape; restore it from a backup (or rebuild it from the people’s CHANNELS.json).`,
      { details: { file: LINK_INDEX_DOCUMENT } },
    );
  }
  return parsed.data;
}

const key = (kind: ChannelKind, address: string) => `${kind} ${address}`;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
