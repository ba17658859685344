import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from './context.js';

export interface RunningServer {
  /** e.g. "http://127.0.0.1:8787" (the bound address, with the real port when 0 was asked for). */
  readonly url: string;
  readonly port: number;
  /** Stops accepting, ends idle keep-alive connections and resolves when the server has closed. */
  close(): Promise<void>;
}

/** Serves the app on Node's HTTP server. Port 0 picks a free port (tests, benchmarks). */
export function startHttpServer(
  app: OpenAPIHono<AppEnv>,
  options: { readonly host?: string; readonly port?: number } = {},
): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const server = createAdaptorServer({ fetch: app.fetch, hostname: host }) as Server;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      const shown = host.includes(':') ? `[${host}]` : host;
      resolve({
        url: `http://${shown}:${port}`,
        port,
        close: () =>
          new Promise<void>((done, fail) => {
            // close() ends the connections idle now; one whose answer is still being written goes idle later and
            // would hold the process for the keep-alive timeout, so idle ones are ended again until all are gone.
            const sweep = setInterval(() => server.closeIdleConnections(), 100);
            sweep.unref();
            server.close((err) => {
              clearInterval(sweep);
              if (err) fail(err);
              else done();
            });
          }),
      });
    });
  });
}
