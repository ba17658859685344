import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.js';
import { createMemvault, type Memvault } from '../../src/app/container.js';
import type { UserId } from '../../src/core/entry.js';
import { isMemvaultError } from '../../src/core/errors.js';
import { insightsPath } from '../../src/insights/store.js';
import type { Principal } from '../../src/services/types.js';

const A = '+351912345601' as UserId;
const B = '+351912345602' as UserId;
let dataDir: string;
let mv: Memvault;
const principal = async (u: UserId): Promise<Principal> => ({
  userId: u,
  opener: await mv.operatorOpener(u),
  meta: {},
});

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'memvault-insights-store-'));
  mv = await createMemvault(loadConfig({ MEMVAULT_DATA_DIR: dataDir, MEMVAULT_LOG_LEVEL: 'silent' }));
  for (const u of [A, B]) {
    await mv.memory.signUp({ phone: u, timezone: 'UTC' });
    await mv.memory.remember(await principal(u), 'Coffee with Nadia at Blue Bottle.', {
      channel: 'cli',
      at: new Date('2026-11-29T10:00:00Z'),
      category: 'GENERAL',
    });
    await mv.insights.processDay(u, '2026-11-29');
  }
}, 60_000);

afterAll(async () => {
  await mv?.close();
  await rm(dataDir, { recursive: true, force: true });
});

const loadError = async (u: UserId) => {
  try {
    await mv.insights.insights(await principal(u));
    return null;
  } catch (error) {
    return error;
  }
};

describe('the sealed insights file', () => {
  it('refuses an edited file as DATA_CORRUPTION', async () => {
    const path = insightsPath(dataDir, A);
    const original = await readFile(path, 'utf8');
    const at = original.length - 10;
    const flipped = original.slice(0, at) + (original[at] === 'A' ? 'B' : 'A') + original.slice(at + 1);
    await writeFile(path, flipped);
    expect(isMemvaultError(await loadError(A), 'DATA_CORRUPTION')).toBe(true);
    await writeFile(path, original);
    expect(await loadError(A)).toBeNull();
  });

  it('refuses another person’s file moved into place', async () => {
    await copyFile(insightsPath(dataDir, A), insightsPath(dataDir, B));
    expect(isMemvaultError(await loadError(B), 'DATA_CORRUPTION')).toBe(true);
  });

  it('never builds a path from an id that is not a phone number', () => {
    expect(() => insightsPath(dataDir, '../../etc' as UserId)).toThrow(/E\.164/);
  });
});
