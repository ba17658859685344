import { Agent, get as httpGet, type IncomingMessage } from 'node:http';
import { OpenAPIHono } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import type { AppEnv } from '../../src/server/context.js';
import { startHttpServer } from '../../src/server/listen.js';

/** Shutdown of the HTTP edge: keep-alive clients do not hold the process open after their last answer. */

const get = (url: string, agent: Agent) =>
  new Promise<IncomingMessage>((resolve, reject) => {
    httpGet(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res));
    }).on('error', reject);
  });

describe('startHttpServer close()', () => {
  // The measure that matters is time: with Node's 5 s keep-alive timeout, close() took 6.0 s here before idle
  // connections were swept during shutdown, 0.1 s after (a timed assertion would be flaky, so it is not one).
  it('answers the request in flight on a kept-alive connection, then closes and refuses new ones', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const app = new OpenAPIHono<AppEnv>();
    app.get('/quick', (c) => c.text('ok'));
    app.get('/slow', async (c) => {
      await gate;
      return c.text('ok');
    });
    const server = await startHttpServer(app);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // A kept-alive connection, then a request on it that is still being answered when shutdown begins.
      expect((await get(`${server.url}/quick`, agent)).headers.connection).toBe('keep-alive');
      const slow = get(`${server.url}/slow`, agent);
      await new Promise((r) => setTimeout(r, 50));
      const closed = server.close();
      release();
      expect((await slow).statusCode).toBe(200);
      await closed;
      await expect(get(`${server.url}/quick`, new Agent())).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      agent.destroy();
    }
  });
});
