import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ToolDeps } from './tool-kit.js';
import { registerReadTools } from './tools-read.js';
import { registerSearchTools } from './tools-search.js';
import { registerWriteTools } from './tools-write.js';

export type { ToolDeps } from './tool-kit.js';

/**
 * Every tool, verb_noun: remember, search_memories, get_memory, forget_memory, correct_memory, related_memories,
 * timeline, digest (with the insights manager); search and fetch shaped for ChatGPT connectors; recall as the
 * deprecated alias of search_memories. Each has annotations, an outputSchema and structuredContent.
 */
export function registerTools(server: McpServer, deps: ToolDeps): void {
  registerWriteTools(server, deps);
  registerSearchTools(server, deps);
  registerReadTools(server, deps);
}
