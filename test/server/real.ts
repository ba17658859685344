import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { channelsHttp } from '../../src/app/channels.js';
import { loadConfig } from '../../src/app/config.js';
import { createMemvault, type Memvault, type MemvaultOptions } from '../../src/app/container.js';
import { createMcpHttpHandler } from '../../src/mcp/mcp-server.js';
import type { HttpConfig } from '../../src/server/context.js';
import { createHttpApp } from '../../src/server/http-app.js';
import { type RunningServer, startHttpServer } from '../../src/server/listen.js';

/**
 * Starts something on a free port, and again on another one when its bind finds the port taken (EADDRINUSE):
 * `freePort` only probes, and between the probe and the bind another process may take the port.
 */
export async function onFreePort<T>(start: (port: number) => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await freePort());
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= attempts) throw error;
    }
  }
}

/** Serves `app` on 127.0.0.1:`port`, closing `mv` when the bind fails (so `onFreePort` can try another port). */
export async function serveOrClose(
  app: Parameters<typeof startHttpServer>[0],
  port: number,
  mv: { close(): Promise<void> },
): Promise<RunningServer> {
  try {
    return await startHttpServer(app, { host: '127.0.0.1', port });
  } catch (error) {
    await mv.close();
    throw error;
  }
}

/** A free loopback port: the WebAuthn origin must name the port before the server starts. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

export interface RealServer {
  /** `http://localhost:<port>`: the WebAuthn RP id is "localhost". */
  readonly url: string;
  readonly dataDir: string;
  readonly mv: Memvault;
  readonly server: RunningServer;
  close(): Promise<void>;
}

export interface RealServerOptions {
  env?: NodeJS.ProcessEnv;
  logger?: MemvaultOptions['logger'];
  /** Channel providers' API roots (loopback stand-ins, test/channels/stand-ins.ts). */
  channelEndpoints?: MemvaultOptions['channelEndpoints'];
}

/**
 * The real wiring (composition root) on a fresh temp data dir, served on 127.0.0.1 with the HTTP edge, the web
 * app and MCP. For end-to-end, browser and load tests.
 */
export async function startRealServer(
  http: Partial<HttpConfig> = {},
  options: RealServerOptions = {},
): Promise<RealServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'memvault-e2e-'));
  return onFreePort((port) => startOn(port, dataDir, http, options));
}

async function startOn(
  port: number,
  dataDir: string,
  http: Partial<HttpConfig>,
  options: RealServerOptions,
): Promise<RealServer> {
  const url = `http://localhost:${port}`;
  const config = loadConfig(
    { MEMVAULT_DATA_DIR: dataDir, MEMVAULT_LOG_LEVEL: 'silent', MEMVAULT_PUBLIC_URL: url, ...options.env },
    { port, host: '127.0.0.1' },
  );
  const mv = await createMemvault(config, {
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.channelEndpoints ? { channelEndpoints: options.channelEndpoints } : {}),
  });
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
    config: { cookieSecure: false, maxBodyBytes: 256 * 1024, webauthnOrigin: url, ...http },
    mcp: createMcpHttpHandler({ memory: mv.memory, insights: mv.insights }),
    ready: async () => {
      await mv.vault.listUsers();
      return true;
    },
  });
  const server = await serveOrClose(app, port, mv);
  return {
    url,
    dataDir,
    mv,
    server,
    async close() {
      await server.close();
      await mv.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
