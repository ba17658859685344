import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startBackupSchedule } from '../../src/app/backup-schedule.js';
import { loadConfig } from '../../src/app/config.js';
import type { Memvault } from '../../src/app/container.js';
import type { UserId } from '../../src/core/entry.js';
import { isMemvaultError } from '../../src/core/errors.js';
import type { BackupListing } from '../../src/ports/backup.js';
import { DEFAULT_RETENTION, isoWeek, retained } from '../../src/services/backup-retention.js';
import { tempDir } from '../helpers/cli.js';
import { ANA, KEY, openApp } from './fixture.js';

const at = (iso: string): BackupListing => ({ file: iso, userId: ANA as UserId, createdAt: iso, size: 1 });

describe('retention (7 daily, 4 weekly, 12 monthly)', () => {
  it('keeps the newest backup of each of the last 7 days, 4 ISO weeks and 12 months', () => {
    // Two backups a day, every day of 2026 up to 30 November.
    const all: BackupListing[] = [];
    for (let t = Date.UTC(2026, 0, 1); t <= Date.UTC(2026, 10, 30); t += 86_400_000) {
      all.push(at(new Date(t + 3 * 3_600_000).toISOString()), at(new Date(t + 15 * 3_600_000).toISOString()));
    }
    const keep = [...retained(all, DEFAULT_RETENTION)].sort();
    const days = keep.map((k) => k.slice(0, 10));
    // Daily: 24–30 November, the afternoon backup of each.
    for (let d = 24; d <= 30; d++) expect(keep).toContain(`2026-11-${d}T15:00:00.000Z`);
    // One per day at most.
    expect(new Set(days).size).toBe(days.length);
    // Weekly: the newest of weeks 45–48 (Sundays 8, 15, 22 Nov; week 48 is covered by 30 Nov, a Monday of W49).
    expect(keep).toContain('2026-11-22T15:00:00.000Z');
    expect(keep).toContain('2026-11-15T15:00:00.000Z');
    // Monthly: the last day of each earlier month back to December's twelve (January … October 2026).
    for (const last of ['2026-10-31', '2026-09-30', '2026-02-28', '2026-01-31']) expect(days).toContain(last);
    expect(keep.length).toBeLessThanOrEqual(7 + 4 + 12);
  });

  it('always keeps the newest backup, even with every count at 0', () => {
    expect([
      ...retained([at('2026-01-01T00:00:00.000Z'), at('2026-02-01T00:00:00.000Z')], {
        daily: 0,
        weekly: 0,
        monthly: 0,
      }),
    ]).toEqual(['2026-02-01T00:00:00.000Z']);
  });

  it('ISO weeks belong to the year of their Thursday', () => {
    expect(isoWeek(new Date('2026-01-01T12:00:00Z'))).toBe('2026-W01');
    expect(isoWeek(new Date('2027-01-01T12:00:00Z'))).toBe('2026-W53');
    expect(isoWeek(new Date('2024-12-30T12:00:00Z'))).toBe('2025-W01');
  });
});

describe('scheduled backups', () => {
  it('a run backs up every person and prunes what the policy does not keep', async () => {
    const dir = tempDir();
    const app: Memvault = await openApp(join(dir.path, 'data'));
    try {
      await app.memory.signUp({ phone: ANA });
      for (let i = 0; i < 3; i++) await app.backups.create(ANA);
      const result = await app.backups.scheduled({ daily: 1, weekly: 0, monthly: 0 });
      expect(result).toEqual({ made: 1, failed: 0, removed: 3 });
      expect(await app.backups.list(ANA)).toHaveLength(1);
    } finally {
      await app.close();
      dir.cleanup();
    }
  });

  it('a pattern that is not cron is a VALIDATION_ERROR naming the variable; "off" starts nothing', async () => {
    const dir = tempDir();
    const D = join(dir.path, 'data');
    const app = await openApp(D);
    try {
      const bad = loadConfig({ MEMVAULT_DATA_DIR: D, MEMVAULT_MASTER_KEY: KEY, MEMVAULT_BACKUP_SCHEDULE: 'every day' });
      let error: unknown;
      try {
        startBackupSchedule(app, bad);
      } catch (e) {
        error = e;
      }
      expect(isMemvaultError(error, 'VALIDATION_ERROR') && error.details?.variable).toBe('MEMVAULT_BACKUP_SCHEDULE');
      const off = loadConfig({ MEMVAULT_DATA_DIR: D, MEMVAULT_MASTER_KEY: KEY, MEMVAULT_BACKUP_SCHEDULE: 'off' });
      expect(startBackupSchedule(app, off)).toBeNull();
      const daily = startBackupSchedule(app, loadConfig({ MEMVAULT_DATA_DIR: D, MEMVAULT_MASTER_KEY: KEY }));
      expect(daily?.next()?.getHours()).toBe(3);
      daily?.stop();
    } finally {
      await app.close();
      dir.cleanup();
    }
  });
});
