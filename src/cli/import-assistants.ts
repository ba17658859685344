import { z } from 'zod';
import { validationError } from '../core/errors.js';
import type { ImportRecord } from './import-formats.js';

/**
 * Exports of AI assistants' chat histories: what the person wrote (and, when asked, what the assistant answered)
 * becomes one memory per message, with its time and the message's own id as external id (`chatgpt:<id>`,
 * `claude:<uuid>`), so importing the same export again adds nothing. Records are numbered by their position among
 * all messages of the file, in conversation order, so a bad record's number is the same with or without
 * assistant answers.
 */
export interface AssistantImportOptions {
  /** Also the assistant's answers, as "ChatGPT: …" / "Claude: …". Default: only what the person wrote. */
  readonly includeAssistant?: boolean;
}

function parseJson(content: string, what: string): unknown {
  try {
    return JSON.parse(content.replace(/^\uFEFF/, ''));
  } catch {
    throw validationError(
      `This is not a ${what} export: the file is not valid JSON (cut short?). Nothing was imported.`,
    );
  }
}

/** Epoch seconds (ChatGPT) within 1970–2199, else null. */
function fromEpochSeconds(value: number | null | undefined): Date | null {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 7_258_118_400) return null;
  return new Date(Math.round(value * 1000));
}

// ---------------------------------------------------------------------------------------------------------
// ChatGPT "Export data": conversations.json, an array of conversations whose messages form a tree
// (`mapping`: node id → {message, parent, children}); `current_node` is the leaf of the branch the person saw
// last (edits and regenerations leave other branches behind).

const ChatGptMessage = z
  .object({
    id: z.string().min(1).max(200),
    author: z.object({ role: z.string() }).loose(),
    create_time: z.number().nullable().optional(),
    content: z
      .object({ content_type: z.string(), parts: z.array(z.unknown()).optional() })
      .loose()
      .optional(),
    metadata: z.object({ is_visually_hidden_from_conversation: z.boolean().optional() }).loose().nullable().optional(),
  })
  .loose();
const ChatGptNode = z
  .object({
    message: z.unknown().optional(),
    parent: z.string().nullable().optional(),
    children: z.array(z.string()).optional(),
  })
  .loose();
const ChatGptConversation = z
  .object({
    title: z.string().nullable().optional(),
    create_time: z.number().nullable().optional(),
    mapping: z.record(z.string(), ChatGptNode),
    current_node: z.string().nullable().optional(),
  })
  .loose();

const CHATGPT_TEXT_TYPES = new Set(['text', 'multimodal_text']);

/** The node ids of one conversation in reading order: the current branch, else every node by time. */
function chatGptOrder(conversation: z.infer<typeof ChatGptConversation>): string[] {
  const { mapping } = conversation;
  const current = conversation.current_node;
  if (current && mapping[current]) {
    const path: string[] = [];
    const seen = new Set<string>();
    for (let id: string | null | undefined = current; id && mapping[id] && !seen.has(id); id = mapping[id]?.parent) {
      seen.add(id);
      path.push(id);
    }
    return path.reverse();
  }
  const time = (id: string) => {
    const m = ChatGptMessage.safeParse(mapping[id]?.message);
    return m.success ? (m.data.create_time ?? 0) : 0;
  };
  return Object.keys(mapping).sort((a, b) => time(a) - time(b));
}

export function parseChatGpt(content: string, options: AssistantImportOptions = {}): ImportRecord[] {
  const json = parseJson(content, 'ChatGPT');
  if (!Array.isArray(json)) {
    throw validationError(
      'This is not a ChatGPT export: expected conversations.json, a list of conversations with "mapping". Nothing was imported.',
    );
  }
  const out: ImportRecord[] = [];
  let position = 0;
  json.forEach((raw, index) => {
    const conversation = ChatGptConversation.safeParse(raw);
    if (!conversation.success) {
      out.push({ line: ++position, error: `conversation ${index + 1} has no message tree ("mapping")` });
      return;
    }
    const started = fromEpochSeconds(conversation.data.create_time);
    for (const nodeId of chatGptOrder(conversation.data)) {
      const node = conversation.data.mapping[nodeId];
      if (node?.message === undefined || node.message === null) continue; // the tree's root carries no message
      position++;
      const message = ChatGptMessage.safeParse(node.message);
      if (!message.success) {
        out.push({ line: position, error: `conversation ${index + 1}: not a ChatGPT message (needs id and author)` });
        continue;
      }
      const m = message.data;
      const role = m.author.role;
      if (role !== 'user' && !(role === 'assistant' && options.includeAssistant)) continue;
      if (m.metadata?.is_visually_hidden_from_conversation) continue; // custom instructions and the like
      if (!m.content || !CHATGPT_TEXT_TYPES.has(m.content.content_type)) continue; // code runs, browsing, tools
      // Images and files are objects among the parts; only the text is a memory.
      const text = (m.content.parts ?? [])
        .filter((p): p is string => typeof p === 'string')
        .join('\n')
        .trim();
      if (text.length === 0) continue;
      const at = m.create_time === null || m.create_time === undefined ? started : fromEpochSeconds(m.create_time);
      if (at === null) {
        out.push({ line: position, error: `conversation ${index + 1}: the message has no valid time` });
        continue;
      }
      out.push({
        line: position,
        text: role === 'assistant' ? `ChatGPT: ${text}` : text,
        at,
        externalId: `chatgpt:${m.id}`,
      });
    }
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Claude "Export data": conversations.json, an array of conversations with chat_messages in order.

const ClaudeMessage = z
  .object({
    uuid: z.string().min(1).max(200),
    sender: z.string(),
    text: z.string().optional(),
    content: z.array(z.object({ type: z.string(), text: z.string().optional() }).loose()).optional(),
    created_at: z.string(),
  })
  .loose();
const ClaudeConversation = z
  .object({ uuid: z.string().optional(), name: z.string().nullable().optional(), chat_messages: z.array(z.unknown()) })
  .loose();

export function parseClaude(content: string, options: AssistantImportOptions = {}): ImportRecord[] {
  const json = parseJson(content, 'Claude');
  if (!Array.isArray(json)) {
    throw validationError(
      'This is not a Claude export: expected conversations.json, a list of conversations with "chat_messages". Nothing was imported.',
    );
  }
  const out: ImportRecord[] = [];
  let position = 0;
  json.forEach((raw, index) => {
    const conversation = ClaudeConversation.safeParse(raw);
    if (!conversation.success) {
      out.push({ line: ++position, error: `conversation ${index + 1} has no "chat_messages"` });
      return;
    }
    for (const rawMessage of conversation.data.chat_messages) {
      position++;
      const message = ClaudeMessage.safeParse(rawMessage);
      if (!message.success) {
        out.push({
          line: position,
          error: `conversation ${index + 1}: not a Claude message (needs uuid, sender and created_at)`,
        });
        continue;
      }
      const m = message.data;
      if (m.sender !== 'human' && !(m.sender === 'assistant' && options.includeAssistant)) continue;
      // Newer exports keep the text in content blocks (text, tool use…); older ones in `text`.
      const blocks = (m.content ?? []).filter((b) => b.type === 'text' && typeof b.text === 'string');
      const text = (blocks.length > 0 ? blocks.map((b) => b.text).join('\n') : (m.text ?? '')).trim();
      if (text.length === 0) continue;
      const at = new Date(m.created_at);
      const t = at.getTime();
      if (Number.isNaN(t) || t < 0 || t > 7_258_118_400_000) {
        out.push({ line: position, error: `conversation ${index + 1}: "created_at" is not a valid time` });
        continue;
      }
      out.push({
        line: position,
        text: m.sender === 'assistant' ? `Claude: ${text}` : text,
        at,
        externalId: `claude:${m.uuid}`,
      });
    }
  });
  return out;
}
