import { appendFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { UserId } from '../../src/core/entry.js';
import { FsImportLedger } from '../../src/vault/import-ledger.js';

const ADA = '+14155550134' as UserId;
let dataDir: string;
let ledger: FsImportLedger;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'memvault-ledger-'));
  await mkdir(join(dataDir, 'users', ADA), { recursive: true });
  ledger = new FsImportLedger({ dataDir });
});
afterEach(() => rm(dataDir, { recursive: true, force: true }));

describe('import ledger', () => {
  it('remembers ids across instances, keeps only digests, and survives a torn last line', async () => {
    expect(await ledger.known(ADA, ['chatgpt:a'])).toEqual(new Set());
    await ledger.record(ADA, 'chatgpt:a');
    await ledger.record(ADA, 'claude:b');
    // A crash mid-append leaves a fragment; the next record still starts on its own line.
    await appendFile(ledger.path(ADA), '3f9a');
    await ledger.record(ADA, 'claude:c');
    const fresh = new FsImportLedger({ dataDir });
    expect(await fresh.known(ADA, ['chatgpt:a', 'claude:b', 'claude:c', 'claude:d'])).toEqual(
      new Set(['chatgpt:a', 'claude:b', 'claude:c']),
    );
    const text = await readFile(ledger.path(ADA), 'utf8');
    expect(text).not.toContain('chatgpt:a');
    // Digests are per person: the same id of another person is not known.
    await mkdir(join(dataDir, 'users', '+447700900123'), { recursive: true });
    expect(await fresh.known('+447700900123' as UserId, ['chatgpt:a'])).toEqual(new Set());
  });

  it('refuses a user id that is not E.164 before it reaches a path', async () => {
    await expect(ledger.record('../../etc' as UserId, 'x')).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    expect(() => ledger.path('+1/../../x' as UserId)).toThrow(/E\.164/);
  });
});
