import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, open, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { MemvaultError, storageError, validationError } from '../../core/errors.js';
import { EXPORT_FORMATS, type ExportFormat } from '../../ports/export.js';
import { writeJson, writeLine } from '../io.js';
import { common, unlockOptions } from '../options.js';
import { asUser } from '../principal.js';
import type { CliRuntime } from '../runtime.js';

interface ExportOptions {
  user: string;
  format: string;
  out?: string;
  dataDir?: string;
  json?: boolean;
  passwordStdin?: boolean;
  totp?: string;
}

/**
 * Writes a stream to `out` without ever leaving a partial file under that name, nor replacing one: a hidden temp
 * file (0600: an export is plaintext) is filled and fsynced, then hard-linked to its name, which fails if taken.
 */
async function writeNew(stream: NodeJS.ReadableStream, out: string): Promise<number> {
  const temp = join(dirname(out), `.${basename(out)}.${randomBytes(6).toString('hex')}.partial`);
  try {
    await pipeline(stream as Readable, createWriteStream(temp, { flags: 'wx', mode: 0o600 }));
    const handle = await open(temp, 'r');
    try {
      await handle.sync();
      const { size } = await handle.stat();
      await link(temp, out);
      return size;
    } finally {
      await handle.close();
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new MemvaultError('CONFLICT', `${out} exists already; choose another --out.`);
    if (error instanceof MemvaultError) throw error;
    throw storageError(
      code === 'ENOSPC'
        ? `The disk holding ${out} is full; nothing was written.`
        : `Cannot write ${out} (${code ?? 'error'}).`,
      error,
    );
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

export function registerExport(program: Command, runtime: CliRuntime): void {
  unlockOptions(
    common(
      program
        .command('export')
        .description(
          'a zip of your memories in plain text (the levels unlocked for this command), to take elsewhere or `import` back',
        )
        .requiredOption('--user <phone>', 'whose memories')
        .option('--format <format>', 'markdown (one entry-format file per category) or json', 'markdown')
        .option(
          '--out <file>',
          'the zip to write (default memvault-export-<phone>-<date>.zip here); never overwritten',
        ),
    ),
  ).action(async (opts: ExportOptions) => {
    if (!(EXPORT_FORMATS as readonly string[]).includes(opts.format)) {
      throw validationError(`--format must be one of ${EXPORT_FORMATS.join(', ')}.`);
    }
    if (opts.out !== undefined && !opts.out.toLowerCase().endsWith('.zip')) {
      throw validationError('--out must name a .zip file.');
    }
    await asUser(runtime, opts, async (app, principal) => {
      const { manifest, stream } = await app.exports.export(principal, opts.format as ExportFormat);
      const out =
        opts.out ?? `memvault-export-${principal.userId.replace('+', '')}-${manifest.exportedAt.slice(0, 10)}.zip`;
      const bytes = await writeNew(stream, out);
      const entries = Object.values(manifest.counts).reduce((n, c) => n + c, 0);
      if (opts.json) writeJson(runtime.stdout, { file: out, bytes, manifest });
      else {
        writeLine(
          runtime.stdout,
          `Wrote ${out}: ${entries} memories of levels ${manifest.levels.join(', ')} (${bytes} bytes, plain text — keep it safe).`,
        );
        if (manifest.locked > 0) {
          writeLine(
            runtime.stdout,
            `${manifest.locked} memories of locked levels are not in it: unlock with --password-stdin [--totp CODE].`,
          );
        }
        if (manifest.damaged > 0) {
          writeLine(runtime.stdout, `${manifest.damaged} damaged memories are not in it: run memvault doctor.`);
        }
      }
    });
  });
}
