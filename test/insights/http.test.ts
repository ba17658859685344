import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserId } from '../../src/core/entry.js';
import { localTimeToUtc } from '../../src/core/time-zone.js';
import { type RealServer, startRealServer } from '../server/real.js';

const PHONE = '+351912345670';
const userId = PHONE as UserId;
let server: RealServer;
let token = '';

const get = async (path: string) => {
  const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

beforeAll(async () => {
  server = await startRealServer();
  const mv = server.mv;
  await mv.memory.signUp({ phone: PHONE, timezone: 'Europe/Lisbon', password: 'correct horse battery staple 42' });
  const signed = await mv.auth.signIn(userId, 'correct horse battery staple 42', {});
  token = signed.token;
  const principal = { userId, opener: signed.opener, meta: {} };
  const at = (day: number, hour: number) => new Date(localTimeToUtc('Europe/Lisbon', 2026, 11, day, hour));
  await mv.memory.remember(principal, 'Brunch with Nadia at Blue Bottle, so happy.', {
    channel: 'api',
    at: at(28, 11),
    category: 'CHRONOLOGICAL',
  });
  await mv.memory.remember(principal, 'Walk with Nadia at Belem, a lovely evening.', {
    channel: 'api',
    at: at(29, 19),
    category: 'CHRONOLOGICAL',
  });
  await mv.memory.remember(principal, 'My therapist says the panic attacks are getting better.', {
    channel: 'api',
    at: at(29, 20),
    category: 'CONFIDENTIAL',
  });
  await mv.insights.processDay(userId, '2026-11-28');
  await mv.insights.processDay(userId, '2026-11-29');
}, 60_000);

afterAll(async () => {
  await server?.close();
});

describe('insights over HTTP', () => {
  it('serves the digest over the levels the session unlocked', async () => {
    const { status, body } = await get('/v1/digest?date=2026-11-29');
    expect(status).toBe(200);
    expect(body.memories).toBe(2); // a password sign-in unlocks level 2: the CONFIDENTIAL memory is in
    expect(body.level).toBe(2);
    expect(String(body.text)).toContain('Nadia');
    expect(body).not.toHaveProperty('userId');
  });

  it('refuses a malformed date and an anonymous caller', async () => {
    expect((await get('/v1/digest?date=29-11-2026')).status).toBe(400);
    const anon = await fetch(`${server.url}/v1/digest`);
    expect(anon.status).toBe(401);
  });

  it('serves the stored insights with connections and their reasons', async () => {
    const { status, body } = await get('/v1/insights');
    expect(status).toBe(200);
    expect(body.day).toBe('2026-11-29');
    const connections = body.connections as Array<{ reason: string }>;
    expect(connections.map((c) => c.reason)).toContain('both mention Nadia');
    // Level 1 only: the CONFIDENTIAL memory is counted, never read.
    expect(body.memories).toBe(1);
    expect(JSON.stringify(body)).not.toContain('therapist');
  });

  it('fills related memories with the stored connections and their reasons', async () => {
    const list = (await get('/v1/memories?levels=1')).body.memories as Array<{ id: string; content: string }>;
    const walk = list.find((m) => m.content.startsWith('Walk'))!;
    const { body } = await get(`/v1/memories/${walk.id}/related`);
    const memories = body.memories as Array<{ content: string }>;
    expect(memories.map((m) => m.content)).toEqual(['Brunch with Nadia at Blue Bottle, so happy.']);
    expect(body.connections).toEqual([expect.objectContaining({ reason: 'both mention Nadia', kind: 'people' })]);
  });

  it('reads and sets what an LLM may read, validating the body', async () => {
    const put = (body: unknown) =>
      fetch(`${server.url}/v1/settings/llm`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect(await get('/v1/settings/llm')).toEqual({ status: 200, body: { level: 1, updatedAt: null } });
    for (const bad of [{ level: 3 }, { level: '2' }, { level: 1, extra: true }, {}]) {
      expect((await put(bad)).status).toBe(400);
    }
    // A password session unlocked level 2, so it may let an LLM read level 2.
    const ok = await put({ level: 2 });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ level: 2 });
    expect((await get('/v1/settings/llm')).body.level).toBe(2);
    expect((await fetch(`${server.url}/v1/settings/llm`)).status).toBe(401);
    // Without an LLM configured, the template writes the digest and says so without a reason.
    expect((await get('/v1/digest?date=2026-11-29')).body.author).toEqual({ by: 'template' });
  });

  it('documents the routes in the OpenAPI document', async () => {
    const doc = await (await fetch(`${server.url}/v1/openapi.json`)).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/digest', '/v1/insights', '/v1/settings/llm']));
  });

  it('offers the digest as an MCP tool for the bearer token’s session', async () => {
    const client = new Client({ name: 'test', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL('/mcp', server.url), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    try {
      const tools = await client.listTools();
      expect(tools.tools.map((t) => t.name)).toContain('digest');
      const result = (await client.callTool({ name: 'digest', arguments: { date: '2026-11-29' } })) as CallToolResult;
      expect(result.isError).toBeFalsy();
      expect(result.content[0]).toMatchObject({ type: 'text' });
      expect(JSON.stringify(result.content)).toContain('Nadia');
      expect(result.structuredContent).toMatchObject({ kind: 'daily', memories: 2 });
      const bad = (await client.callTool({ name: 'digest', arguments: { date: 'soon' } })) as CallToolResult;
      expect(bad.isError).toBe(true);
    } finally {
      await client.close();
    }
  });
});
