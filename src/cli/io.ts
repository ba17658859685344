import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { validationError } from '../core/errors.js';

/** Reads stdin whole (bounded), for `--password-stdin` and piped text. */
export async function readAll(stream: Readable, limitBytes = 1_048_576): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > limitBytes) throw validationError(`Standard input is larger than ${limitBytes} bytes.`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The first line of stdin without its line ending: how `--password-stdin` reads a password. */
export async function readPassword(stream: Readable): Promise<string> {
  const text = await readAll(stream, 4096);
  const line = text.split(/\r?\n/, 1)[0] ?? '';
  if (line.length === 0) throw validationError('--password-stdin was given but standard input held no password.');
  return line;
}

/** Lines of a stream, one at a time, without holding the whole input in memory. */
export function lines(stream: Readable): AsyncIterable<string> {
  return createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
}

export function writeLine(stream: Writable, text: string): void {
  stream.write(`${text}\n`);
}

export function writeJson(stream: Writable, value: unknown): void {
  stream.write(`${JSON.stringify(value)}\n`);
}
