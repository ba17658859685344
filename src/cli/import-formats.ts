import { z } from 'zod';
import { validationError } from '../core/errors.js';
import { localTimeToUtc } from '../core/time-zone.js';

/** One message to import, or why its line could not be read. `line` is 1-based in the source file. */
export type ImportRecord =
  | {
      readonly line: number;
      readonly text: string;
      readonly at?: Date;
      readonly externalId?: string;
      /** Field names of the line that memvault does not know and left out (JSON lines only). */
      readonly ignored?: readonly string[];
    }
  | { readonly line: number; readonly error: string };

export const IMPORT_FORMATS = ['auto', 'jsonl', 'whatsapp', 'telegram', 'chatgpt', 'claude'] as const;
export type ImportFormat = Exclude<(typeof IMPORT_FORMATS)[number], 'auto'>;

// ---------------------------------------------------------------------------------------------------------
// JSON lines: {"text", "timestamp"?, "externalId"?}

const JSON_LINE_FIELDS = {
  text: z.string(),
  timestamp: z.union([z.string(), z.number()]).optional(),
  externalId: z.union([z.string().max(200), z.number()]).optional(),
};
/**
 * One line of a JSON-lines file. Other tools' exports carry fields of their own ("user", "chat"): by default
 * they are left out and named back to the caller; `strict` refuses them, so a typo ("txt") stops the import.
 */
const JsonLine = z.object(JSON_LINE_FIELDS);
const StrictJsonLine = z.strictObject(JSON_LINE_FIELDS);
const KNOWN_FIELDS = new Set(Object.keys(JSON_LINE_FIELDS));

/** ISO 8601 string, or epoch seconds / milliseconds. */
function parseTimestamp(value: string | number): Date | null {
  const d = typeof value === 'number' ? new Date(value < 1e12 ? value * 1000 : value) : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function parseJsonLine(raw: string, line: number, options: { strict?: boolean } = {}): ImportRecord | null {
  if (raw.trim().length === 0) return null;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { line, error: 'not valid JSON' };
  }
  const parsed = (options.strict ? StrictJsonLine : JsonLine).safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { line, error: `${issue?.path.join('.') || 'line'}: ${issue?.message ?? 'invalid'}` };
  }
  const { text, timestamp, externalId } = parsed.data;
  const at = timestamp === undefined ? undefined : parseTimestamp(timestamp);
  if (at === null) return { line, error: '"timestamp" is not a date (ISO 8601 or epoch seconds)' };
  // Parsed as an object above, so `json` is a plain object here.
  const ignored = Object.keys(json as object).filter((key) => !KNOWN_FIELDS.has(key));
  return {
    line,
    text,
    ...(ignored.length > 0 ? { ignored } : {}),
    ...(at ? { at } : {}),
    ...(externalId === undefined ? {} : { externalId: String(externalId) }),
  };
}

// ---------------------------------------------------------------------------------------------------------
// WhatsApp "Export chat" (.txt), Android and iOS layouts:
//   31/12/2023, 21:41 - Ana: message            12/31/23, 9:41 PM - Ana: message
//   [31/12/2023, 21:41:05] Ana: message

const WA_HEADER =
  /^\u200e?\[?(\d{1,2})[./-](\d{1,2})[./-](\d{2,4}),?\s+(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?(?:[\s\u202f]*([AaPp])\.?\s?[Mm]\.?)?\]?(?:\s+-\s+|\s+)(.*)$/;
const WA_SENDER = /^([^:]{1,80}?):\s([\s\S]*)$/;
const WA_SKIP =
  /^(?:\u200e?<(?:Media omitted|attached:[^>]*)>|\u200e?(?:image|video|audio|sticker|GIF|document) omitted|This message was deleted|You deleted this message|null)$/i;

interface WaMessage {
  line: number;
  day: number;
  month: number;
  year: number;
  hour: number;
  minute: number;
  second: number;
  sender: string;
  text: string;
}

/**
 * Parses a WhatsApp chat export. Local times are read in `timezone`; day/month order is taken from the file
 * (a field above 12 decides it) or, when every date is ambiguous, from `dateOrder` (default: month first when
 * the file uses AM/PM, else day first). System lines and media placeholders are skipped; continuation lines
 * belong to the message above them. Each message becomes "Sender: text".
 */
export function parseWhatsApp(content: string, timezone: string, dateOrder?: 'dmy' | 'mdy'): ImportRecord[] {
  const rows = content.replace(/^\uFEFF/, '').split(/\r?\n/);
  const messages: WaMessage[] = [];
  let dmyVotes = 0;
  let mdyVotes = 0;
  let twelveHour = false;
  let current: WaMessage | null = null;
  rows.forEach((row, index) => {
    const m = WA_HEADER.exec(row);
    if (!m) {
      if (current) current.text += `\n${row}`;
      return;
    }
    current = null;
    const [a, b, y, h, min, s, meridiem, rest] = [m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8] ?? ''];
    const sender = WA_SENDER.exec(rest);
    if (!sender) return; // "Messages and calls are end-to-end encrypted", "X added Y": no sender, not a memory
    const first = Number(a);
    const second = Number(b);
    if (first > 12) dmyVotes++;
    if (second > 12) mdyVotes++;
    let hour = Number(h);
    if (meridiem) {
      twelveHour = true;
      const pm = meridiem.toLowerCase() === 'p';
      if (hour === 12) hour = pm ? 12 : 0;
      else if (pm) hour += 12;
    }
    const year = Number(y) < 100 ? 2000 + Number(y) : Number(y);
    current = {
      line: index + 1,
      day: first,
      month: second,
      year,
      hour,
      minute: Number(min),
      second: s ? Number(s) : 0,
      sender: sender[1]!.replace(/^\u200e/, '').trim(),
      text: sender[2]!,
    };
    messages.push(current);
  });
  const order =
    dmyVotes > 0 && mdyVotes === 0
      ? 'dmy'
      : mdyVotes > 0 && dmyVotes === 0
        ? 'mdy'
        : (dateOrder ?? (twelveHour ? 'mdy' : 'dmy'));
  const out: ImportRecord[] = [];
  for (const msg of messages) {
    const text = msg.text.trim();
    if (text.length === 0 || WA_SKIP.test(text)) continue;
    const [day, month] = order === 'dmy' ? [msg.day, msg.month] : [msg.month, msg.day];
    if (month < 1 || month > 12 || day < 1 || day > 31 || msg.hour > 23 || msg.minute > 59) {
      out.push({ line: msg.line, error: 'the date or time of this message is not valid' });
      continue;
    }
    const at = new Date(localTimeToUtc(timezone, msg.year, month, day, msg.hour, msg.minute, msg.second));
    out.push({ line: msg.line, text: `${msg.sender}: ${text}`, at, externalId: `whatsapp:${msg.line}` });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Telegram Desktop "Export chat history" (result.json): one chat, or a full export with chats.list.

const TelegramText = z.union([z.string(), z.array(z.union([z.string(), z.object({ text: z.string() }).loose()]))]);
const TelegramMessage = z
  .object({
    id: z.union([z.number(), z.string()]),
    type: z.string(),
    date: z.string().optional(),
    date_unixtime: z.union([z.string(), z.number()]).optional(),
    from: z.string().nullable().optional(),
    text: TelegramText.optional(),
  })
  .loose();
const TelegramChat = z
  .object({ id: z.union([z.number(), z.string()]).optional(), messages: z.array(z.unknown()) })
  .loose();
const TelegramFullExport = z.object({ chats: z.object({ list: z.array(TelegramChat) }).loose() }).loose();

/** Parses a Telegram JSON export. Service messages and media without text are skipped. */
export function parseTelegram(content: string, timezone: string): ImportRecord[] {
  let json: unknown;
  try {
    json = JSON.parse(content.replace(/^\uFEFF/, ''));
  } catch {
    throw validationError('This is not a Telegram export: the file is not valid JSON.');
  }
  const full = TelegramFullExport.safeParse(json);
  const single = full.success ? null : TelegramChat.safeParse(json);
  if (!full.success && !single?.success) {
    throw validationError(
      'This is not a Telegram export: expected "messages" (one chat) or "chats.list" (full export).',
    );
  }
  const chats = full.success ? full.data.chats.list : single?.success ? [single.data] : [];
  const out: ImportRecord[] = [];
  let position = 0;
  for (const chat of chats) {
    for (const raw of chat.messages) {
      position++;
      const msg = TelegramMessage.safeParse(raw);
      if (!msg.success) {
        out.push({ line: position, error: 'not a Telegram message (needs id and type)' });
        continue;
      }
      const m = msg.data;
      if (m.type !== 'message') continue;
      const text = (
        typeof m.text === 'string' ? m.text : (m.text ?? []).map((p) => (typeof p === 'string' ? p : p.text)).join('')
      ).trim();
      if (text.length === 0) continue;
      const at = telegramDate(m.date_unixtime, m.date, timezone);
      if (at === null) {
        out.push({ line: position, error: 'the date of this message is not valid' });
        continue;
      }
      const chatId = chat.id === undefined ? '' : `${chat.id}:`;
      out.push({
        line: position,
        text: m.from ? `${m.from}: ${text}` : text,
        at,
        externalId: `telegram:${chatId}${m.id}`,
      });
    }
  }
  return out;
}

/** `date_unixtime` is exact; `date` is local wall time without a zone, read in the person's zone. */
function telegramDate(unix: string | number | undefined, local: string | undefined, timezone: string): Date | null {
  if (unix !== undefined && /^\d+$/.test(String(unix))) return new Date(Number(unix) * 1000);
  const m = local ? /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(local) : null;
  if (!m) return null;
  return new Date(
    localTimeToUtc(timezone, Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0)),
  );
}

/** Picks the format from the file name, then from the first bytes. */
export function detectFormat(fileName: string, head: string): ImportFormat {
  const name = fileName.toLowerCase();
  if (name.endsWith('.jsonl') || name.endsWith('.ndjson')) return 'jsonl';
  const text = head.replace(/^\uFEFF/, '').trimStart();
  // An assistant's conversations.json is a JSON array; which assistant shows in its first conversation's keys.
  if (text.startsWith('[')) {
    if (/"mapping"\s*:/.test(text)) return 'chatgpt';
    if (/"chat_messages"\s*:/.test(text)) return 'claude';
    throw validationError(
      'This JSON list is neither a ChatGPT nor a Claude export (conversations.json). Name the format with --format.',
    );
  }
  if (name.endsWith('.txt') || WA_HEADER.test(text.split(/\r?\n/, 1)[0] ?? '')) return 'whatsapp';
  if (text.startsWith('{')) {
    const firstLine = text.split(/\r?\n/, 1)[0] ?? '';
    // A JSON-lines file's first line is a whole object; a Telegram export's first line is only "{".
    try {
      JSON.parse(firstLine);
      return 'jsonl';
    } catch {
      return 'telegram';
    }
  }
  return 'jsonl';
}
