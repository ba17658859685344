import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime } from '../../src/app/main.js';
import { runCli } from '../../src/cli/program.js';
import { memvault, tempDir } from '../helpers/cli.js';

const USER = '+14155550134';
const PASSWORD = 'correct horse battery staple';

const textOf = (result: unknown) =>
  (result as CallToolResult).content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

/**
 * `memvault mcp` run in-process through the real runtime, with the SDK's client on the other end of its stdin
 * and stdout (newline-delimited JSON-RPC both ways, so the server-side stdio transport framing serves the client).
 */
async function mcpOverStdio(args: string[], env: NodeJS.ProcessEnv) {
  const toServer = new PassThrough();
  const fromServer = new PassThrough();
  const stderr = new PassThrough();
  let errors = '';
  stderr.on('data', (c: Buffer) => {
    errors += c.toString();
  });
  const exit = runCli(
    ['mcp', ...args],
    createRuntime({ stdin: toServer, stdout: fromServer, stderr }, { MEMVAULT_LOG_LEVEL: 'silent', ...env }),
  );
  const client = new Client({ name: 'token-test', version: '1' });
  const connected = client.connect(new StdioServerTransport(fromServer, toServer));
  // A refused token ends the command before the handshake: report that instead of hanging.
  const early = exit.then((code) => {
    throw new Error(`mcp exited with ${code}: ${errors}`);
  });
  await Promise.race([connected, early]);
  early.catch(() => undefined);
  return {
    client,
    async close() {
      toServer.end();
      await client.close();
      return exit;
    },
  };
}

describe('memvault token (personal access tokens) and memvault mcp with a token', () => {
  let dir: { path: string; cleanup(): void } | undefined;
  afterEach(() => dir?.cleanup());

  it('creates a level-2 token with the password, lists it, reaches level 2 over stdio MCP, and stops when revoked', async () => {
    dir = tempDir();
    const D = join(dir.path, 'data');
    expect(
      (await memvault(['user', 'create', '--phone', USER, '--data-dir', D, '--password-stdin'], { stdin: PASSWORD }))
        .code,
    ).toBe(0);
    const add = await memvault([
      'add',
      '--user',
      USER,
      '--data-dir',
      D,
      '--category',
      'CONFIDENTIAL',
      'My therapist appointment moved to Thursday',
    ]);
    expect(add.code).toBe(0);

    // Level 2 without the password is refused with what to do; levels 3–4 never.
    const noPassword = await memvault([
      'token',
      'create',
      '--user',
      USER,
      '--data-dir',
      D,
      '--name',
      'x',
      '--levels',
      '1,2',
    ]);
    expect(noPassword.code).toBe(77);
    expect(noPassword.stderr).toContain('--password-stdin');
    const three = await memvault([
      'token',
      'create',
      '--user',
      USER,
      '--data-dir',
      D,
      '--name',
      'x',
      '--levels',
      '1,3',
    ]);
    expect(three.code).toBe(65);
    const wrong = await memvault(
      ['token', 'create', '--user', USER, '--data-dir', D, '--name', 'x', '--levels', '1,2', '--password-stdin'],
      { stdin: 'wrong password entirely' },
    );
    expect(wrong.code).toBe(77);

    const created = await memvault(
      [
        'token',
        'create',
        '--user',
        USER,
        '--data-dir',
        D,
        '--name',
        'Claude Desktop',
        '--levels',
        '1,2',
        '--expires',
        '90d',
        '--password-stdin',
        '--json',
      ],
      { stdin: PASSWORD },
    );
    expect(created.code).toBe(0);
    const { token, info } = created.json<{ token: string; info: { id: string; levels: number[] } }>();
    expect(token).toMatch(/^mvp_[A-Za-z0-9_-]{43}$/);
    expect(info.levels).toEqual([1, 2]);
    const level1 = (
      await memvault(['token', 'create', '--user', USER, '--data-dir', D, '--name', 'Script', '--json'])
    ).json<{ token: string }>().token;

    const listed = await memvault(['token', 'list', '--user', USER, '--data-dir', D]);
    expect(listed.stdout).toContain('"Claude Desktop"  levels 1,2');
    expect(listed.stdout).toContain('"Script"  levels 1 ');
    expect(listed.stdout).not.toContain(token);

    // The level-2 token reads the confidential memory; the level-1 token and the operator do not.
    const withToken = await mcpOverStdio(['--data-dir', D], { MEMVAULT_TOKEN: token });
    const found = textOf(await withToken.client.callTool({ name: 'recall', arguments: { query: 'therapist' } }));
    expect(found).toContain('therapist appointment');
    const stored = await withToken.client.callTool({
      name: 'remember',
      arguments: { text: 'Lunch with Odette', category: 'GENERAL' },
    });
    expect(stored.isError ?? false).toBe(false);

    const weak = await mcpOverStdio(['--data-dir', D, '--token', level1], {});
    expect(textOf(await weak.client.callTool({ name: 'recall', arguments: { query: 'therapist' } }))).not.toContain(
      'therapist appointment',
    );
    expect(await weak.close()).toBe(0);

    // Revoking cuts the running assistant off at its next call.
    expect((await memvault(['token', 'revoke', '--user', USER, '--data-dir', D, info.id])).code).toBe(0);
    const after = await withToken.client.callTool({ name: 'recall', arguments: { query: 'therapist' } });
    expect(after.isError).toBe(true);
    expect(textOf(after)).not.toContain('therapist appointment');
    expect(await withToken.close()).toBe(0);

    // A revoked token cannot start the server at all, and says why.
    await expect(mcpOverStdio(['--data-dir', D], { MEMVAULT_TOKEN: token })).rejects.toThrow(/exited with 77/);
    // Neither a user nor a token: a usage error naming both.
    await expect(mcpOverStdio(['--data-dir', D], {})).rejects.toThrow(/MEMVAULT_TOKEN/);
  });
});
