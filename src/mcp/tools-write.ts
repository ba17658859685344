import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { CATEGORIES, categoryLabel } from '../core/category.js';
import { validationError } from '../core/errors.js';
import { BriefSchema, brief, isoDate, MemoryId } from './present.js';
import { type ToolDeps, DAY_MS, result, guarded, kit } from './tool-kit.js';

/** A message written "in the future" by more than this is a wrong date, not clock skew. */
const FUTURE_SLACK_MS = DAY_MS;

/** Tools that change memories: remember, forget_memory (destructive), correct_memory. */
export function registerWriteTools(server: McpServer, deps: ToolDeps): void {
  const { memory, now } = kit(deps);

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

  // -------------------------------------------------------------------------------------- forget_memory
  server.registerTool(
    'forget_memory',
    {
      title: 'Forget memory',
      description:
        'Delete one memory: it goes to the user’s trash, where they can restore it for 30 days (web app or CLI) ' +
        'before it is erased for good. Call it only when the user explicitly asks to forget that memory; confirm ' +
        'which one first. Memories at locked levels cannot be deleted from here.',
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
}
