import type { UserId } from '../core/entry.js';
import { securityError, validationError } from '../core/errors.js';
import type { Principal } from '../services/types.js';
import { createMcpHttpHandler } from '../mcp/mcp-server.js';
import { DailyScheduler } from '../insights/scheduler.js';
import { createHttpApp } from '../server/http-app.js';
import { createServerMetrics } from '../server/metrics.js';
import { startHttpServer } from '../server/listen.js';
import { startBackupSchedule } from './backup-schedule.js';
import { channelsHttp } from './channels.js';
import type { Config } from './config.js';
import { createMemvault, type Memvault } from './container.js';
import type { Io } from './main.js';
import { VERSION } from './main.js';

export interface RunningServer {
  readonly memvault: Memvault;
  readonly url: string;
  readonly port: number;
  /** Stops accepting connections, lets in-flight requests (and so writes) finish, then closes the vault. */
  stop(): Promise<void>;
}

/** Builds the HTTP edge over a memvault and starts listening. Used by `memvault serve` and by tests. */
export async function startServer(
  config: Config,
  memvault?: Memvault,
  {
    scheduleOnStart = false,
    duties = true,
    workerIndex = 0,
    clusterMetrics,
  }: {
    /** In a cluster worker: every worker's metrics through the primary. */
    readonly clusterMetrics?: () => Promise<string>;
    /** This process's index among `serve --workers N` (health and metrics report it). */
    readonly workerIndex?: number;
    readonly scheduleOnStart?: boolean;
    /** Finish interrupted key rotations and run the backup schedule: one process of a cluster does (worker 0). */
    readonly duties?: boolean;
  } = {},
): Promise<RunningServer> {
  const mv = memvault ?? (await createMemvault(config));
  // A key rotation interrupted by a crash is finished before requests come in, where no password is needed.
  if (duties) await mv.resumeRotations();
  const schedule = duties ? startBackupSchedule(mv, config) : undefined;
  mv.warmUp();
  const publicUrl = new URL(config.publicUrl);
  const metrics = createServerMetrics({
    workerIndex,
    sessions: () => mv.sessionStore.count(),
    ...(clusterMetrics ? { clusterMetrics } : {}),
  });
  const stopLockWaits = mv.onLockWait((seconds) => metrics.lockWait(seconds));
  const app = createHttpApp({
    memory: mv.memory,
    auth: mv.auth,
    audit: mv.audit,
    insights: mv.insights,
    tokens: mv.tokens,
    exports: mv.exports,
    account: mv.account,
    recovery: mv.recovery,
    channels: channelsHttp(mv.channels),
    logger: mv.logger,
    config: {
      cookieSecure: publicUrl.protocol === 'https:',
      // A memory of the largest allowed size, JSON-escaped, plus the envelope.
      maxBodyBytes: config.maxContentBytes * 2 + 16_384,
      webauthnOrigin: publicUrl.origin,
      publicUrl: config.publicUrl,
      csrfSecret: mv.csrfSecret,
      workerIndex,
      ...(config.metricsToken ? { metricsToken: config.metricsToken } : {}),
    },
    counters: mv.sessionStore,
    metrics,
    mcp: createMcpHttpHandler({
      memory: mv.memory,
      insights: mv.insights,
      version: VERSION,
      publicUrl: config.publicUrl,
    }),
    ready: async () => {
      await mv.vault.listUsers();
      return true;
    },
  });
  let server: Awaited<ReturnType<typeof startHttpServer>>;
  try {
    server = await startHttpServer(app, { host: config.host, port: config.port });
  } catch (error) {
    schedule?.stop();
    stopLockWaits();
    throw error;
  }
  const scheduler = scheduleOnStart
    ? new DailyScheduler({
        listUsers: () => mv.vault.listUsers(),
        timezoneOf: async (userId) => (await mv.vault.getProfile(userId)).timezone,
        processedDays: (userId) => mv.insights.processedDays(userId),
        process: async (userId, day) => {
          const result = await mv.insights.deliverDay(userId, day);
          // The finished day's digest goes to the person's channels; a failed delivery never redoes the day.
          await mv.channels.service.deliverDigest(userId, day).catch((error: unknown) => {
            mv.logger.warn({ userId, code: (error as { code?: string }).code ?? 'unknown' }, 'digest not delivered');
          });
          return result;
        },
        logger: mv.logger,
        // Several servers over one database: each person-day runs on one of them.
        ...(mv.jobRuns ? { runs: mv.jobRuns } : {}),
      })
    : null;
  scheduler?.start();
  // The chat-id index is rebuilt, and Telegram long polling starts when no webhook secret is set.
  await mv.channels.start().catch((error: unknown) => {
    mv.logger.error({ code: (error as { code?: string }).code ?? 'unknown' }, 'channels did not start');
  });
  const url = config.port === 0 ? `http://localhost:${server.port}` : config.publicUrl;
  let stopping: Promise<void> | undefined;
  return {
    memvault: mv,
    url,
    port: server.port,
    stop() {
      stopping ??= (async () => {
        schedule?.stop();
        await scheduler?.stop();
        await server.close();
        stopLockWaits();
        await mv.close();
      })();
      return stopping;
    },
  };
}

/**
 * Said once at start when the master key is the default `master.key` inside the data dir: fine for a first run,
 * but a backup or copy of the data dir then carries the key that opens it (docs/security.md).
 */
export function masterKeyHint(config: Pick<Config, 'masterKeyEnv' | 'masterKeyFile'>): string | null {
  if (config.masterKeyEnv !== undefined || config.masterKeyFile !== undefined) return null;
  return (
    'Note: the master key is master.key inside the data directory, so every copy or backup of the data carries ' +
    'the key to it. To keep it elsewhere, move the file to a path outside the data directory (mode 0600) and set ' +
    'MEMVAULT_MASTER_KEY_FILE to that path; see docs/security.md.'
  );
}

/**
 * `memvault serve`: runs until SIGINT/SIGTERM, then shuts down gracefully. With more than one worker this
 * process becomes the cluster's primary (src/app/cluster.ts) and each worker runs the server.
 */
export async function runServer(config: Config): Promise<void> {
  const workers = config.workers ?? 1;
  const { isClusterWorker } = await import('./cluster.js');
  if (isClusterWorker()) return runWorker(config);
  if (workers > 1) {
    const [{ runPrimary }, { createLogger }] = await Promise.all([import('./cluster.js'), import('./logger.js')]);
    const logger = createLogger(config.logLevel);
    await runPrimary({
      workers,
      logger,
      onListening: (url) => {
        logger.info({ url, dataDir: config.dataDir, workers }, 'memvault is listening');
        process.stdout.write(
          `memvault is running at ${url} (data in ${config.dataDir}, ${workers} workers). Press Ctrl+C to stop.\n`,
        );
        const hint = masterKeyHint(config);
        if (hint) process.stdout.write(`${hint}\n`);
      },
    });
    return;
  }
  // The nightly processing runs in the long-lived server only, never in tests that start one.
  const running = await startServer(config, undefined, { scheduleOnStart: config.insightsSchedule !== false });
  running.memvault.logger.info({ url: running.url, dataDir: config.dataDir }, 'memvault is listening');
  process.stdout.write(`memvault is running at ${running.url} (data in ${config.dataDir}). Press Ctrl+C to stop.\n`);
  const hint = masterKeyHint(config);
  if (hint) process.stdout.write(`${hint}\n`);
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      running.memvault.logger.info({ signal }, 'shutting down: finishing in-flight requests');
      // A stuck connection must not keep the process alive forever.
      const force = setTimeout(() => process.exit(1), 10_000);
      force.unref();
      running.stop().then(resolve, resolve);
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  });
}

/** One worker of `serve --workers N`: serves until the primary tells it to drain, then exits. */
async function runWorker(config: Config): Promise<void> {
  const { workerLifecycle, requestClusterMetrics } = await import('./cluster.js');
  const index = Number(process.env.MEMVAULT_WORKER_INDEX ?? '0');
  let running: RunningServer;
  try {
    running = await startServer(config, undefined, {
      scheduleOnStart: index === 0 && config.insightsSchedule !== false,
      duties: index === 0,
      workerIndex: index,
      clusterMetrics: () => requestClusterMetrics(),
    });
  } catch (error) {
    // The channel to the primary would keep this process alive: unref it (disconnecting would make cluster exit
    // 0 at once), so the process ends with the CLI's exit code (78 for a configuration error) for the primary.
    process.channel?.unref();
    throw error;
  }
  await workerLifecycle(index, running.url, () => running.stop(), running.memvault.logger);
  process.exit(0);
}

/**
 * `memvault mcp`: one person's memories over MCP on stdio — level 1 as the local operator, or what a personal
 * access token reads (levels 1–2). The token is resolved again on every tool call, so revoking it (in the web
 * app, or `memvault token revoke`) cuts a running assistant off at once.
 */
export async function runMcpStdio(
  config: Config,
  who: { readonly userId?: UserId; readonly token?: string },
  io: Io,
): Promise<void> {
  const { runMcpOverStdio } = await import('../mcp/mcp-stdio.js');
  const { pino } = await import('pino');
  const { createLogger } = await import('./logger.js');
  // stdout carries the protocol: logs go to stderr only.
  const mv = await createMemvault(config, { logger: createLogger('warn', pino.destination(2)) });
  try {
    const { token } = who;
    let principalFor: () => Promise<Principal>;
    if (token !== undefined) {
      // Fails now, before the client connects, when the token is unknown, revoked or expired.
      const first = await mv.tokens.resolve(token);
      if (who.userId !== undefined && who.userId !== first.userId) {
        throw securityError('authentication_failed', 'The token belongs to another person than --user.');
      }
      await mv.resumeRotation(first.userId);
      principalFor = async () => {
        const resolved = await mv.tokens.resolve(token);
        return {
          userId: resolved.userId,
          opener: resolved.opener,
          sessionId: resolved.grant.id,
          client: resolved.grant.name,
          meta: { channel: 'mcp' },
        };
      };
    } else if (who.userId !== undefined) {
      const userId = who.userId;
      await mv.resumeRotation(userId);
      const opener = await mv.auth.channelOpener(userId);
      principalFor = async () => ({ userId, opener, meta: { channel: 'mcp' } });
    } else {
      throw validationError('Say whose memories: --user <phone>, or a token in $MEMVAULT_TOKEN (or --token).');
    }
    await runMcpOverStdio({
      memory: mv.memory,
      principal: principalFor,
      stdin: io.stdin,
      stdout: io.stdout,
      insights: mv.insights,
      publicUrl: config.publicUrl,
      version: VERSION,
    });
  } finally {
    await mv.close();
  }
}
