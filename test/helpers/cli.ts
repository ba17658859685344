import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { createRuntime } from '../../src/app/main.js';
import { runCli } from '../../src/cli/program.js';
import { holdsSecret } from './leak.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  json<T = Record<string, unknown>>(): T;
}

/** Runs `memvault ARGS` in-process through the real runtime (config from `env`, real adapters). */
export async function memvault(
  args: readonly string[],
  options: { stdin?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  const stdin = Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]);
  const env = { MEMVAULT_LOG_LEVEL: 'silent', ...options.env };
  const code = await runCli(args, createRuntime({ stdin, stdout, stderr }, env));
  const stdoutText = Buffer.concat(out).toString('utf8');
  return {
    code,
    stdout: stdoutText,
    stderr: Buffer.concat(err).toString('utf8'),
    json<T>() {
      return JSON.parse(stdoutText) as T;
    },
  };
}

export function tempDir(prefix = 'memvault-'): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** Every file under `dir`, recursively. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...filesUnder(full));
    else out.push(full);
  }
  return out;
}

/** A fingerprint of every file's bytes under `dir`: proves a rejected command changed nothing. */
export function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(
    filesUnder(dir)
      .sort()
      .map((f) => [f.slice(dir.length), createHash('sha256').update(readFileSync(f)).digest('hex')]),
  );
}

/**
 * The first file under `dir` that holds `needle` (as UTF-8 bytes), or null. A needle of digits counts only as a
 * token of its own (`holdsSecret`): a data dir's hashes, floats and ciphertext hold a given 4-digit run by chance
 * about once in 700 runs.
 */
export function anyFileContains(dir: string, needle: string): string | null {
  const text = Buffer.from(needle, 'utf8').toString('latin1');
  for (const file of filesUnder(dir)) if (holdsSecret(readFileSync(file).toString('latin1'), text)) return file;
  return null;
}
