import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// `npm test` builds before it runs the tests, so the installed command is exercised as a person runs it.
const BIN = resolve(import.meta.dirname, '../../bin/memvault.js');

describe('the memvault binary', () => {
  it('prints help listing every command', () => {
    const result = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    for (const command of [
      'user',
      'add',
      'list',
      'show',
      'import',
      'classify',
      'search',
      'correct',
      'reindex',
      'keys',
      'audit',
      'serve',
      'mcp',
    ]) {
      expect(result.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    }
  });

  it('exits 64 with a usage message on an unknown command', () => {
    const result = spawnSync(process.execPath, [BIN, 'frobnicate'], { encoding: 'utf8' });
    expect(result.status).toBe(64);
    expect(result.stderr).toContain('unknown command');
  });
});
