import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { z } from 'zod';
import { MemvaultError, storageError, validationError } from '../../core/errors.js';
import { normalizeUserId } from '../../core/user-id.js';
import { lines, writeJson, writeLine } from '../io.js';
import { common } from '../options.js';
import { cliPrincipal } from '../principal.js';
import type { CliRuntime } from '../runtime.js';

/** One line of an import file. Unknown fields are refused so a typo ("txt") is reported, not ignored. */
const ImportLine = z.strictObject({
  text: z.string(),
  timestamp: z.union([z.string(), z.number()]).optional(),
  externalId: z.union([z.string().max(200), z.number()]).optional(),
});

export interface ImportFailure {
  readonly line: number;
  readonly code: string;
  readonly message: string;
}

/** ISO 8601 string, or epoch seconds / milliseconds. */
function parseTimestamp(value: string | number): Date {
  const d = typeof value === 'number' ? new Date(value < 1e12 ? value * 1000 : value) : new Date(value);
  if (Number.isNaN(d.getTime())) throw validationError('"timestamp" is not a date (ISO 8601 or epoch seconds).');
  return d;
}

export function registerImport(program: Command, runtime: CliRuntime): void {
  common(
    program
      .command('import')
      .description('import messages from a JSON-lines file: one {"text", "timestamp"?, "externalId"?} per line')
      .requiredOption('--user <phone>', 'whose memories')
      .option('--strict', 'stop at the first bad line (default: report bad lines and go on)')
      .argument('<file>', 'the JSON-lines file ("-" for standard input)'),
  ).action(async (file: string, opts: { user: string; strict?: boolean; dataDir?: string; json?: boolean }) => {
    const userId = normalizeUserId(opts.user);
    let total = 0;
    if (file !== '-') {
      try {
        const info = await stat(file);
        if (!info.isFile()) throw validationError(`${file} is not a file.`);
      } catch (error) {
        if (error instanceof MemvaultError) throw error;
        throw storageError(`Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}.`, error);
      }
      // Count lines first so the progress bar knows its end; cheap next to classifying and sealing each one.
      for await (const _ of lines(createReadStream(file))) total++;
    }
    const source = file === '-' ? runtime.stdin : createReadStream(file);
    const app = await runtime.open(opts);
    const failures: ImportFailure[] = [];
    let imported = 0;
    let lineNo = 0;
    const bar =
      runtime.stderr.isTTY && !opts.json && total > 0
        ? new SingleBar({ stream: runtime.stderr, format: 'importing [{bar}] {value}/{total} lines · {eta}s left' })
        : undefined;
    try {
      const principal = await cliPrincipal(app, runtime, userId, {});
      bar?.start(total, 0);
      for await (const raw of lines(source)) {
        lineNo++;
        bar?.increment();
        if (raw.trim().length === 0) continue;
        try {
          let json: unknown;
          try {
            json = JSON.parse(raw);
          } catch {
            throw validationError('not valid JSON');
          }
          const parsed = ImportLine.safeParse(json);
          if (!parsed.success) {
            const issue = parsed.error.issues[0];
            throw validationError(`${issue?.path.join('.') || 'line'}: ${issue?.message ?? 'invalid'}`);
          }
          const { text, timestamp, externalId } = parsed.data;
          await app.memory.remember(principal, text, {
            channel: 'import',
            ...(timestamp === undefined ? {} : { at: parseTimestamp(timestamp) }),
            ...(externalId === undefined ? {} : { externalId: String(externalId) }),
          });
          imported++;
        } catch (error) {
          // Storage and security failures are not the line's fault: stop, rather than report every line after.
          if (!(error instanceof MemvaultError) || !['VALIDATION_ERROR', 'CLASSIFICATION_ERROR'].includes(error.code)) {
            throw error;
          }
          failures.push({ line: lineNo, code: error.code, message: error.message });
          if (opts.strict) break;
        }
      }
    } finally {
      bar?.stop();
      await app.close();
    }
    if (opts.json) writeJson(runtime.stdout, { imported, failed: failures.length, failures });
    else {
      writeLine(
        runtime.stdout,
        `Imported ${imported} memories from ${lineNo} lines${failures.length ? `; ${failures.length} bad lines:` : '.'}`,
      );
      for (const f of failures.slice(0, 50)) writeLine(runtime.stdout, `  line ${f.line}: ${f.message}`);
      if (failures.length > 50) writeLine(runtime.stdout, `  … and ${failures.length - 50} more (use --json for all).`);
    }
    const first = failures[0];
    if (first) {
      // Bad lines make the exit non-zero so scripts notice; the good lines are stored either way.
      throw validationError(
        opts.strict
          ? `Line ${first.line}: ${first.message}. Stopped (--strict); ${imported} memories before it were imported.`
          : `${failures.length} of ${lineNo} lines were bad (first: line ${first.line}); the other ${imported} were imported.`,
        { line: first.line, failed: failures.length, imported },
      );
    }
  });
}
