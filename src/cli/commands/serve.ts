import type { Command } from 'commander';
import { normalizeUser } from '../user-id.js';
import { parseCount } from '../options.js';
import type { CliRuntime } from '../runtime.js';

export function registerServe(program: Command, runtime: CliRuntime): void {
  program
    .command('serve')
    .description('run the HTTP API, the web app and the MCP endpoint (what `npm start` runs)')
    .option('--data-dir <dir>', 'data directory (default: $MEMVAULT_DATA_DIR or ./data)')
    .option('--host <host>', 'interface to listen on (default: $MEMVAULT_HOST or 127.0.0.1)')
    .option('--port <port>', 'port (default: $MEMVAULT_PORT or 8787)')
    .option(
      '--workers <n>',
      'server processes sharing the port and the data dir (default: $MEMVAULT_WORKERS or the number of cores); ' +
        'SIGHUP restarts them one by one, SIGTERM drains them',
    )
    .action(async (opts: { dataDir?: string; host?: string; port?: string; workers?: string }) => {
      await runtime.serve({
        ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
        ...(opts.host ? { host: opts.host } : {}),
        ...(opts.port ? { port: parseCount(opts.port, '--port', 65_535) } : {}),
        ...(opts.workers ? { workers: Math.max(1, parseCount(opts.workers, '--workers', 256)) } : {}),
      });
    });

  program
    .command('mcp')
    .description(
      'serve one person’s memories to an AI assistant over MCP on stdio: level 1 as the local operator, or what a ' +
        'personal access token reads (levels 1–2) with $MEMVAULT_TOKEN or --token',
    )
    .option('--user <phone>', 'whose memories (not needed with a token)')
    .option('--token <token>', 'a personal access token (prefer $MEMVAULT_TOKEN: arguments show in `ps`)')
    .option('--data-dir <dir>', 'data directory (default: $MEMVAULT_DATA_DIR or ./data)')
    .action(async (opts: { user?: string; token?: string; dataDir?: string }) => {
      await runtime.mcpStdio({
        ...(opts.user !== undefined ? { userId: await normalizeUser(opts.user) } : {}),
        ...(opts.token !== undefined ? { token: opts.token } : {}),
        ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
      });
    });
}
