import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeOpenAiServer, startFakeOpenAi } from '../classify/fake-openai-server.js';
import { type RealServer, startRealServer } from './real.js';

/** POST /v1/memories with a configured LLM that lies, fails or times out: the fallback is reported, not hidden. */

const PHONE = '+14155550181';
const PASSWORD = 'a long and private passphrase 42';
const TEXT = 'Took the kids to the aquarium this afternoon';

describe('POST /v1/memories when the configured LLM fails', () => {
  let llm: FakeOpenAiServer;
  let server: RealServer;
  let token = '';
  const logs: Record<string, unknown>[] = [];

  beforeAll(async () => {
    llm = await startFakeOpenAi();
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(JSON.parse(line));
        done();
      },
    });
    server = await startRealServer(
      {},
      {
        env: { MEMVAULT_LLM_BASE_URL: llm.baseURL, MEMVAULT_LLM_API_KEY: 'test-key', MEMVAULT_LLM_TIMEOUT_MS: '2000' },
        logger: pino({ level: 'info' }, sink),
      },
    );
    const up = await fetch(`${server.url}/v1/auth/sign-up`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ phone: PHONE, password: PASSWORD }),
    });
    expect(up.status).toBe(201);
    token = String(((await up.json()) as { token: string }).token);
  });
  afterAll(async () => {
    await server?.close();
    await llm?.close();
  });

  const remember = async () => {
    const res = await fetch(`${server.url}/v1/memories`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ text: TEXT }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as {
      memory: { id: string; analysis: string };
      classification: { source: string; fallbackReason?: string };
    };
  };

  it.each([
    ['bad_output', { kind: 'answer', content: '{"category":"PUBLIC","confidence":2}' }],
    ['timeout', { kind: 'slow', delayMs: 20_000, content: '{}' }],
    ['http_error', { kind: 'status', status: 401 }],
  ] as const)(
    'reports %s in the response, the stored analysis and one log line without content',
    async (reason, behaviour) => {
      llm.enqueue(behaviour); // none of these is retried: bad output and 401 are final, a timeout spends the budget
      logs.length = 0;
      const body = await remember();
      expect(body.classification).toMatchObject({ source: 'local', fallbackReason: reason });
      expect(body.memory.analysis).toContain(`LLM fallback: ${reason}`);
      const lines = logs.filter((l) => l.reason === reason);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 40, entryId: body.memory.id });
      expect(JSON.stringify(logs)).not.toContain('aquarium');
    },
  );

  it('reports no fallback when the LLM answers', async () => {
    const body = await remember();
    expect(body.classification.source).toBe('llm');
    expect(body.classification).not.toHaveProperty('fallbackReason');
    expect(body.memory.analysis).not.toContain('LLM fallback');
  });
});
