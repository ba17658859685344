import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layers of STYLE.md, in one direction:
 *   core ← ports ← infra ← adapters (vault, security, classify, search, insights, …) ← services
 *        ← edges (cli, server, mcp, channels) ← app (the one composition root).
 * Each layer lists what it may import; anything else is a violation.
 */
const ADAPTERS = ['vault', 'security', 'classify', 'search', 'insights', 'backup', 'onboarding', 'notify'];
const EDGES = ['cli', 'server', 'mcp', 'channels'];
const ALLOWED: Record<string, readonly string[]> = {
  core: ['core'],
  ports: ['core', 'ports'],
  infra: ['core', 'ports', 'infra'],
  ...Object.fromEntries(ADAPTERS.map((a) => [a, ['core', 'ports', 'infra', a]])),
  // The PostgreSQL adapters store the file adapters' very formats (entry units, audit lines, sealed insights),
  // so they reuse those adapters' codecs rather than copy them; nothing imports pg but the composition root.
  pg: ['core', 'ports', 'infra', 'pg', 'vault', 'security', 'insights'],
  services: ['core', 'ports', 'infra', 'services'],
  ...Object.fromEntries(EDGES.map((e) => [e, ['core', 'ports', 'infra', 'services', e]])),
  app: ['*'],
};

const SRC = resolve(import.meta.dirname, '../../src');

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) yield* walk(full);
    else if (full.endsWith('.ts')) yield full;
  }
}

const IMPORT = /(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

function violations(srcRoot: string): string[] {
  const found: string[] = [];
  for (const file of walk(srcRoot)) {
    const layer = relative(srcRoot, file).split(sep)[0] ?? '';
    const allowed = ALLOWED[layer];
    if (!allowed) {
      found.push(`${relative(srcRoot, file)}: folder "${layer}" is not a known layer`);
      continue;
    }
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(IMPORT)) {
      const spec = match[1] ?? match[2];
      if (!spec) continue;
      const target = relative(srcRoot, resolve(dirname(file), spec)).split(sep)[0] ?? '';
      if (allowed.includes('*') || allowed.includes(target)) continue;
      // Tests beside code may use adapters of other layers to build fixtures, never production code.
      if (file.endsWith('.test.ts')) continue;
      found.push(`${relative(srcRoot, file)} imports ${spec} (layer "${target}"), which "${layer}" may not use`);
    }
  }
  return found;
}

describe('architecture', () => {
  it('imports point only toward the core', () => {
    expect(violations(SRC)).toEqual([]);
  });

  it('the rule itself catches a wrong-way import', async () => {
    const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const root = mkdtempSync(join(tmpdir(), 'arch-'));
    try {
      mkdirSync(join(root, 'core'));
      mkdirSync(join(root, 'vault'));
      writeFileSync(join(root, 'vault', 'a.ts'), 'export const a = 1;\n');
      writeFileSync(join(root, 'core', 'b.ts'), "import { a } from '../vault/a.js';\nexport const b = a;\n");
      expect(violations(root)).toEqual(['core/b.ts imports ../vault/a.js (layer "vault"), which "core" may not use']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
