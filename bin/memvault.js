#!/usr/bin/env node
// The `memvault` command: runs the bundled CLI (dist/bundle, built by `npm run build`, which `npm ci` runs via
// `prepare`; see scripts/build-cli.mjs).
import { readFileSync } from 'node:fs';

/**
 * The bundle; the unbundled build (tsc's dist/app) when a dist/ from before the bundle is all there is, so an
 * older build still runs (slower) instead of failing. `npm run build` makes both.
 */
async function loadCli() {
  try {
    return await import('../dist/bundle/main.js');
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist/bundle/main.js')) throw error;
    return import('../dist/app/main.js');
  }
}

// A reader that stops early (`memvault list --json | head`) closes the pipe: that ends the output, it is not a
// failure, and it must not print a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  // Answered before the CLI loads: a version check (scripts, shell prompts) should cost no more than Node itself.
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`${version}\n`);
} else {
  const { main } = await loadCli();
  main(process.argv).then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      console.error(error);
      process.exitCode = 70;
    },
  );
}
