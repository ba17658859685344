import { readFileSync } from 'node:fs';
import { runCli } from '../cli/program.js';
import type { CliRuntime } from '../cli/runtime.js';
import { loadConfig } from './config.js';
import { createClassifier, createMemvault } from './container.js';
import { runMcpStdio, runServer } from './serve.js';
import { PersonalModelStore } from '../classify/personal-model.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

/** The process entry point behind `bin/memvault.js`: wires the real runtime into the CLI. */
export async function main(argv: readonly string[]): Promise<number> {
  const runtime: CliRuntime = {
    version: VERSION,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    open: async (options) => {
      const config = loadConfig(process.env, options.dataDir ? { dataDir: options.dataDir } : {});
      // One-shot commands log only warnings, to stderr, so stdout stays clean for --json.
      const { createLogger } = await import('./logger.js');
      const { destination } = await import('pino');
      return createMemvault(config, { logger: createLogger('warn', destination(2)) });
    },
    classifier: async (options) => {
      const config = loadConfig(process.env, options.dataDir ? { dataDir: options.dataDir } : {});
      // Without --user the classifier needs no data directory: nothing is created on disk.
      const personal = options.userId ? new PersonalModelStore({ dataDir: config.dataDir }) : undefined;
      const classifier = createClassifier(config, personal);
      return { classify: (text, ctx) => classifier.classify(text, ctx), close: async () => {} };
    },
    serve: async (options) => {
      const config = loadConfig(process.env, options);
      await runServer(config);
    },
    mcpStdio: async (options) => {
      const config = loadConfig(process.env, options.dataDir ? { dataDir: options.dataDir } : {});
      await runMcpStdio(config, options.userId);
    },
  };
  return runCli(argv.slice(2), runtime);
}
