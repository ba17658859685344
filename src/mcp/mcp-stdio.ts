import type { Readable, Writable } from 'node:stream';
import type { InsightsService } from '../services/insights-service.js';
import type { MemoryService, Principal } from '../services/types.js';
import { runStdio } from './mcp-server.js';

/**
 * `memvault mcp`: serves one principal's memories over stdio and resolves when the client closes its end
 * (stdin ends). stdout carries only the protocol; the caller sends logs to stderr.
 */
export async function runMcpOverStdio(options: {
  readonly memory: MemoryService;
  readonly principal: Principal;
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly version?: string;
  /** The `digest` tool is offered when given. */
  readonly insights?: InsightsService;
  readonly publicUrl?: string;
}): Promise<void> {
  const { stdin } = options;
  const ended = new Promise<void>((resolve) => {
    stdin.once('end', resolve);
    stdin.once('close', resolve);
  });
  const running = await runStdio(
    {
      memory: options.memory,
      principalFor: async () => options.principal,
      ...(options.version ? { version: options.version } : {}),
      ...(options.insights ? { insights: options.insights } : {}),
      ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
    },
    { stdin, stdout: options.stdout },
  );
  await ended;
  await running.close();
}
