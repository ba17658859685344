import type { SecurityLevel } from '../core/category.js';
import type { OAuthClientRecord, TokenLevel } from '../ports/tokens.js';
import type { UserId } from '../core/entry.js';
import { securityError, validationError } from '../core/errors.js';
import { type Clock, systemClock } from '../ports/clock.js';
import type { AuditLog, RequestMeta } from '../ports/security.js';
import { parseTokenLevels, parseTokenName } from '../core/token-rules.js';
import type { IssuedTokens, KeySource, TokenService } from '../ports/tokens.js';
import { type AccessTokenStore, isGrantSecret, newSecret } from './access-tokens.js';
import { createOpener } from './seal.js';

/** What the token service needs of the keyring. */
export interface TokenKeyring {
  unwrapMany(
    userId: UserId,
    levels: readonly SecurityLevel[],
    secrets: { password?: string },
  ): Promise<Map<SecurityLevel, Uint8Array>>;
  generation(userId: UserId): Promise<number>;
  hasPassword(userId: UserId): Promise<boolean>;
}

export interface TokenServiceDeps {
  readonly store: AccessTokenStore;
  readonly keyring: TokenKeyring;
  /** A copy of a level key the session holds now (the auth service's `sessionKey`). */
  readonly sessionKey: (sessionToken: string, level: SecurityLevel) => Promise<{ userId: UserId; key: Uint8Array }>;
  readonly audit: AuditLog;
  readonly clock?: Clock;
  /** How long an OAuth access token lives; default one hour. */
  readonly accessTtlMs?: number;
  /** How long an OAuth grant lives without a new consent (its refresh tokens); default 90 days. */
  readonly refreshTtlMs?: number;
}

/**
 * Personal access tokens and OAuth grants over the token store: what they may read (levels 1–2), the opener a
 * token's request reads with, and the audit records of creating and revoking them.
 */
export function createTokenService(deps: TokenServiceDeps): TokenService {
  const { store, keyring, audit } = deps;
  const clock = deps.clock ?? systemClock;
  const accessTtl = deps.accessTtlMs ?? 3_600_000;
  const refreshTtl = deps.refreshTtlMs ?? 90 * 86_400_000;

  async function levelTwoKey(userId: UserId, source: KeySource): Promise<Uint8Array> {
    if ('sessionToken' in source) {
      const held = await deps.sessionKey(source.sessionToken, 2).catch((error: unknown) => {
        throw error instanceof Error && 'reason' in error && error.reason === 'insufficient_permissions'
          ? securityError(
              'insufficient_permissions',
              'A token with level 2 can only be made while level 2 is unlocked in your session: unlock it first.',
              { level: 2 },
            )
          : error;
      });
      if (held.userId !== userId) {
        held.key.fill(0);
        throw securityError('authentication_failed', 'The session belongs to someone else.');
      }
      return held.key;
    }
    if (source.password === undefined && (await keyring.hasPassword(userId))) {
      throw securityError(
        'insufficient_permissions',
        'A token with level 2 needs your password: add --password-stdin.',
        { level: 2 },
      );
    }
    const keys = await keyring.unwrapMany(
      userId,
      [2],
      source.password === undefined ? {} : { password: source.password },
    );
    const key = keys.get(2);
    if (!key) throw securityError('authentication_failed', 'The password is wrong.');
    return key;
  }

  async function issue(input: {
    userId: UserId;
    client: OAuthClientRecord;
    levels: readonly TokenLevel[];
    level2Key: Uint8Array | null;
    generation: number;
  }): Promise<IssuedTokens> {
    const accessToken = newSecret('access');
    const refreshToken = newSecret('refresh');
    const now = clock.now().getTime();
    const secrets = [
      { token: accessToken, role: 'access' as const, expiresAt: new Date(now + accessTtl) },
      { token: refreshToken, role: 'refresh' as const, expiresAt: new Date(now + refreshTtl) },
    ];
    const grant = await store.createGrant({
      userId: input.userId,
      kind: 'oauth',
      name: input.client.clientName,
      clientId: input.client.clientId,
      levels: input.levels,
      expiresAt: new Date(now + refreshTtl),
      generation: input.generation,
      level2Key: input.level2Key,
      secrets,
    });
    return { accessToken, refreshToken, expiresIn: Math.round(accessTtl / 1000), levels: grant.levels, grant };
  }

  return {
    async createPersonal(userId, input, source, meta) {
      const name = parseTokenName(input.name);
      const levels = parseTokenLevels(input.levels);
      if (input.expiresAt !== null && input.expiresAt.getTime() <= clock.now().getTime()) {
        throw validationError('The expiry must lie in the future.', { field: 'expires' });
      }
      const generation = await keyring.generation(userId);
      const key = levels.includes(2) ? await levelTwoKey(userId, source) : null;
      const token = newSecret('personal');
      try {
        const grant = await store.createGrant({
          userId,
          kind: 'personal',
          name,
          levels,
          expiresAt: input.expiresAt,
          generation,
          level2Key: key,
          secrets: [{ token, role: 'access', expiresAt: input.expiresAt }],
        });
        await audit.append(userId, {
          action: 'token_create',
          result: 'success',
          level: levels.includes(2) ? 2 : 1,
          session: grant.id,
          ...auditMeta(meta),
        });
        return { token, grant };
      } finally {
        key?.fill(0);
      }
    },

    list: (userId) => store.list(userId),

    async revoke(userId, id, meta) {
      if (typeof id !== 'string' || !/^tok_[A-Za-z0-9_-]{12}$/.test(id)) {
        throw validationError('A token id looks like tok_ and 12 letters or digits (see the token list).', {
          field: 'id',
        });
      }
      const grant = await store.revoke(userId, id);
      await audit.append(userId, { action: 'token_revoke', result: 'success', session: id, ...auditMeta(meta) });
      return grant;
    },

    async resolve(token) {
      if (!isGrantSecret(token) || token.startsWith('mvr_')) {
        throw securityError('authentication_failed', 'Unknown or revoked token.');
      }
      const found = await store.resolve(token, 'access');
      const { userId, level2Key } = found;
      try {
        if (level2Key && (await keyring.generation(userId)) !== found.generation) {
          throw securityError(
            'authentication_failed',
            'This token was made before a key rotation and no longer opens level 2; create a new token.',
          );
        }
        const keys = await keyring.unwrapMany(userId, [1], {});
        if (level2Key) keys.set(2, level2Key);
        try {
          return { userId, opener: createOpener(userId, keys), levels: found.grant.levels, grant: found.grant };
        } finally {
          for (const key of keys.values()) key.fill(0);
        }
      } finally {
        level2Key?.fill(0);
      }
    },

    issueOAuth: (input) => issue(input),

    async refreshOAuth(refreshToken, clientId) {
      const accessToken = newSecret('access');
      const nextRefresh = newSecret('refresh');
      const now = clock.now().getTime();
      const { grant, reused } = await store.rotate(refreshToken, clientId, [
        { token: accessToken, role: 'access', expiresAt: new Date(now + accessTtl) },
        { token: nextRefresh, role: 'refresh', expiresAt: new Date(now + refreshTtl) },
      ]);
      if (reused) {
        throw securityError(
          'authentication_failed',
          'This refresh token was used before: the grant is revoked. Connect the client again.',
        );
      }
      return {
        accessToken,
        refreshToken: nextRefresh,
        expiresIn: Math.round(accessTtl / 1000),
        levels: grant.levels,
        grant,
      };
    },

    async revokeSecret(token, clientId) {
      await store.revokeBySecret(token, clientId);
    },

    registerClient: (input) => store.addClient(input),
    client: (clientId) => store.client(clientId),
    generation: (userId) => keyring.generation(userId),
    sessionKey: (sessionToken, level) => deps.sessionKey(sessionToken, level),
  };
}

function auditMeta(meta: RequestMeta) {
  return {
    ...(meta.ip ? { ip: meta.ip } : {}),
    ...(meta.userAgent ? { userAgent: meta.userAgent } : {}),
    ...(meta.deviceId ? { device: meta.deviceId } : {}),
  };
}
