import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { type Category, levelOf, type SecurityLevel } from '../../src/core/category.js';
import { withChecksum } from '../../src/core/checksum.js';
import type { MemoryEntry, NewEntry, UserId } from '../../src/core/entry.js';
import { corruption, notFound, securityError } from '../../src/core/errors.js';
import type { EntryOpener, EntrySealer, SealContext } from '../../src/ports/sealer.js';
import type { EntryFilter, ReadResult, UserProfile, Vault } from '../../src/ports/vault.js';

export const USER = '+14155550134' as UserId;
export const OTHER_USER = '+14155550199' as UserId;

let counter = 0;

/** A stored entry built directly, with a valid checksum. */
export function entry(
  content: string,
  opts: {
    category?: Category;
    date?: string;
    eventDate?: string | null;
    tags?: string[];
    id?: string;
    externalId?: string | null;
    userId?: UserId;
    confidence?: number;
  } = {},
): MemoryEntry {
  const category = opts.category ?? 'GENERAL';
  counter++;
  return withChecksum({
    id: opts.id ?? `01JTEST${String(counter).padStart(19, '0')}`,
    userId: opts.userId ?? USER,
    date: opts.date ?? '2026-11-20T10:00:00.000Z',
    eventDate: opts.eventDate ?? null,
    category,
    level: levelOf(category),
    tags: opts.tags ?? [],
    content,
    analysis: '',
    confidence: opts.confidence ?? 0.8,
    related: [],
    emotionalContext: 'neutral',
    channel: 'cli',
    externalId: opts.externalId ?? null,
  });
}

/**
 * The Vault port over an array, for index tests. Reads honour the opener (a level it cannot open is counted as
 * locked), and every write bumps the revision.
 */
export class MemoryVault implements Vault {
  readonly entries: MemoryEntry[] = [];
  reads = 0;
  private rev = 0;

  constructor(entries: readonly MemoryEntry[] = []) {
    this.entries.push(...entries);
  }

  /** Adds or replaces an entry behind the index's back (as another process would). */
  put(e: MemoryEntry): void {
    const i = this.entries.findIndex((x) => x.id === e.id);
    if (i >= 0) this.entries[i] = e;
    else this.entries.push(e);
    this.rev++;
  }

  drop(id: string): void {
    const i = this.entries.findIndex((x) => x.id === id);
    if (i >= 0) this.entries.splice(i, 1);
    this.rev++;
  }

  async createUser(): Promise<UserProfile> {
    throw new Error('not used');
  }
  async hasUser(): Promise<boolean> {
    return true;
  }
  async getProfile(userId: UserId): Promise<UserProfile> {
    return { userId, name: null, timezone: 'UTC', createdAt: '', maxLevel: 4, email: null, preferences: {} };
  }
  async updateProfile(userId: UserId): Promise<UserProfile> {
    return this.getProfile(userId);
  }
  async listUsers(): Promise<UserId[]> {
    return [USER];
  }
  async append(userId: UserId, e: NewEntry): Promise<MemoryEntry> {
    const stored = entry(e.content, { category: e.category, date: e.date, tags: [...(e.tags ?? [])], userId });
    this.put(stored);
    return stored;
  }
  async read(userId: UserId, filter: EntryFilter, opener: EntryOpener): Promise<ReadResult> {
    this.reads++;
    let locked = 0;
    const out: MemoryEntry[] = [];
    for (const e of this.entries) {
      if (e.userId !== userId) continue;
      if (filter.levels && !filter.levels.includes(e.level)) continue;
      if (!opener.canOpen(e.level)) {
        locked++;
        continue;
      }
      out.push(e);
    }
    return { entries: out, locked, damaged: [], total: out.length };
  }
  async get(userId: UserId, id: string, opener: EntryOpener): Promise<MemoryEntry> {
    const e = this.entries.find((x) => x.id === id && x.userId === userId);
    if (!e) throw notFound('No such memory.');
    if (!opener.canOpen(e.level)) throw securityError('insufficient_permissions', 'Locked.');
    return e;
  }
  async update(): Promise<MemoryEntry> {
    throw new Error('not used');
  }
  async delete(_userId: UserId, id: string): Promise<void> {
    this.drop(id);
  }
  async link(): Promise<void> {}
  async check(userId: UserId) {
    return { userId, intact: this.entries.length, locked: 0, damaged: [] };
  }
  async reseal(): Promise<number> {
    return 0;
  }
  async revision(): Promise<string> {
    return `r${this.rev}`;
  }
  async close(): Promise<void> {}
}

const TEST_KEY = createHash('sha256').update('memvault search test key').digest();

function aad(ctx: SealContext): Buffer {
  return Buffer.from(`${ctx.userId}|${ctx.level}|${ctx.category}|${ctx.entryId}`);
}

/** AES-256-GCM with a fixed test key; seals every level (or every level but 1 in plain mode). */
export function testSealer(plainLevel1 = false): EntrySealer {
  return {
    seals: (level) => !(plainLevel1 && level === 1),
    async seal(ctx, plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', TEST_KEY, iv);
      cipher.setAAD(aad(ctx));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
    },
  };
}

/** Opens what `testSealer` sealed, for the given levels only. */
export function testOpener(levels: readonly SecurityLevel[] = [1]): EntryOpener {
  return {
    canOpen: (level) => levels.includes(level),
    open(ctx, payload) {
      if (!levels.includes(ctx.level)) throw securityError('insufficient_permissions', 'Level locked.');
      try {
        const raw = Buffer.from(payload, 'base64');
        const decipher = createDecipheriv('aes-256-gcm', TEST_KEY, raw.subarray(0, 12));
        decipher.setAAD(aad(ctx));
        decipher.setAuthTag(raw.subarray(12, 28));
        return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
      } catch (cause) {
        throw corruption('Sealed payload failed to open.', undefined, cause);
      }
    },
  };
}
