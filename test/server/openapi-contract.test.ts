import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import createClient from 'openapi-fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.js';
import { type RunningServer, startServer } from '../../src/app/serve.js';
import { apiTypes, GENERATED_API_TYPES } from '../../scripts/generate-api-types.js';
import { tempDir } from '../helpers/cli.js';
import type { paths } from './generated/memvault-api.js';
import { freePort } from './real.js';

const PHONE = '+14155550177';
const PASSWORD = 'correct horse battery staple';

type Operation = {
  operationId?: string;
  description?: string;
  parameters?: { name: string; description?: string }[];
  responses: Record<string, { headers?: Record<string, unknown> }>;
};

let dir: { path: string; cleanup(): void };
let server: RunningServer;
let base: string;
let document: { paths: Record<string, Record<string, Operation>> };

beforeAll(async () => {
  dir = tempDir();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = await startServer(
    loadConfig(
      { MEMVAULT_DATA_DIR: join(dir.path, 'data'), MEMVAULT_LOG_LEVEL: 'silent', MEMVAULT_PUBLIC_URL: base },
      { host: '127.0.0.1', port },
    ),
  );
  document = (await (await fetch(`${base}/v1/openapi.json`)).json()) as typeof document;
}, 60_000);

afterAll(async () => {
  await server?.stop();
  dir?.cleanup();
});

const operations = () =>
  Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ where: `${method.toUpperCase()} ${path}`, op })),
  );

describe('the REST contract (/v1/openapi.json)', () => {
  it('is a valid OpenAPI document (swagger-parser)', async () => {
    // validate() dereferences in place: give it a copy.
    await expect(SwaggerParser.validate(structuredClone(document) as never)).resolves.toBeTruthy();
  });

  it('the validator is not a rubber stamp: a broken document is refused', async () => {
    const broken = structuredClone(document) as { paths: Record<string, Record<string, unknown>> };
    const first = Object.values(broken.paths)[0]!;
    (Object.values(first)[0] as { responses: unknown }).responses = 'none';
    await expect(SwaggerParser.validate(broken as never)).rejects.toThrow();
  });

  it('names and describes every operation and parameter, and documents 500, 503 and Retry-After', () => {
    const ids = new Set<string>();
    for (const { where, op } of operations()) {
      expect(op.operationId, where).toMatch(/^[a-z][A-Za-z]+$/);
      expect(ids.has(op.operationId!), `${where}: duplicate operationId`).toBe(false);
      ids.add(op.operationId!);
      expect(op.description?.length ?? 0, `${where}: description`).toBeGreaterThan(20);
      for (const p of op.parameters ?? []) expect(p.description, `${where} ${p.name}`).toBeTruthy();
      expect(Object.keys(op.responses), where).toEqual(expect.arrayContaining(['500', '503']));
      if (op.responses['429']) expect(op.responses['429'].headers, where).toHaveProperty('Retry-After');
    }
    expect([...ids]).toEqual(
      expect.arrayContaining(['createMemory', 'listMemories', 'getMemory', 'searchMemories', 'signIn', 'createToken']),
    );
  });

  it('lists, search and audit page the same way (offset + limit in, total out); categories and levels are enums', () => {
    const params = (where: string) => {
      const [method, path] = where.split(' ') as [string, string];
      return (document.paths[path]?.[method]?.parameters ?? []).map((p) => p.name);
    };
    expect(params('get /v1/memories')).toEqual(expect.arrayContaining(['limit', 'offset']));
    expect(params('get /v1/audit')).toEqual(expect.arrayContaining(['limit', 'offset']));
    const schemas = (document as unknown as { components: { schemas: Record<string, Record<string, unknown>> } })
      .components.schemas;
    expect(Object.keys((schemas.Search?.properties ?? {}) as object)).toEqual(
      expect.arrayContaining(['limit', 'offset']),
    );
    for (const name of ['MemoryList', 'SearchResults', 'AuditLog']) {
      expect((schemas[name]?.required as string[]) ?? [], name).toContain('total');
    }
    expect(schemas.Level?.enum).toEqual([1, 2, 3, 4]);
    expect(schemas.Category?.enum).toEqual(['CHRONOLOGICAL', 'GENERAL', 'CONFIDENTIAL', 'SECRET', 'ULTRASECRET']);
    const memory = schemas.Memory?.properties as Record<string, { format?: string }> | undefined;
    expect(memory?.date?.format).toBe('date-time');
  });

  it('a typed client generated from it works against the running server', async () => {
    const api = createClient<paths>({ baseUrl: base, querySerializer: { array: { style: 'form', explode: false } } });
    const signUp = await api.POST('/v1/auth/sign-up', { body: { phone: PHONE, password: PASSWORD, name: 'Ada' } });
    expect(signUp.response.status).toBe(201);
    const token = signUp.data?.token;
    expect(token).toBeTruthy();
    const authed = createClient<paths>({
      baseUrl: base,
      headers: { authorization: `Bearer ${token}` },
      querySerializer: { array: { style: 'form', explode: false } },
    });
    for (const text of ['Hiked the ridge with Sara', 'Bought oat milk and apples', 'Dinner with Sara at the pier']) {
      const created = await authed.POST('/v1/memories', { body: { text, category: 'GENERAL' } });
      expect(created.response.status).toBe(201);
      expect(created.data?.memory.level).toBe(1);
    }

    const page = await authed.GET('/v1/memories', {
      params: { query: { categories: ['GENERAL'], levels: [1], limit: 2, offset: 1 } },
    });
    expect(page.response.status).toBe(200);
    expect(page.data?.total).toBe(3);
    expect(page.data?.memories).toHaveLength(2);

    const found = await authed.POST('/v1/search', { body: { query: 'Sara', limit: 1 } });
    expect(found.data?.total).toBeGreaterThanOrEqual(2);
    expect(found.data?.results).toHaveLength(1);
    const second = await authed.POST('/v1/search', { body: { query: 'Sara', limit: 1, offset: 1 } });
    expect(second.data?.results[0]?.memory.id).not.toBe(found.data?.results[0]?.memory.id);

    const one = await authed.GET('/v1/memories/{id}', {
      params: { path: { id: found.data!.results[0]!.memory.id } },
    });
    expect(one.data?.memory.content).toContain('Sara');

    const audit = await authed.GET('/v1/audit', { params: { query: { limit: 1 } } });
    const total = audit.data?.total ?? 0;
    expect(total).toBeGreaterThan(1);
    const oldest = await authed.GET('/v1/audit', { params: { query: { limit: 5, offset: total - 1 } } });
    expect(oldest.data?.records.map((r) => r.seq)).toEqual([1]);
    expect((await authed.GET('/v1/audit', { params: { query: { offset: total } } })).data?.records).toEqual([]);

    // Errors come back typed too.
    const bad = await authed.GET('/v1/memories', { params: { query: { levels: [7 as 1] } } });
    expect(bad.response.status).toBe(400);
    expect(bad.error?.error.code).toBe('VALIDATION_ERROR');
  }, 60_000);
  it('the committed generated types are up to date (npm run generate:api)', async () => {
    expect(readFileSync(GENERATED_API_TYPES, 'utf8')).toBe(await apiTypes(document as never));
  });
});
