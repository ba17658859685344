import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { securityError } from '../core/errors.js';
import type { AuthenticatedSession, RequestMeta } from '../ports/security.js';
import type { AppEnv, RouteKit } from './context.js';

export const SESSION_COOKIE = 'mv_session';
export const CSRF_COOKIE = 'mv_csrf';
export const CSRF_HEADER = 'X-CSRF-Token';
const DEVICE_HEADER = 'X-Device-Id';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
// Tokens are opaque to the edge, but bounded and printable so a header can never smuggle anything odd.
const TOKEN_SHAPE = /^[A-Za-z0-9._~+/=-]{16,512}$/;

/** The client's address: the socket's, or the first `X-Forwarded-For` hop when the proxy is trusted. */
export function clientIp(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = c.req.header('x-forwarded-for')?.split(',')[0]?.trim();
    if (forwarded) return forwarded.slice(0, 64);
  }
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? 'unknown';
}

/** Who is asking, for the audit log and the risk score. Bounded lengths; nothing secret. */
export function requestMeta(c: Context, trustProxy: boolean, channel: string): RequestMeta {
  const userAgent = c.req.header('user-agent')?.slice(0, 256);
  const deviceId = c.req.header(DEVICE_HEADER)?.slice(0, 64);
  return {
    ip: clientIp(c, trustProxy),
    channel,
    ...(userAgent ? { userAgent } : {}),
    ...(deviceId && /^[A-Za-z0-9_-]+$/.test(deviceId) ? { deviceId } : {}),
  };
}

/** The CSRF token of a session: a MAC of its token, so it cannot be planted or reused across sessions. */
export function csrfTokenFor(secret: Uint8Array, sessionToken: string): string {
  return createHmac('sha256', secret).update('mv-csrf\0').update(sessionToken).digest('base64url');
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The presented credential: the bearer header wins; else the session cookie. */
export function presentedToken(c: Context): { token: string; via: 'bearer' | 'cookie' } | null {
  const header = c.req.header('authorization');
  if (header !== undefined) {
    const match = /^Bearer ([^\s]+)$/i.exec(header.trim());
    if (!match?.[1] || !TOKEN_SHAPE.test(match[1])) {
      throw securityError('authentication_failed', 'The Authorization header must be "Bearer <token>".');
    }
    return { token: match[1], via: 'bearer' };
  }
  const cookie = getCookie(c, SESSION_COOKIE);
  if (cookie === undefined) return null;
  if (!TOKEN_SHAPE.test(cookie)) throw securityError('authentication_failed', 'Your session cookie is invalid.');
  return { token: cookie, via: 'cookie' };
}

/** Sets the web app's cookies: the session (HttpOnly) and its CSRF token (readable by the page's script). */
export function setSessionCookies(c: Context, kit: RouteKit, token: string): string {
  const csrf = csrfTokenFor(kit.csrfSecret, token);
  const common = { path: '/', sameSite: 'Strict', secure: kit.deps.config.cookieSecure } as const;
  setCookie(c, SESSION_COOKIE, token, { ...common, httpOnly: true });
  setCookie(c, CSRF_COOKIE, csrf, { ...common, httpOnly: false });
  return csrf;
}

export function clearSessionCookies(c: Context, kit: RouteKit): void {
  const common = { path: '/', sameSite: 'Strict', secure: kit.deps.config.cookieSecure } as const;
  deleteCookie(c, SESSION_COOKIE, common);
  deleteCookie(c, CSRF_COOKIE, common);
}

/**
 * Checks the double-submit CSRF token of a cookie-authenticated, state-changing request: the `mv_csrf` cookie,
 * the `X-CSRF-Token` header and the MAC of the session token must all agree.
 */
export function checkCsrf(c: Context, kit: RouteKit, sessionToken: string): void {
  const header = c.req.header(CSRF_HEADER);
  const cookie = getCookie(c, CSRF_COOKIE);
  const expected = csrfTokenFor(kit.csrfSecret, sessionToken);
  if (!header || !cookie || !sameSecret(header, cookie) || !sameSecret(header, expected)) {
    throw securityError('csrf_failed', 'Missing or wrong CSRF token. Reload the page and try again.');
  }
}

/** A personal access token or an OAuth access token (src/security/access-tokens.ts), not a session token. */
const GRANT_TOKEN = /^mv[pa]_[A-Za-z0-9_-]{43}$/;

/**
 * Middleware: resolves the session (bearer or cookie), enforces CSRF on cookie writes, sets the principal.
 * With `tokens`, a personal access token or OAuth access token is accepted too (memories, search, MCP): its
 * principal reads the token's levels and names the token as the client. Routes about the session itself
 * (unlocking, passkeys, creating tokens) leave it out, so a token can never widen its own reach.
 */
export function requireSession(kit: RouteKit, options: { readonly tokens?: boolean } = {}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const presented = presentedToken(c);
    if (!presented) throw securityError('authentication_failed', 'Sign in first: no session token was presented.');
    if (presented.via === 'bearer' && GRANT_TOKEN.test(presented.token)) {
      const tokens = kit.deps.tokens;
      if (!options.tokens || !tokens) {
        throw securityError(
          'authentication_failed',
          'An access token cannot be used here: this needs a signed-in session (sign in with your password).',
        );
      }
      const resolved = await tokens.resolve(presented.token);
      const meta = requestMeta(c, kit.deps.config.trustProxy ?? false, 'api');
      c.set('session', {
        session: {
          id: resolved.grant.id,
          userId: resolved.userId,
          createdAt: resolved.grant.createdAt,
          unlocked: [...resolved.levels],
          expires: {},
          totpEnrolled: false,
          passkeys: 0,
        },
        opener: resolved.opener,
      });
      c.set('token', presented.token);
      c.set('via', 'bearer');
      c.set('meta', meta);
      c.set('principal', {
        userId: resolved.userId,
        opener: resolved.opener,
        sessionId: resolved.grant.id,
        meta,
        client: resolved.grant.name,
      });
      await next();
      return;
    }
    if (presented.via === 'cookie' && !SAFE_METHODS.has(c.req.method)) checkCsrf(c, kit, presented.token);
    const meta = requestMeta(c, kit.deps.config.trustProxy ?? false, presented.via === 'cookie' ? 'web' : 'api');
    const session: AuthenticatedSession = await kit.deps.auth.resolve(presented.token, meta);
    c.set('session', session);
    c.set('token', presented.token);
    c.set('via', presented.via);
    c.set('meta', meta);
    c.set('principal', {
      userId: session.session.userId,
      opener: session.opener,
      sessionId: session.session.id,
      meta,
    });
    try {
      await next();
    } finally {
      await session.release?.();
    }
  };
}
