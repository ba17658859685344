import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { auth, type OAuthClientProvider, UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  OAuthMetadataSchema,
  OAuthProtectedResourceMetadataSchema,
  OAuthTokensSchema,
  type OAuthClientInformationMixed,
  type OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.js';
import { type RunningServer, startServer } from '../../src/app/serve.js';
import { memvault, tempDir } from '../helpers/cli.js';

const USER = '+14155550134';
const PASSWORD = 'correct horse battery staple';
const SECRET_TEXT = 'My therapist appointment moved to Thursday';
const REDIRECT = 'http://127.0.0.1:9/callback';

const textOf = (result: unknown) =>
  (result as CallToolResult).content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

const form = (fields: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
  redirect: 'manual' as const,
});

let dir: { path: string; cleanup(): void };
let server: RunningServer;
let base: string;

beforeAll(async () => {
  dir = tempDir();
  const D = join(dir.path, 'data');
  const created = await memvault(['user', 'create', '--phone', USER, '--data-dir', D, '--password-stdin'], {
    stdin: PASSWORD,
  });
  expect(created.code).toBe(0);
  const add = await memvault(['add', '--user', USER, '--data-dir', D, '--category', 'CONFIDENTIAL', SECRET_TEXT]);
  expect(add.code).toBe(0);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const config = loadConfig(
    { MEMVAULT_DATA_DIR: D, MEMVAULT_LOG_LEVEL: 'silent', MEMVAULT_PUBLIC_URL: base },
    { host: '127.0.0.1', port },
  );
  server = await startServer(config);
}, 60_000);

afterAll(async () => {
  await server?.stop();
  dir?.cleanup();
});

async function register(body: Record<string, unknown>): Promise<Response> {
  return fetch(`${base}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** Opens the consent page and returns its signed request field. */
async function consentRequest(clientId: string, challenge: string, extra: Record<string, string> = {}) {
  const url = new URL(`${base}/oauth/authorize`);
  const params = {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'state-123',
    scope: 'level1 level2',
    resource: `${base}/mcp`,
    ...extra,
  };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const page = await fetch(url, { redirect: 'manual' });
  const html = await page.text();
  return { page, html, request: /name="request" value="([^"]+)"/.exec(html)?.[1] ?? '' };
}

/** Signs in on the consent page and returns the redirect's parameters. */
async function consent(clientId: string, challenge: string, fields: Record<string, string> = {}) {
  const { request } = await consentRequest(clientId, challenge);
  const answer = await fetch(
    `${base}/oauth/authorize`,
    form({ request, levels: '2', phone: USER, password: PASSWORD, decision: 'allow', ...fields }),
  );
  return { answer, location: answer.headers.get('location') ? new URL(answer.headers.get('location')!) : null };
}

async function exchange(clientId: string, code: string, verifier: string) {
  return fetch(
    `${base}/oauth/token`,
    form({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      client_id: clientId,
      code_verifier: verifier,
    }),
  );
}

async function mcpClient(accessToken: string): Promise<Client> {
  const client = new Client({ name: 'oauth-test', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${accessToken}` } },
    }),
  );
  return client;
}

describe('OAuth 2.1 for remote MCP clients: the whole dance against the running server', () => {
  it('publishes RFC 9728 and RFC 8414 metadata, and a 401 on /mcp points at it', async () => {
    const denied = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    expect(denied.status).toBe(401);
    const challenge = denied.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Bearer /);
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge)?.[1];
    expect(metadataUrl).toBe(`${base}/.well-known/oauth-protected-resource/mcp`);
    const resource = OAuthProtectedResourceMetadataSchema.parse(await (await fetch(metadataUrl!)).json());
    expect(resource.resource).toBe(`${base}/mcp`);
    expect(resource.authorization_servers).toEqual([base]);
    const asMeta = OAuthMetadataSchema.parse(
      await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json(),
    );
    expect(asMeta.issuer).toBe(base);
    expect(asMeta.code_challenge_methods_supported).toEqual(['S256']);
    expect(asMeta.registration_endpoint).toBe(`${base}/oauth/register`);
  });

  it('registration refuses unsafe redirect URIs and confidential clients', async () => {
    for (const uri of [
      'javascript:alert(1)',
      'http://evil.example/cb',
      'https://x.example/cb#frag',
      'data:text/html,x',
    ]) {
      const res = await register({ client_name: 'Bad', redirect_uris: [uri] });
      expect(res.status, uri).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(/invalid_(redirect_uri|client_metadata)/);
    }
    const secret = await register({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'client_secret_basic' });
    expect(secret.status).toBe(400);
    const implicit = await register({ redirect_uris: [REDIRECT], response_types: ['token'] });
    expect(implicit.status).toBe(400);
    const notJson = await fetch(`${base}/oauth/register`, {
      method: 'POST',
      body: '{',
      headers: { 'content-type': 'application/json' },
    });
    expect(notJson.status).toBe(400);
    const ok = await register({
      client_name: 'Cursor',
      redirect_uris: ['cursor://anysphere.cursor-mcp/oauth/callback'],
    });
    expect(ok.status).toBe(201);
  });

  it('registration, consent, code + PKCE, MCP call, refresh with rotation and reuse detection, revocation', async () => {
    const registered = await register({ client_name: 'Test <Connector>', redirect_uris: [REDIRECT] });
    expect(registered.status).toBe(201);
    const { client_id: clientId } = (await registered.json()) as { client_id: string };

    // The consent page names the client (escaped), and never redirects for an unknown client or redirect URI.
    const { page, html } = await consentRequest(clientId, pkce().challenge);
    expect(page.status).toBe(200);
    expect(html).toContain('Test &#60;Connector&#62;');
    expect(html).not.toContain('<Connector>');
    expect(page.headers.get('content-security-policy')).toContain("form-action 'self' http://127.0.0.1:9");
    expect((await consentRequest('mvc_AAAAAAAAAAAAAAAAAAAAAA', pkce().challenge)).page.status).toBe(400);
    const foreign = await consentRequest(clientId, pkce().challenge, { redirect_uri: 'https://evil.example/cb' });
    expect(foreign.page.status).toBe(400);
    expect(foreign.page.headers.get('location')).toBeNull();
    // A request without S256 goes back to the client with an error (the redirect URI is trusted by then).
    const plain = await consentRequest(clientId, pkce().challenge, { code_challenge_method: 'plain' });
    expect(plain.page.status).toBe(302);
    const plainBack = new URL(plain.page.headers.get('location')!);
    expect(plainBack.searchParams.get('error')).toBe('invalid_request');
    expect(plainBack.searchParams.get('state')).toBe('state-123');

    // Wrong password: the page again, with the reason; no code.
    const wrong = await consent(clientId, pkce().challenge, { password: 'not the password at all' });
    expect(wrong.answer.status).toBe(400);
    expect(await wrong.answer.text()).toContain('Wrong phone number or password');
    // A forged request field is refused.
    const forged = await fetch(`${base}/oauth/authorize`, form({ request: 'e30.AAAA', decision: 'allow' }));
    expect(forged.status).toBe(400);
    // Deny: back to the client with access_denied.
    const denied = await consent(clientId, pkce().challenge, { decision: 'deny' });
    expect(denied.location?.searchParams.get('error')).toBe('access_denied');

    // A code with the wrong verifier fails, and is burnt for good.
    const first = pkce();
    const burnt = await consent(clientId, first.challenge);
    expect(burnt.answer.status).toBe(302);
    expect(burnt.location?.searchParams.get('iss')).toBe(base);
    const burntCode = burnt.location!.searchParams.get('code')!;
    const badVerifier = await exchange(clientId, burntCode, pkce().verifier);
    expect(badVerifier.status).toBe(400);
    expect(((await badVerifier.json()) as { error: string }).error).toBe('invalid_grant');
    expect((await exchange(clientId, burntCode, first.verifier)).status).toBe(400);

    // The real exchange.
    const second = pkce();
    const granted = await consent(clientId, second.challenge);
    expect(granted.location?.searchParams.get('state')).toBe('state-123');
    const code = granted.location!.searchParams.get('code')!;
    const tokenAnswer = await exchange(clientId, code, second.verifier);
    expect(tokenAnswer.status).toBe(200);
    expect(tokenAnswer.headers.get('cache-control')).toBe('no-store');
    const tokens = OAuthTokensSchema.parse(await tokenAnswer.json());
    expect(tokens.token_type).toBe('Bearer');
    expect(tokens.scope).toBe('level1 level2');
    expect(tokens.refresh_token).toMatch(/^mvr_/);
    // The code works once.
    expect((await exchange(clientId, code, second.verifier)).status).toBe(400);

    // MCP with the access token, through the SDK's client: level 2 is readable.
    const mcp = await mcpClient(tokens.access_token);
    expect(textOf(await mcp.callTool({ name: 'recall', arguments: { query: 'therapist' } }))).toContain(SECRET_TEXT);
    await mcp.close();
    // The REST API takes it too; the refresh token is no access token.
    const rest = await fetch(`${base}/v1/memories`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(rest.status).toBe(200);
    expect(JSON.stringify(await rest.json())).toContain(SECRET_TEXT);
    const withRefresh = await fetch(`${base}/v1/memories`, {
      headers: { authorization: `Bearer ${tokens.refresh_token}` },
    });
    expect(withRefresh.status).toBe(401);

    // Refresh: a new pair; the old refresh token is spent.
    const refresh = (token: string) =>
      fetch(`${base}/oauth/token`, form({ grant_type: 'refresh_token', refresh_token: token, client_id: clientId }));
    const refreshed = await refresh(tokens.refresh_token!);
    expect(refreshed.status).toBe(200);
    const next = OAuthTokensSchema.parse(await refreshed.json());
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    const again = await mcpClient(next.access_token);
    expect(textOf(await again.callTool({ name: 'recall', arguments: { query: 'therapist' } }))).toContain(SECRET_TEXT);
    await again.close();
    // Reusing the spent refresh token revokes the whole grant: the new tokens die too.
    const reuse = await refresh(tokens.refresh_token!);
    expect(reuse.status).toBe(400);
    expect(((await reuse.json()) as { error: string }).error).toBe('invalid_grant');
    expect((await refresh(next.refresh_token!)).status).toBe(400);
    await expect(mcpClient(next.access_token)).rejects.toThrow();

    // Revocation by the client (RFC 7009).
    const third = pkce();
    const fresh = await consent(clientId, third.challenge, { levels: '1' });
    const level1 = OAuthTokensSchema.parse(
      await (await exchange(clientId, fresh.location!.searchParams.get('code')!, third.verifier)).json(),
    );
    expect(level1.scope).toBe('level1');
    const weak = await mcpClient(level1.access_token);
    expect(textOf(await weak.callTool({ name: 'recall', arguments: { query: 'therapist' } }))).not.toContain(
      SECRET_TEXT,
    );
    await weak.close();
    const revoked = await fetch(`${base}/oauth/revoke`, form({ token: level1.refresh_token!, client_id: clientId }));
    expect(revoked.status).toBe(200);
    await expect(mcpClient(level1.access_token)).rejects.toThrow();
    // Unknown tokens are fine to revoke; unknown clients are not.
    expect((await fetch(`${base}/oauth/revoke`, form({ token: 'nope', client_id: clientId }))).status).toBe(200);
    expect((await fetch(`${base}/oauth/revoke`, form({ token: 'nope', client_id: 'mvc_x' }))).status).toBe(401);
  }, 60_000);

  it('the SDK’s own OAuth client completes discovery, registration, consent and the token exchange', async () => {
    let information: OAuthClientInformationMixed | undefined;
    let saved: OAuthTokens | undefined;
    let verifier = '';
    let authorizationUrl: URL | undefined;
    const provider: OAuthClientProvider = {
      redirectUrl: REDIRECT,
      clientMetadata: {
        client_name: 'SDK client',
        redirect_uris: [REDIRECT],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
      clientInformation: () => information,
      saveClientInformation: (info) => {
        information = info;
      },
      tokens: () => saved,
      saveTokens: (tokens) => {
        saved = tokens;
      },
      redirectToAuthorization: (url) => {
        authorizationUrl = url;
      },
      saveCodeVerifier: (v) => {
        verifier = v;
      },
      codeVerifier: () => verifier,
    };
    const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { authProvider: provider });
    const client = new Client({ name: 'sdk-oauth', version: '1' });
    await expect(client.connect(transport)).rejects.toBeInstanceOf(UnauthorizedError);
    expect(authorizationUrl?.origin).toBe(base);
    // The person consents in the browser: here, the same two requests a browser makes.
    const page = await fetch(authorizationUrl!, { redirect: 'manual' });
    const request = /name="request" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
    const answer = await fetch(
      `${base}/oauth/authorize`,
      form({ request, levels: '2', phone: USER, password: PASSWORD, decision: 'allow' }),
    );
    const code = new URL(answer.headers.get('location')!).searchParams.get('code')!;
    await transport.finishAuth(code);
    expect(saved?.access_token).toMatch(/^mva_/);
    const connected = new Client({ name: 'sdk-oauth', version: '1' });
    await connected.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { authProvider: provider }));
    expect(textOf(await connected.callTool({ name: 'recall', arguments: { query: 'therapist' } }))).toContain(
      SECRET_TEXT,
    );
    await connected.close();
    // The SDK's refresh path works against the rotation: new tokens replace the saved ones.
    const before = saved?.refresh_token;
    const result = await auth(provider, { serverUrl: new URL(`${base}/mcp`) });
    expect(result).toBe('AUTHORIZED');
    expect(saved?.refresh_token).toMatch(/^mvr_/);
    expect(saved?.refresh_token).not.toBe(before);
  }, 60_000);
});

describe('personal access tokens over HTTP (web settings)', () => {
  async function signIn(): Promise<string> {
    const res = await fetch(`${base}/v1/auth/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ phone: USER, password: PASSWORD }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { token: string }).token;
  }
  const call = (path: string, token: string, init: RequestInit = {}) =>
    fetch(`${base}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers },
    });

  it('creates inside a session (level 2 only while it is open), lists, uses, and revokes', async () => {
    const session = await signIn();
    const created = await call('/v1/tokens', session, {
      method: 'POST',
      body: JSON.stringify({ name: 'Cursor', levels: [1, 2], expiresInDays: 30 }),
    });
    expect(created.status).toBe(201);
    const { token, info } = (await created.json()) as { token: string; info: { id: string; expiresAt: string } };
    expect(token).toMatch(/^mvp_/);
    expect(Date.parse(info.expiresAt)).toBeGreaterThan(Date.now() + 29 * 86_400_000);

    const listed = (await (await call('/v1/tokens', session)).json()) as { tokens: { id: string; name: string }[] };
    expect(listed.tokens.map((t) => t.name)).toContain('Cursor');
    expect(JSON.stringify(listed)).not.toContain(token);

    // The token reads level 2 over REST and MCP…
    const search = await call('/v1/search', token, { method: 'POST', body: JSON.stringify({ query: 'therapist' }) });
    expect(search.status).toBe(200);
    expect(JSON.stringify(await search.json())).toContain(SECRET_TEXT);
    const mcp = await mcpClient(token);
    expect(textOf(await mcp.callTool({ name: 'recall', arguments: { query: 'therapist' } }))).toContain(SECRET_TEXT);
    await mcp.close();
    // …but can never act on the session side: make tokens, unlock levels.
    expect((await call('/v1/tokens', token)).status).toBe(401);
    const unlock = await call('/v1/auth/unlock', token, {
      method: 'POST',
      body: JSON.stringify({ level: 3, password: PASSWORD, totp: '123456' }),
    });
    expect(unlock.status).toBe(401);

    // Levels 3–4 never; level 2 only while the session holds it.
    const three = await call('/v1/tokens', session, {
      method: 'POST',
      body: JSON.stringify({ name: 'x', levels: [3] }),
    });
    expect(three.status).toBe(422);
    expect((await call('/v1/auth/lock', session, { method: 'POST', body: JSON.stringify({ level: 2 }) })).status).toBe(
      200,
    );
    const locked = await call('/v1/tokens', session, {
      method: 'POST',
      body: JSON.stringify({ name: 'x', levels: [1, 2] }),
    });
    expect(locked.status).toBe(403);
    expect(((await locked.json()) as { error: { message: string } }).error.message).toContain('unlock it first');

    // Revoking from settings stops it at once.
    expect((await call(`/v1/tokens/${info.id}`, session, { method: 'DELETE' })).status).toBe(204);
    expect((await call('/v1/search', token, { method: 'POST', body: JSON.stringify({ query: 'x' }) })).status).toBe(
      401,
    );
    expect((await call(`/v1/tokens/${info.id}`, session, { method: 'DELETE' })).status).toBe(404);
    expect((await call('/v1/tokens/..%2Fetc', session, { method: 'DELETE' })).status).toBe(400);

    const audit = (await (await call('/v1/audit', session)).json()) as { records: { action: string }[] };
    expect(audit.records.map((r) => r.action)).toEqual(expect.arrayContaining(['token_create', 'token_revoke']));
  }, 60_000);
});
