import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { UserId } from '../../src/core/entry.js';
import { FsSettingsStore, settingsPath } from '../../src/insights/settings-store.js';
import { FileDocuments } from '../../src/security/file-documents.js';

const A = '+351912345611' as UserId;
const B = '+351912345612' as UserId;
let dataDir: string;
let store: FsSettingsStore;
const key = randomBytes(32);

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'memvault-settings-'));
  store = new FsSettingsStore({ documents: new FileDocuments(dataDir), macKey: key });
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('the settings file', () => {
  it('gives the defaults when there is none, and round-trips what is saved', async () => {
    expect(await store.load(A)).toEqual({ llmLevel: 1, updatedAt: null });
    await store.save(A, { llmLevel: 2, updatedAt: '2026-11-30T10:00:00.000Z' });
    expect(await store.load(A)).toEqual({ llmLevel: 2, updatedAt: '2026-11-30T10:00:00.000Z' });
    expect(await store.load(B)).toEqual({ llmLevel: 1, updatedAt: null });
  });

  it('refuses an edited file, another person’s file, another key and garbage (DATA_CORRUPTION)', async () => {
    await store.save(A, { llmLevel: 0, updatedAt: null });
    const good = await readFile(settingsPath(dataDir, A), 'utf8');
    await writeFile(settingsPath(dataDir, A), good.replace('"llmLevel": 0', '"llmLevel": 2'));
    await expect(store.load(A)).rejects.toMatchObject({ code: 'DATA_CORRUPTION' });
    await writeFile(settingsPath(dataDir, A), good);
    await mkdir(dirname(settingsPath(dataDir, B)), { recursive: true });
    await copyFile(settingsPath(dataDir, A), settingsPath(dataDir, B));
    await expect(store.load(B)).rejects.toMatchObject({ code: 'DATA_CORRUPTION' });
    await expect(
      new FsSettingsStore({ documents: new FileDocuments(dataDir), macKey: randomBytes(32) }).load(A),
    ).rejects.toMatchObject({
      code: 'DATA_CORRUPTION',
    });
    await writeFile(settingsPath(dataDir, A), '{"format":');
    await expect(store.load(A)).rejects.toMatchObject({ code: 'DATA_CORRUPTION' });
  });

  it('builds no path from anything but a valid user id', async () => {
    await expect(store.load('../../etc' as UserId)).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    expect(() => new FsSettingsStore({ documents: new FileDocuments(dataDir), macKey: new Uint8Array(8) })).toThrow(
      RangeError,
    );
  });
});
