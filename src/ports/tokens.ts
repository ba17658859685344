import type { SecurityLevel } from '../core/category.js';
import type { UserId } from '../core/entry.js';
import type { TokenLevel } from '../core/token-rules.js';
import type { EntryOpener } from './sealer.js';
import type { RequestMeta } from './security.js';

export type { TokenLevel } from '../core/token-rules.js';

/** What a token is: a personal access token, or one OAuth grant (its access and refresh tokens). */
export type GrantKind = 'personal' | 'oauth';

/** What a token listing shows: never a secret or a hash. */
export interface GrantInfo {
  readonly id: string;
  readonly kind: GrantKind;
  /** The token's name, or the OAuth client's: audit records name it as the client. */
  readonly name: string;
  readonly clientId: string | null;
  readonly levels: readonly TokenLevel[];
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly lastUsedAt: string | null;
}

/** A registered OAuth client (RFC 7591): public clients only, so there is no secret to keep. */
export interface OAuthClientRecord {
  readonly clientId: string;
  readonly clientName: string;
  readonly redirectUris: readonly string[];
  readonly createdAt: string;
}

/** Who a bearer token acts for: the person, the levels it opens, and the token's name (the audit's client). */
export interface TokenPrincipal {
  readonly userId: UserId;
  readonly opener: EntryOpener;
  readonly levels: readonly TokenLevel[];
  readonly grant: GrantInfo;
}

/** The answer of an OAuth token request (RFC 6749 §5.1), before it is serialised. */
export interface IssuedTokens {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly expiresIn: number;
  readonly levels: readonly TokenLevel[];
  readonly grant: GrantInfo;
}

/** Where a new personal token's level-2 key comes from. */
export type KeySource =
  /** The web app: a session that has level 2 open now. */
  | { readonly sessionToken: string }
  /** The CLI: the person's password (checked with lockout and audit by the caller first), or none for a person without one. */
  | { readonly password?: string };

export interface TokenService {
  /** Creates a personal access token. Returns the token (the only time it exists in the clear) and its listing. */
  createPersonal(
    userId: UserId,
    input: { readonly name: string; readonly levels: readonly number[]; readonly expiresAt: Date | null },
    source: KeySource,
    meta: RequestMeta,
  ): Promise<{ token: string; grant: GrantInfo }>;
  list(userId: UserId): Promise<GrantInfo[]>;
  revoke(userId: UserId, id: string, meta: RequestMeta): Promise<GrantInfo>;
  /**
   * The principal of a personal or OAuth access token.
   * @throws SECURITY_ERROR authentication_failed | session_expired
   */
  resolve(token: string): Promise<TokenPrincipal>;
  /** Issues an OAuth grant's first access and refresh tokens (after consent and the code exchange). */
  issueOAuth(input: {
    readonly userId: UserId;
    readonly client: OAuthClientRecord;
    readonly levels: readonly TokenLevel[];
    readonly level2Key: Uint8Array | null;
    readonly generation: number;
  }): Promise<IssuedTokens>;
  /**
   * Rotates an OAuth refresh token: the old one is spent, a new pair comes back. Reusing a spent one revokes the
   * whole grant (RFC 9700 §4.14.2).
   */
  refreshOAuth(refreshToken: string, clientId: string): Promise<IssuedTokens>;
  /** RFC 7009 revocation by the client; unknown tokens are not an error. */
  revokeSecret(token: string, clientId: string): Promise<void>;
  registerClient(input: {
    readonly clientName: string;
    readonly redirectUris: readonly string[];
  }): Promise<OAuthClientRecord>;
  client(clientId: string): Promise<OAuthClientRecord | null>;
  /** The keyring generation of a person now (OAuth codes record it with the level-2 key). */
  generation(userId: UserId): Promise<number>;
  /** A copy of a level key the session holds now (the OAuth consent wraps it into the code). */
  sessionKey(sessionToken: string, level: SecurityLevel): Promise<{ userId: UserId; key: Uint8Array }>;
}
