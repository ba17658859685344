import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { z } from 'zod';
import { notFound } from '../core/errors.js';
import type { InsightsService } from '../services/insights-service.js';
import type { MemoryService, Principal } from '../services/types.js';
import { GUIDE, INSTRUCTIONS } from './guide.js';
import { fullText } from './present.js';
import { registerTools } from './tools.js';

export interface McpDeps {
  readonly memory: MemoryService;
  /**
   * Who the tools act for. Stdio: the operator's user with a level-1 channel opener (or a token's levels). HTTP:
   * the bearer token's session, so only the levels that session has unlocked are readable. Its `client` names
   * the caller in the audit log.
   */
  readonly principalFor: () => Promise<Principal>;
  readonly version?: string;
  /** The Daily Memory Manager; the `digest` tool exists only when it is given. */
  readonly insights?: InsightsService;
  /** The web app's URL: `fetch` and `search` cite memories as `<publicUrl>/#/memory/<id>`. */
  readonly publicUrl?: string;
  /** Reference time (tests); default the system clock. */
  readonly now?: () => Date;
}

const MEMORY_URI = /^memvault:\/\/memory\/([0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26})$/;

/**
 * The MCP server: instructions, tools (remember, search_memories, get_memory, forget_memory, correct_memory,
 * related_memories, timeline, digest, and search/fetch for ChatGPT connectors; `recall` as a deprecated alias),
 * the `memvault://guide` resource, the `memvault://memory/{id}` template and two prompts, acting for the
 * principal `principalFor` returns.
 */
export function createMcpServer(deps: McpDeps): McpServer {
  const server = new McpServer(
    { name: 'memvault', title: 'memvault', version: deps.version ?? '0.1.0' },
    { instructions: INSTRUCTIONS },
  );
  registerTools(server, deps);

  server.registerResource(
    'guide',
    'memvault://guide',
    {
      title: 'memvault guide',
      description: 'Categories, levels, tools and paging: how an assistant should use memvault',
      mimeType: 'text/markdown',
    },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/markdown', text: GUIDE }] }),
  );

  server.registerResource(
    'memory',
    new ResourceTemplate('memvault://memory/{id}', { list: undefined }),
    {
      title: 'A memory',
      description: 'One memory by id, in full (levels this session can read only; a locked one is refused)',
      mimeType: 'text/markdown',
    },
    async (uri) => {
      // The template matched the shape; the id still goes through the service's own check.
      const id = MEMORY_URI.exec(uri.href)?.[1];
      if (!id) throw notFound('No memory has that URI. Use memvault://memory/<26-character id>.');
      const entry = await deps.memory.get(await deps.principalFor(), id);
      return { contents: [{ uri: uri.href, mimeType: 'text/markdown', text: fullText(entry) }] };
    },
  );

  server.registerPrompt(
    'recap_my_week',
    {
      title: 'Recap my week',
      description: 'A short recap of the user’s last seven days from their memories',
    },
    () => ({
      description: 'Recap of the last seven days',
      messages: [
        {
          role: 'user',
          content: {
            type: 'text',
            text:
              'Recap my week from my memvault memories. Call timeline with days 7 (follow nextCursor until there is ' +
              'none)' +
              (deps.insights ? ' and digest with week true' : '') +
              ', then write a few short paragraphs: what I did, who I saw, how I felt, and what is coming up. ' +
              'Use only what the memories say; if a level is locked, mention that some memories were not visible.',
          },
        },
      ],
    }),
  );

  server.registerPrompt(
    'what_do_i_know_about',
    {
      title: 'What do I know about <person>',
      description: 'Everything the user’s memories say about one person',
      argsSchema: { person: z.string().trim().min(1).max(100).describe('The person’s name') },
    },
    ({ person }) => ({
      description: `What the memories say about ${person}`,
      messages: [
        {
          role: 'user',
          content: {
            type: 'text',
            text:
              `What do I know about ${person}? Call search_memories with the query ${JSON.stringify(person)} ` +
              '(follow nextCursor for more), use get_memory for memories that were cut, and summarise what my ' +
              'memories say: who they are to me, what we did together and when, and anything I should remember. ' +
              'If search says "no match", tell me my memories do not mention them.',
          },
        },
      ],
    }),
  );

  return server;
}

/** Serves MCP over stdio (`memvault mcp`) until the input closes. Logs must go to stderr, never stdout. */
export async function runStdio(
  deps: McpDeps,
  io: { stdin?: NodeJS.ReadableStream; stdout?: NodeJS.WritableStream } = {},
): Promise<{ server: McpServer; close(): Promise<void> }> {
  const principalFor = async (): Promise<Principal> => {
    const principal = await deps.principalFor();
    return principal.client ? principal : { ...principal, client: 'mcp:stdio' };
  };
  const server = createMcpServer({ ...deps, principalFor });
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
  readonly publicUrl?: string;
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
    // A token's name (set by the edge that resolved it) wins; otherwise the audit says which transport asked.
    const acting: Principal = principal.client ? principal : { ...principal, client: 'mcp:http' };
    const server = createMcpServer({
      memory: deps.memory,
      principalFor: async () => acting,
      ...(deps.version ? { version: deps.version } : {}),
      ...(deps.insights ? { insights: deps.insights } : {}),
      ...(deps.publicUrl ? { publicUrl: deps.publicUrl } : {}),
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
