import type { Readable, Writable } from 'node:stream';
import type { MemoryService, Principal } from '../services/types.js';
import { runStdio } from './mcp-server.js';

/**
 * `memvault mcp`: serves one principal's memories over stdio and resolves when the client closes its end
 * (stdin ends). stdout carries only the protocol; the caller sends logs to stderr.
 */
export async function runMcpOverStdio(options: {
  readonly memory: MemoryService;
  /** Who the tools act for: fixed, or asked on every call (a token, so revoking it stops it at once). */
  readonly principal: Principal | (() => Promise<Principal>);
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly version?: string;
}): Promise<void> {
  const { stdin, principal } = options;
  const ended = new Promise<void>((resolve) => {
    stdin.once('end', resolve);
    stdin.once('close', resolve);
  });
  const running = await runStdio(
    {
      memory: options.memory,
      principalFor: typeof principal === 'function' ? principal : async () => principal,
      ...(options.version ? { version: options.version } : {}),
    },
    { stdin, stdout: options.stdout },
  );
  await ended;
  await running.close();
}
