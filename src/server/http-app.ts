import { randomBytes } from 'node:crypto';
import { OpenAPIHono, createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { secureHeaders } from 'hono/secure-headers';
import { isMemvaultError, securityError } from '../core/errors.js';
import { systemClock } from '../ports/clock.js';
import type { Principal } from '../services/types.js';
import type { AppEnv, HttpDeps, RouteKit } from './context.js';
import { errorPayload, httpError, statusOf } from './errors.js';
import { publicMessage } from '../core/public-message.js';
import { errorResponses, jsonResponse } from './openapi-helpers.js';
import { registerAccountRoutes } from './routes-account.js';
import { metricsAllowed } from './metrics.js';
import { RateLimiter, SharedRateLimiter } from './rate-limit.js';
import { registerAuthRoutes } from './routes-auth.js';
import { registerChannelRoutes } from './routes-channels.js';
import { registerInsightsRoutes } from './routes-insights.js';
import { registerMemoryRoutes } from './routes-memories.js';
import { registerTokenRoutes } from './routes-tokens.js';
import { CONSENT_CSP_HEADER, registerOAuthRoutes, resourceMetadataUrl } from './oauth.js';
import { HealthResponse, ReadyResponse } from './schemas.js';
import { requireSession } from './session.js';
import { registerWeb } from './web.js';

/**
 * Handles one MCP streamable-HTTP request for an authenticated principal. `src/mcp` provides it
 * (`createMcpHttpHandler`); the composition root passes it in, since edges never import each other.
 */
export type McpHttpHandler = (request: Request, principal: Principal) => Promise<Response>;

export interface CreateHttpAppDeps extends HttpDeps {
  readonly mcp?: McpHttpHandler;
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const TARGET_NAMES: Readonly<Record<string, string>> = {
  json: 'body',
  query: 'query',
  param: 'path',
  header: 'headers',
};

/**
 * The HTTP edge: the versioned JSON API under /v1 (documented at /v1/openapi.json from the same zod schemas that
 * validate), the web app at /, and MCP over streamable HTTP at /mcp when a handler is given.
 */
export function createHttpApp(deps: CreateHttpAppDeps): OpenAPIHono<AppEnv> {
  const { config, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const kit: RouteKit = {
    deps,
    limiter: deps.counters
      ? new SharedRateLimiter(config.authRateLimit ?? { capacity: 10, perMinute: 10 }, clock, deps.counters)
      : new RateLimiter(config.authRateLimit ?? { capacity: 10, perMinute: 10 }, clock),
    csrfSecret: config.csrfSecret ?? randomBytes(32),
  };
  const started = clock.now().getTime();
  const worker = { index: config.workerIndex ?? 0, pid: process.pid };
  const allowedOrigin = new URL(config.webauthnOrigin).origin;
  const oauthBase = (config.publicUrl ?? config.webauthnOrigin).replace(/\/+$/, '');

  const app = new OpenAPIHono<AppEnv>({
    // Every schema failure answers the same way: 400, VALIDATION_ERROR, the fields at fault (never their values).
    defaultHook: (result, c) => {
      if (result.success) return;
      const issues = result.error.issues.slice(0, 10).map((issue) => ({
        path: issue.path.map(String).join('.'),
        message: issue.message,
      }));
      const part = TARGET_NAMES[result.target] ?? result.target;
      const what = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
      return c.json(httpError('VALIDATION_ERROR', `Invalid ${part}. ${what}.`, { issues }), 400);
    },
  });

  app.onError((err, c) => {
    deps.metrics?.error(
      isMemvaultError(err) ? err.code : err instanceof HTTPException ? `HTTP_${err.status}` : 'INTERNAL_ERROR',
    );
    if (isMemvaultError(err)) {
      const status = statusOf(err);
      const shown = publicMessage(err.message);
      if (status >= 500) logger.error({ code: err.code, path: c.req.path, err: shown }, 'request failed');
      // The operator may need the path or pid the client was not shown.
      if (shown !== err.message) logger.debug({ code: err.code, detail: err.message }, 'error detail withheld');
      const retry = err.details?.retryAfterSeconds;
      if (typeof retry === 'number') c.header('Retry-After', String(retry));
      // RFC 9728 §5.1: tell an MCP client where to find how to get a token.
      if (status === 401 && deps.tokens && c.req.path === '/mcp') {
        c.header(
          'WWW-Authenticate',
          `Bearer resource_metadata="${resourceMetadataUrl(oauthBase)}", error="invalid_token"`,
        );
      }
      return c.json(errorPayload(err), status);
    }
    if (err instanceof HTTPException) {
      const status = err.status;
      if (status === 413) return c.json(httpError('PAYLOAD_TOO_LARGE', tooLarge(config.maxBodyBytes)), 413);
      if (status === 415) {
        return c.json(
          httpError('UNSUPPORTED_MEDIA_TYPE', 'Send the body as JSON: Content-Type: application/json.'),
          415,
        );
      }
      if (status === 400) return c.json(httpError('VALIDATION_ERROR', 'The body is not valid JSON.'), 400);
      return c.json(httpError('INTERNAL_ERROR', err.message || 'Request failed.'), status);
    }
    // Unknown failures are bugs: log the detail for the operator, tell the caller only that it failed.
    logger.error({ err, path: c.req.path, method: c.req.method }, 'unhandled error');
    return c.json(httpError('INTERNAL_ERROR', 'Something went wrong on the server. Try again later.'), 500);
  });

  app.notFound((c) => c.json(httpError('NOT_FOUND', `No route for ${c.req.method} ${c.req.path}.`), 404));

  const metrics = deps.metrics;
  if (metrics) {
    app.use('*', async (c, next) => {
      const start = performance.now();
      await next();
      const route = c.req.routePath === '*' ? 'unmatched' : c.req.routePath;
      metrics.observeRequest(c.req.method, route, c.res.status, (performance.now() - start) / 1000);
    });
    app.get('/metrics', async (c) => {
      const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
      if (!metricsAllowed(config.metricsToken, c.req.header('authorization'), env?.incoming?.socket?.remoteAddress)) {
        return c.json(
          httpError(
            'SECURITY_ERROR',
            config.metricsToken === undefined
              ? 'Metrics are served to this machine only (loopback); set MEMVAULT_METRICS_TOKEN to scrape from elsewhere.'
              : 'Present the metrics token: Authorization: Bearer <MEMVAULT_METRICS_TOKEN>.',
          ),
          403,
        );
      }
      const { contentType, body } = await metrics.render();
      return c.body(body, 200, { 'content-type': contentType, 'cache-control': 'no-store' });
    });
  }

  // Access log at debug level: the route pattern, never the concrete path or query (they can carry search terms).
  if (logger.isLevelEnabled('debug')) {
    app.use('*', async (c, next) => {
      const start = performance.now();
      await next();
      logger.debug(
        {
          method: c.req.method,
          route: c.req.routePath,
          status: c.res.status,
          ms: Math.round(performance.now() - start),
        },
        'request',
      );
    });
  }

  // The OAuth consent page brings its own policy: its form is answered with a redirect to the connecting app,
  // which form-action must allow (src/server/oauth.ts). Registered before secureHeaders so it runs after it.
  app.use('/oauth/authorize', async (c, next) => {
    await next();
    const own = c.res.headers.get(CONSENT_CSP_HEADER);
    if (own) {
      c.res.headers.set('Content-Security-Policy', own);
      c.res.headers.delete(CONSENT_CSP_HEADER);
    }
  });

  app.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
      },
      crossOriginEmbedderPolicy: false,
      // A memory vault needs none of the device's sensors or payment features: deny them to the page and to
      // anything it might embed, so an injected script cannot ask for them. Passkeys stay on our own origin.
      permissionsPolicy: {
        accelerometer: [],
        autoplay: [],
        bluetooth: [],
        camera: [],
        displayCapture: [],
        geolocation: [],
        gyroscope: [],
        hid: [],
        magnetometer: [],
        microphone: [],
        midi: [],
        payment: [],
        publickeyCredentialsGet: ['self'],
        serial: [],
        usb: [],
      },
    }),
  );

  const limitBody = bodyLimit({
    maxSize: config.maxBodyBytes,
    onError: (c) => {
      // The rest of the body is never read: close the connection so a client cannot reuse a half-read socket.
      c.header('Connection', 'close');
      return c.json(httpError('PAYLOAD_TOO_LARGE', tooLarge(config.maxBodyBytes)), 413);
    },
  });
  // A browser always sends Origin on a cross-site write; refuse any that is not ours (CSRF defence in depth).
  const sameOrigin = async (c: Context, next: () => Promise<void>) => {
    const origin = c.req.header('origin');
    if (origin && STATE_CHANGING.has(c.req.method) && !isAllowedOrigin(origin, allowedOrigin, c.req.header('host'))) {
      throw securityError('csrf_failed', 'Cross-origin requests may not change anything here.');
    }
    await next();
  };
  app.use('/oauth/*', bodyLimit({ maxSize: 65_536 }));
  for (const path of ['/v1/*', '/mcp']) {
    app.use(path, limitBody);
    app.use(path, sameOrigin);
    app.use(path, async (c, next) => {
      await next();
      c.header('Cache-Control', 'no-store');
    });
  }

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'The token from sign-in or sign-up with session "bearer".',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'cookie', {
    type: 'apiKey',
    in: 'cookie',
    name: 'mv_session',
    description: 'The web app’s HttpOnly session cookie; state-changing requests also need X-CSRF-Token.',
  });

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/health',
      operationId: 'getHealth',
      description: 'Answers as long as the process runs; no storage is touched. For load balancers and uptime checks.',
      tags: ['system'],
      summary: 'Liveness: the process answers',
      responses: { 200: jsonResponse(HealthResponse, 'Alive'), ...errorResponses() },
    }),
    (c) =>
      c.json(
        {
          status: 'ok' as const,
          uptimeSeconds: Math.round((clock.now().getTime() - started) / 1000),
          worker,
        },
        200,
      ),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/ready',
      operationId: 'getReadiness',
      description: 'Checks that the vault can be read; 503 while it cannot (storage unavailable).',
      tags: ['system'],
      summary: 'Readiness: storage and keys are usable',
      responses: {
        200: jsonResponse(ReadyResponse, 'Ready'),
        ...errorResponses(),
        503: jsonResponse(ReadyResponse, 'Not ready'),
      },
    }),
    async (c) => {
      const checks: Record<string, string> = {};
      const probe = async (name: string, check: () => Promise<unknown>) => {
        try {
          checks[name] = (await check()) === false ? 'not_ready' : 'ok';
        } catch (err) {
          logger.warn({ check: name, err: err instanceof Error ? err.message : String(err) }, 'readiness check failed');
          checks[name] = isMemvaultError(err) ? err.code : 'failed';
        }
      };
      await probe('vault', async () => (deps.ready ? deps.ready() : true));
      const counters = deps.counters;
      if (counters) await probe('sessionStore', () => counters.ping());
      const ready = Object.values(checks).every((v) => v === 'ok');
      return ready
        ? c.json({ status: 'ready' as const, worker, checks }, 200)
        : c.json({ status: 'not_ready' as const, worker, checks }, 503);
    },
  );

  registerAuthRoutes(app, kit);
  registerMemoryRoutes(app, kit);
  registerInsightsRoutes(app, kit);
  if (deps.tokens) {
    registerTokenRoutes(app, kit, deps.tokens);
    registerOAuthRoutes(app, kit, deps.tokens, oauthBase);
  }
  registerAccountRoutes(app, kit);
  if (deps.channels) registerChannelRoutes(app, kit, deps.channels);

  if (deps.mcp) {
    const handler = deps.mcp;
    const session = requireSession(kit, { tokens: true });
    app.all('/mcp', async (c, next) => {
      // MCP clients authenticate with the bearer token only; a cookie would open the door to cross-site calls.
      if (!c.req.header('authorization')) {
        throw securityError('authentication_failed', 'MCP needs "Authorization: Bearer <token>".');
      }
      return session(c, next);
    });
    app.all('/mcp', (c) => handler(c.req.raw, c.get('principal')));
  }

  app.doc('/v1/openapi.json', {
    openapi: '3.0.3',
    info: {
      title: 'memvault',
      version: '1',
      description: 'Personal memory service: capture, classify, seal, search and recall.',
    },
    servers: [{ url: '/' }],
  });

  if (config.web !== false) registerWeb(app, config.webRoot);
  return app;
}

function tooLarge(max: number): string {
  return `The body is larger than the ${max}-byte limit.`;
}

function isAllowedOrigin(origin: string, allowed: string, host: string | undefined): boolean {
  if (origin === allowed) return true;
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}
