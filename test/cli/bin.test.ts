import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createRuntime } from '../../src/app/main.js';
import { runCli } from '../../src/cli/program.js';

// `npm test` builds before it runs the tests, so the installed command is exercised as a person runs it.
const BIN = resolve(import.meta.dirname, '../../bin/memvault.js');
const VERSION = (
  JSON.parse(readFileSync(resolve(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string }
).version;

describe('the memvault binary', () => {
  it('ends quietly when the reader closes the pipe early (`| head`)', async () => {
    // Many lines to classify, each answered with a line of JSON; the reader takes the first chunk and goes away.
    const input = Array.from({ length: 3000 }, (_, i) => `Walked the dog by the river, day ${i}`).join('\n');
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [BIN, 'classify', '--json'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.stdout.once('data', () => child.stdout.destroy());
    child.stdin.end(input);
    const code = await new Promise<number | null>((done) => child.on('close', (c) => done(c)));
    expect(stderr).not.toMatch(/EPIPE|Error/);
    expect(code).toBe(0);
  }, 60_000);

  it('prints help listing every command', () => {
    const result = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    for (const command of [
      'user',
      'add',
      'list',
      'show',
      'import',
      'classify',
      'search',
      'correct',
      'reindex',
      'keys',
      'audit',
      'serve',
      'mcp',
    ]) {
      expect(result.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    }
  });

  it.each([['--version'], ['-V']])('%s prints the package version, not Node’s', (flag) => {
    const result = spawnSync(process.execPath, [BIN, flag], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe(`${VERSION}\n`);
  });

  it('the full CLI prints the package version too, with the process as its io', async () => {
    // `process` has a `version` of its own (Node's): the runtime must not take it for memvault's.
    const out: Buffer[] = [];
    const stdout = new PassThrough();
    stdout.on('data', (chunk: Buffer) => out.push(chunk));
    const io = { stdin: Readable.from([]), stdout, stderr: new PassThrough(), version: process.version };
    const code = await runCli(['--version'], createRuntime(io, {}));
    expect(code).toBe(0);
    expect(Buffer.concat(out).toString('utf8')).toBe(`${VERSION}\n`);
  });

  it('runs a command through the bundle (classify --json)', () => {
    // bin/memvault.js falls back to dist/app when there is no bundle: `npm run build` must have made it.
    expect(existsSync(resolve(import.meta.dirname, '../../dist/bundle/main.js'))).toBe(true);
    const result = spawnSync(process.execPath, [BIN, 'classify', '--json', 'Dentist on Tuesday at 3pm'], {
      encoding: 'utf8',
      env: { ...process.env, MEMVAULT_LOG_LEVEL: 'silent' },
    });
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ category: expect.any(String), level: expect.any(Number) });
  });

  it('exits 64 with a usage message on an unknown command', () => {
    const result = spawnSync(process.execPath, [BIN, 'frobnicate'], { encoding: 'utf8' });
    expect(result.status).toBe(64);
    expect(result.stderr).toContain('unknown command');
  });
});
