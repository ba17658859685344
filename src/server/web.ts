import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { PASSWORD_MIN_LENGTH } from '../core/password-rule.js';
import type { AppEnv } from './context.js';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
};

interface Asset {
  readonly body: Uint8Array;
  readonly type: string;
}

/** The package's `web/` folder, found from this module whether it runs from `src/` (tsx) or `dist/`. */
export function defaultWebRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'web', 'index.html'))) return join(dir, 'web');
    dir = dirname(dir);
  }
  throw new Error('memvault: the web app folder (web/index.html) was not found beside the package.');
}

/**
 * Loads every file of the web app into memory once. Requests are answered from this table by exact name, so
 * no request path ever reaches the file system.
 */
function loadAssets(root: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (dir: string, prefix: string) => {
    for (const name of readdirSync(dir)) {
      if (name.startsWith('.')) continue;
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full, `${prefix}${name}/`);
      else {
        const type = TYPES[extname(name).toLowerCase()];
        if (type) assets.set(`${prefix}${name}`, { body: readFileSync(full), type });
      }
    }
  };
  walk(root, '');
  return assets;
}

/**
 * The page states the server's password rule in a meta tag the web app reads for its hint and `minlength`, so
 * the one constant the policy enforces is the one the person is told.
 */
function withPasswordRule(page: Asset): Asset {
  const meta = `<meta name="memvault-password-min-length" content="${PASSWORD_MIN_LENGTH}" />`;
  const html = new TextDecoder().decode(page.body).replace('</head>', `  ${meta}\n  </head>`);
  return { body: new TextEncoder().encode(html), type: page.type };
}

/** Serves the web app: `/` is the single page; `/assets/…` its scripts, styles and icons. */
export function registerWeb(app: OpenAPIHono<AppEnv>, root = defaultWebRoot()): void {
  const assets = loadAssets(root);
  const page = assets.get('index.html');
  if (!page) throw new Error(`memvault: ${join(root, 'index.html')} is missing.`);
  const index = withPasswordRule(page);
  const send = (asset: Asset, cache: string) =>
    new Response(asset.body as Uint8Array<ArrayBuffer>, {
      headers: { 'Content-Type': asset.type, 'Cache-Control': cache, 'X-Content-Type-Options': 'nosniff' },
    });
  app.get('/', () => send(index, 'no-cache'));
  // The service worker lives at the root so its scope covers the whole app (a worker under /assets/ could not).
  const worker = assets.get('sw.js');
  if (worker) app.get('/sw.js', () => send(worker, 'no-cache'));
  app.get('/assets/*', (c) => {
    const asset = assets.get(c.req.path.slice('/'.length));
    if (!asset) return c.json({ error: { code: 'NOT_FOUND', message: 'No such asset.' } }, 404);
    return send(asset, 'no-cache');
  });
}
