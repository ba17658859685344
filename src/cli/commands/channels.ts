import type { Command } from 'commander';
import { writeJson, writeLine } from '../io.js';
import { common } from '../options.js';
import { withApp } from '../principal.js';
import type { CliRuntime } from '../runtime.js';

interface StatusOptions {
  dataDir?: string;
  json?: boolean;
}

export function registerChannels(program: Command, runtime: CliRuntime): void {
  const channels = program.command('channels').description('messenger and e-mail channels (docs/channels.md)');
  common(
    channels
      .command('status')
      .description('which channels are configured, and whether each provider answers right now (no secrets shown)'),
  ).action(async (opts: StatusOptions) => {
    await withApp(runtime, opts, async (app) => {
      const status = await app.channels.status();
      if (opts.json) {
        writeJson(runtime.stdout, status);
        return;
      }
      for (const [kind, health] of Object.entries(status)) {
        const state = !health.configured ? 'off' : health.reachable ? 'ok' : 'UNREACHABLE';
        writeLine(runtime.stdout, `${kind.padEnd(9)} ${state.padEnd(12)} ${health.detail}`);
      }
    });
  });
}
