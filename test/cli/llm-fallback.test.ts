import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeOpenAiServer, startFakeOpenAi } from '../classify/fake-openai-server.js';
import { memvault, tempDir } from '../helpers/cli.js';

/** `memvault add` with a configured LLM that lies or is unreachable: the fallback shows in --json and the entry. */

const USER = '+14155550134';
let llm: FakeOpenAiServer;
let dir: { path: string; cleanup(): void };
let D: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  llm = await startFakeOpenAi();
});
afterAll(() => llm.close());
beforeEach(async () => {
  dir = tempDir();
  D = join(dir.path, 'data');
  env = { MEMVAULT_LLM_BASE_URL: llm.baseURL, MEMVAULT_LLM_TIMEOUT_MS: '10000' };
  expect((await memvault(['user', 'create', '--phone', USER, '--data-dir', D])).code).toBe(0);
});
afterEach(() => dir.cleanup());

describe('memvault add with a failing LLM', () => {
  it('reports bad_output in --json and in the stored analysis', async () => {
    const lie = { kind: 'answer', content: 'I think this is GENERAL.' } as const;
    llm.enqueue(lie);
    const added = await memvault(['add', '--user', USER, '--data-dir', D, '--json', 'Went to the aquarium'], { env });
    expect(added.code, added.stderr).toBe(0);
    const out = added.json<{ entry: { id: string; analysis: string }; source: string; fallbackReason?: string }>();
    expect(out).toMatchObject({ source: 'local', fallbackReason: 'bad_output' });
    const shown = await memvault(['show', '--user', USER, '--data-dir', D, '--json', out.entry.id]);
    expect(shown.json<{ entry: { analysis: string } }>().entry.analysis).toContain('LLM fallback: bad_output');
  });

  it('says so in one line without --json when the endpoint is unreachable', async () => {
    const closed = await startFakeOpenAi();
    await closed.close();
    const added = await memvault(['add', '--user', USER, '--data-dir', D, 'Went to the aquarium'], {
      env: { ...env, MEMVAULT_LLM_BASE_URL: closed.baseURL },
    });
    expect(added.code, added.stderr).toBe(0);
    const notes = added.stderr.split('\n').filter((l) => l.includes('LLM'));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toContain('network');
  });
});
