import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { memvault, tempDir } from '../helpers/cli.js';

const BIN = resolve(import.meta.dirname, '../../bin/memvault.js');
const USER = '+14155550134';

const textOf = (result: unknown) =>
  (result as CallToolResult).content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

describe('memvault mcp (stdio), driven by the SDK’s own client', () => {
  let dir: { path: string; cleanup(): void } | undefined;
  let client: Client | undefined;
  afterEach(async () => {
    await client?.close();
    dir?.cleanup();
  });

  it('remembers and recalls through the real binary; sealed levels stay out of reach', async () => {
    dir = tempDir();
    const D = join(dir.path, 'data');
    expect((await memvault(['user', 'create', '--phone', USER, '--data-dir', D])).code).toBe(0);
    expect((await memvault(['add', '--user', USER, '--data-dir', D, 'My gym locker code is 5521'])).code).toBe(0);

    const env: Record<string, string> = { PATH: process.env.PATH ?? '', MEMVAULT_LOG_LEVEL: 'silent' };
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp', '--user', USER, '--data-dir', D],
      env,
      stderr: 'pipe',
    });
    client = new Client({ name: 'memvault-test', version: '1' });
    await client.connect(transport);

    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(
      expect.arrayContaining(['remember', 'search_memories', 'get_memory', 'timeline', 'digest', 'recall']),
    );
    expect(client.getInstructions()).toContain('CONFIDENTIAL');
    const guide = await client.readResource({ uri: 'memvault://guide' });
    expect((guide.contents[0] as { text: string }).text).toContain('# memvault for assistants');
    expect((await client.listPrompts()).prompts.map((p) => p.name).sort()).toEqual([
      'recap_my_week',
      'what_do_i_know_about',
    ]);
    const stored = await client.callTool({
      name: 'remember',
      arguments: { text: 'Went kayaking with Odette at the lake' },
    });
    expect(stored.isError ?? false).toBe(false);
    const recalled = textOf(await client.callTool({ name: 'search_memories', arguments: { query: 'kayaking' } }));
    expect(recalled).toContain('Went kayaking with Odette at the lake');
    const locker = textOf(await client.callTool({ name: 'search_memories', arguments: { query: 'gym locker code' } }));
    expect(locker).not.toContain('5521');
    expect(locker).toContain('level 3 (Secret) holds 1 memory');

    // A memory stored at a level this caller cannot read: write-only, and the refused read is audited.
    const sealed = await client.callTool({
      name: 'remember',
      arguments: { text: 'My therapist moved our session to Thursday', category: 'CONFIDENTIAL' },
    });
    expect(sealed.structuredContent).toMatchObject({ level: 2, readable: false });
    const id = (sealed.structuredContent as { id: string }).id;
    expect((await client.callTool({ name: 'get_memory', arguments: { id } })).isError).toBe(true);
    const audit = await memvault(['audit', 'list', '--user', USER, '--data-dir', D, '--json']);
    expect(audit.json<{ records: unknown[] }>().records).toContainEqual(
      expect.objectContaining({ action: 'memory_read', result: 'denied', level: 2, client: 'mcp:stdio' }),
    );
  });
});
