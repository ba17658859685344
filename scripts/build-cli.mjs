#!/usr/bin/env node
// Bundles the CLI into dist/bundle/ (run by `npm run build` after tsc; bin/memvault.js loads it).
//
// Why: a cold `memvault list` resolved, read and linked ~300 ES modules (100 of them zod's) before doing any
// work. One bundle with code splitting keeps every command's lazy imports lazy (each becomes its own chunk)
// while the modules a command needs load as a few files. See bench/results/cli.md.
//
// What stays external (loaded from node_modules at run time, as before): native addons (better-sqlite3,
// @node-rs/argon2), packages that find files beside themselves (pino's worker transports, the wink model), and
// the large provider and server libraries that only `serve`, channels or backups load, lazily. The bundle sits
// two folders below the package root, like dist/<area>/, so the paths src/ resolves from import.meta.url
// (assets/, web/, package.json) resolve the same from it.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** Pure-JavaScript dependencies on the path of every command: bundled (with what they depend on). */
const BUNDLED = new Set([
  'commander',
  'zod',
  'ulidx',
  'tar-stream',
  'yauzl',
  'yazl',
  'chrono-node',
  'fastest-levenshtein',
]);

// Chunk names carry content hashes: drop the previous build's so stale chunks never pile up.
rmSync(join(root, 'dist', 'bundle'), { recursive: true, force: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: { main: 'src/app/main.ts' },
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: Object.keys(pkg.dependencies).filter((name) => !BUNDLED.has(name)),
  // Bundled CommonJS (commander) calls require() for Node's own modules: give the ES module output one.
  banner: {
    js: "import { createRequire as __mvCreateRequire } from 'node:module';\nconst require = __mvCreateRequire(import.meta.url);",
  },
  chunkNames: 'chunk-[hash]',
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
  metafile: true,
});

// What went into which chunk, for `npx esbuild --analyze`-style inspection: MEMVAULT_BUNDLE_META=file.json.
if (process.env.MEMVAULT_BUNDLE_META) writeFileSync(process.env.MEMVAULT_BUNDLE_META, JSON.stringify(result.metafile));
const outputs = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith('.js'));
const bytes = outputs.reduce((n, [, o]) => n + o.bytes, 0);
console.log(`dist/bundle: ${outputs.length} files, ${(bytes / 1024).toFixed(0)} KiB`);
