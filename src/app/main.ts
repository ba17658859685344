import { readFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { runCli } from '../cli/program.js';
import type { CliRuntime } from '../cli/runtime.js';
import { FileDocuments } from '../security/file-documents.js';

export const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export interface Io {
  readonly stdin: Readable & { isTTY?: boolean };
  readonly stdout: Writable & { isTTY?: boolean };
  readonly stderr: Writable & { isTTY?: boolean };
}

/**
 * The real runtime behind the CLI: configuration from `env`, adapters from the composition root. Every adapter
 * loads when a command first needs it, so `--version`, `--help` and usage errors never pay for the language
 * models, the crypto stack or the search index.
 */
export function createRuntime(io: Io, env: NodeJS.ProcessEnv): CliRuntime {
  return {
    ...io,
    // After the spread: `process` (the real io) has a `version` of its own, Node's.
    version: VERSION,
    open: async (options) => {
      const { loadConfig } = await import('./config.js');
      const config = loadConfig(env, options.dataDir ? { dataDir: options.dataDir } : {});
      const [{ createMemvault }, { createLogger }, { pino }] = await Promise.all([
        import('./container.js'),
        import('./logger.js'),
        import('pino'),
      ]);
      // One-shot commands log warnings only, to stderr, so stdout stays clean for --json.
      return createMemvault(config, { logger: createLogger('warn', pino.destination(2)) });
    },
    classifier: async (options) => {
      const { loadConfig } = await import('./config.js');
      const config = loadConfig(env, options.dataDir ? { dataDir: options.dataDir } : {});
      const [{ createClassifier }, { PersonalModelStore }] = await Promise.all([
        import('./container.js'),
        import('../classify/personal-model.js'),
      ]);
      // Without --user the classifier needs no data directory: nothing is created on disk.
      const personal = options.userId
        ? new PersonalModelStore({ documents: new FileDocuments(config.dataDir) })
        : undefined;
      const { classifier } = await createClassifier(config, personal);
      return { classify: (text, ctx) => classifier.classify(text, ctx), close: async () => personal?.flush() };
    },
    // The HTTP and MCP edges load only when asked for: one-shot commands start faster without them.
    serve: async (options) => {
      const [{ loadConfig }, { runServer }] = await Promise.all([import('./config.js'), import('./serve.js')]);
      return runServer(loadConfig(env, options));
    },
    migrateStore: async (options) => {
      const { loadConfig } = await import('./config.js');
      const config = loadConfig(env, options.dataDir ? { dataDir: options.dataDir } : {});
      if (!config.database) {
        const { validationError } = await import('../core/errors.js');
        throw validationError('Set MEMVAULT_DATABASE_URL to the database to migrate to or from.', {
          variable: 'MEMVAULT_DATABASE_URL',
        });
      }
      const [{ PgDatabase }, { migrateStore }] = await Promise.all([
        import('../pg/database.js'),
        import('./store-migration.js'),
      ]);
      const db = await PgDatabase.open({ ...config.database, applicationName: 'memvault:migrate' });
      try {
        return await migrateStore(options.to === 'postgres' ? 'to-postgres' : 'to-files', {
          dataDir: config.dataDir,
          db,
        });
      } finally {
        await db.close();
      }
    },
    mcpStdio: async (options) => {
      const [{ loadConfig }, { runMcpStdio }] = await Promise.all([import('./config.js'), import('./serve.js')]);
      const token = options.token ?? (env.MEMVAULT_TOKEN || undefined);
      return runMcpStdio(
        loadConfig(env, options.dataDir ? { dataDir: options.dataDir } : {}),
        { ...(options.userId ? { userId: options.userId } : {}), ...(token ? { token } : {}) },
        io,
      );
    },
  };
}

/** The process entry point behind `bin/memvault.js`. Returns the exit code. */
export function main(argv: readonly string[]): Promise<number> {
  return runCli(argv.slice(2), createRuntime(process, process.env));
}
