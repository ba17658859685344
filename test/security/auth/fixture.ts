import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'otplib';
import type { UserId } from '../../../src/core/entry.js';
import { MemvaultError, notFound } from '../../../src/core/errors.js';
import { normalizeUserId } from '../../../src/core/user-id.js';
import type { Clock } from '../../../src/ports/clock.js';
import type { AuditLog, AuditRecord } from '../../../src/ports/security.js';
import type { UserProfile } from '../../../src/ports/vault.js';
import { type AuthServiceDeps, type AuthServiceHandle, createAuthService } from '../../../src/security/auth-service.js';
import { OWASP_MIN_KDF } from '../../../src/security/kdf.js';
import { KeyringStore } from '../../../src/security/keyring.js';
import { createSealer } from '../../../src/security/seal.js';
import { SoftAuthenticator } from './soft-authenticator.js';

export const RP = { rpId: 'localhost', rpName: 'memvault', origins: ['http://localhost:8787'] };
export const ALICE = normalizeUserId('+14155550134');
export const BOB = normalizeUserId('+442079460958');
export const NOBODY = normalizeUserId('+14155550199');
export const ALICE_PASSWORD = 'correct horse battery staple';
export const BOB_PASSWORD = 'tangerine kayak meridian';
export const META = { ip: '203.0.113.7', userAgent: 'vitest', deviceId: 'device-a' };

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(private at: number) {}
  now(): Date {
    return new Date(this.at);
  }
  advance(ms: number): void {
    this.at += ms;
  }
  set(iso: string): void {
    this.at = Date.parse(iso);
  }
}

/** The audit port in memory, with the same record shape as the file log (no MAC chain). */
export class MemoryAudit implements AuditLog {
  readonly records: AuditRecord[] = [];
  constructor(private readonly clock: Clock) {}
  async append(userId: UserId, record: Parameters<AuditLog['append']>[1]): Promise<AuditRecord> {
    const full: AuditRecord = {
      ...record,
      seq: this.records.length + 1,
      at: this.clock.now().toISOString(),
      userId,
      risk: record.risk ?? 0,
      prev: '',
      mac: '',
    };
    this.records.push(full);
    return full;
  }
  async list(userId: UserId, opts: { limit?: number } = {}): Promise<AuditRecord[]> {
    return this.records
      .filter((r) => r.userId === userId)
      .reverse()
      .slice(0, opts.limit ?? 100);
  }
  async verify(userId: UserId): Promise<{ ok: true; records: number }> {
    return { ok: true, records: this.records.filter((r) => r.userId === userId).length };
  }
  of(userId: UserId, action?: string): AuditRecord[] {
    return this.records.filter((r) => r.userId === userId && (action === undefined || r.action === action));
  }
}

export interface Harness {
  readonly dir: string;
  readonly clock: ManualClock;
  readonly audit: MemoryAudit;
  readonly keyring: KeyringStore;
  readonly auth: AuthServiceHandle;
  readonly profiles: Map<UserId, UserProfile>;
  readonly logs: string[];
  readonly alerts: AuditRecord[];
  readonly locked: Array<{ userId: UserId; levels: number[] }>;
  readonly authenticator: SoftAuthenticator;
  /** The TOTP code of a secret at the harness clock's time (+ offset seconds). */
  code(secret: string, offsetSeconds?: number): Promise<string>;
  close(): Promise<void>;
}

export function profile(userId: UserId, patch: Partial<UserProfile> = {}): UserProfile {
  return {
    userId,
    name: null,
    timezone: 'UTC',
    createdAt: '2026-01-01T00:00:00.000Z',
    maxLevel: 4,
    email: null,
    preferences: {},
    ...patch,
  };
}

/** A real KeyringStore (OWASP minimum Argon2id, to keep tests quick) under a temp dir, an in-memory audit. */
export async function harness(options: Partial<AuthServiceDeps> = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'memvault-auth-'));
  const clock = new ManualClock(Date.parse('2026-11-26T12:00:00.000Z'));
  const audit = new MemoryAudit(clock);
  const masterKey = new Uint8Array(32).fill(7);
  const keyring = new KeyringStore({ dataDir: dir, masterKey, kdf: OWASP_MIN_KDF });
  const profiles = new Map<UserId, UserProfile>();
  const logs: string[] = [];
  const alerts: AuditRecord[] = [];
  const locked: Array<{ userId: UserId; levels: number[] }> = [];
  const capture = (level: string) => (obj: Record<string, unknown>, msg: string) =>
    logs.push(JSON.stringify({ level, ...obj, msg }));
  const auth = createAuthService({
    dataDir: dir,
    masterKey,
    keyring,
    audit,
    sealer: createSealer(keyring, { level1Plain: false }),
    clock,
    webauthn: RP,
    profiles: async (userId) => {
      const found = profiles.get(userId);
      if (!found) throw notFound('No such user.');
      return found;
    },
    logger: { info: capture('info'), warn: capture('warn') },
    onAlert: (record) => alerts.push(record),
    onLock: (userId, levels) => locked.push({ userId, levels }),
    sweepIntervalMs: false,
    ...options,
  });
  return {
    dir,
    clock,
    audit,
    keyring,
    auth,
    profiles,
    logs,
    alerts,
    locked,
    authenticator: new SoftAuthenticator({ origin: RP.origins[0]!, rpId: RP.rpId }),
    code: (secret, offsetSeconds = 0) =>
      generate({ secret, epoch: Math.floor(clock.now().getTime() / 1000) + offsetSeconds }),
    async close() {
      await auth.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Creates a user with a password and a profile. */
export async function addUser(h: Harness, userId: UserId, password: string, patch: Partial<UserProfile> = {}) {
  h.profiles.set(userId, profile(userId, patch));
  await h.auth.enroll(userId, password);
}

/** Runs `fn` and returns the MemvaultError it threw (fails the test when it did not throw one). */
export async function refusal(fn: () => Promise<unknown>): Promise<MemvaultError> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof MemvaultError) return error;
    throw error;
  }
  throw new Error('expected a refusal, got success');
}
