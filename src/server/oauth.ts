import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import type { Context } from 'hono';
import { z } from 'zod';
import type { UserId } from '../core/entry.js';
import { isMemvaultError } from '../core/errors.js';
import { normalizeUserId } from '../core/user-id.js';
import type { TokenLevel } from '../core/token-rules.js';
import type { IssuedTokens, OAuthClientRecord, TokenService } from '../ports/tokens.js';
import type { App, RouteKit } from './context.js';
import { clientIp, requestMeta } from './session.js';

/**
 * OAuth 2.1 for remote MCP clients (claude.ai and ChatGPT connectors, Cursor…), as the MCP authorization spec
 * asks: protected-resource metadata (RFC 9728), authorization-server metadata (RFC 8414), dynamic client
 * registration (RFC 7591, public clients only), the authorization code grant with PKCE (S256 only), refresh
 * tokens that rotate (a reused one revokes the grant) and revocation (RFC 7009).
 *
 * The consent page is served here, server-rendered: the person signs in with phone and password and picks the
 * levels the client may read (1, or 1–2). The level-2 key of that sign-in travels wrapped under the one-time
 * code, then under the access and refresh tokens (src/security/access-tokens.ts); the server keeps no copy.
 */

/** The scopes a client may ask for; the person decides on the consent page. */
export const OAUTH_SCOPES = ['level1', 'level2'] as const;
const CODE_TTL_MS = 60_000;
const CONSENT_TTL_MS = 10 * 60_000;
const MAX_PENDING_CODES = 10_000;

/** The MCP endpoint's protected-resource metadata URL (RFC 9728 §3.1: path-inserted well-known). */
export function resourceMetadataUrl(base: string): string {
  return `${base}/.well-known/oauth-protected-resource/mcp`;
}

// RFC 6749 / 7636 character sets.
const PKCE = /^[A-Za-z0-9._~-]{43,128}$/;
const STATE = /^[\x20-\x7e]{1,500}$/;
const CLIENT_ID = /^mvc_[A-Za-z0-9_-]{22}$/;
const FORBIDDEN_SCHEMES = new Set([
  'javascript:',
  'data:',
  'file:',
  'vbscript:',
  'blob:',
  'about:',
  'ftp:',
  'ws:',
  'wss:',
]);
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** A redirect URI a client may register: https, http on loopback only, or an app's private-use scheme. */
function redirectUriProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not an absolute URL';
  }
  if (url.hash !== '') return 'must not carry a fragment';
  if (url.username !== '' || url.password !== '') return 'must not carry credentials';
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:') return LOOPBACK.has(url.hostname) ? null : 'must use https (http only on loopback)';
  if (FORBIDDEN_SCHEMES.has(url.protocol)) return `must not use the ${url.protocol} scheme`;
  // RFC 8252 §7.1: private-use schemes of native apps (cursor://…, com.example.app:/…).
  return /^[a-z][a-z0-9+.-]*:$/.test(url.protocol) ? null : 'has an unusable scheme';
}

const RegistrationBody = z
  .object({
    redirect_uris: z.array(z.string().max(2000)).min(1).max(10),
    client_name: z.string().trim().min(1).max(100).optional(),
    token_endpoint_auth_method: z.string().max(64).optional(),
    grant_types: z.array(z.string().max(64)).max(5).optional(),
    response_types: z.array(z.string().max(64)).max(5).optional(),
    scope: z.string().max(200).optional(),
  })
  // Other RFC 7591 metadata (logo_uri, client_uri, software_id…) is accepted and ignored, as §2 allows.
  .loose();

const AuthorizeQuery = z.object({
  response_type: z.string(),
  client_id: z.string().regex(CLIENT_ID),
  redirect_uri: z.string().max(2000).optional(),
  code_challenge: z.string().regex(PKCE, 'code_challenge must be 43–128 characters of [A-Za-z0-9._~-]'),
  code_challenge_method: z.string(),
  state: z.string().regex(STATE).optional(),
  scope: z.string().max(200).optional(),
  resource: z.string().max(2000).optional(),
});
type AuthorizeRequest = z.infer<typeof AuthorizeQuery>;

/** A code waiting to be exchanged; the level-2 key is wrapped under the code itself. */
interface PendingCode {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly challenge: string;
  readonly userId: UserId;
  readonly levels: TokenLevel[];
  readonly wrapped: string | null;
  readonly generation: number;
  readonly expiresAt: number;
}

class OAuthFailure extends Error {
  constructor(
    readonly error: string,
    message: string,
    readonly status: 400 | 401 = 400,
  ) {
    super(message);
  }
}

/** The consent page's own Content-Security-Policy, handed to the app's header middleware under this name. */
export const CONSENT_CSP_HEADER = 'X-Memvault-Consent-CSP';

const sha256hex = (value: string) => createHash('sha256').update(value).digest('hex');

function wrapUnder(secret: string, key: Uint8Array): string {
  const kek = Buffer.from(hkdfSync('sha256', Buffer.from(secret), Buffer.alloc(0), 'memvault/oauth-code/v1', 32));
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', kek, iv);
  const body = Buffer.concat([cipher.update(key), cipher.final()]);
  kek.fill(0);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}

function unwrapUnder(secret: string, wrapped: string): Uint8Array {
  const raw = Buffer.from(wrapped, 'base64url');
  const kek = Buffer.from(hkdfSync('sha256', Buffer.from(secret), Buffer.alloc(0), 'memvault/oauth-code/v1', 32));
  try {
    const decipher = createDecipheriv('aes-256-gcm', kek, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    return new Uint8Array(Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]));
  } finally {
    kek.fill(0);
  }
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Mounts the OAuth endpoints and metadata. `base` is the server's public URL without a trailing slash. */
export function registerOAuthRoutes(app: App, kit: RouteKit, tokens: TokenService, base: string): void {
  const { auth, logger } = kit.deps;
  const trustProxy = kit.deps.config.trustProxy ?? false;
  const resource = `${base}/mcp`;
  const codes = new Map<string, PendingCode>();
  // The consent form carries its authorization request signed, so nothing is kept between the two requests.
  const formKey = Buffer.from(hkdfSync('sha256', kit.csrfSecret, Buffer.alloc(0), 'memvault/oauth-consent/v1', 32));
  const now = () => (kit.deps.clock ?? { now: () => new Date() }).now().getTime();

  const protectedResource = {
    resource,
    authorization_servers: [base],
    scopes_supported: [...OAUTH_SCOPES],
    bearer_methods_supported: ['header'],
    resource_name: 'memvault',
    resource_documentation: `${base}/v1/openapi.json`,
  };
  const serverMetadata = {
    issuer: base,
    authorization_endpoint: `${base}/oauth/authorize`,
    token_endpoint: `${base}/oauth/token`,
    registration_endpoint: `${base}/oauth/register`,
    revocation_endpoint: `${base}/oauth/revoke`,
    scopes_supported: [...OAUTH_SCOPES],
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_methods_supported: ['none'],
    revocation_endpoint_auth_methods_supported: ['none'],
    code_challenge_methods_supported: ['S256'],
    authorization_response_iss_parameter_supported: true,
  };

  const json = (c: Context, body: unknown, status: 200 | 201 | 400 | 401 | 429 = 200) => {
    c.header('Cache-Control', 'no-store');
    c.header('Access-Control-Allow-Origin', '*');
    return c.json(body as object, status);
  };
  const failure = (c: Context, error: OAuthFailure) =>
    json(c, { error: error.error, error_description: error.message }, error.status);

  for (const path of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']) {
    app.get(path, (c) => json(c, protectedResource));
  }
  app.get('/.well-known/oauth-authorization-server', (c) => json(c, serverMetadata));

  /** Takes a token from the caller's bucket or throws 429 as an OAuth error. */
  const throttle = async (c: Context, key: string) => {
    const wait = await kit.limiter.take([`oauth:${key}:${clientIp(c, trustProxy)}`]);
    if (wait > 0) {
      c.header('Retry-After', String(wait));
      throw new OAuthFailure('slow_down', `Too many requests; try again in ${wait} s.`);
    }
  };

  async function formOf(c: Context): Promise<Record<string, string>> {
    const type = c.req.header('content-type') ?? '';
    if (!type.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
      throw new OAuthFailure('invalid_request', 'Send the request as application/x-www-form-urlencoded.');
    }
    const params = new URLSearchParams(await c.req.text());
    const out: Record<string, string> = {};
    for (const [key, value] of params) {
      // RFC 6749 §3.1: a parameter sent twice is an error, not a choice.
      if (key in out) throw new OAuthFailure('invalid_request', `The parameter ${key} was sent more than once.`);
      if (value.length > 4000) throw new OAuthFailure('invalid_request', `The parameter ${key} is too long.`);
      out[key] = value;
    }
    return out;
  }

  app.post('/oauth/register', async (c) => {
    try {
      await throttle(c, 'register');
      let body: unknown;
      try {
        body = await c.req.json();
      } catch {
        throw new OAuthFailure('invalid_client_metadata', 'The body must be a JSON object of client metadata.');
      }
      const parsed = RegistrationBody.safeParse(body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new OAuthFailure(
          'invalid_client_metadata',
          `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}.`,
        );
      }
      const meta = parsed.data;
      for (const uri of meta.redirect_uris) {
        const problem = redirectUriProblem(uri);
        if (problem)
          throw new OAuthFailure('invalid_redirect_uri', `The redirect URI ${uri.slice(0, 200)} ${problem}.`);
      }
      const method = meta.token_endpoint_auth_method ?? 'none';
      if (method !== 'none') {
        throw new OAuthFailure(
          'invalid_client_metadata',
          'Only public clients are supported: token_endpoint_auth_method must be "none" (PKCE protects the code).',
        );
      }
      const grants = meta.grant_types ?? ['authorization_code', 'refresh_token'];
      if (grants.some((g) => g !== 'authorization_code' && g !== 'refresh_token')) {
        throw new OAuthFailure('invalid_client_metadata', 'grant_types may be authorization_code and refresh_token.');
      }
      if ((meta.response_types ?? ['code']).some((r) => r !== 'code')) {
        throw new OAuthFailure('invalid_client_metadata', 'response_types may only be "code".');
      }
      const client = await tokens.registerClient({
        clientName: meta.client_name ?? 'Unnamed client',
        redirectUris: meta.redirect_uris,
      });
      return json(
        c,
        {
          client_id: client.clientId,
          client_id_issued_at: Math.floor(Date.parse(client.createdAt) / 1000),
          client_name: client.clientName,
          redirect_uris: client.redirectUris,
          token_endpoint_auth_method: 'none',
          grant_types: grants,
          response_types: ['code'],
        },
        201,
      );
    } catch (error) {
      if (error instanceof OAuthFailure) return failure(c, error);
      throw error;
    }
  });

  /** Checks the parts of an authorization request that decide where errors may be sent (§4.1.2.1). */
  async function trustedTarget(
    query: Record<string, string>,
  ): Promise<{ client: OAuthClientRecord; redirectUri: string }> {
    const clientId = query.client_id ?? '';
    const client = CLIENT_ID.test(clientId) ? await tokens.client(clientId) : null;
    if (!client) throw new OAuthFailure('invalid_client', 'This app is not registered here (unknown client_id).');
    const asked = query.redirect_uri;
    const redirectUri = asked ?? (client.redirectUris.length === 1 ? client.redirectUris[0] : undefined);
    if (redirectUri === undefined || !client.redirectUris.includes(redirectUri)) {
      throw new OAuthFailure('invalid_request', 'The redirect_uri is not one this app registered.');
    }
    return { client, redirectUri };
  }

  function redirectWith(c: Context, redirectUri: string, params: Record<string, string | undefined>) {
    const url = new URL(redirectUri);
    for (const [key, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(key, value);
    url.searchParams.set('iss', base);
    c.header('Cache-Control', 'no-store');
    return c.redirect(url.toString(), 302);
  }

  function validateRequest(query: Record<string, string>): AuthorizeRequest {
    const parsed = AuthorizeQuery.safeParse(query);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new OAuthFailure(
        'invalid_request',
        `${issue?.path.join('.') || 'request'}: ${issue?.message ?? 'invalid'}.`,
      );
    }
    const request = parsed.data;
    if (request.response_type !== 'code') {
      throw new OAuthFailure('unsupported_response_type', 'Only response_type=code is supported.');
    }
    if (request.code_challenge_method !== 'S256') {
      throw new OAuthFailure('invalid_request', 'PKCE with code_challenge_method=S256 is required.');
    }
    if (request.resource !== undefined && request.resource !== resource && request.resource !== base) {
      throw new OAuthFailure('invalid_target', `The resource must be ${resource}.`);
    }
    const scopes = (request.scope ?? '').split(' ').filter((s) => s.length > 0);
    if (scopes.some((s) => !(OAUTH_SCOPES as readonly string[]).includes(s))) {
      throw new OAuthFailure('invalid_scope', `Scopes are ${OAUTH_SCOPES.join(' and ')}.`);
    }
    return request;
  }

  function signRequest(request: AuthorizeRequest, redirectUri: string): string {
    const payload = Buffer.from(JSON.stringify({ ...request, redirect_uri: redirectUri, at: now() })).toString(
      'base64url',
    );
    const mac = createHmac('sha256', formKey).update(payload).digest('base64url');
    return `${payload}.${mac}`;
  }

  function verifySigned(value: string | undefined): AuthorizeRequest & { redirect_uri: string } {
    const [payload, mac] = (value ?? '').split('.');
    const expected = payload ? createHmac('sha256', formKey).update(payload).digest('base64url') : '';
    if (!payload || !mac || !sameText(mac, expected)) {
      throw new OAuthFailure('invalid_request', 'The consent form was altered or is from another server; start again.');
    }
    const data = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as AuthorizeRequest & {
      redirect_uri: string;
      at: number;
    };
    if (now() - data.at > CONSENT_TTL_MS) {
      throw new OAuthFailure('invalid_request', 'The consent page expired; start the connection again from the app.');
    }
    return data;
  }

  function consentPage(
    c: Context,
    input: {
      client: OAuthClientRecord;
      redirectUri: string;
      signed: string;
      wantsLevel2: boolean;
      problem?: string;
    },
  ) {
    const host = new URL(input.redirectUri).host || new URL(input.redirectUri).protocol;
    const checked = (yes: boolean) => (yes ? ' checked' : '');
    const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Connect ${escapeHtml(input.client.clientName)} to memvault</title>
<link rel="stylesheet" href="/assets/style.css"></head>
<body><main class="consent">
<h1>Connect “${escapeHtml(input.client.clientName)}”?</h1>
<p>This app (returning to <strong>${escapeHtml(host)}</strong>) asks to read and add to your memories.
Secret and ultra-secret memories (levels 3–4) are never shared with an app.</p>
${input.problem ? `<p class="error" role="alert">${escapeHtml(input.problem)}</p>` : ''}
<form method="post" action="/oauth/authorize">
<input type="hidden" name="request" value="${escapeHtml(input.signed)}">
<fieldset><legend>What it may read</legend>
<label><input type="radio" name="levels" value="1"${checked(!input.wantsLevel2)}> Level 1: everyday and general memories</label>
<label><input type="radio" name="levels" value="2"${checked(input.wantsLevel2)}> Levels 1–2: also confidential memories</label>
</fieldset>
<label>Phone number <input name="phone" type="tel" autocomplete="username" required maxlength="64"></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required maxlength="1024"></label>
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny" formnovalidate>Deny</button>
</form>
<p>You can disconnect it any time under Settings → Access tokens, or with <code>memvault token revoke</code>.</p>
</main></body></html>`;
    // The form posts here and is answered with a redirect to the app: allow that target for form-action.
    const target = new URL(input.redirectUri);
    const formTarget =
      target.protocol === 'https:' || target.protocol === 'http:' ? target.origin : `${target.protocol}`;
    c.header(
      CONSENT_CSP_HEADER,
      `default-src 'self'; style-src 'self'; script-src 'none'; form-action 'self' ${formTarget}; frame-ancestors 'none'; base-uri 'none'`,
    );
    c.header('Cache-Control', 'no-store');
    return c.html(html, input.problem ? 400 : 200);
  }

  const errorPage = (c: Context, message: string) => {
    c.header('Cache-Control', 'no-store');
    return c.html(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Cannot connect</title>` +
        `<link rel="stylesheet" href="/assets/style.css"></head><body><main class="consent"><h1>Cannot connect this app</h1>` +
        `<p>${escapeHtml(message)}</p></main></body></html>`,
      400,
    );
  };

  app.get('/oauth/authorize', async (c) => {
    const query = c.req.query();
    let target: { client: OAuthClientRecord; redirectUri: string };
    try {
      target = await trustedTarget(query);
    } catch (error) {
      // Never redirect to a URI that is not the client's own (open redirector).
      if (error instanceof OAuthFailure) return errorPage(c, error.message);
      throw error;
    }
    try {
      const request = validateRequest(query);
      return consentPage(c, {
        client: target.client,
        redirectUri: target.redirectUri,
        signed: signRequest(request, target.redirectUri),
        wantsLevel2: (request.scope ?? '').split(' ').includes('level2'),
      });
    } catch (error) {
      if (error instanceof OAuthFailure) {
        return redirectWith(c, target.redirectUri, {
          error: error.error,
          error_description: error.message,
          state: query.state !== undefined && STATE.test(query.state) ? query.state : undefined,
        });
      }
      throw error;
    }
  });

  app.post('/oauth/authorize', async (c) => {
    let form: Record<string, string>;
    let request: AuthorizeRequest & { redirect_uri: string };
    let client: OAuthClientRecord;
    try {
      // A browser always sends Origin on a form POST; another site's form must not complete a consent.
      const origin = c.req.header('origin');
      if (origin !== undefined && origin !== 'null' && origin !== new URL(base).origin) {
        throw new OAuthFailure('invalid_request', 'The consent form must be sent from this server’s own page.');
      }
      form = await formOf(c);
      request = verifySigned(form.request);
      const target = await trustedTarget({ client_id: request.client_id, redirect_uri: request.redirect_uri });
      client = target.client;
    } catch (error) {
      if (error instanceof OAuthFailure) return errorPage(c, error.message);
      throw error;
    }
    const back = (params: Record<string, string | undefined>) =>
      redirectWith(c, request.redirect_uri, { ...params, state: request.state });
    if (form.decision !== 'allow') return back({ error: 'access_denied', error_description: 'The person declined.' });
    const levels: TokenLevel[] = form.levels === '2' ? [1, 2] : [1];
    const again = (problem: string) =>
      consentPage(c, {
        client,
        redirectUri: request.redirect_uri,
        signed: form.request ?? '',
        wantsLevel2: levels.includes(2),
        problem,
      });
    let userId: UserId;
    try {
      await throttle(c, 'consent');
      userId = normalizeUserId(form.phone ?? '');
    } catch (error) {
      if (error instanceof OAuthFailure) return again(error.message);
      if (isMemvaultError(error)) return again('Enter your phone number in international format, e.g. +14155550134.');
      throw error;
    }
    const meta = requestMeta(c, trustProxy, 'oauth');
    let sessionToken: string;
    try {
      sessionToken = (await auth.signIn(userId, form.password ?? '', meta)).token;
    } catch (error) {
      if (isMemvaultError(error, 'SECURITY_ERROR') || isMemvaultError(error, 'VALIDATION_ERROR')) {
        return again(error.message);
      }
      throw error;
    }
    let wrapped: string | null = null;
    const code = randomBytes(32).toString('base64url');
    try {
      if (levels.includes(2)) {
        let held: { key: Uint8Array };
        try {
          held = await tokens.sessionKey(sessionToken, 2);
        } catch (error) {
          if (isMemvaultError(error, 'SECURITY_ERROR')) {
            return again('Level 2 cannot be opened right now (your limits or time window); choose level 1.');
          }
          throw error;
        }
        try {
          wrapped = wrapUnder(code, held.key);
        } finally {
          held.key.fill(0);
        }
      }
    } finally {
      await auth.signOut(sessionToken).catch(() => undefined);
    }
    sweepCodes();
    if (codes.size >= MAX_PENDING_CODES) return back({ error: 'temporarily_unavailable' });
    codes.set(sha256hex(code), {
      clientId: client.clientId,
      redirectUri: request.redirect_uri,
      challenge: request.code_challenge,
      userId,
      levels,
      wrapped,
      generation: await tokens.generation(userId),
      expiresAt: now() + CODE_TTL_MS,
    });
    logger.info({ client: client.clientId, levels }, 'oauth consent given');
    return back({ code });
  });

  function sweepCodes(): void {
    const t = now();
    for (const [key, pending] of codes) if (pending.expiresAt <= t) codes.delete(key);
  }

  const tokenResponse = (c: Context, issued: IssuedTokens) =>
    json(c, {
      access_token: issued.accessToken,
      token_type: 'Bearer',
      expires_in: issued.expiresIn,
      refresh_token: issued.refreshToken,
      scope: issued.levels.map((l) => `level${l}`).join(' '),
    });

  app.post('/oauth/token', async (c) => {
    try {
      await throttle(c, 'token');
      const form = await formOf(c);
      const clientId = form.client_id ?? '';
      const client = CLIENT_ID.test(clientId) ? await tokens.client(clientId) : null;
      if (!client) throw new OAuthFailure('invalid_client', 'Unknown client_id.', 401);
      if (form.grant_type === 'authorization_code') {
        const code = form.code ?? '';
        const key = sha256hex(code);
        const pending = codes.get(key);
        // One use only, whatever the outcome: a second try with the same code finds nothing.
        codes.delete(key);
        if (!pending || pending.expiresAt <= now() || pending.clientId !== client.clientId) {
          throw new OAuthFailure('invalid_grant', 'The code is unknown, used or expired; authorize again.');
        }
        if (form.redirect_uri !== undefined && form.redirect_uri !== pending.redirectUri) {
          throw new OAuthFailure('invalid_grant', 'redirect_uri differs from the one of the authorization request.');
        }
        const verifier = form.code_verifier ?? '';
        if (!PKCE.test(verifier)) throw new OAuthFailure('invalid_request', 'code_verifier is missing or malformed.');
        const computed = createHash('sha256').update(verifier).digest('base64url');
        if (!sameText(computed, pending.challenge)) {
          throw new OAuthFailure('invalid_grant', 'The code_verifier does not match the code_challenge.');
        }
        const level2Key = pending.wrapped ? unwrapUnder(code, pending.wrapped) : null;
        try {
          return tokenResponse(
            c,
            await tokens.issueOAuth({
              userId: pending.userId,
              client,
              levels: pending.levels,
              level2Key,
              generation: pending.generation,
            }),
          );
        } finally {
          level2Key?.fill(0);
        }
      }
      if (form.grant_type === 'refresh_token') {
        try {
          return tokenResponse(c, await tokens.refreshOAuth(form.refresh_token ?? '', client.clientId));
        } catch (error) {
          if (isMemvaultError(error, 'SECURITY_ERROR')) throw new OAuthFailure('invalid_grant', error.message);
          throw error;
        }
      }
      throw new OAuthFailure('unsupported_grant_type', 'grant_type is authorization_code or refresh_token.');
    } catch (error) {
      if (error instanceof OAuthFailure) return failure(c, error);
      throw error;
    }
  });

  app.post('/oauth/revoke', async (c) => {
    try {
      await throttle(c, 'revoke');
      const form = await formOf(c);
      const clientId = form.client_id ?? '';
      const client = CLIENT_ID.test(clientId) ? await tokens.client(clientId) : null;
      if (!client) throw new OAuthFailure('invalid_client', 'Unknown client_id.', 401);
      // RFC 7009 §2.2: an unknown or already revoked token is answered 200 as well.
      await tokens.revokeSecret(form.token ?? '', client.clientId);
      c.header('Cache-Control', 'no-store');
      return c.body(null, 200);
    } catch (error) {
      if (error instanceof OAuthFailure) return failure(c, error);
      throw error;
    }
  });

  // Browser-based clients discover and call these cross-origin (they hold no cookie, so CORS adds no risk).
  for (const path of ['/.well-known/*', '/oauth/token', '/oauth/register', '/oauth/revoke']) {
    app.options(path, (c) => {
      c.header('Access-Control-Allow-Origin', '*');
      c.header('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
      c.header('Access-Control-Allow-Headers', 'Content-Type, Authorization, MCP-Protocol-Version');
      c.header('Access-Control-Max-Age', '600');
      return c.body(null, 204);
    });
  }
}
