import { createRoute } from '@hono/zod-openapi';
import type { Category, SecurityLevel } from '../core/category.js';
import { isMemvaultError } from '../core/errors.js';
import type { EntryFilter } from '../ports/vault.js';
import type { App, RouteKit } from './context.js';
import { auditDto, memoryDto } from './dto.js';
import { errorResponses, jsonBody, jsonResponse, SESSION_SECURITY } from './openapi-helpers.js';
import {
  AuditQuery,
  AuditResponse,
  CorrectBody,
  DeleteQuery,
  EmptyTrashResponse,
  IdParam,
  ListQuery,
  ListResponse,
  MemoryResponse,
  RelatedResponse,
  RememberBody,
  RememberResponse,
  SearchBody,
  SEARCH_WINDOW,
  SearchResponse,
  TrashResponse,
  VersionsResponse,
} from './schemas.js';
import { requireSession } from './session.js';

/** Memories (capture, list, get, correct, delete, related), search and the audit log. */
export function registerMemoryRoutes(app: App, kit: RouteKit): void {
  const { memory, audit } = kit.deps;
  const session = requireSession(kit, { tokens: true });

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/memories',
      operationId: 'createMemory',
      description:
        'Classifies the text (category, level, tags), seals it at its level, stores and indexes it. Sealing needs only public keys, so any level can be written while it is locked.',
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
      kit.deps.metrics?.capture(k.category, k.source);
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
      operationId: 'listMemories',
      description:
        'Memories of the levels this session (or token) can open, newest first, paged with offset and total. Memories in locked levels are counted in `locked`, never shown.',
      tags: ['memories'],
      summary: 'List memories, newest first; locked levels are counted, never shown',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      request: { query: ListQuery },
      responses: { 200: jsonResponse(ListResponse, 'Memories'), ...errorResponses(400, 401) },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const categories: Category[] = q.categories ?? [];
      const levels: SecurityLevel[] = q.levels ?? [];
      const tags = q.tags ?? [];
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
      operationId: 'getMemory',
      description: 'One memory by id. 403 insufficient_permissions when its level is locked.',
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
      operationId: 'correctMemory',
      description:
        'With `category`: moves the memory to another category (and so level) and teaches the personal classifier. With `text`: replaces its text, classified again like a capture (it may move to another level); the earlier text is kept as a version, sealed at the level it had (GET /v1/memories/{id}/versions).',
      tags: ['memories'],
      summary: 'Correct the category (trains the classifier) or edit the text (keeps the earlier version)',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      request: { params: IdParam, ...jsonBody(CorrectBody) },
      responses: {
        200: jsonResponse(MemoryResponse, 'The corrected memory'),
        ...errorResponses(400, 401, 403, 404, 413, 415),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const id = c.req.valid('param').id;
      const entry =
        body.text !== undefined
          ? await memory.edit(c.get('principal'), id, body.text)
          : await memory.correct(c.get('principal'), id, body.category!);
      return c.json({ memory: memoryDto(entry) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/memories/{id}/versions',
      operationId: 'listMemoryVersions',
      description:
        'The texts this memory had before each edit, newest first. Each version is sealed at the level it was written at: one in a level this session has not unlocked comes with `memory: null`.',
      tags: ['memories'],
      summary: 'Earlier versions of a memory’s text',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      request: { params: IdParam },
      responses: { 200: jsonResponse(VersionsResponse, 'Versions'), ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const versions = await memory.versions(c.get('principal'), c.req.valid('param').id);
      return c.json(
        {
          versions: versions.map((v) => ({
            revision: v.revision,
            category: v.category,
            level: v.level,
            savedAt: v.savedAt,
            replacedAt: v.replacedAt,
            memory: v.entry ? memoryDto(v.entry) : null,
          })),
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/memories/{id}/restore',
      operationId: 'restoreMemory',
      description: 'Brings a memory back from the trash, as it was. 404 when it is not in the trash.',
      tags: ['memories'],
      summary: 'Restore a memory from the trash',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      request: { params: IdParam },
      responses: { 200: jsonResponse(MemoryResponse, 'The restored memory'), ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const entry = await memory.restore(c.get('principal'), c.req.valid('param').id);
      return c.json({ memory: memoryDto(entry) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/trash',
      operationId: 'listTrash',
      description:
        'Deleted memories, most recent first, kept for 30 days (then erased for good). Memories at levels this session has not unlocked come with `memory: null`.',
      tags: ['memories'],
      summary: 'The trash: deleted memories, restorable for 30 days',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      responses: { 200: jsonResponse(TrashResponse, 'The trash'), ...errorResponses(401) },
    }),
    async (c) => {
      const items = await memory.trash(c.get('principal'));
      return c.json(
        {
          memories: items.map((t) => ({
            id: t.id,
            category: t.category,
            level: t.level,
            trashedAt: t.trashedAt,
            erasedAfter: t.erasedAfter,
            memory: t.entry ? memoryDto(t.entry) : null,
          })),
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/trash',
      operationId: 'emptyTrash',
      description: 'Erases every memory in the trash whose level this session has unlocked, now.',
      tags: ['memories'],
      summary: 'Empty the trash',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      responses: { 200: jsonResponse(EmptyTrashResponse, 'How many were erased'), ...errorResponses(401) },
    }),
    async (c) => {
      const erased = await memory.emptyTrash(c.get('principal'));
      return c.json({ erased }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/memories/{id}',
      operationId: 'deleteMemory',
      description:
        'Moves the memory to the trash (hidden everywhere; POST /v1/memories/{id}/restore brings it back within 30 days). With `permanent=true` erases it now, with its versions, its index entries and every link to it.',
      tags: ['memories'],
      summary: 'Delete a memory (to the trash, or for good with permanent=true)',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      request: { params: IdParam, query: DeleteQuery },
      responses: { 204: { description: 'Deleted' }, ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      await memory.delete(c.get('principal'), c.req.valid('param').id, {
        permanent: c.req.valid('query').permanent === 'true',
      });
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/memories/{id}/related',
      operationId: 'getRelatedMemories',
      description:
        'Memories linked to this one that the session can open, with why they are related when the daily processing found it.',
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
      operationId: 'searchMemories',
      description:
        'Hybrid search (full text, typo-tolerant, semantic) over the levels the session can open, paged with offset and total inside the ranked window.',
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
      // Paging stays inside the ranked window, so `total` and every page come from one ranking.
      const offset = body.offset ?? 0;
      const ranked = await memory.search(principal, {
        text: body.query,
        limit: SEARCH_WINDOW,
        timezone: profile.timezone,
        ...(body.from !== undefined ? { from: new Date(body.from).toISOString() } : {}),
        ...(body.to !== undefined ? { to: new Date(body.to).toISOString() } : {}),
        ...(body.dateField !== undefined ? { dateField: body.dateField } : {}),
        ...(body.tags !== undefined ? { tags: body.tags } : {}),
        ...(body.categories !== undefined ? { categories: body.categories } : {}),
        ...(body.levels !== undefined ? { levels: body.levels } : {}),
      });
      const hits = ranked.slice(offset, offset + (body.limit ?? 50));
      return c.json(
        {
          total: ranked.length,
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
      operationId: 'listAuditRecords',
      description: 'The person’s own tamper-evident access log, newest first, paged with offset and total.',
      tags: ['audit'],
      summary: 'Your own access log, newest first',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      request: { query: AuditQuery },
      responses: { 200: jsonResponse(AuditResponse, 'Audit records'), ...errorResponses(400, 401) },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const userId = c.get('principal').userId;
      // Sequence numbers run 1…N without gaps, so the newest one is the total and an offset is a `before` bound.
      const total = (await audit.list(userId, { limit: 1 }))[0]?.seq ?? 0;
      const offset = q.offset ?? 0;
      const records =
        offset >= total ? [] : await audit.list(userId, { limit: q.limit ?? 100, before: total - offset + 1 });
      return c.json({ records: records.map(auditDto), total }, 200);
    },
  );
}
