import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { type Category, levelOf, type SecurityLevel } from '../../src/core/category.js';
import { withChecksum } from '../../src/core/checksum.js';
import type { MemoryEntry, UserId } from '../../src/core/entry.js';
import { MemvaultError, notFound, securityError, validationError } from '../../src/core/errors.js';
import { normalizeUserId } from '../../src/core/user-id.js';
import type { Classification } from '../../src/ports/classifier.js';
import type { Clock } from '../../src/ports/clock.js';
import { plainOpener } from '../../src/ports/sealer.js';
import type {
  AuditLog,
  AuditRecord,
  AuthService,
  AuthenticatedSession,
  Factors,
  SessionView,
} from '../../src/ports/security.js';
import type { EntryFilter, ProfilePatch, UserProfile } from '../../src/ports/vault.js';
import { Lockout } from '../../src/security/lockout.js';
import { createHttpApp, type McpHttpHandler } from '../../src/server/http-app.js';
import type { HttpConfig } from '../../src/server/context.js';
import type { MemoryService, MemvaultEvent, Principal } from '../../src/services/types.js';

/**
 * Small in-memory stand-ins for the services, faithful to the ports' contracts (errors, codes, levels), so the
 * HTTP edge can be tested in-process without the vault, crypto or classifier.
 */

export const FAKE_TOTP = '123456';
export const GOOD_PASSKEY = { id: 'good-credential', type: 'public-key', response: {} } as const;

export class FakeClock implements Clock {
  constructor(public ms = Date.parse('2026-11-26T12:00:00.000Z')) {}
  now(): Date {
    return new Date(this.ms);
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

interface FakeSession {
  id: string;
  userId: UserId;
  unlocked: Set<SecurityLevel>;
  createdAt: string;
  expiresAt: number;
}

export class FakeAudit implements AuditLog {
  readonly records: AuditRecord[] = [];
  constructor(private readonly clock: Clock) {}
  async append(
    userId: UserId,
    record: Omit<AuditRecord, 'seq' | 'at' | 'userId' | 'prev' | 'mac' | 'risk'> & { risk?: number },
  ): Promise<AuditRecord> {
    const full: AuditRecord = {
      ...record,
      seq: this.records.filter((r) => r.userId === userId).length + 1,
      at: this.clock.now().toISOString(),
      userId,
      risk: record.risk ?? 0,
      prev: 'p',
      mac: 'm',
    };
    this.records.push(full);
    return full;
  }
  async list(userId: UserId, opts: { limit?: number; before?: number } = {}): Promise<AuditRecord[]> {
    return this.records
      .filter((r) => r.userId === userId && (opts.before === undefined || r.seq < opts.before))
      .reverse()
      .slice(0, opts.limit ?? 100);
  }
  async verify(): Promise<{ ok: true; records: number }> {
    return { ok: true, records: this.records.length };
  }
}

export class FakeAuth implements AuthService {
  readonly passwords = new Map<UserId, string>();
  readonly sessions = new Map<string, FakeSession>();
  /** The real lockout policy (5 failures lock for 30 s), so the edge sees the error exactly as the service throws it. */
  readonly lockout: Lockout;
  readonly totp = new Set<UserId>();
  readonly passkeys = new Map<UserId, number>();
  signIns = 0;
  readonly sealer = { seals: () => false, seal: () => Promise.reject(new Error('plain')) };

  constructor(
    private readonly clock: FakeClock,
    private readonly audit: FakeAudit,
  ) {
    // On the fake clock like the rest: on the wall clock, a 1 s stall before the next attempt makes Retry-After 29.
    this.lockout = new Lockout({ clock });
  }

  checkPassword(password: string): void {
    if (password.length < 8) {
      throw validationError('Choose a password of at least 8 characters.', { field: 'password' });
    }
  }
  async enroll(userId: UserId, password: string | null): Promise<void> {
    if (password !== null) this.checkPassword(password);
    this.passwords.set(userId, password ?? '');
  }
  async hasPassword(userId: UserId): Promise<boolean> {
    return Boolean(this.passwords.get(userId));
  }
  async isEnrolled(userId: UserId): Promise<boolean> {
    return this.passwords.has(userId);
  }
  async changePassword(): Promise<void> {
    throw new Error('not used');
  }

  async signIn(userId: UserId, password: string, meta: { ip?: string }) {
    this.signIns++;
    this.lockout.assertOpen(userId, meta.ip);
    if (this.passwords.get(userId) !== password) {
      this.lockout.fail(userId, meta.ip);
      await this.audit.append(userId, { action: 'sign-in', result: 'failure', ...(meta.ip ? { ip: meta.ip } : {}) });
      throw securityError('authentication_failed', 'Wrong phone number or password.');
    }
    const token = randomBytes(24).toString('base64url');
    const session: FakeSession = {
      id: `s_${randomBytes(6).toString('hex')}`,
      userId,
      unlocked: new Set<SecurityLevel>([1, 2]),
      createdAt: this.clock.now().toISOString(),
      expiresAt: this.clock.now().getTime() + 24 * 3600_000,
    };
    this.sessions.set(token, session);
    await this.audit.append(userId, { action: 'sign-in', result: 'success', session: session.id });
    return { token, ...this.view(session) };
  }

  async resolve(token: string): Promise<AuthenticatedSession> {
    return this.view(this.live(token));
  }

  async unlock(token: string, level: SecurityLevel, factors: Factors): Promise<AuthenticatedSession> {
    const s = this.live(token);
    if (factors.password !== this.passwords.get(s.userId)) {
      throw securityError('authentication_failed', 'Wrong password.');
    }
    if (level === 3 && factors.totp !== FAKE_TOTP) throw securityError('second_factor_required', 'Enter a TOTP code.');
    if (level === 4 && (factors.passkey as { id?: string } | undefined)?.id !== GOOD_PASSKEY.id) {
      throw securityError('biometric_failed', 'The passkey did not verify.');
    }
    for (let l = 2; l <= level; l++) s.unlocked.add(l as SecurityLevel);
    return this.view(s);
  }

  async lock(token: string, level?: SecurityLevel): Promise<AuthenticatedSession> {
    const s = this.live(token);
    if (level) s.unlocked.delete(level);
    else for (const l of [2, 3, 4] as const) s.unlocked.delete(l);
    return this.view(s);
  }

  async signOut(token: string): Promise<void> {
    this.sessions.delete(token);
  }

  async signOutEverywhere(token: string): Promise<void> {
    await this.revokeSessions(this.live(token).userId);
  }

  async revokeSessions(userId: UserId): Promise<void> {
    for (const [t, s] of [...this.sessions]) if (s.userId === userId) this.sessions.delete(t);
  }

  async totpBegin(token: string) {
    this.live(token);
    return {
      secret: 'JBSWY3DPEHPK3PXP',
      otpauthUri: 'otpauth://totp/memvault?secret=JBSWY3DPEHPK3PXP',
      qrSvg: '<svg/>',
    };
  }
  async totpConfirm(token: string, code: string): Promise<void> {
    const s = this.live(token);
    if (code !== FAKE_TOTP) throw securityError('authentication_failed', 'That code is not valid.');
    this.totp.add(s.userId);
  }
  async passkeyRegistrationOptions(token: string): Promise<unknown> {
    const s = this.live(token);
    if (!s.unlocked.has(2)) throw securityError('insufficient_permissions', 'Unlock level 2 first.');
    return { challenge: 'abc', rp: { name: 'memvault' } };
  }
  async passkeyRegister(token: string, response: unknown): Promise<{ credentialId: string }> {
    const s = this.live(token);
    this.passkeys.set(s.userId, (this.passkeys.get(s.userId) ?? 0) + 1);
    return { credentialId: String((response as { id: string }).id) };
  }
  async passkeyAuthenticationOptions(token: string): Promise<unknown> {
    this.live(token);
    return { challenge: 'def' };
  }
  async openerFor() {
    return plainOpener([1]);
  }
  async channelOpener() {
    return plainOpener([1]);
  }

  private live(token: string): FakeSession {
    const s = this.sessions.get(token);
    if (!s) throw securityError('authentication_failed', 'Sign in again: the session is not valid.');
    if (s.expiresAt <= this.clock.now().getTime()) {
      this.sessions.delete(token);
      throw securityError('session_expired', 'Your session expired. Sign in again.');
    }
    return s;
  }

  private view(s: FakeSession): AuthenticatedSession {
    const session: SessionView = {
      id: s.id,
      userId: s.userId,
      createdAt: s.createdAt,
      unlocked: [...s.unlocked].sort(),
      expires: {},
      totpEnrolled: this.totp.has(s.userId),
      passkeys: this.passkeys.get(s.userId) ?? 0,
    };
    return { session, opener: plainOpener([...s.unlocked]) };
  }
}

/** Classifies like a caricature of the real one: enough to put entries on every level. */
function fakeClassify(text: string): Category {
  if (/ultra|seed phrase/i.test(text)) return 'ULTRASECRET';
  if (/password|pin/i.test(text)) return 'SECRET';
  if (/doctor|salary/i.test(text)) return 'CONFIDENTIAL';
  if (/yesterday|today/i.test(text)) return 'CHRONOLOGICAL';
  return 'GENERAL';
}

export class FakeMemory implements MemoryService {
  readonly profiles = new Map<UserId, UserProfile>();
  readonly entries = new Map<UserId, MemoryEntry[]>();
  private seq = 0;

  constructor(
    private readonly auth: FakeAuth,
    private readonly clock: FakeClock,
  ) {}

  async signUp(input: { phone: string; password?: string | null; name?: string | null; timezone?: string }) {
    const userId = normalizeUserId(input.phone);
    if (this.profiles.has(userId)) throw new MemvaultError('CONFLICT', 'That phone number already has an account.');
    await this.auth.enroll(userId, input.password ?? null);
    const profile: UserProfile = {
      userId,
      name: input.name ?? null,
      timezone: input.timezone ?? 'UTC',
      createdAt: this.clock.now().toISOString(),
      maxLevel: 4,
      email: null,
      preferences: {},
    };
    this.profiles.set(userId, profile);
    this.entries.set(userId, []);
    return profile;
  }

  async updateProfile(userId: UserId, patch: ProfilePatch): Promise<UserProfile> {
    const p = await this.profile(userId);
    const next: UserProfile = {
      ...p,
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.timezone ? { timezone: patch.timezone } : {}),
      preferences: { ...p.preferences, ...patch.preferences },
    };
    this.profiles.set(userId, next);
    return next;
  }

  async profile(userId: UserId): Promise<UserProfile> {
    const p = this.profiles.get(userId);
    if (!p) throw notFound('No such user.');
    return p;
  }

  async remember(
    principal: Principal,
    text: string,
    options: { channel: MemoryEntry['channel']; at?: Date; category?: Category; externalId?: string },
  ) {
    await this.profile(principal.userId);
    const category = options.category ?? fakeClassify(text);
    // ULID-shaped ids: 10 time chars + 16 random, Crockford alphabet.
    const id = `01JDQ8Z6M0${String(++this.seq).padStart(16, '0')}`;
    const entry = withChecksum({
      id,
      userId: principal.userId,
      date: (options.at ?? this.clock.now()).toISOString(),
      eventDate: null,
      category,
      level: levelOf(category),
      tags: text.includes('hike') ? ['hiking'] : [],
      content: text,
      analysis: 'fake',
      confidence: 0.9,
      related: [],
      emotionalContext: 'neutral',
      channel: options.channel,
      externalId: options.externalId ?? null,
    });
    this.entries.get(principal.userId)?.push(entry);
    const classification: Classification = {
      category,
      level: levelOf(category),
      confidence: 0.9,
      reasoning: 'fake',
      tags: [...entry.tags],
      emotionalContext: 'neutral',
      source: 'local',
      needsReview: false,
    };
    return { entry, classification, reply: `Saved to ${category}`, indexed: true };
  }

  async list(principal: Principal, filter: EntryFilter) {
    const all = (this.entries.get(principal.userId) ?? []).filter(
      (e) =>
        (!filter.categories || filter.categories.includes(e.category)) &&
        (!filter.levels || filter.levels.includes(e.level)) &&
        (!filter.tags || filter.tags.every((t) => e.tags.includes(t))),
    );
    const open = all.filter((e) => principal.opener.canOpen(e.level));
    const ordered = filter.order === 'asc' ? open : [...open].reverse();
    const offset = filter.offset ?? 0;
    return {
      entries: ordered.slice(offset, offset + (filter.limit ?? 50)),
      locked: all.length - open.length,
      damaged: [],
      total: open.length,
    };
  }

  async get(principal: Principal, id: string): Promise<MemoryEntry> {
    const entry = this.entries.get(principal.userId)?.find((e) => e.id === id);
    if (!entry) throw notFound(`No memory ${id}.`, { id });
    if (!principal.opener.canOpen(entry.level)) {
      throw securityError('insufficient_permissions', `Unlock level ${entry.level} to read this memory.`, {
        id,
        level: entry.level,
      });
    }
    return entry;
  }

  async correct(principal: Principal, id: string, category: Category): Promise<MemoryEntry> {
    const entry = await this.get(principal, id);
    const list = this.entries.get(principal.userId) ?? [];
    const updated = withChecksum({ ...entry, category, level: levelOf(category) });
    list[list.indexOf(entry)] = updated;
    return updated;
  }

  async delete(principal: Principal, id: string): Promise<'erased'> {
    const entry = await this.get(principal, id);
    const list = this.entries.get(principal.userId) ?? [];
    list.splice(list.indexOf(entry), 1);
    return 'erased';
  }

  async edit(principal: Principal, id: string, text: string): Promise<MemoryEntry> {
    const entry = await this.get(principal, id);
    const list = this.entries.get(principal.userId) ?? [];
    const category = fakeClassify(text);
    const updated = withChecksum({ ...entry, content: text, category, level: levelOf(category) });
    list[list.indexOf(entry)] = updated;
    return updated;
  }

  /** The fake keeps no history and no trash (the real ones are tested over the real wiring). */
  async versions(principal: Principal, id: string) {
    await this.get(principal, id);
    return [];
  }

  async restore(_principal: Principal, id: string): Promise<MemoryEntry> {
    throw notFound(`Memory ${id} is not in the trash.`, { id });
  }

  async trash() {
    return [];
  }

  async emptyTrash() {
    return 0;
  }

  async related(principal: Principal, id: string): Promise<MemoryEntry[]> {
    await this.get(principal, id);
    return [];
  }

  async search(principal: Principal, query: { text: string; limit?: number }) {
    const words = query.text.toLowerCase().split(/\s+/);
    return (this.entries.get(principal.userId) ?? [])
      .filter((e) => principal.opener.canOpen(e.level) && words.some((w) => e.content.toLowerCase().includes(w)))
      .slice(0, query.limit ?? 50)
      .map((entry) => ({ entry, score: 1, signals: ['bm25'], highlighted: entry.content }));
  }

  async classify(text: string): Promise<Classification> {
    const category = fakeClassify(text);
    return {
      category,
      level: levelOf(category),
      confidence: 0.9,
      reasoning: '',
      tags: [],
      emotionalContext: '',
      source: 'local',
      needsReview: false,
    };
  }
  async reindex() {
    return { entries: 0, ms: 0 };
  }
  on(_listener: (event: MemvaultEvent) => void) {
    return () => {};
  }
}

export const TEST_CONFIG: HttpConfig = {
  cookieSecure: false,
  maxBodyBytes: 64 * 1024,
  webauthnOrigin: 'http://localhost:8787',
  csrfSecret: new Uint8Array(32).fill(7),
};

/** An app over fresh fakes, plus the fakes to inspect. */
export function fakeApp(config: Partial<HttpConfig> = {}, mcp?: McpHttpHandler) {
  const clock = new FakeClock();
  const audit = new FakeAudit(clock);
  const auth = new FakeAuth(clock, audit);
  const memory = new FakeMemory(auth, clock);
  const app = createHttpApp({
    memory,
    auth,
    audit,
    clock,
    logger: pino({ level: 'silent' }),
    config: { ...TEST_CONFIG, ...config },
    ...(mcp ? { mcp } : {}),
  });
  return { app, clock, audit, auth, memory };
}
