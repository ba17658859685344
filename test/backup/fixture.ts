import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { loadConfig } from '../../src/app/config.js';
import { createMemvault, type Memvault } from '../../src/app/container.js';
import type { Category } from '../../src/core/category.js';
import type { UserId } from '../../src/core/entry.js';

export const KEY = 'ab'.repeat(32);
export const OTHER_KEY = 'cd'.repeat(32);
export const ANA = '+14155550134' as UserId;
export const BEN = '+14155550199' as UserId;

export function openApp(dataDir: string, key = KEY, env: NodeJS.ProcessEnv = {}): Promise<Memvault> {
  const config = loadConfig({
    MEMVAULT_DATA_DIR: dataDir,
    MEMVAULT_MASTER_KEY: key,
    MEMVAULT_LOG_LEVEL: 'silent',
    ...env,
  });
  return createMemvault(config, { logger: pino({ level: 'silent' }) });
}

export async function addEntries(app: Memvault, userId: UserId, n: number, category: Category = 'GENERAL') {
  for (let i = 0; i < n; i++) {
    await app.vault.append(userId, {
      date: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
      category,
      // Random text so the archive does not compress to one age chunk.
      content: `note ${i} ${randomBytes(600).toString('base64')}`,
      channel: 'cli',
    });
  }
}
