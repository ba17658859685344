import type { UserId } from '../core/entry.js';
import { createMcpHttpHandler } from '../mcp/mcp-server.js';
import { DailyScheduler } from '../insights/scheduler.js';
import { createHttpApp } from '../server/http-app.js';
import { startHttpServer } from '../server/listen.js';
import { startBackupSchedule } from './backup-schedule.js';
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
  { scheduleOnStart = false }: { readonly scheduleOnStart?: boolean } = {},
): Promise<RunningServer> {
  const mv = memvault ?? (await createMemvault(config));
  // A key rotation interrupted by a crash is finished before requests come in, where no password is needed.
  await mv.resumeRotations();
  const schedule = startBackupSchedule(mv, config);
  mv.warmUp();
  const publicUrl = new URL(config.publicUrl);
  const app = createHttpApp({
    memory: mv.memory,
    auth: mv.auth,
    audit: mv.audit,
    insights: mv.insights,
    logger: mv.logger,
    config: {
      cookieSecure: publicUrl.protocol === 'https:',
      // A memory of the largest allowed size, JSON-escaped, plus the envelope.
      maxBodyBytes: config.maxContentBytes * 2 + 16_384,
      webauthnOrigin: publicUrl.origin,
    },
    mcp: createMcpHttpHandler({ memory: mv.memory, insights: mv.insights, version: VERSION }),
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
    throw error;
  }
  const scheduler = scheduleOnStart
    ? new DailyScheduler({
        listUsers: () => mv.vault.listUsers(),
        timezoneOf: async (userId) => (await mv.vault.getProfile(userId)).timezone,
        processedDays: (userId) => mv.insights.processedDays(userId),
        // Each processed day's digest goes to the notifier (the channels deliver it).
        process: (userId, day) => mv.insights.deliverDay(userId, day),
        logger: mv.logger,
      })
    : null;
  scheduler?.start();
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

/** `memvault serve`: runs until SIGINT/SIGTERM, then shuts down gracefully. */
export async function runServer(config: Config): Promise<void> {
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

/** `memvault mcp`: one person's memories over MCP on stdio, at level 1. */
export async function runMcpStdio(config: Config, userId: UserId, io: Io): Promise<void> {
  const { runMcpOverStdio } = await import('../mcp/mcp-stdio.js');
  const { pino } = await import('pino');
  const { createLogger } = await import('./logger.js');
  // stdout carries the protocol: logs go to stderr only.
  const mv = await createMemvault(config, { logger: createLogger('warn', pino.destination(2)) });
  try {
    await mv.resumeRotation(userId);
    const opener = await mv.auth.channelOpener(userId);
    await runMcpOverStdio({
      memory: mv.memory,
      principal: { userId, opener, meta: { channel: 'mcp' } },
      stdin: io.stdin,
      stdout: io.stdout,
    });
  } finally {
    await mv.close();
  }
}
