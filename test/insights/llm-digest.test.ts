import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.js';
import { createMemvault, type Memvault } from '../../src/app/container.js';
import type { UserId } from '../../src/core/entry.js';
import { localTimeToUtc } from '../../src/core/time-zone.js';
import { DailyScheduler } from '../../src/insights/scheduler.js';
import { settingsPath } from '../../src/insights/settings-store.js';
import type { DigestReady } from '../../src/ports/insights.js';
import type { Principal } from '../../src/services/types.js';
import { type FakeOpenAiServer, startFakeOpenAi } from '../classify/fake-openai-server.js';
import { withoutTimings } from './synthetic-life.js';
import { holdsSecret } from '../helpers/leak.js';

const PHONE = '+351912345670';
const userId = PHONE as UserId;
const TZ = 'Europe/Lisbon';
const DAY = '2026-11-30';
const at = (h: number, m = 0) => new Date(localTimeToUtc(TZ, 2026, 11, 30, h, m));

const LLM_TEXT =
  'You had brunch with Nadia and laughed a lot, then met Tom at the park. A good day on the whole.\nComing up:\n• Dentist on Tuesday at 3 pm.';
const digestAnswer = (text = LLM_TEXT) => JSON.stringify({ text });

const SECRET = 'My bank PIN is 4921 and the safe code is 7781.';
const CONFIDENTIAL = 'Therapy with Dr Alvarez about the panic attacks, felt lighter afterwards.';
const GATE = 'The gate code is 4417, then met Tom at the park.';
const MEMORIES: Array<{ text: string; at: Date; category: 'CHRONOLOGICAL' | 'CONFIDENTIAL' | 'SECRET' }> = [
  { text: 'Brunch with Nadia at Blue Bottle, we laughed so much.', at: at(10), category: 'CHRONOLOGICAL' },
  // Filed at level 1 by the person, although it holds a code: the detectors must mask it before any LLM call.
  { text: GATE, at: at(12), category: 'CHRONOLOGICAL' },
  { text: CONFIDENTIAL, at: at(16), category: 'CONFIDENTIAL' },
  { text: SECRET, at: at(18), category: 'SECRET' },
  { text: 'Dentist on Tuesday at 3 pm.', at: at(20), category: 'CHRONOLOGICAL' },
];

let dataDir: string;
let llm: FakeOpenAiServer;
let mv: Memvault;
let owner: Principal;
const logLines: string[] = [];
const now = new Date('2026-12-01T01:00:00.000Z');

const bodies = () => llm.requests.map((r) => JSON.stringify(r.body)).join('\n');

async function open(env: Record<string, string> = {}): Promise<Memvault> {
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  return createMemvault(loadConfig({ MEMVAULT_DATA_DIR: dataDir, MEMVAULT_LOG_LEVEL: 'silent', ...env }), {
    // No clock or process fields: the log lines are searched for leaked digits.
    logger: pino({ level: 'debug', timestamp: false, base: null }, sink),
    clock: { now: () => now },
  });
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'memvault-llm-digest-'));
  llm = await startFakeOpenAi({ kind: 'answer', content: digestAnswer() });
  // The memories are written without an LLM, so every request the stand-in records comes from the digests.
  const writer = await open();
  await writer.memory.signUp({ phone: PHONE, name: 'Ana', timezone: TZ });
  const p: Principal = { userId, opener: await writer.operatorOpener(userId), meta: { channel: 'cli' } };
  for (const m of MEMORIES) await writer.memory.remember(p, m.text, { channel: 'cli', at: m.at, category: m.category });
  await writer.close();
  mv = await open({
    MEMVAULT_LLM_BASE_URL: llm.baseURL,
    MEMVAULT_LLM_MODEL: 'digest-model',
    // Room for a first request on two busy cores (one took 511 ms); the slow answer below takes far longer.
    MEMVAULT_LLM_DIGEST_TIMEOUT_MS: '3000',
  });
  // No password: the local operator holds levels 1 and 2.
  owner = { userId, opener: await mv.operatorOpener(userId), meta: { channel: 'cli' } };
}, 120_000);

afterAll(async () => {
  await mv?.close();
  await llm?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('the digest written by an LLM', () => {
  it('uses the LLM’s text, sends only level 1 by default, masked, with the schema and no secret', async () => {
    const before = llm.requests.length;
    const d = await mv.insights.digest(owner, { date: DAY, levels: [1, 2] });
    expect(d.author).toEqual({ by: 'llm' });
    expect(d.text).toBe(LLM_TEXT);
    // The digest itself covers level 2 (the session unlocked it); the LLM did not see it.
    expect(d.level).toBe(2);
    const sent = llm.requests.slice(before);
    expect(sent).toHaveLength(1);
    const body = sent[0]!.body;
    expect(body.model).toBe('digest-model');
    expect(body.response_format?.json_schema?.strict).toBe(true);
    const facts = JSON.parse(body.messages!.find((m) => m.role === 'user')!.content) as Record<string, unknown>;
    const raw = JSON.stringify(facts);
    expect(raw).toContain('Nadia');
    expect(raw).toContain('_access_code_');
    expect(raw).not.toContain('4417');
    expect(raw).not.toContain('Alvarez');
    expect(raw).not.toContain('panic');
    expect(facts.notShown).toBe(2); // the confidential memory (above the LLM's level) and the sealed one
  });

  it('sends level 2 only once the person allowed it, and never a SECRET memory', async () => {
    const channel: Principal = { userId, opener: await mv.auth.channelOpener(userId), meta: { channel: 'api' } };
    await expect(mv.insights.setLlmLevel(channel, 2)).rejects.toMatchObject({
      code: 'SECURITY_ERROR',
      reason: 'insufficient_permissions',
    });
    await expect(mv.insights.setLlmLevel(owner, 3)).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    expect((await mv.insights.setLlmLevel(owner, 2)).llmLevel).toBe(2);
    const before = llm.requests.length;
    await mv.insights.digest(owner, { date: DAY, levels: [1, 2, 3, 4] });
    const sent = JSON.stringify(llm.requests.slice(before).map((r) => r.body));
    expect(sent).toContain('Alvarez');
    for (const digits of ['4921', '7781', '4417']) expect(holdsSecret(sent, digits)).toBe(false);
    for (const s of ['bank PIN', SECRET]) expect(sent).not.toContain(s);
    // Level 0: the LLM is not asked at all.
    await mv.insights.setLlmLevel(owner, 0);
    const quiet = llm.requests.length;
    const d = await mv.insights.digest(owner, { date: DAY });
    expect(llm.requests.length).toBe(quiet);
    expect(d.author).toEqual({ by: 'template', fallbackReason: 'not_allowed' });
    expect(d.text).toContain('Coming up:');
    await mv.insights.setLlmLevel(owner, 1);
    expect((await mv.insights.settings(owner)).llmLevel).toBe(1);
  });

  it.each([
    ['bad_output', { kind: 'answer', content: 'Here is your digest: a lovely day!' }],
    ['bad_output', { kind: 'answer', content: JSON.stringify({ text: 'too short' }) }],
    ['bad_output', { kind: 'answer', content: JSON.stringify({ text: LLM_TEXT, extra: 1 }) }],
    ['timeout', { kind: 'slow', delayMs: 20_000, content: digestAnswer() }],
    ['network', { kind: 'status', status: 503 }],
    ['rate_limited', { kind: 'status', status: 429, headers: { 'retry-after': '1' } }],
    ['http_error', { kind: 'status', status: 401 }],
    ['network', { kind: 'drop' }],
  ] as const)('falls back to the template on %s', async (reason, behaviour) => {
    llm.enqueue(behaviour);
    const started = Date.now();
    const d = await mv.insights.digest(owner, { date: DAY });
    expect(Date.now() - started).toBeLessThan(15_000); // the 3 s budget and the digest's own work, not the slow 20 s
    expect(d.author).toEqual({ by: 'template', fallbackReason: reason });
    expect(d.text.startsWith('Your Monday 30 November: 3 memories')).toBe(true);
    expect(
      logLines.some((l) => l.includes('digest written by the template') && l.includes(`"reason":"${reason}"`)),
    ).toBe(true);
  });

  it('refuses a settings file edited outside memvault, and then lets the LLM read nothing', async () => {
    const path = settingsPath(dataDir, userId);
    const good = await readFile(path, 'utf8');
    await writeFile(path, good.replace('"llmLevel": 1', '"llmLevel": 2'));
    const before = llm.requests.length;
    const d = await mv.insights.digest(owner, { date: DAY, levels: [1, 2] });
    expect(d.author).toEqual({ by: 'template', fallbackReason: 'settings_unreadable' });
    expect(llm.requests.length).toBe(before);
    await expect(mv.insights.settings(owner)).rejects.toMatchObject({ code: 'DATA_CORRUPTION' });
    await writeFile(path, good);
    expect((await mv.insights.settings(owner)).llmLevel).toBe(1);
  });
});

describe('the scheduled digest', () => {
  it('is processed and handed to the notifier by itself after local midnight, with no secret anywhere', async () => {
    const ready: DigestReady[] = [];
    const off = mv.insights.onDigestReady((e) => {
      ready.push(e);
    });
    // A listener that fails never fails the run.
    const off2 = mv.insights.onDigestReady(() => {
      throw new Error('channel down');
    });
    const before = llm.requests.length;
    const scheduler = new DailyScheduler({
      listUsers: () => mv.vault.listUsers(),
      timezoneOf: async (u) => (await mv.vault.getProfile(u)).timezone,
      processedDays: (u) => mv.insights.processedDays(u),
      process: (u, d) => mv.insights.deliverDay(u, d),
      clock: { now: () => now },
      catchUpDays: 1,
    });
    expect(await scheduler.tick()).toBe(1);
    off();
    off2();
    expect(ready).toHaveLength(1);
    const event = ready[0]!;
    expect(event.day).toBe(DAY);
    expect(event.digest.level).toBe(1);
    expect(event.digest.author.by).toBe('llm');
    expect(event.digest.sealed).toBe(2);
    expect(llm.requests.length).toBe(before + 1);
    expect(logLines.some((l) => l.includes('a digest listener failed'))).toBe(true);

    // What the insights file holds, opened (its sealed bytes are random base64, which may hold any 4 digits).
    const view = await mv.insights.insights(owner, DAY);
    const everything = [
      bodies(),
      withoutTimings(logLines),
      JSON.stringify(event),
      JSON.stringify(view),
      await readFile(settingsPath(dataDir, userId), 'utf8'),
    ].join('\n');
    for (const digits of ['4921', '7781']) expect(holdsSecret(everything, digits)).toBe(false);
    for (const s of ['bank PIN', SECRET]) expect(everything).not.toContain(s);
    // The gate code sits in a level-1 memory, so the person's own digest may quote it; an LLM or a log never.
    expect(holdsSecret(bodies() + withoutTimings(logLines), '4417')).toBe(false);
    expect(JSON.stringify(event)).toContain('4417');
    for (const m of MEMORIES) expect(logLines.join('')).not.toContain(m.text);
    // The stand-in did receive the day's level-1 facts: the assertions above are not vacuous.
    expect(bodies()).toContain('Blue Bottle');
  });
});
