import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { MemoryEntry } from '../core/entry.js';
import { DIGEST_FALLBACK_REASONS } from '../ports/insights.js';
import {
  BriefSchema,
  bindingOf,
  brief,
  categoryList,
  cursorArg,
  decodeCursor,
  encodeCursor,
  full,
  fullText,
  isoDate,
  LevelsSchema,
  line,
  lockedCounts,
  lockedText,
  MemoryId,
  MemorySchema,
  openLevels,
} from './present.js';
import { type ToolDeps, DAY_MS, READ, result, guarded, kit } from './tool-kit.js';

/** Reading by id and by time: get_memory, related_memories, timeline, digest. */
export function registerReadTools(server: McpServer, deps: ToolDeps): void {
  const { memory, now } = kit(deps);

  // ----------------------------------------------------------------------------------------- get_memory
  server.registerTool(
    'get_memory',
    {
      title: 'Get memory',
      description:
        'One memory in full, by id (from search_memories, timeline or remember). Call it when a list cut the ' +
        'text or you need its tags, dates or related ids. A memory at a locked level is refused (SECURITY_ERROR); ' +
        'the refusal is recorded in the user’s audit log.',
      inputSchema: { id: MemoryId },
      outputSchema: MemorySchema.shape,
      annotations: READ,
    },
    (args) =>
      guarded(async () => {
        const entry = await memory.get(await deps.principalFor(), args.id);
        return result(fullText(entry), full(entry));
      }),
  );

  // ----------------------------------------------------------------------------------- related_memories
  server.registerTool(
    'related_memories',
    {
      title: 'Related memories',
      description:
        'The memories linked to one memory (same people, places or events), in the levels this session can ' +
        'read. Call it to follow a thread from a memory you found. Linked memories at locked levels are left ' +
        'out and counted.',
      inputSchema: { id: MemoryId },
      outputSchema: { id: z.string(), related: z.array(BriefSchema), hidden: z.number().int().min(0) },
      annotations: READ,
    },
    (args) =>
      guarded(async () => {
        const principal = await deps.principalFor();
        const entry = await memory.get(principal, args.id);
        const related = await memory.related(principal, entry.id);
        const hidden = Math.max(0, entry.related.length - related.length);
        const body =
          related.length === 0 ? `No related memories of ${entry.id} are readable here.` : related.map(line).join('\n');
        const note = hidden > 0 ? `\n\n(${hidden} more linked memories are at locked levels or gone.)` : '';
        return result(body + note, { id: entry.id, related: related.map(brief), hidden });
      }),
  );

  // ------------------------------------------------------------------------------------------- timeline
  const TimelineOut = {
    from: z.string(),
    to: z.string(),
    days: z.array(z.object({ day: z.string(), memories: z.array(BriefSchema) })),
    total: z.number().int().min(0).describe('Readable memories in the window'),
    nextCursor: z.string().optional(),
    ...LevelsSchema,
  };
  server.registerTool(
    'timeline',
    {
      title: 'Timeline',
      description:
        'What the user wrote down, day by day, newest first, in a window ending at `to` (default now). Call it ' +
        'for "what did I do last week", "what happened in March". Readable levels only; locked levels are ' +
        'counted, never shown. Paged: pass nextCursor back with the same arguments. Long memories are cut: use ' +
        'get_memory.',
      inputSchema: {
        days: z.number().int().min(1).max(366).optional().describe('How many days back from `to` (default 7)'),
        to: isoDate.optional().describe('End of the window (ISO 8601; default now)'),
        limit: z.number().int().min(1).max(200).optional().describe('Memories per page (default 50)'),
        categories: categoryList.optional(),
        cursor: cursorArg.optional(),
      },
      outputSchema: TimelineOut,
      annotations: READ,
    },
    (args) =>
      guarded(async () => {
        const principal = await deps.principalFor();
        const { cursor, ...rest } = args;
        // Without `to` the window ends now; a cursor pins it, so later pages read the same window.
        const end = args.to !== undefined ? new Date(args.to) : now();
        const bind = bindingOf({ ...rest, limit: args.limit ?? 50 });
        let offset = 0;
        let endMs = end.getTime();
        if (cursor !== undefined) {
          const [pinned, off] = decodeTimelineCursor(cursor, bind);
          endMs = pinned;
          offset = off;
        }
        const start = new Date(endMs - (args.days ?? 7) * DAY_MS);
        const window = { from: start.toISOString(), to: new Date(endMs + 1).toISOString() };
        const pageSize = args.limit ?? 50;
        const read = await memory.list(principal, {
          ...window,
          order: 'desc',
          limit: pageSize,
          offset,
          ...(args.categories ? { categories: args.categories } : {}),
        });
        const locked = await lockedCounts(memory, principal, {
          ...window,
          ...(args.categories ? { categories: args.categories } : {}),
        });
        const days = new Map<string, MemoryEntry[]>();
        for (const entry of read.entries) {
          const day = entry.date.slice(0, 10);
          days.set(day, [...(days.get(day) ?? []), entry]);
        }
        const sections = [...days].map(([day, entries]) => `## ${day}\n${entries.map(line).join('\n')}`);
        if (sections.length === 0)
          sections.push(offset > 0 ? 'No more memories in this window.' : 'No memories in this window.');
        const lockedNote = lockedText(locked, 'in this window');
        if (lockedNote) sections.push(lockedNote);
        const more = offset + read.entries.length < read.total;
        const nextCursor = more ? encodeTimelineCursor(endMs, offset + read.entries.length, bind) : undefined;
        if (nextCursor) {
          sections.push(
            `${read.total - offset - read.entries.length} more: call timeline again with the same arguments and cursor "${nextCursor}".`,
          );
        }
        return result(sections.join('\n\n'), {
          from: window.from,
          to: new Date(endMs).toISOString(),
          days: [...days].map(([day, entries]) => ({ day, memories: entries.map(brief) })),
          total: read.total,
          ...(nextCursor ? { nextCursor } : {}),
          openLevels: openLevels(principal),
          locked,
        });
      }),
  );

  // --------------------------------------------------------------------------------------------- digest
  const insights = deps.insights;
  if (insights) {
    const Item = z.looseObject({ id: z.string(), date: z.string(), excerpt: z.string() });
    const Count = z.looseObject({});
    server.registerTool(
      'digest',
      {
        title: 'Digest',
        description:
          'The user’s day (or week) in a few lines: highlights, people, places, mood, upcoming events, on this day. ' +
          'Call it for "recap my day/week". Covers only the levels this session can read; the rest is counted ' +
          '(`sealed`), never shown.',
        inputSchema: {
          date: z
            .string()
            .regex(/^\d{4}-\d{2}-\d{2}$/, 'Expected a local day, YYYY-MM-DD')
            .refine((d) => d >= '1900-01-01' && d < '2200-01-01', 'The date must fall between 1900 and 2199')
            .optional()
            .describe('The local day (default today in the user’s time zone)'),
          week: z.boolean().optional().describe('The seven days ending with `date`'),
        },
        outputSchema: {
          kind: z.enum(['daily', 'weekly']),
          from: z.string(),
          to: z.string(),
          timezone: z.string(),
          memories: z.number(),
          sealed: z.number().describe('Memories of the period at levels this session cannot read'),
          level: z.number(),
          highlights: z.array(Item),
          people: z.array(Count),
          places: z.array(Count),
          mood: z.looseObject({ dominant: z.string() }),
          upcoming: z.array(Item),
          onThisDay: z.array(Item),
          insights: z.array(Count),
          text: z.string(),
          author: z
            .object({ by: z.enum(['llm', 'template']), fallbackReason: z.enum(DIGEST_FALLBACK_REASONS).optional() })
            .describe('Who wrote `text`: the configured LLM, or the template (with why, when an LLM is configured)'),
        },
        annotations: READ,
      },
      (args) =>
        guarded(async () => {
          const principal = await deps.principalFor();
          const digest = await insights.digest(principal, {
            ...(args.date !== undefined ? { date: args.date } : {}),
            ...(args.week ? { week: true } : {}),
            levels: [1, 2, 3, 4],
          });
          const { userId: _userId, ...rest } = digest;
          return result(digest.text, JSON.parse(JSON.stringify(rest)) as Record<string, unknown>);
        }),
    );
  }
}

/** Timeline cursors also pin the window's end, so "now" does not move between pages. */
function encodeTimelineCursor(endMs: number, offset: number, bind: string): string {
  return encodeCursor('timeline', offset, `${bind}.${endMs}`);
}

function decodeTimelineCursor(cursor: string, bind: string): [number, number] {
  let end = Number.NaN;
  try {
    const raw = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { bind?: unknown };
    if (typeof raw.bind === 'string') end = Number(raw.bind.split('.')[1]);
  } catch {
    end = Number.NaN;
  }
  if (!Number.isSafeInteger(end)) end = -1;
  const offset = decodeCursor('timeline', cursor, `${bind}.${end}`);
  return [end, offset];
}
