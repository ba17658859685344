import { PassThrough } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { UserId } from '../../src/core/entry.js';
import { createMcpHttpHandler, createMcpServer, runStdio } from '../../src/mcp/mcp-server.js';
import { plainOpener } from '../../src/ports/sealer.js';
import { startHttpServer } from '../../src/server/listen.js';
import type { Principal } from '../../src/services/types.js';
import { FAKE_TOTP, fakeApp } from '../server/fakes.js';

const PHONE = '+14155550134' as UserId;
const PASSWORD = 'correct horse battery';

function textOf(result: unknown): string {
  const content = (result as CallToolResult).content;
  return content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

async function inMemoryClient(principal: Principal, memory: ReturnType<typeof fakeApp>['memory']) {
  const server = createMcpServer({ memory, principalFor: async () => principal });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'test', version: '1' });
  await client.connect(clientSide);
  return client;
}

describe('MCP tools (in-memory transport, the SDK client)', () => {
  it('lists the verb_noun tools (and recall, deprecated) with input schemas', async () => {
    const { memory } = fakeApp();
    await memory.signUp({ phone: PHONE, password: PASSWORD });
    const client = await inMemoryClient({ userId: PHONE, opener: plainOpener([1]), meta: {} }, memory);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      'correct_memory',
      'fetch',
      'forget_memory',
      'get_memory',
      'recall',
      'related_memories',
      'remember',
      'search',
      'search_memories',
      'timeline',
    ]);
    expect(tools.find((t) => t.name === 'remember')?.inputSchema.required).toEqual(['text']);
    await client.close();
  });

  it('remembers, recalls and shows a timeline; locked levels stay hidden at level 1', async () => {
    const { memory } = fakeApp();
    await memory.signUp({ phone: PHONE, password: PASSWORD });
    const client = await inMemoryClient({ userId: PHONE, opener: plainOpener([1]), meta: {} }, memory);

    const saved = await client.callTool({ name: 'remember', arguments: { text: 'Yesterday a hike with Sara' } });
    expect(saved.isError).toBeFalsy();
    expect(saved.structuredContent).toMatchObject({ category: 'CHRONOLOGICAL', level: 1 });
    const secret = await client.callTool({ name: 'remember', arguments: { text: 'The safe password is 7319' } });
    expect(secret.structuredContent).toMatchObject({ level: 3 });
    expect(memory.entries.get(PHONE)?.map((e) => e.channel)).toEqual(['mcp', 'mcp']);

    const recall = await client.callTool({ name: 'search_memories', arguments: { query: 'hike password' } });
    expect(textOf(recall)).toContain('hike with Sara');
    expect(textOf(recall)).not.toContain('7319');

    const timeline = await client.callTool({ name: 'timeline', arguments: { days: 30, to: '2026-11-27T00:00:00Z' } });
    const body = textOf(timeline);
    expect(body).toContain('## 2026-11-26');
    expect(body).toContain('hike with Sara');
    expect(body).not.toContain('7319');
    expect(body).toContain('level 3 (Secret) holds 1 memory in all');
    expect(body).not.toContain('level 2');
    await client.close();
  });

  it('rejects bad arguments and reports use-case errors as tool errors', async () => {
    const { memory } = fakeApp();
    await memory.signUp({ phone: PHONE, password: PASSWORD });
    const client = await inMemoryClient({ userId: PHONE, opener: plainOpener([1]), meta: {} }, memory);
    const empty = await client.callTool({ name: 'remember', arguments: { text: '' } });
    expect(empty.isError).toBe(true);
    const wrongType = await client.callTool({ name: 'search_memories', arguments: { query: 42 } });
    expect(wrongType.isError).toBe(true);
    expect(memory.entries.get(PHONE)).toEqual([]);

    const ghost = await inMemoryClient(
      { userId: '+14155550199' as UserId, opener: plainOpener([1]), meta: {} },
      memory,
    );
    const failed = await ghost.callTool({ name: 'remember', arguments: { text: 'hello' } });
    expect(failed.isError).toBe(true);
    await client.close();
    await ghost.close();
  });

  it('serves over stdio streams', async () => {
    const { memory } = fakeApp();
    await memory.signUp({ phone: PHONE, password: PASSWORD });
    const toServer = new PassThrough();
    const fromServer = new PassThrough();
    const running = await runStdio(
      { memory, principalFor: async () => ({ userId: PHONE, opener: plainOpener([1]), meta: {} }) },
      { stdin: toServer, stdout: fromServer },
    );
    // A minimal JSON-RPC exchange, line-delimited as the stdio transport speaks it.
    const replies: unknown[] = [];
    fromServer.on('data', (chunk: Buffer) => {
      for (const l of chunk.toString('utf8').split('\n').filter(Boolean)) replies.push(JSON.parse(l));
    });
    const send = (msg: unknown) => toServer.write(`${JSON.stringify(msg)}\n`);
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    });
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'remember', arguments: { text: 'Tea today' } },
    });
    await expect.poll(() => replies.length, { timeout: 5000 }).toBe(2);
    expect(JSON.stringify(replies[1])).toContain('Saved to');
    await running.close();
  });
});

describe('MCP over streamable HTTP at /mcp', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  async function start() {
    let memoryRef: ReturnType<typeof fakeApp>['memory'] | undefined;
    const fx = fakeApp({}, (request, principal) => {
      if (!memoryRef) throw new Error('not ready');
      return createMcpHttpHandler({ memory: memoryRef })(request, principal);
    });
    memoryRef = fx.memory;
    const server = await startHttpServer(fx.app);
    cleanups.push(() => server.close());
    const res = await fx.app.request('/v1/auth/sign-up', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ phone: PHONE, password: PASSWORD }),
    });
    const { token } = (await res.json()) as { token: string };
    return { ...fx, server, token };
  }

  async function connect(url: string, token: string) {
    const client = new Client({ name: 'test', version: '1' });
    const transport = new StreamableHTTPClientTransport(new URL('/mcp', url), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    });
    await client.connect(transport);
    cleanups.push(() => client.close());
    return client;
  }

  it('needs a bearer token: none, forged, or a cookie are refused', async () => {
    const { server } = await start();
    const init = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    };
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const none = await fetch(`${server.url}/mcp`, { method: 'POST', headers, body: JSON.stringify(init) });
    expect(none.status).toBe(401);
    const forged = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: { ...headers, authorization: `Bearer ${'f'.repeat(32)}` },
      body: JSON.stringify(init),
    });
    expect(forged.status).toBe(401);
    const cookie = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: { ...headers, cookie: `mv_session=${'f'.repeat(32)}` },
      body: JSON.stringify(init),
    });
    expect(cookie.status).toBe(401);
    await expect(connect(server.url, 'g'.repeat(32))).rejects.toThrow();
  });

  it('answers only POST: GET and DELETE are 405 in this stateless server', async () => {
    const { server, token } = await start();
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(`${server.url}/mcp`, {
        method,
        headers: { authorization: `Bearer ${token}`, accept: 'application/json, text/event-stream' },
      });
      expect(res.status, method).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
    }
  });

  it('acts for the token’s session: secrets appear only after that session unlocks level 3', async () => {
    const { server, token, app, memory } = await start();
    const client = await connect(server.url, token);
    await client.callTool({ name: 'remember', arguments: { text: 'Today I walked the dog' } });
    await client.callTool({ name: 'remember', arguments: { text: 'The alarm pin is 4321' } });
    expect(memory.entries.get(PHONE)).toHaveLength(2);

    const before = textOf(await client.callTool({ name: 'search_memories', arguments: { query: 'dog pin' } }));
    expect(before).toContain('walked the dog');
    expect(before).not.toContain('4321');

    const unlock = await app.request('/v1/auth/unlock', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ level: 3, password: PASSWORD, totp: FAKE_TOTP }),
    });
    expect(unlock.status).toBe(200);
    const after = textOf(await client.callTool({ name: 'search_memories', arguments: { query: 'dog pin' } }));
    expect(after).toContain('4321');
  });
});

describe('runMcpOverStdio', () => {
  it('resolves when the client closes stdin', async () => {
    const { runMcpOverStdio } = await import('../../src/mcp/mcp-stdio.js');
    const { memory } = fakeApp();
    await memory.signUp({ phone: PHONE, password: PASSWORD });
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const done = runMcpOverStdio({
      memory,
      principal: { userId: PHONE, opener: plainOpener([1]), meta: {} },
      stdin,
      stdout,
    });
    const firstReply = new Promise<string>((resolve) =>
      stdout.once('data', (b: Buffer) => resolve(b.toString('utf8'))),
    );
    stdin.write(
      `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } })}\n`,
    );
    expect(await firstReply).toContain('"memvault"');
    stdin.end();
    await expect(done).resolves.toBeUndefined();
  });
});

describe('audit naming the client, against the real server', () => {
  it('records MCP and REST reads of a sealed level, and denied ones, with the client that asked', async () => {
    const { startRealServer } = await import('../server/real.js');
    const real = await startRealServer();
    try {
      const json = { 'content-type': 'application/json' };
      const signUp = await fetch(`${real.url}/v1/auth/sign-up`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ phone: PHONE, password: PASSWORD }),
      });
      const { token } = (await signUp.json()) as { token: string };
      const auth = { authorization: `Bearer ${token}` };
      const client = new Client({ name: 'test', version: '1' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL('/mcp', real.url), { requestInit: { headers: auth } }),
      );
      const saved = await client.callTool({
        name: 'remember',
        arguments: { text: 'My doctor moved my appointment to Friday', category: 'CONFIDENTIAL' },
      });
      const id = (saved.structuredContent as { id: string }).id;
      expect(textOf(await client.callTool({ name: 'get_memory', arguments: { id } }))).toContain('appointment');
      const rest = await fetch(`${real.url}/v1/memories/${id}`, { headers: auth });
      expect(rest.status).toBe(200);

      // Level 2 locked in this session: both edges are refused, and both refusals are recorded.
      const lock = await fetch(`${real.url}/v1/auth/lock`, {
        method: 'POST',
        headers: { ...json, ...auth },
        body: JSON.stringify({ level: 2 }),
      });
      expect(lock.status).toBe(200);
      const refused = await client.callTool({ name: 'get_memory', arguments: { id } });
      expect(refused.isError).toBe(true);
      expect((await fetch(`${real.url}/v1/memories/${id}`, { headers: auth })).status).toBe(403);
      await client.close();

      const records = (await real.mv.audit.list(PHONE, { limit: 100 })).filter((r) => r.action === 'memory_read');
      const summary = records.map((r) => `${r.result}:${r.level}:${r.client}`).reverse();
      expect(summary).toEqual(['success:2:mcp:http', 'success:2:api', 'denied:2:mcp:http', 'denied:2:api']);
      expect((await real.mv.audit.verify(PHONE)).ok).toBe(true);
    } finally {
      await real.close();
    }
  });
});
