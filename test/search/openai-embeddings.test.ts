import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAiEmbeddings } from '../../src/search/openai-embeddings.js';
import { createSearchIndex } from '../../src/search/search-index.js';
import { entry, MemoryVault, testOpener, testSealer, USER } from './helpers.js';

/** A local stand-in for `/v1/embeddings`: deterministic 8-d vectors from the text's letters. */
type Mode = 'ok' | 'slow' | 'error500' | 'malformed' | 'short';
let mode: Mode = 'ok';
let server: Server;
let baseURL: string;
const seen: { auth: string | undefined; inputs: number; model: string }[] = [];

function vectorOf(text: string): number[] {
  const v = new Array(8).fill(0);
  for (const ch of text.toLowerCase()) if (ch >= 'a' && ch <= 'z') v[(ch.charCodeAt(0) - 97) % 8] += 1;
  return v;
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  let body = '';
  req.on('data', (c) => {
    body += c;
  });
  req.on('end', () => {
    if (req.url !== '/v1/embeddings' || req.method !== 'POST') {
      res.writeHead(404).end();
      return;
    }
    const parsed = JSON.parse(body) as { input: string[]; model: string };
    seen.push({ auth: req.headers.authorization, inputs: parsed.input.length, model: parsed.model });
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
    };
    if (mode === 'error500') return send(500, { error: { message: 'boom' } });
    if (mode === 'slow') {
      setTimeout(() => send(200, { data: [] }), 30_000).unref();
      return;
    }
    const data = parsed.input.map((text, index) => ({
      object: 'embedding',
      index,
      embedding: mode === 'malformed' ? 'nope' : mode === 'short' ? [1, 2] : vectorOf(text),
    }));
    send(200, { object: 'list', data, model: parsed.model, usage: { prompt_tokens: 1, total_tokens: 1 } });
  });
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
afterEach(() => {
  mode = 'ok';
  seen.length = 0;
});

const make = (extra: { timeoutMs?: number; batchSize?: number } = {}) =>
  createOpenAiEmbeddings({ baseURL, apiKey: 'test-key', model: 'local-embed', dimensions: 8, maxRetries: 0, ...extra });

describe('createOpenAiEmbeddings', () => {
  it('embeds texts in order, in batches, with the API key', async () => {
    const emb = make({ batchSize: 2 });
    const vectors = await emb.embed(['abc', 'hhh', '', 'abc']);
    expect(vectors).toHaveLength(4);
    expect([...vectors[0]!]).toEqual(vectorOf('abc'));
    expect([...vectors[3]!]).toEqual(vectorOf('abc'));
    expect(seen.map((s) => s.inputs)).toEqual([2, 2]);
    expect(seen[0]?.auth).toBe('Bearer test-key');
    expect(seen[0]?.model).toBe('local-embed');
    expect(emb.dimensions).toBe(8);
  });

  it('rejects with NETWORK_ERROR within its time budget', async () => {
    mode = 'slow';
    const started = Date.now();
    await expect(make({ timeoutMs: 200 }).embed(['x'])).rejects.toMatchObject({ code: 'NETWORK_ERROR' });
    // Within the budget and the client's own work, far from the slow answer (a margin for two busy cores).
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it.each(['error500', 'malformed', 'short'] as const)('rejects with NETWORK_ERROR on %s answers', async (m) => {
    mode = m;
    const error = await make()
      .embed(['x'])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NETWORK_ERROR' });
    expect(String((error as Error).message)).not.toContain('test-key');
  });

  it('rejects with NETWORK_ERROR when nothing listens', async () => {
    const emb = createOpenAiEmbeddings({
      baseURL: 'http://127.0.0.1:9/v1',
      apiKey: 'k',
      model: 'm',
      dimensions: 4,
      maxRetries: 0,
      timeoutMs: 1000,
    });
    await expect(emb.embed(['x'])).rejects.toMatchObject({ code: 'NETWORK_ERROR' });
  });

  it('validates its configuration', () => {
    expect(() => createOpenAiEmbeddings({ baseURL: 'not a url', apiKey: 'k', model: 'm', dimensions: 4 })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_ERROR' }),
    );
    expect(() => createOpenAiEmbeddings({ baseURL: 'file:///etc', apiKey: 'k', model: 'm', dimensions: 4 })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_ERROR' }),
    );
    expect(() => createOpenAiEmbeddings({ baseURL, apiKey: 'k', model: 'unknown-model' })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_ERROR' }),
    );
    expect(createOpenAiEmbeddings({ baseURL, apiKey: 'k', model: 'text-embedding-3-small' }).dimensions).toBe(1536);
  });
});

describe('search with remote embeddings', () => {
  it('falls back to the lexical signals when the endpoint fails', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'memvault-search-oa-'));
    try {
      const vault = new MemoryVault([entry('Called the electrician Marta'), entry('Dinner with Sara')]);
      const warnings: string[] = [];
      const index = createSearchIndex({
        vault,
        dataDir,
        sealer: testSealer(),
        embeddings: make({ timeoutMs: 300 }),
        logger: { warn: (_o, msg) => warnings.push(msg) },
      });
      mode = 'error500';
      const hits = await index.search(USER, { text: 'electrician' }, testOpener());
      expect(hits[0]?.entry.content).toContain('Marta');
      expect(hits[0]?.signals).not.toContain('semantic');
      expect(warnings.length).toBeGreaterThan(0);
      mode = 'ok';
      const rebuilt = await index.rebuild(USER, testOpener());
      expect(rebuilt.entries).toBe(2);
      expect((await index.search(USER, { text: 'electrician' }, testOpener()))[0]?.entry.content).toContain('Marta');
      await index.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
