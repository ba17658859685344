import { createRoute } from '@hono/zod-openapi';
import { type Category, isSecurityLevel, parseCategory, type SecurityLevel } from '../core/category.js';
import { isMemvaultError } from '../core/errors.js';
import type { EntryFilter } from '../ports/vault.js';
import type { App, RouteKit } from './context.js';
import { auditDto, memoryDto } from './dto.js';
import { errorResponses, jsonBody, jsonResponse, SESSION_SECURITY } from './openapi-helpers.js';
import {
  AuditQuery,
  AuditResponse,
  CorrectBody,
  IdParam,
  ListQuery,
  ListResponse,
  MemoryResponse,
  RelatedResponse,
  RememberBody,
  RememberResponse,
  SearchBody,
  SearchResponse,
} from './schemas.js';
import { requireSession } from './session.js';

const splitList = (value: string | undefined): string[] =>
  value === undefined
    ? []
    : value
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part.length > 0);

/** Memories (capture, list, get, correct, delete, related), search and the audit log. */
export function registerMemoryRoutes(app: App, kit: RouteKit): void {
  const { memory, audit } = kit.deps;
  const session = requireSession(kit);

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/memories',
      tags: ['memories'],
      summary: 'Remember something: classified, sealed at its level, stored and indexed',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      request: jsonBody(RememberBody),
      responses: {
        201: jsonResponse(RememberResponse, 'Stored'),
        ...errorResponses(400, 401, 403, 413, 415, 422, 503),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const principal = c.get('principal');
      const result = await memory.remember(principal, body.text, {
        channel: c.get('via') === 'cookie' ? 'web' : 'api',
        ...(body.at !== undefined ? { at: new Date(body.at) } : {}),
        ...(body.externalId !== undefined ? { externalId: body.externalId } : {}),
        ...(body.category !== undefined ? { category: body.category } : {}),
      });
      const k = result.classification;
      return c.json(
        {
          memory: memoryDto(result.entry),
          reply: result.reply,
          indexed: result.indexed,
          classification: {
            category: k.category,
            level: k.level,
            confidence: k.confidence,
            source: k.source,
            ...(k.fallbackReason ? { fallbackReason: k.fallbackReason } : {}),
            needsReview: k.needsReview,
          },
        },
        201,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/memories',
      tags: ['memories'],
      summary: 'List memories, newest first; locked levels are counted, never shown',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      request: { query: ListQuery },
      responses: { 200: jsonResponse(ListResponse, 'Memories'), ...errorResponses(400, 401) },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const categories: Category[] = splitList(q.categories).map(parseCategory);
      const levels = splitList(q.levels)
        .map(Number)
        .filter((n): n is SecurityLevel => isSecurityLevel(n));
      const tags = splitList(q.tags);
      const filter: EntryFilter = {
        limit: q.limit ?? 50,
        ...(categories.length > 0 ? { categories } : {}),
        ...(levels.length > 0 ? { levels } : {}),
        ...(tags.length > 0 ? { tags } : {}),
        ...(q.from !== undefined ? { from: new Date(q.from).toISOString() } : {}),
        ...(q.to !== undefined ? { to: new Date(q.to).toISOString() } : {}),
        ...(q.dateField !== undefined ? { dateField: q.dateField } : {}),
        ...(q.offset !== undefined ? { offset: q.offset } : {}),
        ...(q.order !== undefined ? { order: q.order } : {}),
      };
      const result = await memory.list(c.get('principal'), filter);
      return c.json(
        {
          memories: result.entries.map(memoryDto),
          locked: result.locked,
          sealed: (result.lockedEntries ?? []).map((e) => ({
            id: e.id,
            category: e.category,
            level: e.level,
            date: e.date,
          })),
          damaged: result.damaged.map((d) => ({ id: d.id, category: d.category, reason: d.reason })),
          total: result.total,
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/memories/{id}',
      tags: ['memories'],
      summary: 'One memory (403 insufficient_permissions when its level is locked)',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      request: { params: IdParam },
      responses: { 200: jsonResponse(MemoryResponse, 'The memory'), ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const entry = await memory.get(c.get('principal'), c.req.valid('param').id);
      return c.json({ memory: memoryDto(entry) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/v1/memories/{id}',
      tags: ['memories'],
      summary: 'Correct the category (moves the memory to that level; trains the classifier)',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      request: { params: IdParam, ...jsonBody(CorrectBody) },
      responses: {
        200: jsonResponse(MemoryResponse, 'The corrected memory'),
        ...errorResponses(400, 401, 403, 404, 413, 415),
      },
    }),
    async (c) => {
      const entry = await memory.correct(c.get('principal'), c.req.valid('param').id, c.req.valid('json').category);
      return c.json({ memory: memoryDto(entry) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/memories/{id}',
      tags: ['memories'],
      summary: 'Delete a memory and every reference to it',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      request: { params: IdParam },
      responses: { 204: { description: 'Deleted' }, ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      await memory.delete(c.get('principal'), c.req.valid('param').id);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/memories/{id}/related',
      tags: ['memories'],
      summary: 'Related memories the session can open',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      request: { params: IdParam },
      responses: { 200: jsonResponse(RelatedResponse, 'Related memories'), ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const principal = c.get('principal');
      const id = c.req.valid('param').id;
      const related = await memory.related(principal, id);
      // The daily processing's connections (with their reasons) join the vault's own links.
      const stored = kit.deps.insights ? await kit.deps.insights.connections(principal, id) : [];
      const shown = new Set(related.map((m) => m.id));
      for (const link of stored) {
        if (shown.has(link.to)) continue;
        try {
          related.push(await memory.get(principal, link.to));
          shown.add(link.to);
        } catch (error) {
          // Deleted since, or at a level the session has not unlocked: not shown, like the vault's own links.
          if (!isMemvaultError(error, 'NOT_FOUND') && !isMemvaultError(error, 'SECURITY_ERROR')) throw error;
        }
      }
      // Only reasons for memories the session may see: a reason names people and places of the other memory.
      const connections = kit.deps.insights
        ? stored.filter((x) => shown.has(x.to)).map((x) => ({ id: x.to, kind: x.kind, reason: x.reason }))
        : undefined;
      return c.json({ memories: related.map(memoryDto), ...(connections ? { connections } : {}) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/search',
      tags: ['search'],
      summary: 'Hybrid search (full-text, fuzzy, semantic) over the levels the session has unlocked',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      request: jsonBody(SearchBody),
      responses: { 200: jsonResponse(SearchResponse, 'Ranked results'), ...errorResponses(400, 401, 413, 415) },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const principal = c.get('principal');
      const profile = await memory.profile(principal.userId);
      const hits = await memory.search(principal, {
        text: body.query,
        limit: body.limit ?? 50,
        timezone: profile.timezone,
        ...(body.from !== undefined ? { from: new Date(body.from).toISOString() } : {}),
        ...(body.to !== undefined ? { to: new Date(body.to).toISOString() } : {}),
        ...(body.dateField !== undefined ? { dateField: body.dateField } : {}),
        ...(body.tags !== undefined ? { tags: body.tags } : {}),
        ...(body.categories !== undefined ? { categories: body.categories } : {}),
        ...(body.levels !== undefined ? { levels: body.levels } : {}),
      });
      return c.json(
        {
          results: hits.map((hit) => ({
            memory: memoryDto(hit.entry),
            score: hit.score,
            signals: [...hit.signals],
            highlighted: hit.highlighted,
          })),
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/audit',
      tags: ['audit'],
      summary: 'Your own access log, newest first',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      request: { query: AuditQuery },
      responses: { 200: jsonResponse(AuditResponse, 'Audit records'), ...errorResponses(400, 401) },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const records = await audit.list(c.get('principal').userId, {
        limit: q.limit ?? 100,
        ...(q.before !== undefined ? { before: q.before } : {}),
      });
      return c.json({ records: records.map(auditDto) }, 200);
    },
  );
}
