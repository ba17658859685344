import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { CATEGORIES, categoryLabel, LEVEL_NAMES } from '../core/category.js';
import type { MemoryEntry } from '../core/entry.js';
import { isMemvaultError } from '../core/errors.js';
import { publicMessage } from '../core/public-message.js';
import type { InsightsService } from '../services/insights-service.js';
import type { MemoryService, Principal } from '../services/types.js';

export interface McpDeps {
  readonly memory: MemoryService;
  /**
   * Who the tools act for. Stdio: the operator's user with a level-1 channel opener. HTTP: the bearer token's
   * session, so only the levels that session has unlocked are readable.
   */
  readonly principalFor: () => Promise<Principal>;
  readonly version?: string;
  /** The Daily Memory Manager; the `digest` tool exists only when it is given. */
  readonly insights?: InsightsService;
}

const isoDate = z
  .string()
  .max(40)
  .refine((v) => !Number.isNaN(Date.parse(v)), 'Expected an ISO 8601 date');

const DAY_MS = 86_400_000;

function text(body: string, structured?: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: body }], ...(structured ? { structuredContent: structured } : {}) };
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

function line(entry: MemoryEntry): string {
  const tags = entry.tags.length > 0 ? ` #${entry.tags.join(' #')}` : '';
  return `- ${entry.date.slice(0, 16).replace('T', ' ')} [${categoryLabel(entry.category)}] ${entry.content}${tags} (id ${entry.id})`;
}

function brief(entry: MemoryEntry) {
  return {
    id: entry.id,
    date: entry.date,
    eventDate: entry.eventDate,
    category: entry.category,
    level: entry.level,
    tags: [...entry.tags],
    content: entry.content,
  };
}

/**
 * The MCP server: tools `remember`, `recall`, `timeline` (and `digest` with the insights manager) over the memory service, acting for the principal
 * `principalFor` returns (level 1 only unless that session has unlocked more).
 */
export function createMcpServer(deps: McpDeps): McpServer {
  const { memory } = deps;
  const server = new McpServer({ name: 'memvault', version: deps.version ?? '0.1.0' });

  server.registerTool(
    'remember',
    {
      title: 'Remember',
      description:
        'Store something that happened or a fact about the user. It is classified (chronological, general, ' +
        'confidential, secret, ultra-secret) and sealed at its security level.',
      inputSchema: {
        // The length limit is the memory service's (MEMVAULT_MAX_CONTENT_BYTES), the same for every edge.
        text: z.string().trim().min(1).describe('What to remember, in the user’s words'),
        at: isoDate.optional().describe('When the message was written (ISO 8601); default now'),
        category: z.enum(CATEGORIES).optional().describe('Force a category instead of classifying'),
      },
    },
    (args) =>
      guarded(async () => {
        const principal = await deps.principalFor();
        const result = await memory.remember(principal, args.text, {
          channel: 'mcp',
          ...(args.at !== undefined ? { at: new Date(args.at) } : {}),
          ...(args.category !== undefined ? { category: args.category } : {}),
        });
        const e = result.entry;
        return text(`${result.reply} (id ${e.id})`, {
          id: e.id,
          category: e.category,
          level: e.level,
          tags: [...e.tags],
        });
      }),
  );

  server.registerTool(
    'recall',
    {
      title: 'Recall',
      description:
        'Search the user’s memories (full-text, typo-tolerant and semantic). Only levels the session has ' +
        'unlocked are searched.',
      inputSchema: {
        query: z.string().trim().min(1).max(1000).describe('What to look for'),
        limit: z.number().int().min(1).max(50).optional().describe('Most results to return (default 10)'),
        from: isoDate.optional().describe('Only memories on or after this date'),
        to: isoDate.optional().describe('Only memories before this date'),
        categories: z.array(z.enum(CATEGORIES)).max(5).optional(),
        tags: z.array(z.string().min(1).max(64)).max(20).optional(),
      },
    },
    (args) =>
      guarded(async () => {
        const principal = await deps.principalFor();
        const hits = await memory.search(principal, {
          text: args.query,
          limit: args.limit ?? 10,
          ...(args.from !== undefined ? { from: new Date(args.from).toISOString() } : {}),
          ...(args.to !== undefined ? { to: new Date(args.to).toISOString() } : {}),
          ...(args.categories !== undefined ? { categories: args.categories } : {}),
          ...(args.tags !== undefined ? { tags: args.tags } : {}),
        });
        const body =
          hits.length === 0
            ? `No memories match "${args.query}" in the unlocked levels.`
            : hits.map((hit) => line(hit.entry)).join('\n');
        return text(body, {
          results: hits.map((hit) => ({ ...brief(hit.entry), score: hit.score })),
        });
      }),
  );

  server.registerTool(
    'timeline',
    {
      title: 'Timeline',
      description: 'The user’s memories day by day, newest first. Memories in locked levels are counted, never shown.',
      inputSchema: {
        days: z.number().int().min(1).max(366).optional().describe('How many days back from `to` (default 7)'),
        to: isoDate.optional().describe('End of the window (default now)'),
        limit: z.number().int().min(1).max(500).optional().describe('Most memories to return (default 100)'),
        categories: z.array(z.enum(CATEGORIES)).max(5).optional(),
      },
    },
    (args) =>
      guarded(async () => {
        const principal = await deps.principalFor();
        const end = args.to !== undefined ? new Date(args.to) : new Date();
        const start = new Date(end.getTime() - (args.days ?? 7) * DAY_MS);
        const result = await memory.list(principal, {
          from: start.toISOString(),
          to: new Date(end.getTime() + 1).toISOString(),
          order: 'desc',
          limit: args.limit ?? 100,
          ...(args.categories !== undefined ? { categories: args.categories } : {}),
        });
        const days = new Map<string, MemoryEntry[]>();
        for (const entry of result.entries) {
          const day = entry.date.slice(0, 10);
          const list = days.get(day) ?? [];
          list.push(entry);
          days.set(day, list);
        }
        const sections = [...days].map(([day, entries]) => `## ${day}\n${entries.map(line).join('\n')}`);
        if (sections.length === 0) sections.push('No memories in this window.');
        if (result.locked > 0) {
          const names = [2, 3, 4].map((l) => LEVEL_NAMES[l as 2 | 3 | 4]).join('/');
          sections.push(`(${result.locked} more in locked levels — ${names} — not shown.)`);
        }
        return text(sections.join('\n\n'), {
          from: start.toISOString(),
          to: end.toISOString(),
          days: [...days].map(([day, entries]) => ({ day, memories: entries.map(brief) })),
          locked: result.locked,
        });
      }),
  );

  const insights = deps.insights;
  if (insights) {
    server.registerTool(
      'digest',
      {
        title: 'Digest',
        description:
          'The user’s day (or week) in a few lines: highlights, people, mood, upcoming events, on this day. ' +
          'Covers only the levels this session has unlocked; the rest is counted, never shown.',
        inputSchema: {
          date: z
            .string()
            .regex(/^\d{4}-\d{2}-\d{2}$/, 'Expected a local day, YYYY-MM-DD')
            .optional()
            .describe('The local day (default today in the user’s time zone)'),
          week: z.boolean().optional().describe('The seven days ending with `date`'),
        },
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
          return text(digest.text, JSON.parse(JSON.stringify(rest)) as Record<string, unknown>);
        }),
    );
  }

  return server;
}

/** Serves MCP over stdio (`memvault mcp`) until the input closes. Logs must go to stderr, never stdout. */
export async function runStdio(
  deps: McpDeps,
  io: { stdin?: NodeJS.ReadableStream; stdout?: NodeJS.WritableStream } = {},
): Promise<{ server: McpServer; close(): Promise<void> }> {
  const server = createMcpServer(deps);
  const transport = new StdioServerTransport(
    io.stdin as ConstructorParameters<typeof StdioServerTransport>[0],
    io.stdout as ConstructorParameters<typeof StdioServerTransport>[1],
  );
  await server.connect(transport);
  return { server, close: () => server.close() };
}

/**
 * MCP over streamable HTTP, stateless: each request gets a fresh server bound to the request's principal (from
 * the bearer token), answered as JSON. Pass it to `createHttpApp({ mcp })`; the app mounts it at /mcp.
 */
export function createMcpHttpHandler(deps: {
  readonly memory: MemoryService;
  readonly version?: string;
  readonly insights?: InsightsService;
}): (request: Request, principal: Principal) => Promise<Response> {
  return async (request, principal) => {
    // Stateless: no standalone SSE stream to GET and no session to DELETE. 405 is the spec's answer for both,
    // and the SDK's client takes it as "this server only answers POSTs".
    if (request.method !== 'POST') {
      return Response.json(
        { jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: POST JSON-RPC messages.' }, id: null },
        { status: 405, headers: { Allow: 'POST' } },
      );
    }
    const server = createMcpServer({
      memory: deps.memory,
      principalFor: async () => principal,
      ...(deps.version ? { version: deps.version } : {}),
      ...(deps.insights ? { insights: deps.insights } : {}),
    });
    // No session id generator: stateless, so any process behind a balancer can answer any request.
    const transport = new WebStandardStreamableHTTPServerTransport({ enableJsonResponse: true });
    await server.connect(transport);
    try {
      return await transport.handleRequest(request);
    } finally {
      await server.close();
    }
  };
}
