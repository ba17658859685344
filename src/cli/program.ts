import { Command, CommanderError } from 'commander';
import { type ErrorCode, MemvaultError } from '../core/errors.js';
import { publicDetails, publicMessage } from '../core/public-message.js';
import { registerAccount } from './commands/account.js';
import { registerBackup } from './commands/backup.js';
import { registerChannels } from './commands/channels.js';
import { registerClassify } from './commands/classify.js';
import { registerExport } from './commands/export.js';
import { registerImport } from './commands/import.js';
import { registerInsights, registerSettings } from './commands/insights.js';
import { registerMemories } from './commands/memories.js';
import { registerMigrate } from './commands/migrate.js';
import { registerSearch } from './commands/search.js';
import { registerSecurity } from './commands/security.js';
import { registerServe } from './commands/serve.js';
import { registerToken } from './commands/token.js';
import { registerTotp } from './commands/totp.js';
import { registerUser } from './commands/user.js';
import { writeJson, writeLine } from './io.js';
import type { CliRuntime } from './runtime.js';

/** Exit codes by error code (sysexits.h where one fits), documented in docs/cli.md. */
export const EXIT_CODES: Readonly<Record<ErrorCode | 'USAGE' | 'INTERNAL', number>> = {
  USAGE: 64,
  VALIDATION_ERROR: 65,
  NOT_FOUND: 66,
  NETWORK_ERROR: 69,
  INTERNAL: 70,
  CLASSIFICATION_ERROR: 70,
  CONFLICT: 73,
  STORAGE_ERROR: 74,
  DATA_CORRUPTION: 76,
  SECURITY_ERROR: 77,
  CONFIG_ERROR: 78,
};

export function buildProgram(runtime: CliRuntime): Command {
  const program = new Command('memvault')
    .description('memvault — a self-hosted personal memory service: classify, seal, store and recall your life.')
    .version(runtime.version)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => runtime.stdout.write(s),
      writeErr: (s) => runtime.stderr.write(s),
    });
  registerUser(program, runtime);
  registerMemories(program, runtime);
  registerImport(program, runtime);
  registerClassify(program, runtime);
  registerSearch(program, runtime);
  registerInsights(program, runtime);
  registerSettings(program, runtime);
  registerSecurity(program, runtime);
  registerTotp(program, runtime);
  registerToken(program, runtime);
  registerBackup(program, runtime);
  registerExport(program, runtime);
  registerAccount(program, runtime);
  registerChannels(program, runtime);
  registerServe(program, runtime);
  registerMigrate(program, runtime);
  for (const command of program.commands) command.exitOverride();
  return program;
}

/**
 * Runs one command line and returns the process exit code. Errors become one clear line on stderr
 * (`memvault: CODE: message`), or `{"error":{…}}` with --json; never a stack trace for an expected failure.
 */
export async function runCli(argv: readonly string[], runtime: CliRuntime): Promise<number> {
  const program = buildProgram(runtime);
  const json = argv.includes('--json');
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through here with exit code 0; usage errors were already printed.
      return error.exitCode === 0 ? 0 : EXIT_CODES.USAGE;
    }
    if (error instanceof MemvaultError) {
      // No absolute path or pid even here: CLI output is pasted into issues and chats (issue 18).
      const message = publicMessage(error.message);
      if (json) {
        const { details, ...rest } = error.toJSON();
        writeJson(runtime.stderr, {
          error: { ...rest, message, ...(details ? { details: publicDetails(details) } : {}) },
        });
      } else
        writeLine(runtime.stderr, `memvault: ${error.code}${error.reason ? ` (${error.reason})` : ''}: ${message}`);
      return EXIT_CODES[error.code];
    }
    const message = publicMessage(error instanceof Error ? error.message : String(error));
    if (json) writeJson(runtime.stderr, { error: { code: 'INTERNAL', message } });
    else writeLine(runtime.stderr, `memvault: internal error: ${message}`);
    return EXIT_CODES.INTERNAL;
  }
}
