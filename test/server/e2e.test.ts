import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserId } from '../../src/core/entry.js';
import { type RealServer, startRealServer } from './real.js';

/** The HTTP edge over the real wiring (vault, sealing, classifier, search, auth) on a temp data dir. */

const PHONE = '+14155550177';
const PASSWORD = 'a long and private passphrase 42';

interface Memory {
  id: string;
  category: string;
  level: number;
  content: string;
  analysis: string;
  confidence: number;
}

describe('HTTP API end to end (real wiring)', () => {
  let server: RealServer;
  let token = '';

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    return {
      status: res.status,
      body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
      headers: res.headers,
    };
  };

  const stored = async () => {
    const opener = await server.mv.auth.openerFor(PHONE as UserId, [1, 2], { password: PASSWORD }, {});
    const read = await server.mv.vault.read(PHONE as UserId, {}, opener);
    return read.entries.length + read.locked;
  };

  beforeAll(async () => {
    server = await startRealServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('is healthy and ready', async () => {
    expect((await call('GET', '/v1/health')).status).toBe(200);
    expect((await call('GET', '/v1/ready')).body).toMatchObject({ status: 'ready', checks: { vault: 'ok' } });
  });

  it('signs up, refuses a weak password, and signs in', async () => {
    const weak = await call('POST', '/v1/auth/sign-up', { phone: '+14155550178', password: 'password' });
    expect(weak.status).toBe(422);
    const up = await call('POST', '/v1/auth/sign-up', { phone: PHONE, password: PASSWORD, timezone: 'Europe/Lisbon' });
    expect(up.status).toBe(201);
    token = String(up.body.token);
    const again = await call('POST', '/v1/auth/sign-up', { phone: PHONE, password: PASSWORD });
    expect(again.status).toBe(409);
    const wrong = await call('POST', '/v1/auth/sign-in', { phone: PHONE, password: 'not it at all, sorry' });
    expect(wrong.status).toBe(401);
  });

  it('classifies and stores memories; locked levels are counted, never shown', async () => {
    const texts = [
      'Yesterday I hiked to the lake with Sara',
      'My doctor diagnosed me with high blood pressure',
      'My online banking password is Tr0ub4dor&3Horse',
    ];
    const memories: Memory[] = [];
    for (const text of texts) {
      const res = await call('POST', '/v1/memories', { text });
      expect(res.status).toBe(201);
      memories.push(res.body.memory as Memory);
    }
    expect(memories[0]?.level).toBe(1);
    expect(memories[2]?.level).toBeGreaterThanOrEqual(3);

    const list = await call('GET', '/v1/memories');
    expect(list.status).toBe(200);
    const shown = list.body.memories as Memory[];
    expect(shown.map((m) => m.content)).toContain(texts[0]);
    expect(list.body.locked).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(list.body)).not.toContain('Tr0ub4dor');

    const locked = await call('GET', `/v1/memories/${memories[2]?.id}`);
    expect(locked.status).toBe(403);
    expect(JSON.stringify(locked.body)).not.toContain('Tr0ub4dor');

    const search = await call('POST', '/v1/search', { query: 'lake' });
    expect(search.status).toBe(200);
    const results = search.body.results as { memory: Memory }[];
    expect(results[0]?.memory.content).toBe(texts[0]);

    const corrected = await call('PATCH', `/v1/memories/${memories[0]?.id}`, { category: 'GENERAL' });
    expect(corrected.status).toBe(200);
    expect((corrected.body.memory as Memory).category).toBe('GENERAL');
    // "Why this category" now tells the person's choice, and when; the classifier's reasoning is kept after it.
    const analysis = (corrected.body.memory as Memory).analysis;
    expect(analysis).toMatch(
      new RegExp(
        `^Moved by you from ${memories[0]?.category.charAt(0)}\\w+ to General on \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\.`,
      ),
    );
    expect(analysis).toContain(`The classifier had said: ${memories[0]?.analysis}`);
    expect((corrected.body.memory as Memory).confidence).toBe(1);
    const again = await call('PATCH', `/v1/memories/${memories[0]?.id}`, { category: 'CHRONOLOGICAL' });
    const twice = (again.body.memory as Memory).analysis;
    expect(twice).toMatch(/^Moved by you from General to Chronological on /);
    expect(twice.match(/Moved by you/g)).toHaveLength(1);
    expect(twice).toContain(`The classifier had said: ${memories[0]?.analysis}`);

    expect((await call('DELETE', `/v1/memories/${memories[0]?.id}`)).status).toBe(204);
    expect((await call('GET', `/v1/memories/${memories[0]?.id}`)).status).toBe(404);
  });

  it('audits reads of sealed levels, searches (never their text), corrections and deletions', async () => {
    const saved = await call('POST', '/v1/memories', {
      text: 'My doctor says my blood pressure is too high and I should cut down on salt',
    });
    const memory = saved.body.memory as Memory;
    expect(memory.level).toBe(2);
    expect((await call('POST', '/v1/auth/unlock', { level: 2, password: PASSWORD })).status).toBe(200);
    expect((await call('GET', `/v1/memories/${memory.id}`)).status).toBe(200);
    expect((await call('POST', '/v1/search', { query: 'zanzibar pressure' })).status).toBe(200);
    expect((await call('PATCH', `/v1/memories/${memory.id}`, { category: 'GENERAL' })).status).toBe(200);
    // Deleting moves it to the trash (audited as memory_trashed); erasing it for good is memory_deleted.
    expect((await call('DELETE', `/v1/memories/${memory.id}?permanent=true`)).status).toBe(204);

    const audit = await call('GET', '/v1/audit?limit=20');
    const records = audit.body.records as { action: string; result: string; level?: number }[];
    const actions = records.map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['memory_read', 'search', 'memory_corrected', 'memory_deleted']));
    expect(records.find((r) => r.action === 'memory_read')).toMatchObject({ result: 'success', level: 2 });
    // A move is recorded at the more protected of the two levels it touched.
    expect(records.find((r) => r.action === 'memory_corrected')).toMatchObject({ result: 'success', level: 2 });
    expect(records.find((r) => r.action === 'memory_deleted')).toMatchObject({ result: 'success', level: 1 });
    expect(JSON.stringify(audit.body)).not.toContain('zanzibar');
    expect(JSON.stringify(audit.body)).not.toContain('blood pressure');
  });

  it('stores nothing on a rejection', async () => {
    const before = await stored();
    const attempts = [
      await call('POST', '/v1/memories', '{"text": '),
      await call('POST', '/v1/memories', { text: 'x', extra: 1 }),
      await call('POST', '/v1/memories', { text: 7 }),
      await call('POST', '/v1/memories', JSON.stringify({ text: 'x' }), { 'content-type': 'text/plain' }),
      await call('POST', '/v1/memories', { text: 'y'.repeat(300 * 1024) }),
      await call('POST', '/v1/memories', { text: 'hi' }, { authorization: `Bearer ${'z'.repeat(40)}` }),
    ];
    expect(attempts.map((a) => a.status)).toEqual([400, 400, 400, 415, 413, 401]);
    expect(await stored()).toBe(before);
  });

  it('lists the user’s own audit log', async () => {
    const audit = await call('GET', '/v1/audit?limit=50');
    expect(audit.status).toBe(200);
    const actions = (audit.body.records as { action: string }[]).map((r) => r.action);
    expect(actions.some((a) => /sign/i.test(a))).toBe(true);
    expect(JSON.stringify(audit.body)).not.toContain(PASSWORD);
  });

  it('serves MCP at /mcp for the bearer token’s session', async () => {
    const client = new Client({ name: 'e2e', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL('/mcp', server.url), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    const saved = (await client.callTool({
      name: 'remember',
      arguments: { text: 'Today I fixed the bike chain' },
    })) as CallToolResult;
    expect(saved.isError).toBeFalsy();
    const recall = (await client.callTool({ name: 'recall', arguments: { query: 'bike' } })) as CallToolResult;
    const text = recall.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
    expect(text).toContain('bike chain');
    expect(text).not.toContain('Tr0ub4dor');
    await client.close();
  });

  it('signs out', async () => {
    expect((await call('POST', '/v1/auth/sign-out')).status).toBe(204);
    expect((await call('GET', '/v1/me')).status).toBe(401);
  });
});
