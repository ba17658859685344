import type { InsightsService } from '../services/insights-service.js';
import type { ExportService } from '../services/export-service.js';
import type { AccountService } from '../services/account-service.js';
import type { RecoveryService } from '../services/recovery-service.js';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Logger } from 'pino';
import type { ChannelsHttp } from '../ports/channels.js';
import type { Clock } from '../ports/clock.js';
import type { SessionStorePort } from '../ports/session-store.js';
import type { AuditLog, AuthService, AuthenticatedSession, RequestMeta } from '../ports/security.js';
import type { TokenService } from '../ports/tokens.js';
import type { MemoryService, Principal } from '../services/types.js';
import type { ServerMetrics } from './metrics.js';

/** Settings of the HTTP edge. Only the composition root reads the environment; it passes these in. */
export interface HttpConfig {
  /** Mark cookies `Secure` (serve over HTTPS, or behind a TLS proxy). */
  readonly cookieSecure: boolean;
  /** Largest request body accepted, in bytes (413 above it). */
  readonly maxBodyBytes: number;
  /** The web app's origin, e.g. "http://localhost:8787"; state-changing requests from another Origin are refused. */
  readonly webauthnOrigin: string;
  /** Trust `X-Forwarded-For` for the client address (only behind your own proxy). Default false. */
  readonly trustProxy?: boolean;
  /** Sign-in, sign-up and unlock attempts per IP and per phone: burst and refill per minute. Default 10, 10/min. */
  readonly authRateLimit?: { readonly capacity: number; readonly perMinute: number };
  /** Key of the CSRF token MAC (32+ random bytes). Default: random per process, so restarts sign web users out of CSRF. */
  readonly csrfSecret?: Uint8Array;
  /**
   * The server's public base URL (e.g. "https://memvault.example.org"): the OAuth issuer and the MCP resource
   * are named after it. Default: `webauthnOrigin`.
   */
  readonly publicUrl?: string;
  /** A bearer token that opens GET /metrics; without one, only loopback clients may read it. */
  readonly metricsToken?: string;
  /** Which worker of `serve --workers N` this is (reported by /v1/health and /v1/ready); default 0. */
  readonly workerIndex?: number;
  /** Serve the web app at `/` (default true). */
  readonly web?: boolean;
  /** Folder holding the web app's static files; default: the package's `web/`. */
  readonly webRoot?: string;
}

export interface HttpDeps {
  readonly memory: MemoryService;
  readonly auth: AuthService;
  readonly audit: AuditLog;
  readonly logger: Logger;
  readonly config: HttpConfig;
  readonly clock?: Clock;
  /** Readiness probe (vault reachable, keys loaded…); throws or resolves false when not ready. */
  readonly ready?: () => Promise<boolean>;
  /** The Daily Memory Manager; /v1/digest and /v1/insights exist only when it is given. */
  readonly insights?: InsightsService;
  /** Personal access tokens and OAuth; /v1/tokens and /oauth exist only when it is given. */
  readonly tokens?: TokenService;
  /** "Download my data"; /v1/export exists only when it is given. */
  readonly exports?: ExportService;
  /** Account deletion; DELETE /v1/account exists only when it is given. */
  readonly account?: AccountService;
  /** Recovery kits; /v1/account/recovery-kit and /v1/auth/recover exist only when it is given. */
  readonly recovery?: RecoveryService;
  /** Channel webhooks, notifications and onboarding; those routes exist only when it is given. */
  readonly channels?: ChannelsHttp;
  /** The shared store of counters: given, rate limits hold across workers (else each process counts alone). */
  readonly counters?: SessionStorePort;
  /** Prometheus metrics; given, GET /metrics serves them (see HttpConfig.metricsToken for who may read them). */
  readonly metrics?: ServerMetrics;
}

/** What the auth middleware puts on the context for the handlers after it. */
export interface AppVariables {
  principal: Principal;
  session: AuthenticatedSession;
  token: string;
  via: 'bearer' | 'cookie';
  meta: RequestMeta;
}

export type AppEnv = { Variables: AppVariables };
export type App = OpenAPIHono<AppEnv>;
export type AppContext = Context<AppEnv>;

/** Everything route modules need, built once per app. */
export interface RouteKit {
  readonly deps: HttpDeps;
  readonly limiter: { take(keys: readonly string[]): number | Promise<number> };
  readonly csrfSecret: Uint8Array;
}
