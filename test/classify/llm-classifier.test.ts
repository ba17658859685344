import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LlmBadOutputError } from '../../src/classify/errors/llm-bad-output-error.js';
import { LlmNetworkError } from '../../src/classify/errors/llm-network-error.js';
import { LlmTimeoutError } from '../../src/classify/errors/llm-timeout-error.js';
import { createLlmClassifier, parseAnswer } from '../../src/classify/llm-classifier.js';
import { createLocalClassifier } from '../../src/classify/local-classifier.js';
import { PersonalModelStore } from '../../src/classify/personal-model.js';
import type { UserId } from '../../src/core/entry.js';
import { answerContent, type FakeOpenAiServer, startFakeOpenAi } from './fake-openai-server.js';
import { FileDocuments } from '../../src/security/file-documents.js';

const local = createLocalClassifier();
const now = new Date('2026-11-26T18:00:00Z');
let server: FakeOpenAiServer;

beforeAll(async () => {
  server = await startFakeOpenAi();
  local.classifySync('warm up the language model', { now });
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
});

const make = (overrides: Partial<Parameters<typeof createLlmClassifier>[0]> = {}) =>
  createLlmClassifier({
    baseURL: server.baseURL,
    apiKey: 'test-key',
    model: 'fake-model',
    // Generous: an answer that is meant to arrive must not time out on two busy cores (a timeout retries, and the
    // retry takes the next queued answer). The timeout tests set their own short budget.
    timeoutMs: 10_000,
    maxRetries: 2,
    backoffBaseMs: 10,
    local,
    ...overrides,
  });

describe('LLM classifier against a local chat-completions server', () => {
  it('uses a good answer, with the seed prompt, a strict schema and temperature 0.1', async () => {
    const r = await make().classify('Took the kids to the aquarium this afternoon', { now });
    expect(r).toMatchObject({
      category: 'CHRONOLOGICAL',
      level: 1,
      source: 'llm',
      confidence: 0.92,
      tags: ['kids', 'aquarium'],
      emotionalContext: 'joy',
      needsReview: false,
    });
    expect(r.fallbackReason).toBeUndefined();
    expect(r.eventDate).toBeDefined();
    const req = server.requests[0]!;
    expect(req.path).toBe('/v1/chat/completions');
    expect(req.headers.authorization).toBe('Bearer test-key');
    expect(req.body.temperature).toBe(0.1);
    expect(req.body.response_format?.type).toBe('json_schema');
    expect(req.body.response_format?.json_schema?.strict).toBe(true);
    expect(req.body.messages?.[0]?.content).toContain('expert memory classification system');
  });

  it('never sends a detected secret value to the endpoint, and the detectors set a floor', async () => {
    server.enqueue({ kind: 'answer', content: answerContent({ category: 'GENERAL', reasoning: 'PIN 8812 noted' }) });
    const r = await make().classify('My debit card PIN is 8812', { now });
    const sent = JSON.stringify(server.requests[0]!.body.messages);
    expect(sent).not.toContain('8812');
    expect(sent).toContain('_pin_');
    expect(r.category).toBe('SECRET');
    expect(r.level).toBe(3);
    expect(r.reasoning).not.toContain('8812');
    expect(r.source).toBe('llm');
  });

  it('sends the hard-case definitions, and context detectors lift an under-protecting answer', async () => {
    server.enqueue({ kind: 'answer', content: answerContent({ category: 'GENERAL' }) });
    const r = await make().classify('if anyone ever forces me to disarm, punch 9911 instead, it calls the police', {
      now,
    });
    const sent = JSON.stringify(server.requests[0]!.body.messages);
    expect(sent).not.toContain('9911');
    expect(server.requests[0]!.body.messages?.[0]?.content).toMatch(/duress/);
    expect(r.category).toBe('ULTRASECRET');
  });

  it('falls back on malformed JSON', async () => {
    server.enqueue({ kind: 'answer', content: '{"category": "GENERAL", "confid' });
    const r = await make().classify('Our Secret Santa budget is 20 dollars', { now });
    expect(r.source).toBe('local');
    expect(r.fallbackReason).toBe('bad_output');
    expect(r.category).toBe('GENERAL');
    expect(server.requests).toHaveLength(1);
  });

  it('falls back on an unknown category', async () => {
    server.enqueue({ kind: 'answer', content: answerContent({ category: 'TOP_SECRET' }) });
    const r = await make().classify('Our Secret Santa budget is 20 dollars', { now });
    expect(r.fallbackReason).toBe('bad_output');
    await expect(make().ask('x')).resolves.toBeDefined();
  });

  it('retries after a 429 honouring Retry-After, then succeeds', async () => {
    server.enqueue({ kind: 'status', status: 429, headers: { 'retry-after-ms': '120' } });
    const r = await make().classify('Took the kids to the aquarium this afternoon', { now });
    expect(r.source).toBe('llm');
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]!.at - server.requests[0]!.at).toBeGreaterThanOrEqual(100);
  });

  it('retries 5xx answers and gives up after maxRetries', async () => {
    server.enqueue({ kind: 'status', status: 503 }, { kind: 'status', status: 502 }, { kind: 'status', status: 500 });
    const r = await make().classify('Took the kids to the aquarium this afternoon', { now });
    expect(r.source).toBe('local');
    expect(r.fallbackReason).toBe('network');
    expect(server.requests).toHaveLength(3);
  });

  it('does not retry a 401', async () => {
    server.enqueue({ kind: 'status', status: 401 });
    const r = await make().classify('hello there', { now });
    expect(r.fallbackReason).toBe('http_error');
    expect(server.requests).toHaveLength(1);
  });

  it('falls back within the time budget when the answer is too slow', async () => {
    server.enqueue({ kind: 'slow', delayMs: 5000, content: answerContent() });
    const r = await make({ timeoutMs: 300, maxRetries: 0 }).classify('Took the kids to the aquarium this afternoon', {
      now,
    });
    expect(r.source).toBe('local');
    expect(r.fallbackReason).toBe('timeout');
    expect(r.category).toBe('CHRONOLOGICAL');
    // The answer came back while the server was still sitting on its slow reply.
    expect(server.pending()).toBe(1);
  });

  it('falls back when the connection drops mid-answer', async () => {
    server.enqueue({ kind: 'drop' }, { kind: 'drop' }, { kind: 'drop' });
    const r = await make().classify('I was diagnosed with diabetes last month', { now });
    expect(r.source).toBe('local');
    expect(r.fallbackReason).toBe('network');
    expect(r.category).toBe('CONFIDENTIAL');
  });

  it('recovers when a dropped connection is followed by a good answer', async () => {
    server.enqueue({ kind: 'drop' });
    const r = await make().classify('Took the kids to the aquarium this afternoon', { now });
    expect(r.source).toBe('llm');
    expect(server.requests).toHaveLength(2);
  });

  it('reports an unreachable endpoint as a network fallback', async () => {
    const r = await make({ baseURL: 'http://127.0.0.1:9/v1', maxRetries: 1 }).classify('hello', { now });
    expect(r.source).toBe('local');
    expect(r.fallbackReason).toBe('network');
  });

  it('ask() surfaces typed errors with their cause', async () => {
    server.enqueue({ kind: 'answer', content: 'not json at all' });
    const bad = await make()
      .ask('x')
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(LlmBadOutputError);
    expect((bad as LlmBadOutputError).cause).toBeDefined();
    expect((bad as LlmBadOutputError).code).toBe('CLASSIFICATION_ERROR');

    server.enqueue({ kind: 'slow', delayMs: 3000, content: answerContent() });
    const slow = await make({ timeoutMs: 150, maxRetries: 0 })
      .ask('x')
      .catch((e: unknown) => e);
    expect(slow).toBeInstanceOf(LlmTimeoutError);

    server.enqueue({ kind: 'status', status: 429 }, { kind: 'status', status: 429 });
    const limited = await make({ maxRetries: 1 })
      .ask('x')
      .catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(LlmNetworkError);
    expect((limited as LlmNetworkError).kind).toBe('rate_limited');
    expect((limited as LlmNetworkError).cause).toBeDefined();
  });
});

describe('LLM classifier with personal models', () => {
  it("lets a person's corrections outrank the LLM for messages like the ones they corrected", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'memvault-llm-personal-'));
    try {
      const personal = new PersonalModelStore({ documents: new FileDocuments(dataDir) });
      const userId = '+14155550134' as UserId;
      const withPersonal = createLocalClassifier({ personal });
      const llm = make({ local: withPersonal, personal });
      for (const note of ['practice saying no', 'journal every morning', 'notice the inner critic']) {
        await personal.learn({
          userId,
          entryId: 'e',
          text: `notes from my therapy session: ${note}`,
          from: 'CONFIDENTIAL',
          to: 'GENERAL',
          at: now.toISOString(),
        });
      }
      server.enqueue({ kind: 'answer', content: answerContent({ category: 'CONFIDENTIAL' }) });
      const r = await llm.classify('notes from my therapy session: practice saying no', { now, userId });
      expect(r.category).toBe('GENERAL');
      expect(r.source).toBe('local');
      expect(server.requests).toHaveLength(0);
      // Another person's message goes to the LLM as usual.
      const other = await llm.classify('notes from my therapy session: practice saying no', {
        now,
        userId: '+447700900123' as UserId,
      });
      expect(other.source).toBe('llm');
      expect(other.category).toBe('CONFIDENTIAL');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('parseAnswer', () => {
  it('accepts a fenced JSON answer', () => {
    expect(parseAnswer('```json\n' + answerContent() + '\n```').category).toBe('CHRONOLOGICAL');
  });
  it.each([
    ['', 'empty answer'],
    ['[]', 'answer'],
    [answerContent({ confidence: 3 }), 'confidence'],
    [answerContent({ security_level: 9 }), 'security_level'],
    [answerContent({ tags: 'a,b' }), 'tags'],
  ])('rejects %s', (content, problem) => {
    expect(() => parseAnswer(content)).toThrow(LlmBadOutputError);
    expect(() => parseAnswer(content)).toThrow(problem);
  });
});
