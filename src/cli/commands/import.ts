import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { MemvaultError, storageError, validationError } from '../../core/errors.js';
import type { ImportFormat, ImportRecord } from '../import-formats.js';
import { lines, readAll, writeJson, writeLine } from '../io.js';
import { common, unlockOptions } from '../options.js';
import { asUser } from '../principal.js';
import type { CliRuntime } from '../runtime.js';

export interface ImportFailure {
  readonly line: number;
  readonly code: string;
  readonly message: string;
}

interface ImportOptions {
  user: string;
  strict?: boolean;
  includeAssistant?: boolean;
  format: string;
  dateOrder?: string;
  dataDir?: string;
  json?: boolean;
  passwordStdin?: boolean;
  totp?: string;
}

/** Kept here (and checked against import-formats.ts by a test) so that `--help` does not load the parsers. */
export const IMPORT_FORMATS = ['auto', 'jsonl', 'whatsapp', 'telegram', 'chatgpt', 'claude'] as const;

/** Formats whose external ids are the source's own message ids: importing them again adds nothing. */
const IDEMPOTENT: ReadonlySet<ImportFormat> = new Set(['chatgpt', 'claude']);

/** How many distinct unknown field names a report lists; a hostile file could carry thousands. */
const MAX_IGNORED_NAMES = 20;
const MAX_FIELD_NAME_CHARS = 40;

/** Unknown JSON-lines fields left out: how many lines had any, and which names (sorted, bounded). */
class IgnoredFields {
  lines = 0;
  readonly names = new Set<string>();
  more = false;

  add(fields: readonly string[]): void {
    this.lines++;
    for (const field of fields) {
      const name = field.length > MAX_FIELD_NAME_CHARS ? `${field.slice(0, MAX_FIELD_NAME_CHARS)}…` : field;
      if (this.names.has(name)) continue;
      if (this.names.size < MAX_IGNORED_NAMES) this.names.add(name);
      else this.more = true;
    }
  }

  toJSON(): { lines: number; fields: string[]; more?: true } {
    return { lines: this.lines, fields: [...this.names].sort(), ...(this.more ? { more: true as const } : {}) };
  }

  /** The one line a person reads: which fields, on how many lines, and how to refuse them instead. */
  describe(): string {
    const names = [...this.names].sort().map((n) => JSON.stringify(n));
    return `Note: ${this.lines} ${this.lines === 1 ? 'line' : 'lines'} carried fields memvault does not use (${names.join(', ')}${this.more ? ', …' : ''}); they were ignored. Use --strict to refuse such lines instead.`;
  }
}

/** Whole-file formats are read into memory; this bounds it. */
const MAX_EXPORT_BYTES = 256 * 1024 * 1024;

async function readSource(file: string, runtime: CliRuntime): Promise<string> {
  if (file === '-') return readAll(runtime.stdin, MAX_EXPORT_BYTES);
  const info = await stat(file);
  if (info.size > MAX_EXPORT_BYTES) throw validationError(`${file} is larger than 256 MB; split it.`);
  return readFile(file, 'utf8');
}

async function head(file: string): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** The records of a source and, for a progress bar, how many lines or messages it has. */
async function recordsOf(
  file: string,
  format: ImportFormat,
  runtime: CliRuntime,
  timezone: string,
  dateOrder: 'dmy' | 'mdy' | undefined,
  strict: boolean,
  includeAssistant: boolean,
): Promise<{ records: AsyncIterable<ImportRecord>; total: number }> {
  const { parseJsonLine, parseTelegram, parseWhatsApp } = await import('../import-formats.js');
  if (format === 'jsonl') {
    let total = 0;
    // Count lines first so the progress bar knows its end; cheap next to classifying and sealing each one.
    if (file !== '-') for await (const _ of lines(createReadStream(file))) total++;
    const source = file === '-' ? runtime.stdin : createReadStream(file);
    async function* records(): AsyncGenerator<ImportRecord> {
      let n = 0;
      for await (const raw of lines(source)) {
        const record = parseJsonLine(raw, ++n, { strict });
        if (record) yield record;
      }
    }
    return { records: records(), total };
  }
  const content = await readSource(file, runtime);
  let parsed: ImportRecord[];
  if (format === 'chatgpt' || format === 'claude') {
    const { parseChatGpt, parseClaude } = await import('../import-assistants.js');
    parsed = (format === 'chatgpt' ? parseChatGpt : parseClaude)(content, { includeAssistant });
  } else {
    parsed = format === 'whatsapp' ? parseWhatsApp(content, timezone, dateOrder) : parseTelegram(content, timezone);
  }
  async function* records(): AsyncGenerator<ImportRecord> {
    yield* parsed;
  }
  return { records: records(), total: parsed.length };
}

/** True for a file that starts like a zip (a `memvault export`); false for anything else or an unreadable file. */
async function isZip(file: string): Promise<boolean> {
  try {
    return (await head(file)).startsWith('PK\u0003\u0004');
  } catch {
    return false; // the general path reports the unreadable file
  }
}

/** `memvault import` of a zip written by `memvault export`: memories keep their category, dates and links. */
async function importExport(file: string, opts: ImportOptions, runtime: CliRuntime): Promise<void> {
  let zip: Buffer;
  try {
    if ((await stat(file)).size > MAX_EXPORT_BYTES) throw validationError(`${file} is larger than 256 MB.`);
    zip = await readFile(file);
  } catch (error) {
    if (error instanceof MemvaultError) throw error;
    throw storageError(`Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}.`, error);
  }
  const report = await asUser(runtime, opts, (app, principal) => app.exports.import(principal, zip));
  if (opts.json) writeJson(runtime.stdout, { format: 'memvault', ...report });
  else {
    writeLine(
      runtime.stdout,
      `Imported ${report.imported} memories from the export of ${report.from}` +
        `${report.skipped > 0 ? `; ${report.skipped} were already there` : ''}` +
        `${report.links > 0 ? `; ${report.links} links restored` : ''}${report.failed.length > 0 ? `; ${report.failed.length} refused:` : '.'}`,
    );
    for (const f of report.failed.slice(0, 50)) writeLine(runtime.stdout, `  ${f.id}: ${f.message}`);
  }
  if (report.failed.length > 0) {
    throw validationError(`${report.failed.length} memories of the export were refused; the others were imported.`, {
      failed: report.failed.length,
      imported: report.imported,
    });
  }
}

export function registerImport(program: Command, runtime: CliRuntime): void {
  // The unlock options matter to a memvault export only: memories of unlocked levels already there are skipped.
  unlockOptions(
    common(
      program
        .command('import')
        .description(
          'import messages: JSON lines ({"text", "timestamp"?, "externalId"?} per line), a WhatsApp chat export (.txt), a Telegram export (result.json), a ChatGPT or Claude export (conversations.json) or a memvault export (.zip)',
        )
        .requiredOption('--user <phone>', 'whose memories')
        .option(
          '--format <format>',
          `${IMPORT_FORMATS.join(', ')}, or memvault (a zip from \`memvault export\`): auto decides from the file name and contents`,
          'auto',
        )
        .option('--date-order <order>', 'WhatsApp exports whose dates are all ambiguous: dmy or mdy')
        .option(
          '--include-assistant',
          'ChatGPT and Claude exports: also import the assistant’s answers (default: only what you wrote)',
        )
        .option(
          '--strict',
          'refuse JSON lines with unknown fields and stop at the first bad line (default: ignore unknown fields, report bad lines and go on)',
        )
        .argument('<file>', 'the file ("-" for standard input)'),
    ),
  ).action(async (file: string, opts: ImportOptions) => {
    if (opts.format === 'memvault' || (opts.format === 'auto' && file !== '-' && (await isZip(file)))) {
      await importExport(file, opts, runtime);
      return;
    }
    if (!(IMPORT_FORMATS as readonly string[]).includes(opts.format)) {
      throw validationError(`--format must be one of ${IMPORT_FORMATS.join(', ')}, memvault.`);
    }
    if (opts.dateOrder !== undefined && opts.dateOrder !== 'dmy' && opts.dateOrder !== 'mdy') {
      throw validationError('--date-order must be dmy or mdy.');
    }
    const { detectFormat } = await import('../import-formats.js');
    const { SingleBar } = await import('cli-progress');
    let format: ImportFormat;
    try {
      if (file !== '-' && !(await stat(file)).isFile()) throw validationError(`${file} is not a file.`);
      format =
        opts.format !== 'auto'
          ? (opts.format as ImportFormat)
          : file === '-'
            ? 'jsonl'
            : detectFormat(file, await head(file));
    } catch (error) {
      if (error instanceof MemvaultError) throw error;
      throw storageError(`Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}.`, error);
    }
    if (opts.includeAssistant && format !== 'chatgpt' && format !== 'claude') {
      throw validationError('--include-assistant applies to ChatGPT and Claude exports only.');
    }
    const failures: ImportFailure[] = [];
    const ignored = new IgnoredFields();
    let imported = 0;
    let skipped = 0;
    let seen = 0;
    await asUser(runtime, opts, async (app, principal) => {
      // Exports with their own message ids run one at a time per person, so none is stored twice.
      const run = async () => {
        const { timezone } = await app.memory.profile(principal.userId);
        let { records, total } = await recordsOf(
          file,
          format,
          runtime,
          timezone,
          opts.dateOrder as 'dmy' | 'mdy' | undefined,
          opts.strict === true,
          opts.includeAssistant === true,
        );
        // Ids imported before: from the ledger (every level, sealed ones included) and from the readable entries
        // (which also covers a message stored by a run that stopped before it could record it).
        const done = new Set<string>();
        if (IDEMPOTENT.has(format)) {
          const ids: string[] = [];
          const buffered: ImportRecord[] = [];
          for await (const record of records) {
            buffered.push(record);
            if (!('error' in record) && record.externalId) ids.push(record.externalId);
          }
          for (const id of await app.imports.known(principal.userId, ids)) done.add(id);
          const readable = await app.memory.list(principal, {});
          for (const entry of readable.entries) if (entry.externalId) done.add(entry.externalId);
          records = (async function* () {
            yield* buffered;
          })();
        }
        const bar =
          runtime.stderr.isTTY && !opts.json && total > 0
            ? new SingleBar({ stream: runtime.stderr, format: 'importing [{bar}] {value}/{total} · {eta}s left' })
            : undefined;
        bar?.start(total, 0);
        try {
          for await (const record of records) {
            seen++;
            bar?.update(format === 'jsonl' ? record.line : seen);
            try {
              if ('error' in record) throw validationError(record.error);
              if (record.ignored) ignored.add(record.ignored);
              if (record.externalId && done.has(record.externalId)) {
                skipped++;
                continue;
              }
              await app.memory.remember(principal, record.text, {
                channel: 'import',
                ...(record.at ? { at: record.at } : {}),
                ...(record.externalId ? { externalId: record.externalId } : {}),
              });
              imported++;
              if (record.externalId && IDEMPOTENT.has(format)) {
                done.add(record.externalId);
                await app.imports.record(principal.userId, record.externalId);
              }
            } catch (error) {
              // Storage and security failures are not the line's fault: stop, rather than report every line after.
              if (
                !(error instanceof MemvaultError) ||
                !['VALIDATION_ERROR', 'CLASSIFICATION_ERROR'].includes(error.code)
              ) {
                throw error;
              }
              failures.push({ line: record.line, code: error.code, message: error.message });
              if (opts.strict) break;
            }
          }
        } finally {
          bar?.stop();
        }
      };
      await (IDEMPOTENT.has(format) ? app.imports.exclusive(principal.userId, run) : run());
    });
    // Line-based formats number their records by line; exports of chats by message position in the file.
    const where = format === 'jsonl' || format === 'whatsapp' ? 'line' : 'message';
    const unit =
      format === 'jsonl'
        ? 'lines'
        : format === 'chatgpt'
          ? 'ChatGPT messages'
          : format === 'claude'
            ? 'Claude messages'
            : `${format} messages`;
    if (opts.json)
      writeJson(runtime.stdout, {
        format,
        imported,
        ...(IDEMPOTENT.has(format) ? { skipped } : {}),
        failed: failures.length,
        failures,
        ...(ignored.lines > 0 ? { ignoredFields: ignored.toJSON() } : {}),
      });
    else {
      writeLine(
        runtime.stdout,
        `Imported ${imported} memories from ${seen} ${unit}${skipped ? ` (${skipped} imported before, skipped)` : ''}${failures.length ? `; ${failures.length} bad:` : '.'}`,
      );
      if (ignored.lines > 0) writeLine(runtime.stdout, ignored.describe());
      for (const f of failures.slice(0, 50)) writeLine(runtime.stdout, `  ${where} ${f.line}: ${f.message}`);
      if (failures.length > 50) writeLine(runtime.stdout, `  … and ${failures.length - 50} more (use --json for all).`);
    }
    const first = failures[0];
    if (first) {
      const Where = where === 'line' ? 'Line' : 'Message';
      // Bad lines make the exit non-zero so scripts notice; the good lines are stored either way.
      throw validationError(
        opts.strict
          ? `${Where} ${first.line}: ${first.message}. Stopped (--strict); ${imported} memories before it were imported.`
          : `${failures.length} of ${seen} ${unit} were bad (first: ${where} ${first.line}); the other ${imported} were imported.`,
        { line: first.line, failed: failures.length, imported },
      );
    }
  });
}
