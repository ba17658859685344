import { Readable } from 'node:stream';
import * as yauzl from 'yauzl';
import * as yazl from 'yazl';
import { z } from 'zod';
import { CATEGORIES, type Category, type SecurityLevel } from '../core/category.js';
import { CHANNELS, type MemoryEntry, type UserId } from '../core/entry.js';
import { MemvaultError } from '../core/errors.js';
import { isUserId } from '../core/e164.js';
import type { ExportCodec, ExportedEntry, ExportManifest } from '../ports/export.js';
import { parseEntry, renderEntry } from './markdown-codec.js';
import { categoryHeader } from './templates.js';
import { splitUnits } from './vault-file.js';

/** Bounds that keep a hostile zip (a "zip bomb", a million members) from exhausting memory. */
const MAX_MEMBERS = 16;
const MAX_MEMBER_BYTES = 512 * 1024 * 1024;
const MAX_TOTAL_BYTES = 1024 * 1024 * 1024;

const MANIFEST = 'export.json';
const MEMORIES = 'memories.json';
const markdownName = (category: Category) => `${category}.md`;
const KNOWN = new Set<string>([MANIFEST, MEMORIES, ...CATEGORIES.map(markdownName)]);

const problem = (kind: string, message: string, cause?: unknown) =>
  new MemvaultError('VALIDATION_ERROR', message, { details: { problem: kind }, ...(cause ? { cause } : {}) });

const Level = z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)]);
const Counts = z.record(z.enum(CATEGORIES), z.number().int().min(0));
const ManifestSchema = z.object({
  format: z.literal('memvault-export'),
  version: z.number().int().min(1),
  exportedAt: z.string().max(40),
  userId: z.string().refine(isUserId, 'not an E.164 user id'),
  layout: z.enum(['markdown', 'json']),
  levels: z.array(Level).max(4),
  locked: z.number().int().min(0),
  damaged: z.number().int().min(0),
  counts: Counts,
});
/** Shape only: the vault checks every field's content again when the entry is stored. */
const EntrySchema = z.object({
  id: z.string().max(26),
  date: z.string().max(40),
  eventDate: z.string().max(40).nullable(),
  category: z.enum(CATEGORIES),
  tags: z.array(z.string().max(200)).max(100),
  content: z.string(),
  analysis: z.string(),
  confidence: z.number(),
  related: z.array(z.string().max(26)).max(10_000),
  emotionalContext: z.string().max(1000),
  channel: z.enum(CHANNELS),
  externalId: z.string().max(1000).nullable(),
});
const MemoriesSchema = z.array(EntrySchema);

function exported(entry: MemoryEntry): ExportedEntry {
  return {
    id: entry.id,
    date: entry.date,
    eventDate: entry.eventDate,
    category: entry.category,
    tags: entry.tags,
    content: entry.content,
    analysis: entry.analysis,
    confidence: entry.confidence,
    related: entry.related,
    emotionalContext: entry.emotionalContext,
    channel: entry.channel,
    externalId: entry.externalId,
  };
}

/** `memories.json` piece by piece, so a large export is never one giant string. */
function* memoriesJson(entries: readonly MemoryEntry[]): Generator<string> {
  yield '[';
  let first = true;
  for (const entry of entries) {
    yield `${first ? '\n' : ',\n'}${JSON.stringify(exported(entry))}`;
    first = false;
  }
  yield '\n]\n';
}

/** One category file as the vault writes it, but every entry in its plain (unsealed) form. */
function* markdownFile(userId: UserId, category: Category, entries: readonly MemoryEntry[]): Generator<string> {
  yield categoryHeader(userId, category);
  for (const entry of entries) if (entry.category === category) yield `${renderEntry(entry)}\n`;
}

async function readMember(zip: yauzl.ZipFile, entry: yauzl.Entry, budget: { left: number }): Promise<string> {
  if (entry.uncompressedSize > MAX_MEMBER_BYTES || entry.uncompressedSize > budget.left) {
    throw problem('too_large', `${entry.fileName} is larger than an export may hold.`);
  }
  const stream = await zip.openReadStreamPromise(entry);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    // yauzl checks the declared size against what inflates (validateEntrySizes); this is the belt to that brace.
    if (size > entry.uncompressedSize) throw problem('too_large', `${entry.fileName} inflates beyond its size.`);
    chunks.push(chunk);
  }
  budget.left -= size;
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson<T>(text: string, schema: z.ZodType<T>, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw problem('bad_entry', `${what} is not valid JSON.`, cause);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw problem(
      'bad_entry',
      `${what} is malformed at ${issue?.path.map(String).join('.') || 'the top'}: ${issue?.message ?? 'invalid'}.`,
    );
  }
  return parsed.data;
}

function entriesFromMarkdown(userId: UserId, category: Category, text: string): ExportedEntry[] {
  const out: ExportedEntry[] = [];
  for (const unit of splitUnits(text).units) {
    if (unit.kind === 'broken') {
      throw problem('bad_entry', `${markdownName(category)}: ${unit.reason}${unit.id ? ` (entry ${unit.id})` : ''}.`);
    }
    let entry: MemoryEntry;
    try {
      entry = parseEntry(unit.text, userId);
    } catch (cause) {
      throw problem(
        'bad_entry',
        `${markdownName(category)}: entry ${unit.id} does not parse or fails its checksum.`,
        cause,
      );
    }
    if (entry.category !== category) {
      throw problem('bad_entry', `${markdownName(category)}: entry ${unit.id} belongs to ${entry.category}.`);
    }
    out.push(exported(entry));
  }
  return out;
}

/** The export archive as a zip (yazl writes, yauzl reads), in the layout of docs/backup.md. */
export function createZipExportCodec(): ExportCodec {
  return {
    write(manifest, entries) {
      const zip = new yazl.ZipFile();
      const mtime = new Date(manifest.exportedAt);
      const options = { mtime, mode: 0o100600 };
      zip.addBuffer(Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8'), MANIFEST, options);
      if (manifest.layout === 'json') {
        zip.addReadStream(Readable.from(memoriesJson(entries)), MEMORIES, options);
      } else {
        for (const category of CATEGORIES) {
          zip.addReadStream(
            Readable.from(markdownFile(manifest.userId, category, entries)),
            markdownName(category),
            options,
          );
        }
      }
      zip.end();
      return zip.outputStream;
    },

    async read(bytes) {
      let zip: yauzl.ZipFile;
      try {
        zip = await yauzl.fromBufferPromise(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
          lazyEntries: true,
          validateEntrySizes: true,
          strictFileNames: true,
        });
      } catch (cause) {
        throw problem('not_an_export', 'This is not a memvault export (not a readable zip file).', cause);
      }
      const members = new Map<string, string>();
      const budget = { left: MAX_TOTAL_BYTES };
      try {
        if (zip.entryCount > MAX_MEMBERS)
          throw problem('not_an_export', 'The zip holds more files than an export has.');
        for await (const entry of zip.eachEntry()) {
          // Only the fixed names are read: nothing in the archive names a path or a file we would open.
          if (!KNOWN.has(entry.fileName)) {
            throw problem(
              'not_an_export',
              `The zip holds ${JSON.stringify(entry.fileName.slice(0, 80))}, which no memvault export has.`,
            );
          }
          if (members.has(entry.fileName)) throw problem('not_an_export', `${entry.fileName} appears twice.`);
          members.set(entry.fileName, await readMember(zip, entry, budget));
        }
      } catch (cause) {
        if (cause instanceof MemvaultError) throw cause;
        throw problem('not_an_export', 'The zip file is damaged and cannot be read.', cause);
      } finally {
        zip.close();
      }
      const manifestText = members.get(MANIFEST);
      if (manifestText === undefined)
        throw problem('not_an_export', `The zip has no ${MANIFEST}: it is not a memvault export.`);
      let head: unknown;
      try {
        head = JSON.parse(manifestText);
      } catch (cause) {
        throw problem('not_an_export', `${MANIFEST} is not valid JSON.`, cause);
      }
      const version = (head as { version?: unknown } | null)?.version;
      if (typeof version === 'number' && version > 1) {
        throw problem(
          'newer_format',
          `This export is format version ${version}; this memvault reads version 1. Upgrade memvault.`,
        );
      }
      const manifest = parseJson(manifestText, ManifestSchema, MANIFEST) as ExportManifest;
      const userId = manifest.userId as UserId;
      let entries: ExportedEntry[];
      const json = members.get(MEMORIES);
      if (json !== undefined) {
        entries = parseJson(json, MemoriesSchema, MEMORIES);
      } else {
        entries = [];
        for (const category of CATEGORIES) {
          const text = members.get(markdownName(category));
          if (text !== undefined) entries.push(...entriesFromMarkdown(userId, category, text));
        }
      }
      return { manifest: { ...manifest, levels: [...manifest.levels] as SecurityLevel[] }, entries };
    },
  };
}
