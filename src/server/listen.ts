import type { IncomingMessage, Server, ServerResponse } from 'node:http';
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
  let closing = false;
  // During shutdown every answer says "Connection: close", so a keep-alive client does not hold its socket (and the
  // process) open for the idle timeout after its last in-flight request is answered.
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    if (closing && !res.headersSent) res.setHeader('connection', 'close');
  });
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
            closing = true;
            // Answers already being written when shutdown began cannot take the header any more: their
            // connections go idle afterwards, so idle ones are ended again until the server has closed.
            const sweep = setInterval(() => server.closeIdleConnections(), 100);
            sweep.unref();
            server.close((err) => {
              clearInterval(sweep);
              if (err) fail(err);
              else done();
            });
            server.closeIdleConnections();
          }),
      });
    });
  });
}
