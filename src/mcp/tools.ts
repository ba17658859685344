import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { CATEGORIES, categoryLabel } from '../core/category.js';
import type { MemoryEntry } from '../core/entry.js';
import { isMemvaultError, validationError } from '../core/errors.js';
import { publicMessage } from '../core/public-message.js';
import type { InsightsService } from '../services/insights-service.js';
import type { MemoryService, Principal } from '../services/types.js';
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

export interface ToolDeps {
  readonly memory: MemoryService;
  readonly principalFor: () => Promise<Principal>;
  readonly insights?: InsightsService;
  /** Where a memory opens in the web app (`<publicUrl>/#/memory/<id>`); else `memvault://memory/<id>`. */
  readonly publicUrl?: string;
  /** Reference time (tests); default the system clock. */
  readonly now?: () => Date;
}

const DAY_MS = 86_400_000;
/** How far search_memories pages: ranking deeper than this is noise. */
const MAX_SEARCH_DEPTH = 200;
/** A message written "in the future" by more than this is a wrong date, not clock skew. */
const FUTURE_SLACK_MS = DAY_MS;

const READ: ToolAnnotations = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false,
};

/** A result with its structured content and, as the spec recommends, the same JSON as text after the prose. */
function result(prose: string, structured: Record<string, unknown>): CallToolResult {
  return {
    content: [
      { type: 'text', text: prose },
      { type: 'text', text: JSON.stringify(structured) },
    ],
    structuredContent: structured,
  };
}

/** Use-case errors become tool errors the model can read; anything else is a bug and stays vague. */
async function guarded(run: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await run();
  } catch (error) {
    if (isMemvaultError(error)) {
      return { isError: true, content: [{ type: 'text', text: `${error.code}: ${publicMessage(error.message)}` }] };
    }
    return { isError: true, content: [{ type: 'text', text: 'INTERNAL_ERROR: the memory service failed.' }] };
  }
}

const iso = (v: string | undefined) => (v === undefined ? undefined : new Date(v).toISOString());

export function registerTools(server: McpServer, deps: ToolDeps): void {
  const { memory } = deps;
  const now = deps.now ?? (() => new Date());
  const urlOf = (id: string) =>
    deps.publicUrl ? `${deps.publicUrl.replace(/\/+$/, '')}/#/memory/${id}` : `memvault://memory/${id}`;

  // ------------------------------------------------------------------------------------------- remember
  const RememberOut = {
    id: z.string(),
    date: z.string(),
    category: z.enum(CATEGORIES),
    level: z.number().int().min(1).max(4),
    tags: z.array(z.string()),
    readable: z.boolean().describe('False when its level is locked here: stored, but write-only for you'),
    reply: z.string(),
  };
  server.registerTool(
    'remember',
    {
      title: 'Remember',
      description:
        'Store something the user told you about their life: an event, a fact, a preference, a secret. Call it ' +
        'when the user shares something worth keeping, in their words; never store your own answers. memvault ' +
        'classifies it (CHRONOLOGICAL, GENERAL, CONFIDENTIAL, SECRET, ULTRASECRET) and seals it at its level. A ' +
        'secret is stored even while its level is locked here, and is then write-only for you. Returns the id, ' +
        'category, level and tags.',
      inputSchema: {
        // The length limit is the memory service's (MEMVAULT_MAX_CONTENT_BYTES), the same for every edge.
        text: z.string().trim().min(1).describe('What to remember, in the user’s words'),
        at: isoDate.optional().describe('When the user wrote or said it (ISO 8601); default now. Not in the future'),
        category: z
          .enum(CATEGORIES)
          .optional()
          .describe('Only when the user chose the category; else memvault decides'),
      },
      outputSchema: RememberOut,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    (args) =>
      guarded(async () => {
        const principal = await deps.principalFor();
        let at: Date | undefined;
        if (args.at !== undefined) {
          at = new Date(args.at);
          if (at.getTime() > now().getTime() + FUTURE_SLACK_MS) {
            throw validationError(
              `"at" is ${args.at}, in the future. Give the time the user wrote or said it (ISO 8601), or leave it out for now.`,
              { field: 'at' },
            );
          }
        }
        const saved = await memory.remember(principal, args.text, {
          channel: 'mcp',
          ...(at ? { at } : {}),
          ...(args.category !== undefined ? { category: args.category } : {}),
        });
        const e = saved.entry;
        const readable = principal.opener.canOpen(e.level);
        const note = readable ? '' : ` Level ${e.level} is locked here: you cannot read it back.`;
        return result(`${saved.reply} (id ${e.id}).${note}`, {
          id: e.id,
          date: e.date,
          category: e.category,
          level: e.level,
          tags: [...e.tags],
          readable,
          reply: saved.reply,
        });
      }),
  );

  // ------------------------------------------------------------------------------------ search_memories
  const SearchOut = {
    query: z.string(),
    matched: z.boolean().describe('False when nothing matches: say you do not know rather than guess'),
    results: z.array(
      BriefSchema.extend({
        score: z.number(),
        match: z.enum(['match', 'related']).describe('related: close in meaning only, not a match of the words'),
      }),
    ),
    nextCursor: z.string().optional().describe('Pass it back with the same arguments for the next page'),
    ...LevelsSchema,
  };
  const searchInput = {
    query: z.string().trim().min(1).max(1000).describe('What to look for: words, names, a question'),
    limit: z.number().int().min(1).max(50).optional().describe('Results per page (default 10)'),
    from: isoDate.optional().describe('Only memories written on or after this date (ISO 8601)'),
    to: isoDate.optional().describe('Only memories written before this date (ISO 8601)'),
    categories: categoryList.optional(),
    tags: z.array(z.string().min(1).max(64)).max(20).optional().describe('Only memories with all these tags'),
    cursor: cursorArg.optional(),
  };
  type SearchArgs = {
    query: string;
    limit?: number | undefined;
    from?: string | undefined;
    to?: string | undefined;
    categories?: (typeof CATEGORIES)[number][] | undefined;
    tags?: string[] | undefined;
    cursor?: string | undefined;
  };
  const searchMemories = (tool: string) => (args: SearchArgs) =>
    guarded(async () => {
      const principal = await deps.principalFor();
      const { cursor, ...rest } = args;
      const bind = bindingOf({ ...rest, limit: args.limit ?? 10 });
      const offset = cursor === undefined ? 0 : decodeCursor(tool, cursor, bind);
      const pageSize = args.limit ?? 10;
      const from = iso(args.from);
      const to = iso(args.to);
      const depth = Math.min(offset + pageSize + 1, MAX_SEARCH_DEPTH);
      const hits =
        offset >= MAX_SEARCH_DEPTH
          ? []
          : await memory.search(principal, {
              text: args.query,
              limit: depth,
              ...(from ? { from } : {}),
              ...(to ? { to } : {}),
              ...(args.categories ? { categories: args.categories } : {}),
              ...(args.tags ? { tags: args.tags } : {}),
            });
      const page = hits.slice(offset, offset + pageSize);
      const more = hits.length > offset + pageSize && offset + pageSize < MAX_SEARCH_DEPTH;
      const locked = await lockedCounts(memory, principal, {
        ...(from ? { from } : {}),
        ...(to ? { to } : {}),
        ...(args.categories ? { categories: args.categories } : {}),
      });
      const results = page.map((hit) => ({
        ...brief(hit.entry),
        score: Math.round(hit.score * 10_000) / 10_000,
        match: hit.signals.includes('related') ? ('related' as const) : ('match' as const),
      }));
      const matches = page.filter((hit) => !hit.signals.includes('related'));
      const related = page.filter((hit) => hit.signals.includes('related'));
      const open = openLevels(principal);
      const matched = hits.some((hit) => !hit.signals.includes('related'));
      const parts: string[] = [];
      if (!matched && offset === 0) parts.push(`No match for "${args.query}" in the open levels (${open.join(', ')}).`);
      if (matches.length > 0) parts.push(matches.map((hit) => line(hit.entry)).join('\n'));
      if (related.length > 0) {
        parts.push(`Related in meaning, not matching the words:\n${related.map((hit) => line(hit.entry)).join('\n')}`);
      }
      if (page.length === 0 && offset > 0) parts.push('No more results.');
      const lockedNote = lockedText(locked, from || to ? 'in this date range' : 'overall');
      if (lockedNote) parts.push(`${lockedNote} Search does not look inside locked levels.`);
      const nextCursor = more ? encodeCursor(tool, offset + pageSize, bind) : undefined;
      if (nextCursor)
        parts.push(`More results: call ${tool} again with the same arguments and cursor "${nextCursor}".`);
      return result(parts.join('\n\n'), {
        query: args.query,
        matched,
        results,
        ...(nextCursor ? { nextCursor } : {}),
        openLevels: open,
        locked,
      });
    });
  const searchDescription =
    'Search the user’s memories: full-text, typo-tolerant and by meaning, in the levels this session can read. ' +
    'Call it before answering anything about the user’s life, people, plans or facts. Returns ranked memories ' +
    '(long ones cut: use get_memory), marks those only related in meaning, and says "no match" rather than ' +
    'offering weak neighbours. It names the open levels and how many memories the locked levels hold; their ' +
    'content is invisible and never searched. Paged: pass nextCursor back with the same arguments.';
  server.registerTool(
    'search_memories',
    {
      title: 'Search memories',
      description: searchDescription,
      inputSchema: searchInput,
      outputSchema: SearchOut,
      annotations: READ,
    },
    searchMemories('search_memories'),
  );
  server.registerTool(
    'recall',
    {
      title: 'Recall (deprecated)',
      description: `Deprecated alias of search_memories, kept for one release; call search_memories instead. ${searchDescription}`,
      inputSchema: searchInput,
      outputSchema: SearchOut,
      annotations: READ,
    },
    searchMemories('recall'),
  );

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

  // -------------------------------------------------------------------------------------- forget_memory
  server.registerTool(
    'forget_memory',
    {
      title: 'Forget memory',
      description:
        'Delete one memory for good (it cannot be undone). Call it only when the user explicitly asks to forget ' +
        'that memory; confirm which one first. Memories at locked levels cannot be deleted from here.',
      inputSchema: { id: MemoryId },
      outputSchema: { id: z.string(), deleted: z.literal(true) },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    (args) =>
      guarded(async () => {
        const principal = await deps.principalFor();
        await memory.delete(principal, args.id);
        const id = args.id.toUpperCase();
        return result(`Deleted memory ${id}.`, { id, deleted: true });
      }),
  );

  // ------------------------------------------------------------------------------------- correct_memory
  server.registerTool(
    'correct_memory',
    {
      title: 'Correct memory category',
      description:
        'Move a memory to the category the user says is right (for example a doctor’s appointment filed as ' +
        'GENERAL that belongs in CONFIDENTIAL). memvault re-seals it at the new level and learns from the ' +
        'correction. Moving it to a level that is locked here makes it unreadable for you. Returns the memory.',
      inputSchema: {
        id: MemoryId,
        category: z.enum(CATEGORIES).describe('The right category'),
      },
      outputSchema: { memory: BriefSchema, readable: z.boolean() },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    (args) =>
      guarded(async () => {
        const principal = await deps.principalFor();
        const after = await memory.correct(principal, args.id, args.category);
        const readable = principal.opener.canOpen(after.level);
        return result(
          `Memory ${after.id} is now ${categoryLabel(after.category)} (level ${after.level}).` +
            (readable ? '' : ' That level is locked here: you cannot read it any more.'),
          { memory: brief(after), readable },
        );
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

  // ---------------------------------------------------------------------------------- search and fetch
  // The two tools ChatGPT connectors and deep research require: one string in, one JSON text item out.
  const DocRef = z.object({ id: z.string(), title: z.string(), url: z.string() });
  const titleOf = (e: MemoryEntry) => {
    const first = e.content.replace(/\s+/g, ' ').trim();
    const head = first.length > 80 ? `${first.slice(0, 79)}…` : first;
    return `${e.date.slice(0, 10)} · ${categoryLabel(e.category)}: ${head}`;
  };
  server.registerTool(
    'search',
    {
      title: 'Search (connectors)',
      description:
        'Search the user’s memories and return references {id, title, url} for fetch. For ChatGPT connectors and ' +
        'deep research; other clients should prefer search_memories. Only readable levels are searched, and only ' +
        'real matches are returned (an empty list means no match).',
      inputSchema: { query: z.string().trim().min(1).max(1000).describe('What to look for') },
      outputSchema: { results: z.array(DocRef) },
      annotations: READ,
    },
    (args) =>
      guarded(async () => {
        const hits = await memory.search(await deps.principalFor(), { text: args.query, limit: 20 });
        const results = hits
          .filter((hit) => !hit.signals.includes('related'))
          .map((hit) => ({ id: hit.entry.id, title: titleOf(hit.entry), url: urlOf(hit.entry.id) }));
        const structured = { results };
        // Exactly one text item holding the JSON, as the connector contract asks.
        return { content: [{ type: 'text', text: JSON.stringify(structured) }], structuredContent: structured };
      }),
  );
  server.registerTool(
    'fetch',
    {
      title: 'Fetch (connectors)',
      description:
        'One memory in full by the id search returned: {id, title, text, url, metadata}. For ChatGPT connectors and ' +
        'deep research; other clients should prefer get_memory.',
      inputSchema: { id: MemoryId },
      outputSchema: {
        id: z.string(),
        title: z.string(),
        text: z.string(),
        url: z.string(),
        metadata: z.record(z.string(), z.string()),
      },
      annotations: READ,
    },
    (args) =>
      guarded(async () => {
        const e = await memory.get(await deps.principalFor(), args.id);
        const structured = {
          id: e.id,
          title: titleOf(e),
          text: e.content,
          url: urlOf(e.id),
          metadata: {
            date: e.date,
            ...(e.eventDate ? { eventDate: e.eventDate } : {}),
            category: e.category,
            level: String(e.level),
            ...(e.tags.length > 0 ? { tags: e.tags.join(', ') } : {}),
          },
        };
        return { content: [{ type: 'text', text: JSON.stringify(structured) }], structuredContent: structured };
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
