import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { type CATEGORIES, categoryLabel } from '../core/category.js';
import type { MemoryEntry } from '../core/entry.js';
import {
  BriefSchema,
  bindingOf,
  brief,
  categoryList,
  cursorArg,
  decodeCursor,
  encodeCursor,
  isoDate,
  LevelsSchema,
  line,
  lockedCounts,
  lockedText,
  MemoryId,
  openLevels,
} from './present.js';
import { type ToolDeps, READ, result, guarded, iso, kit } from './tool-kit.js';

/** How far search_memories pages: ranking deeper than this is noise. */
const MAX_SEARCH_DEPTH = 200;

/** Searching: search_memories (and its deprecated alias recall), and search/fetch for ChatGPT connectors. */
export function registerSearchTools(server: McpServer, deps: ToolDeps): void {
  const { memory, urlOf } = kit(deps);

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
}
