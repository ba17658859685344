import { createRoute, z } from '@hono/zod-openapi';
import { DIGEST_FALLBACK_REASONS } from '../ports/insights.js';
import type { App, RouteKit } from './context.js';
import { errorResponses, jsonBody, jsonResponse, SESSION_SECURITY } from './openapi-helpers.js';
import { requireSession } from './session.js';

const Day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'Expected a local day, YYYY-MM-DD')
  .openapi({ example: '2026-11-30' });

const Count = z.object({ name: z.string(), count: z.number().int() });
const Item = z.object({ id: z.string(), date: z.string(), excerpt: z.string() });
const Insight = z.object({ kind: z.string(), text: z.string(), sources: z.array(z.string()) });

export const DigestQuery = z.strictObject({
  date: Day.optional().openapi({ description: 'The local day; default today in the person’s time zone' }),
  week: z.enum(['true', 'false']).optional().openapi({ description: 'The seven days ending with `date`' }),
});

export const DigestResponse = z
  .object({
    kind: z.enum(['daily', 'weekly']),
    from: Day,
    to: Day,
    timezone: z.string(),
    memories: z.number().int(),
    sealed: z.number().int().openapi({ description: 'Memories at levels the session has not unlocked' }),
    level: z.number().int().openapi({ description: 'Highest level whose content the digest holds' }),
    highlights: z.array(Item.extend({ importance: z.number() })),
    people: z.array(Count),
    places: z.array(Count),
    mood: z.object({ dominant: z.string(), valence: z.number(), moods: z.array(Count) }),
    upcoming: z.array(Item.extend({ eventDate: z.string(), when: z.string() })),
    onThisDay: z.array(Item.extend({ yearsAgo: z.number().int() })),
    insights: z.array(Insight),
    text: z.string().openapi({ description: 'The digest written out for a person to read' }),
    author: z
      .object({
        by: z.enum(['llm', 'template']),
        fallbackReason: z.enum(DIGEST_FALLBACK_REASONS).optional(),
      })
      .openapi({
        description:
          'Who wrote `text`: the configured LLM, or the template — with the reason when an LLM is configured but was not used',
      }),
  })
  .openapi('Digest');

export const LlmSettings = z
  .object({
    level: z.union([z.literal(0), z.literal(1), z.literal(2)]).openapi({
      description:
        'The highest level an LLM may read when it writes this person’s digests: 0 nothing, 1 everyday memories (default), 2 also confidential ones. Detected secrets are masked whatever the level.',
    }),
    updatedAt: z.string().nullable(),
  })
  .openapi('LlmSettings');

export const LlmSettingsBody = z.strictObject({
  level: z.union([z.literal(0), z.literal(1), z.literal(2)]),
});

const Window = z.object({
  days: z.number().int(),
  memories: z.number().int(),
  byHour: z.array(z.number().int()),
  byWeekday: z.array(z.number().int()),
  moodByDay: z.array(z.object({ day: Day, valence: z.number(), memories: z.number().int() })),
  moods: z.array(Count),
  people: z.array(Count),
  places: z.array(Count),
  activities: z.array(Count),
  moodWithPerson: z.array(z.object({ name: z.string(), valence: z.number(), baseline: z.number() })),
  activityWeekday: z.array(z.object({ name: z.string(), weekday: z.number().int(), share: z.number() })),
});

export const InsightsQuery = z.strictObject({
  date: Day.optional().openapi({ description: 'The local day; default the last processed day' }),
});

export const InsightsResponse = z
  .object({
    day: Day.nullable().openapi({ description: 'The processed day shown; null when none has been processed' }),
    memories: z.number().int(),
    sealed: z.number().int(),
    patterns: z.array(Window).openapi({ description: 'Rolling 7, 30 and 365-day windows ending with `day`' }),
    insights: z.array(Insight),
    importance: z.array(z.object({ id: z.string(), score: z.number(), factors: z.record(z.string(), z.number()) })),
    connections: z.array(
      z.object({ from: z.string(), to: z.string(), kind: z.string(), reason: z.string(), score: z.number() }),
    ),
  })
  .openapi('Insights');

/** The Daily Memory Manager over HTTP: the digest and the stored insights (DESIGN §7). */
export function registerInsightsRoutes(app: App, kit: RouteKit): void {
  const insights = kit.deps.insights;
  if (!insights) return;
  const session = requireSession(kit, { tokens: true });

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/digest',
      operationId: 'getDigest',
      description:
        'The day (or week) in a few lines: highlights, people, mood, upcoming events, on this day; over the levels the session can open.',
      tags: ['insights'],
      summary: 'The daily (or weekly) digest over the levels the session has unlocked',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      request: { query: DigestQuery },
      responses: { 200: jsonResponse(DigestResponse, 'The digest'), ...errorResponses(400, 401) },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const digest = await insights.digest(c.get('principal'), {
        ...(q.date ? { date: q.date } : {}),
        ...(q.week === 'true' ? { week: true } : {}),
        // Inside a session that unlocked more, the digest covers those levels too; it is never stored.
        levels: c.get('session').session.unlocked,
      });
      const { userId: _userId, ...body } = digest;
      // The service's types are readonly; the JSON is the same shape.
      return c.json(body as unknown as z.infer<typeof DigestResponse>, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/settings/llm',
      operationId: 'getLlmSettings',
      description:
        'The highest memory level an LLM may read when it writes this person’s digests, and when that was last set.',
      tags: ['insights'],
      summary: 'What an LLM may read when it writes this person’s digests',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      responses: { 200: jsonResponse(LlmSettings, 'The setting'), ...errorResponses(401) },
    }),
    async (c) => {
      const s = await insights.settings(c.get('principal'));
      return c.json({ level: s.llmLevel, updatedAt: s.updatedAt }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/v1/settings/llm',
      operationId: 'updateLlmSettings',
      description:
        'Sets the highest memory level an LLM may read for digests; level 2 needs a session that has unlocked level 2.',
      tags: ['insights'],
      summary: 'Set what an LLM may read for digests (level 2 needs a session that unlocked level 2)',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      request: jsonBody(LlmSettingsBody),
      responses: { 200: jsonResponse(LlmSettings, 'The new setting'), ...errorResponses(400, 401, 403, 415) },
    }),
    async (c) => {
      const s = await insights.setLlmLevel(c.get('principal'), c.req.valid('json').level);
      return c.json({ level: s.llmLevel, updatedAt: s.updatedAt }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/insights',
      operationId: 'getInsights',
      description:
        'What the daily processing found for a day: patterns, connections and reminders, over the levels the session can open.',
      tags: ['insights'],
      summary: 'Patterns, importance, connections and insights of the latest (or a given) processed day',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      request: { query: InsightsQuery },
      responses: { 200: jsonResponse(InsightsResponse, 'The stored insights'), ...errorResponses(400, 401) },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const view = await insights.insights(c.get('principal'), q.date);
      const r = view.result;
      const body = {
        day: view.day,
        memories: r?.memories.length ?? 0,
        sealed: r?.sealed ?? 0,
        patterns: r?.patterns ?? [],
        insights: r?.insights ?? [],
        importance: r?.importance ?? [],
        connections: r?.connections ?? [],
      };
      // The service's types are readonly; the JSON is the same shape.
      return c.json(body as unknown as z.infer<typeof InsightsResponse>, 200);
    },
  );
}
