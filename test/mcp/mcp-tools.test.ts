import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { generateSync } from 'otplib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.js';
import { createMemvault, type Memvault } from '../../src/app/container.js';
import type { UserId } from '../../src/core/entry.js';
import { createMcpServer } from '../../src/mcp/mcp-server.js';
import type { Principal } from '../../src/services/types.js';
import { holdsSecret } from '../helpers/leak.js';

/**
 * Every tool, resource and prompt of the MCP server, driven by the SDK's own Client over its in-memory
 * transport, against the real wiring (vault, sealing, classifier, search index, audit log) on a temp data dir.
 * The SDK client validates each structuredContent against the tool's outputSchema, so a result that does not
 * match its declared shape fails the call here.
 */

const PASSWORD = 'a long private passphrase';
const NOW = new Date('2026-11-26T12:00:00.000Z');
let dataDir: string;
let mv: Memvault;
let phoneSeq = 100;
const clients: Client[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'memvault-mcp-'));
  mv = await createMemvault(
    loadConfig({
      MEMVAULT_DATA_DIR: dataDir,
      MEMVAULT_LOG_LEVEL: 'silent',
      MEMVAULT_PUBLIC_URL: 'http://localhost:8787',
    }),
    { clock: { now: () => NOW } },
  );
});
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
});
afterAll(async () => {
  await mv.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** A fresh person; principals at level 1 (a channel), 1–2 (a password sign-in) and 1–3 (TOTP unlocked). */
async function person() {
  const phone = `+1415555${String(phoneSeq++).padStart(4, '0')}` as UserId;
  await mv.memory.signUp({ phone, password: PASSWORD, name: 'Ada' });
  const meta = { channel: 'mcp' };
  const level1: Principal = { userId: phone, opener: await mv.auth.channelOpener(phone), meta, client: 'mcp:test' };
  const signed = await mv.auth.signIn(phone, PASSWORD, meta);
  const level2: Principal = {
    userId: phone,
    opener: signed.opener,
    sessionId: signed.session.id,
    meta,
    client: 'Claude Desktop',
  };
  const level3 = async (): Promise<Principal> => {
    const { secret } = await mv.auth.totpBegin(signed.token);
    // The auth service runs on the test clock: codes are computed for its time.
    const epoch = Math.floor(NOW.getTime() / 1000);
    await mv.auth.totpConfirm(signed.token, generateSync({ secret, epoch }), meta);
    const unlocked = await mv.auth.unlock(
      signed.token,
      3,
      { password: PASSWORD, totp: generateSync({ secret, epoch: epoch + 30 }) },
      meta,
    );
    return { userId: phone, opener: unlocked.opener, sessionId: unlocked.session.id, meta, client: 'mcp:test' };
  };
  return { phone, level1, level2, level3 };
}

async function connect(principal: Principal, options: { insights?: boolean } = {}): Promise<Client> {
  const server = createMcpServer({
    memory: mv.memory,
    principalFor: async () => principal,
    publicUrl: 'http://localhost:8787',
    now: () => NOW,
    ...(options.insights ? { insights: mv.insights } : {}),
  });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'test', version: '1' });
  await client.connect(clientSide);
  clients.push(client);
  // Lets the client validate every later structuredContent against the declared outputSchema.
  await client.listTools();
  return client;
}

const call = (client: Client, name: string, args: Record<string, unknown>) =>
  client.callTool({ name, arguments: args }) as Promise<CallToolResult>;
const textOf = (r: CallToolResult) => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
const data = <T = Record<string, unknown>>(r: CallToolResult) => r.structuredContent as T;

async function remember(client: Client, text: string, extra: Record<string, unknown> = {}) {
  const r = await call(client, 'remember', { text, ...extra });
  expect(r.isError ?? false, textOf(r)).toBe(false);
  return data<{ id: string; level: number; category: string; readable: boolean }>(r);
}

const TOOLS = [
  'correct_memory',
  'digest',
  'fetch',
  'forget_memory',
  'get_memory',
  'recall',
  'related_memories',
  'remember',
  'search',
  'search_memories',
  'timeline',
];

describe('tool list', () => {
  it('names tools verb_noun, keeps recall as a deprecated alias, and annotates every tool', async () => {
    const { level1 } = await person();
    const client = await connect(level1, { insights: true });
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(TOOLS);
    for (const tool of tools) {
      const a = tool.annotations;
      expect(a, tool.name).toBeDefined();
      for (const hint of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const) {
        expect(typeof a?.[hint], `${tool.name}.${hint}`).toBe('boolean');
      }
      expect(a?.openWorldHint).toBe(false);
      expect(tool.outputSchema?.type, `${tool.name} outputSchema`).toBe('object');
      expect(tool.description?.length ?? 0, tool.name).toBeGreaterThan(80);
      expect(tool.title, tool.name).toBeTruthy();
    }
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    expect(byName.forget_memory?.annotations).toMatchObject({ destructiveHint: true, readOnlyHint: false });
    expect(byName.remember?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false });
    for (const name of ['search_memories', 'get_memory', 'timeline', 'search', 'fetch', 'digest', 'related_memories']) {
      expect(byName[name]?.annotations?.readOnlyHint, name).toBe(true);
    }
    expect(byName.recall?.description).toMatch(/^Deprecated alias of search_memories/);
    // The connector tools take exactly one string, as ChatGPT requires.
    expect(Object.keys(byName.search?.inputSchema.properties ?? {})).toEqual(['query']);
    expect(Object.keys(byName.fetch?.inputSchema.properties ?? {})).toEqual(['id']);
  });

  it('offers no digest tool without the insights manager', async () => {
    const { level1 } = await person();
    const client = await connect(level1);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).not.toContain('digest');
  });

  it('sends instructions that explain categories and levels', async () => {
    const { level1 } = await person();
    const client = await connect(level1);
    const instructions = client.getInstructions() ?? '';
    for (const word of [
      'CHRONOLOGICAL',
      'CONFIDENTIAL',
      'SECRET',
      'ULTRASECRET',
      'level 2',
      'write-only',
      'memvault://guide',
    ]) {
      expect(instructions).toContain(word);
    }
  });
});

describe('remember', () => {
  it('returns structured content and the same JSON as text; a secret stored at level 1 is write-only', async () => {
    const { level1, phone } = await person();
    const client = await connect(level1);
    const r = await call(client, 'remember', {
      text: 'Went kayaking with Odette at the lake',
      at: '2026-11-25T17:00:00Z',
    });
    expect(r.isError ?? false).toBe(false);
    expect(r.structuredContent).toMatchObject({ category: 'CHRONOLOGICAL', level: 1, readable: true });
    expect(JSON.parse((r.content[1] as { text: string }).text)).toEqual(r.structuredContent);
    const secret = await remember(client, 'My gym locker code is 5521', { category: 'SECRET' });
    expect(secret).toMatchObject({ level: 3, readable: false });
    const entries = await mv.memory.list({ ...level1, opener: await mv.operatorOpener(phone) }, {});
    expect(entries.entries.map((e) => e.channel)).toEqual(['mcp']);
    expect(entries.locked).toBe(1);
  });

  it('refuses absurd and future dates with a clear error, storing nothing', async () => {
    const { level1 } = await person();
    const client = await connect(level1);
    const absurd = await call(client, 'remember', { text: 'Tea with Sam', at: '9999-12-31' });
    expect(absurd.isError).toBe(true);
    expect(textOf(absurd)).toContain('between 1900 and 2199');
    const future = await call(client, 'remember', { text: 'Tea with Sam', at: '2027-06-01' });
    expect(future.isError).toBe(true);
    expect(textOf(future)).toContain('in the future');
    const garbage = await call(client, 'remember', { text: 'Tea with Sam', at: 'last tuesday-ish' });
    expect(garbage.isError).toBe(true);
    const listed = await mv.memory.list(level1, {});
    expect(listed.total).toBe(0);
  });

  it('the memory service itself refuses an absurd date from any edge', async () => {
    const { level1 } = await person();
    await expect(
      mv.memory.remember(level1, 'Tea with Sam', { channel: 'api', at: new Date('9999-12-31T00:00:00Z') }),
    ).rejects.toMatchObject({ code: 'VALIDATION_ERROR', message: expect.stringContaining('9999-12-31') });
    await expect(
      mv.memory.remember(level1, 'Tea with Sam', { channel: 'api', at: new Date('1850-01-01T00:00:00Z') }),
    ).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
  });
});

describe('search_memories', () => {
  it('finds matches, says "no match" rather than weak neighbours, and names open and locked levels', async () => {
    const { level1 } = await person();
    const client = await connect(level1);
    await remember(client, 'Went kayaking with Odette at the lake', { at: '2026-11-20T10:00:00Z' });
    await remember(client, 'My doctor moved my appointment to Friday', {
      category: 'CONFIDENTIAL',
      at: '2026-11-21T10:00:00Z',
    });
    await remember(client, 'The alarm code is 4321', { category: 'SECRET' });

    const found = await call(client, 'search_memories', { query: 'kayaking' });
    expect(textOf(found)).toContain('Went kayaking with Odette');
    const d = data<{ matched: boolean; results: { match: string }[]; openLevels: number[]; locked: unknown[] }>(found);
    expect(d.matched).toBe(true);
    expect(d.results[0]?.match).toBe('match');
    expect(d.openLevels).toEqual([1]);
    expect(d.locked).toEqual([
      { level: 2, name: 'Confidential', count: 1, windowed: true },
      { level: 3, name: 'Secret', count: 1, windowed: false },
    ]);
    expect(textOf(found)).toContain('level 2 (Confidential) holds 1 memory');

    const none = await call(client, 'search_memories', { query: 'submarine warranty paperwork' });
    expect(data<{ matched: boolean }>(none).matched).toBe(false);
    expect(textOf(none)).toMatch(/^No match for "submarine warranty paperwork" in the open levels \(1\)/);
    expect(textOf(none)).not.toContain('kayaking');

    // A date range before the confidential memory: level 2's count respects it, level 3 cannot (dates sealed).
    const ranged = await call(client, 'search_memories', { query: 'kayaking', from: '2026-11-01', to: '2026-11-21' });
    expect(data<{ locked: unknown[] }>(ranged).locked).toEqual([
      { level: 3, name: 'Secret', count: 1, windowed: false },
    ]);
  });

  it('pages with a cursor bound to its arguments, without repeats', async () => {
    const { level1 } = await person();
    const client = await connect(level1);
    for (let i = 0; i < 12; i++) {
      // An everyday event the classifier files at level 1 ("tasting number 3" leans to the secret classes: the
      // text model reads "number" beside a digit as a code; see docs/classification.md, thirteenth round).
      await remember(client, `Coffee tasting session ${i} at the roastery`, {
        at: `2026-11-${String(10 + i).padStart(2, '0')}T08:00:00Z`,
      });
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const r = await call(client, 'search_memories', {
        query: 'coffee roastery',
        limit: 5,
        ...(cursor ? { cursor } : {}),
      });
      expect(r.isError ?? false, textOf(r)).toBe(false);
      const d = data<{ results: { id: string }[]; nextCursor?: string }>(r);
      seen.push(...d.results.map((x) => x.id));
      cursor = d.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(12);

    const first = data<{ nextCursor: string }>(
      await call(client, 'search_memories', { query: 'coffee roastery', limit: 5 }),
    );
    const replayed = await call(client, 'search_memories', { query: 'tea', limit: 5, cursor: first.nextCursor });
    expect(replayed.isError).toBe(true);
    expect(textOf(replayed)).toContain('other arguments');
    const forged = await call(client, 'search_memories', {
      query: 'coffee roastery',
      limit: 5,
      cursor: 'bm90IGEgY3Vyc29y',
    });
    expect(forged.isError).toBe(true);
    expect(textOf(forged)).toContain('was not given by search_memories');
  });

  it('cuts long memories in lists and points to get_memory', async () => {
    const { level1 } = await person();
    const client = await connect(level1);
    const long = `Notes from the garden club meeting: ${'we planned the spring beds and the compost rota. '.repeat(20)}END-MARKER`;
    const { id } = await remember(client, long);
    const r = await call(client, 'search_memories', { query: 'garden club compost' });
    expect(textOf(r)).toContain('use get_memory');
    expect(textOf(r)).not.toContain('END-MARKER');
    const hit = data<{ results: { id: string; truncated: boolean; content: string }[] }>(r).results[0];
    expect(hit).toMatchObject({ id, truncated: true });
    expect(hit?.content.length).toBeLessThanOrEqual(281);
    const whole = await call(client, 'get_memory', { id });
    expect(data<{ content: string }>(whole).content).toBe(long);
  });

  it('recall still answers, as the same search', async () => {
    const { level1 } = await person();
    const client = await connect(level1);
    await remember(client, 'Went kayaking with Odette at the lake');
    const r = await call(client, 'recall', { query: 'kayaking' });
    expect(data<{ matched: boolean }>(r).matched).toBe(true);
  });
});

describe('get_memory, forget_memory, correct_memory, related_memories', () => {
  it('gets one memory in full; a locked one is refused and the refusal is audited with the client', async () => {
    const { level1, level2, phone } = await person();
    const client = await connect(level1);
    const open = await remember(client, 'Went kayaking with Odette at the lake');
    const sealed = await remember(client, 'My doctor moved my appointment to Friday', { category: 'CONFIDENTIAL' });
    const got = await call(client, 'get_memory', { id: open.id.toLowerCase() });
    expect(data(got)).toMatchObject({ id: open.id, content: 'Went kayaking with Odette at the lake', level: 1 });
    expect(textOf(got)).toContain(`# Memory ${open.id}`);

    const refused = await call(client, 'get_memory', { id: sealed.id });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain('SECURITY_ERROR');
    expect(textOf(refused)).not.toContain('appointment');
    const bad = await call(client, 'get_memory', { id: '../../etc/passwd' });
    expect(bad.isError).toBe(true);

    const client2 = await connect(level2);
    const read = await call(client2, 'get_memory', { id: sealed.id });
    expect(data(read)).toMatchObject({ content: 'My doctor moved my appointment to Friday', level: 2 });

    const records = await mv.audit.list(phone, { limit: 20 });
    const denied = records.find((r) => r.action === 'memory_read' && r.result === 'denied');
    expect(denied).toMatchObject({ level: 2, client: 'mcp:test', reason: 'level_locked' });
    const granted = records.find((r) => r.action === 'memory_read' && r.result === 'success');
    expect(granted).toMatchObject({ level: 2, client: 'Claude Desktop' });
    expect(JSON.stringify(records)).not.toContain('appointment');
  });

  it('forgets a memory (into the person’s trash); forgetting again says it is gone', async () => {
    const { level1 } = await person();
    const client = await connect(level1);
    const { id } = await remember(client, 'Went kayaking with Odette at the lake');
    const r = await call(client, 'forget_memory', { id });
    expect(data(r)).toEqual({ id, deleted: true });
    const again = await call(client, 'forget_memory', { id });
    expect(again.isError).toBe(true);
    expect(textOf(again)).toContain('NOT_FOUND');
    expect((await call(client, 'get_memory', { id })).isError).toBe(true);
  });

  it('corrects a category; moving a memory to a locked level makes it unreadable here', async () => {
    const { level1, level2 } = await person();
    const client2 = await connect(level2);
    const { id } = await remember(client2, 'Blood test results came back fine', { category: 'GENERAL' });
    const moved = await call(client2, 'correct_memory', { id, category: 'CONFIDENTIAL' });
    expect(data(moved)).toMatchObject({ memory: { id, category: 'CONFIDENTIAL', level: 2 }, readable: true });
    const client1 = await connect(level1);
    const other = await remember(client1, 'Salary review next month', { category: 'GENERAL' });
    const hidden = await call(client1, 'correct_memory', { id: other.id, category: 'CONFIDENTIAL' });
    expect(data(hidden)).toMatchObject({ readable: false });
    expect(textOf(hidden)).toContain('cannot read it any more');
    expect((await call(client1, 'get_memory', { id: other.id })).isError).toBe(true);
    const bad = await call(client1, 'correct_memory', { id, category: 'TOP_SECRET' });
    expect(bad.isError).toBe(true);
  });

  it('follows links to related memories, leaving out and counting the locked ones', async () => {
    const { level1, phone } = await person();
    const client = await connect(level1);
    // Filed by the person, so the test is about links and levels, not about what the classifier makes of them.
    const a = await remember(client, 'Dinner with Odette at the harbour', { category: 'CHRONOLOGICAL' });
    const b = await remember(client, 'Odette is moving to Porto in spring', { category: 'GENERAL' });
    const c = await remember(client, 'Odette’s door code is 9911', { category: 'SECRET' });
    // Links are made by the vault (the insights job links memories about the same people); here directly.
    const opener = await mv.auth.openerFor(phone, [1, 2, 3], { password: PASSWORD }, {}).catch(() => null);
    await mv.vault.link(phone, a.id, b.id, await mv.operatorOpener(phone));
    if (opener) await mv.vault.link(phone, a.id, c.id, opener);
    const r = await call(client, 'related_memories', { id: a.id });
    expect(data(r)).toMatchObject({ id: a.id, related: [{ id: b.id }], hidden: opener ? 1 : 0 });
    expect(textOf(r)).toContain('moving to Porto');
    expect(holdsSecret(textOf(r), '9911')).toBe(false); // the text holds ids: random ULID characters
  });
});

describe('timeline', () => {
  it('counts locked levels within the window and never calls an open level locked', async () => {
    const { level1, level2 } = await person();
    const client1 = await connect(level1);
    await remember(client1, 'Went kayaking with Odette at the lake', { at: '2026-11-20T10:00:00Z' });
    await remember(client1, 'My doctor moved my appointment to Friday', {
      category: 'CONFIDENTIAL',
      at: '2026-11-21T10:00:00Z',
    });
    await remember(client1, 'Therapy session went well', { category: 'CONFIDENTIAL', at: '2026-11-22T10:00:00Z' });
    await remember(client1, 'The alarm code is 4321', { category: 'SECRET', at: '2026-11-22T11:00:00Z' });

    // An empty 2019 window: nothing at level 2 in it, and level 3 is not claimed to be "in this window".
    const empty = await call(client1, 'timeline', { days: 30, to: '2019-06-30T00:00:00Z' });
    expect(textOf(empty)).toContain('No memories in this window.');
    expect(data(empty)).toMatchObject({ total: 0, openLevels: [1], locked: [{ level: 3, count: 1, windowed: false }] });
    expect(textOf(empty)).not.toMatch(/level 2/);
    expect(textOf(empty)).toContain('its dates are sealed too');

    const week = await call(client1, 'timeline', { days: 7, to: '2026-11-23T00:00:00Z' });
    expect(textOf(week)).toContain('## 2026-11-20');
    expect(data(week)).toMatchObject({
      total: 1,
      locked: [
        { level: 2, count: 2, windowed: true },
        { level: 3, count: 1, windowed: false },
      ],
    });

    const client2 = await connect(level2);
    const open2 = await call(client2, 'timeline', { days: 7, to: '2026-11-23T00:00:00Z' });
    expect(data(open2)).toMatchObject({ total: 3, openLevels: [1, 2], locked: [{ level: 3 }] });
    expect(textOf(open2)).not.toMatch(/level 2 \(Confidential\) holds/);
    expect(textOf(open2)).toContain('Therapy session');
    expect(holdsSecret(textOf(open2), '4321')).toBe(false); // the text holds ids: random ULID characters

    const absurd = await call(client1, 'timeline', { to: '9999-12-31' });
    expect(absurd.isError).toBe(true);
    expect(textOf(absurd)).toContain('between 1900 and 2199');
  });

  it('pages a long window with a cursor that pins its end', async () => {
    const { level1 } = await person();
    const client = await connect(level1);
    for (let i = 0; i < 7; i++) {
      await remember(client, `Morning run number ${i} by the river`, {
        at: `2026-11-${String(18 + i).padStart(2, '0')}T07:00:00Z`,
      });
    }
    const first = await call(client, 'timeline', { days: 30, limit: 3 });
    const d1 = data<{ total: number; nextCursor: string; days: { memories: { id: string }[] }[] }>(first);
    expect(d1.total).toBe(7);
    expect(textOf(first)).toContain('4 more: call timeline again');
    const ids = d1.days.flatMap((d) => d.memories.map((m) => m.id));
    let cursor: string | undefined = d1.nextCursor;
    while (cursor) {
      type Page = { nextCursor?: string; days: { memories: { id: string }[] }[] };
      const next: CallToolResult = await call(client, 'timeline', { days: 30, limit: 3, cursor });
      const page: Page = data<Page>(next);
      ids.push(...page.days.flatMap((d) => d.memories.map((m) => m.id)));
      cursor = page.nextCursor;
    }
    expect(new Set(ids).size).toBe(7);
    const mismatched = await call(client, 'timeline', { days: 30, limit: 4, cursor: d1.nextCursor });
    expect(mismatched.isError).toBe(true);
  });
});

describe('search and fetch, as ChatGPT connectors expect', () => {
  it('search returns one text item holding {results:[{id,title,url}]}; fetch returns {id,title,text,url,metadata}', async () => {
    const { level1 } = await person();
    const client = await connect(level1);
    const { id } = await remember(client, 'Went kayaking with Odette at the lake', { at: '2026-11-20T10:00:00Z' });
    await remember(client, 'The alarm code is 4321', { category: 'SECRET' });
    const s = await call(client, 'search', { query: 'kayaking' });
    expect(s.content).toHaveLength(1);
    const parsed = JSON.parse((s.content[0] as { text: string }).text);
    expect(parsed).toEqual(s.structuredContent);
    expect(parsed.results).toEqual([
      {
        id,
        title: '2026-11-20 · Chronological: Went kayaking with Odette at the lake',
        url: `http://localhost:8787/#/memory/${id}`,
      },
    ]);
    const none = await call(client, 'search', { query: 'submarine warranty paperwork' });
    expect(JSON.parse((none.content[0] as { text: string }).text)).toEqual({ results: [] });

    const f = await call(client, 'fetch', { id });
    expect(f.content).toHaveLength(1);
    const doc = JSON.parse((f.content[0] as { text: string }).text);
    expect(doc).toEqual(f.structuredContent);
    expect(doc).toMatchObject({
      id,
      text: 'Went kayaking with Odette at the lake',
      url: `http://localhost:8787/#/memory/${id}`,
      metadata: { category: 'CHRONOLOGICAL', level: '1', date: '2026-11-20T10:00:00.000Z' },
    });
  });
});

describe('digest', () => {
  it('answers with the day in a few lines and structured content matching its schema', async () => {
    const { level1 } = await person();
    const client = await connect(level1, { insights: true });
    await remember(client, 'Went kayaking with Odette at the lake', { at: '2026-11-26T09:00:00Z' });
    const r = await call(client, 'digest', { date: '2026-11-26' });
    expect(r.isError ?? false, textOf(r)).toBe(false);
    expect(data(r)).toMatchObject({ kind: 'daily', from: '2026-11-26', memories: 1 });
    const bad = await call(client, 'digest', { date: '9999-12-31' });
    expect(bad.isError).toBe(true);
  });
});

describe('resources and prompts', () => {
  it('serves memvault://guide and memvault://memory/{id}; a locked memory is refused', async () => {
    const { level1 } = await person();
    const client = await connect(level1);
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toEqual(['memvault://guide']);
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual(['memvault://memory/{id}']);
    const guide = await client.readResource({ uri: 'memvault://guide' });
    expect((guide.contents[0] as { text: string }).text).toContain('| SECRET | 3 |');

    const { id } = await remember(client, 'Went kayaking with Odette at the lake');
    const res = await client.readResource({ uri: `memvault://memory/${id}` });
    expect(res.contents[0]).toMatchObject({ uri: `memvault://memory/${id}`, mimeType: 'text/markdown' });
    expect((res.contents[0] as { text: string }).text).toContain('Went kayaking with Odette at the lake');
    const sealed = await remember(client, 'The alarm code is 4321', { category: 'SECRET' });
    await expect(client.readResource({ uri: `memvault://memory/${sealed.id}` })).rejects.toThrow(/locked/);
    await expect(client.readResource({ uri: 'memvault://memory/not-an-id' })).rejects.toThrow();
  });

  it('offers "recap my week" and "what do I know about <person>"', async () => {
    const { level1 } = await person();
    const client = await connect(level1, { insights: true });
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name).sort()).toEqual(['recap_my_week', 'what_do_i_know_about']);
    expect(prompts.find((p) => p.name === 'what_do_i_know_about')?.arguments).toEqual([
      expect.objectContaining({ name: 'person', required: true }),
    ]);
    const recap = await client.getPrompt({ name: 'recap_my_week' });
    const recapText = (recap.messages[0]?.content as { text: string } | undefined)?.text;
    expect(recapText).toContain('timeline');
    expect(recapText).toContain('digest');
    const about = await client.getPrompt({ name: 'what_do_i_know_about', arguments: { person: 'Odette' } });
    expect((about.messages[0]?.content as { text: string } | undefined)?.text).toContain(
      'search_memories with the query "Odette"',
    );
    await expect(client.getPrompt({ name: 'what_do_i_know_about', arguments: {} })).rejects.toThrow();
  });
});

describe('audit of sealed reads', () => {
  it('records every sealed read by search and timeline with the level and the client, never the text', async () => {
    const { level3, phone } = await person();
    const principal = await level3();
    const client = await connect(principal);
    await remember(client, 'The alarm code is 4321', { category: 'SECRET', at: '2026-11-22T11:00:00Z' });
    await remember(client, 'My doctor moved my appointment to Friday', {
      category: 'CONFIDENTIAL',
      at: '2026-11-22T10:00:00Z',
    });
    const before = (await mv.audit.list(phone, { limit: 200 })).length;
    const found = await call(client, 'search_memories', { query: 'alarm code' });
    expect(textOf(found)).toContain('4321');
    const timeline = await call(client, 'timeline', { days: 7, to: '2026-11-23T00:00:00Z' });
    expect(data(timeline)).toMatchObject({ total: 2, openLevels: [1, 2, 3] });
    const records = (await mv.audit.list(phone, { limit: 200 })).slice(0, -before || undefined);
    const reads = records.filter((r) => r.action === 'memory_read');
    expect(reads).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ level: 3, client: 'mcp:test', reason: 'search: 1 entry', result: 'success' }),
        expect.objectContaining({ level: 2, client: 'mcp:test', reason: 'list: 1 entry' }),
        expect.objectContaining({ level: 3, client: 'mcp:test', reason: 'list: 1 entry' }),
      ]),
    );
    expect(holdsSecret(JSON.stringify(records), '4321')).toBe(false);
    expect((await mv.audit.verify(phone)).ok).toBe(true);
  });
});
