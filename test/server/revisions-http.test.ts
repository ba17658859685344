import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RealServer, startRealServer } from './real.js';

/**
 * Editing with versions, the trash and restore over HTTP with the real wiring (classifier, sealing, search,
 * audit log) on a temp data dir (issue 13).
 */

const PHONE = '+14155550179';
const PASSWORD = 'a long and private passphrase 42';

interface Memory {
  id: string;
  category: string;
  level: number;
  content: string;
}

describe('edit, versions, trash and restore over HTTP (real wiring)', () => {
  let server: RealServer;
  let token = '';

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
  const remember = async (text: string) =>
    (await call('POST', '/v1/memories', { text })).body.memory as unknown as Memory;
  const searchIds = async (query: string) =>
    ((await call('POST', '/v1/search', { query })).body.results as { memory: Memory }[]).map((r) => r.memory.id);

  beforeAll(async () => {
    server = await startRealServer();
    const up = await call('POST', '/v1/auth/sign-up', { phone: PHONE, password: PASSWORD, timezone: 'Europe/Lisbon' });
    expect(up.status).toBe(201);
    token = String(up.body.token);
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it('edits the text, re-classified, and keeps the earlier text as a version', async () => {
    const m = await remember('Yesterday I hiked to the lake with Sara');
    const edited = await call('PATCH', `/v1/memories/${m.id}`, {
      text: 'Yesterday I hiked to the lake with Sara and Tom',
    });
    expect(edited.status).toBe(200);
    const after = edited.body.memory as Memory;
    expect(after).toMatchObject({ id: m.id, content: 'Yesterday I hiked to the lake with Sara and Tom', level: 1 });
    expect((await call('GET', `/v1/memories/${m.id}`)).body.memory).toEqual(edited.body.memory);
    const versions = await call('GET', `/v1/memories/${m.id}/versions`);
    expect(versions.status).toBe(200);
    expect(versions.body.versions).toMatchObject([
      { revision: 1, category: m.category, level: 1, memory: { content: 'Yesterday I hiked to the lake with Sara' } },
    ]);
    // The index follows the edit: the new word is found, and the memory appears once.
    expect(await searchIds('Tom')).toContain(m.id);
    const list = (await call('GET', '/v1/memories')).body.memories as Memory[];
    expect(list.filter((x) => x.id === m.id)).toHaveLength(1);
  });

  it('refuses a body with both or neither of category and text, and an empty text', async () => {
    const m = await remember('Bought a new bike today');
    for (const body of [{}, { text: 'x', category: 'GENERAL' }, { text: '   ' }, { text: 'x', extra: 1 }]) {
      const res = await call('PATCH', `/v1/memories/${m.id}`, body);
      expect(res.status, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
      expect(res.status, JSON.stringify(body)).toBeLessThan(500);
    }
    expect(((await call('GET', `/v1/memories/${m.id}`)).body.memory as Memory).content).toBe('Bought a new bike today');
    expect((await call('GET', '/v1/memories/01M8QHV7M040KR3EQM0MG7R69T/versions')).status).toBe(404);
  });

  it('an edit into a sealed level keeps the level-1 version readable and the new text locked', async () => {
    const m = await remember('Went to the pharmacy this morning');
    const edited = await call('PATCH', `/v1/memories/${m.id}`, {
      text: 'My doctor diagnosed me with high blood pressure',
    });
    expect(edited.status).toBe(200);
    const after = edited.body.memory as Memory;
    expect(after.level).toBe(2); // health: CONFIDENTIAL
    // With level 2 locked, neither the memory nor its history can be read here.
    expect((await call('POST', '/v1/auth/lock', {})).status).toBe(200);
    expect((await call('GET', `/v1/memories/${m.id}`)).status).toBe(403);
    expect((await call('GET', `/v1/memories/${m.id}/versions`)).status).toBe(403);
    expect((await call('POST', '/v1/auth/unlock', { level: 2, password: PASSWORD })).status).toBe(200);
    const versions = await call('GET', `/v1/memories/${m.id}/versions`);
    expect(versions.body.versions).toMatchObject([
      { revision: 1, level: 1, memory: { content: 'Went to the pharmacy this morning' } },
    ]);
  });

  it('delete moves to the trash; restore brings the same memory back; permanent and empty trash erase', async () => {
    const m = await remember('Planted tomatoes in the zanzibar garden box');
    expect(await searchIds('zanzibar')).toContain(m.id);
    expect((await call('DELETE', `/v1/memories/${m.id}`)).status).toBe(204);
    expect((await call('GET', `/v1/memories/${m.id}`)).status).toBe(404);
    expect(await searchIds('zanzibar')).not.toContain(m.id);
    expect(((await call('GET', '/v1/memories')).body.memories as Memory[]).map((x) => x.id)).not.toContain(m.id);
    const trash = await call('GET', '/v1/trash');
    expect(trash.status).toBe(200);
    expect(trash.body.memories).toMatchObject([{ id: m.id, memory: { content: m.content } }]);
    const restored = await call('POST', `/v1/memories/${m.id}/restore`);
    expect(restored.status).toBe(200);
    expect(restored.body.memory).toEqual((await call('GET', `/v1/memories/${m.id}`)).body.memory);
    expect((restored.body.memory as Memory).content).toBe(m.content);
    expect(await searchIds('zanzibar')).toContain(m.id);
    expect((await call('GET', '/v1/trash')).body.memories).toEqual([]);
    expect((await call('POST', `/v1/memories/${m.id}/restore`)).status).toBe(404);

    // For good: permanent delete, and a trashed memory erased by "Empty trash".
    expect((await call('DELETE', `/v1/memories/${m.id}?permanent=true`)).status).toBe(204);
    expect((await call('POST', `/v1/memories/${m.id}/restore`)).status).toBe(404);
    expect((await call('GET', '/v1/trash')).body.memories).toEqual([]);
    const n = await remember('Painted the fence blue');
    expect((await call('DELETE', `/v1/memories/${n.id}`)).status).toBe(204);
    expect((await call('DELETE', '/v1/trash')).body).toEqual({ erased: 1 });
    expect((await call('POST', `/v1/memories/${n.id}/restore`)).status).toBe(404);
    expect((await call('DELETE', `/v1/memories/${n.id}?permanent=yes`)).status).toBe(400);

    // Every act is audited, never with the text.
    const audit = await call('GET', '/v1/audit?limit=100');
    const actions = (audit.body.records as { action: string }[]).map((r) => r.action);
    for (const action of ['memory_edited', 'memory_trashed', 'memory_restored', 'memory_deleted']) {
      expect(actions).toContain(action);
    }
    const raw = JSON.stringify(audit.body);
    // 'and Tom', not 'Tom': every record carries the session id, 16 random base64url characters.
    for (const word of ['zanzibar', 'fence', 'pharmacy', 'and Tom']) expect(raw).not.toContain(word);
  });
});
