import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const LOOP = fileURLToPath(new URL('../../helpers/x25519-loop.ts', import.meta.url));
/**
 * Far beyond what the work takes, so that reaching it means the process hung, not that it was slow: the loop needs
 * about 25 s of CPU, and on two busy cores it ran 60 s of wall time (90 s was too close).
 */
const HUNG_AFTER_MS = 240_000;

/**
 * Node 20 deadlocks when a key made by `generateKeyPairSync` is exported as JWK while a garbage collection destroys
 * the finished key-generation job (both take the key's mutex). Every seal made its ephemeral key that way, and a
 * key rotation's re-seal of a few thousand entries hung about one stress run in three, holding the person's vault
 * lock; this loop hung three runs of three. A small young generation makes collections frequent, as a busy
 * server's are.
 */
describe('X25519 key making', () => {
  it('never hangs across 100,000 key pairs and 20,000 seals', { timeout: HUNG_AFTER_MS + 30_000 }, async () => {
    const outcome = await new Promise<{ stdout: string; killed: boolean; error: Error | null }>((resolve) => {
      execFile(
        process.execPath,
        ['--max-semi-space-size=1', '--import', 'tsx', LOOP, '100000'],
        { timeout: HUNG_AFTER_MS, killSignal: 'SIGKILL' },
        (error, stdout) => resolve({ stdout, killed: error?.killed === true, error }),
      );
    });
    expect(outcome.killed, `the key loop hung for ${HUNG_AFTER_MS} ms: a deadlock in node:crypto`).toBe(false);
    expect(outcome.error).toBeNull();
    expect(outcome.stdout.trim()).toBe('done');
  });
});
