import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { isMemvaultError } from '../core/errors.js';
import { publicMessage } from '../core/public-message.js';
import type { InsightsService } from '../services/insights-service.js';
import type { MemoryService, Principal } from '../services/types.js';

/** What every tool module needs: the use cases, who acts, and the optional parts. */
export interface ToolDeps {
  readonly memory: MemoryService;
  readonly principalFor: () => Promise<Principal>;
  readonly insights?: InsightsService;
  /** Where a memory opens in the web app (`<publicUrl>/#/memory/<id>`); else `memvault://memory/<id>`. */
  readonly publicUrl?: string;
  /** Reference time (tests); default the system clock. */
  readonly now?: () => Date;
}

export const DAY_MS = 86_400_000;

export const READ: ToolAnnotations = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false,
};

/** A result with its structured content and, as the spec recommends, the same JSON as text after the prose. */
export function result(prose: string, structured: Record<string, unknown>): CallToolResult {
  return {
    content: [
      { type: 'text', text: prose },
      { type: 'text', text: JSON.stringify(structured) },
    ],
    structuredContent: structured,
  };
}

/** Use-case errors become tool errors the model can read; anything else is a bug and stays vague. */
export async function guarded(run: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await run();
  } catch (error) {
    if (isMemvaultError(error)) {
      return { isError: true, content: [{ type: 'text', text: `${error.code}: ${publicMessage(error.message)}` }] };
    }
    return { isError: true, content: [{ type: 'text', text: 'INTERNAL_ERROR: the memory service failed.' }] };
  }
}

export const iso = (v: string | undefined) => (v === undefined ? undefined : new Date(v).toISOString());

/** The clock and the link of a memory, from the deps. */
export function kit(deps: ToolDeps) {
  return {
    memory: deps.memory,
    now: deps.now ?? (() => new Date()),
    urlOf: (id: string) =>
      deps.publicUrl ? `${deps.publicUrl.replace(/\/+$/, '')}/#/memory/${id}` : `memvault://memory/${id}`,
  };
}
