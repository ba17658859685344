import { readFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { pino } from 'pino';
import { PersonalModelStore } from '../classify/personal-model.js';
import { runCli } from '../cli/program.js';
import type { CliRuntime } from '../cli/runtime.js';
import { loadConfig } from './config.js';
import { createClassifier, createMemvault } from './container.js';
import { createLogger } from './logger.js';

export const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export interface Io {
  readonly stdin: Readable & { isTTY?: boolean };
  readonly stdout: Writable & { isTTY?: boolean };
  readonly stderr: Writable & { isTTY?: boolean };
}

/** The real runtime behind the CLI: configuration from `env`, adapters from the composition root. */
export function createRuntime(io: Io, env: NodeJS.ProcessEnv): CliRuntime {
  return {
    version: VERSION,
    ...io,
    open: (options) => {
      const config = loadConfig(env, options.dataDir ? { dataDir: options.dataDir } : {});
      // One-shot commands log warnings only, to stderr, so stdout stays clean for --json.
      return createMemvault(config, { logger: createLogger('warn', pino.destination(2)) });
    },
    classifier: async (options) => {
      const config = loadConfig(env, options.dataDir ? { dataDir: options.dataDir } : {});
      // Without --user the classifier needs no data directory: nothing is created on disk.
      const personal = options.userId ? new PersonalModelStore({ dataDir: config.dataDir }) : undefined;
      const { classifier } = await createClassifier(config, personal);
      return { classify: (text, ctx) => classifier.classify(text, ctx), close: async () => personal?.flush() };
    },
    // The HTTP and MCP edges load only when asked for: one-shot commands start faster without them.
    serve: async (options) => (await import('./serve.js')).runServer(loadConfig(env, options)),
    mcpStdio: async (options) =>
      (await import('./serve.js')).runMcpStdio(
        loadConfig(env, options.dataDir ? { dataDir: options.dataDir } : {}),
        options.userId,
        io,
      ),
  };
}

/** The process entry point behind `bin/memvault.js`. Returns the exit code. */
export function main(argv: readonly string[]): Promise<number> {
  return runCli(argv.slice(2), createRuntime(process, process.env));
}
