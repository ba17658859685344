import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.js';
import { ChannelDb, CODE_TTL_MS, IDEMPOTENCY_WINDOW_MS } from '../../src/channels/channel-db.js';
import { inQuietHours } from '../../src/channels/registry.js';
import { render } from '../../src/channels/templates.js';
import type { UserId } from '../../src/core/entry.js';
import { memvault } from '../helpers/cli.js';

const user = '+351912345673' as UserId;
let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'channel-db-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('idempotency store', () => {
  it('remembers a handled provider id across a restart, for the window only', () => {
    const t0 = Date.parse('2026-11-30T08:00:00Z');
    const db = new ChannelDb(dir);
    expect(db.claim('telegram:1', t0)).toBe('new');
    db.finish('telegram:1');
    expect(db.claim('telegram:2', t0)).toBe('new'); // never finished: the process "died" here
    db.close();
    const again = new ChannelDb(dir);
    expect(again.claim('telegram:1', t0 + 1000)).toBe('done');
    expect(again.claim('telegram:2', t0 + 1000)).toBe('busy');
    expect(again.prune(t0 + IDEMPOTENCY_WINDOW_MS + 1)).toBe(2);
    expect(again.claim('telegram:1', t0 + IDEMPOTENCY_WINDOW_MS + 2)).toBe('new');
    again.close();
  });

  it('a released claim (the message failed) is handled again', () => {
    const db = new ChannelDb(dir);
    expect(db.claim('sms:SM1', 1)).toBe('new');
    db.release('sms:SM1');
    expect(db.claim('sms:SM1', 2)).toBe('new');
    db.close();
  });
});

describe('one-time codes', () => {
  it('are hashed at rest, single use, bound to the address, and expire', () => {
    const db = new ChannelDb(dir);
    const now = 1_000_000;
    const code = db.issueCode(user, 'sms', user, now)!;
    expect(code).toMatch(/^\d{6}$/);
    db.close();
    // Not in clear anywhere in the database files.
    for (const name of ['channels.sqlite', 'channels.sqlite-wal']) {
      try {
        expect(readFileSync(join(dir, 'channels', name)).includes(Buffer.from(code))).toBe(false);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    const db2 = new ChannelDb(dir);
    expect(db2.checkCode(user, 'sms', '+351912345679', code, now)).toBe('none');
    expect(db2.checkCode(user, 'sms', user, code, now + 1)).toBe('ok');
    expect(db2.checkCode(user, 'sms', user, code, now + 2)).toBe('none');
    const late = db2.issueCode(user, 'sms', user, now)!;
    expect(db2.checkCode(user, 'sms', user, late, now + CODE_TTL_MS + 1)).toBe('expired');
    db2.close();
  });

  it('allow 5 guesses, and 3 codes an hour', () => {
    const db = new ChannelDb(dir);
    const code = db.issueCode(user, 'whatsapp', user, 0)!;
    const wrong = code === '111111' ? '222222' : '111111';
    for (let i = 0; i < 4; i++) expect(db.checkCode(user, 'whatsapp', user, wrong, 1)).toBe('wrong');
    expect(db.checkCode(user, 'whatsapp', user, wrong, 1)).toBe('too_many');
    expect(db.checkCode(user, 'whatsapp', user, code, 1)).toBe('none');
    expect(db.issueCode(user, 'whatsapp', user, 2)).not.toBeNull();
    expect(db.issueCode(user, 'whatsapp', user, 3)).not.toBeNull();
    expect(db.issueCode(user, 'whatsapp', user, 4)).toBeNull();
    expect(db.issueCode(user, 'whatsapp', user, 60 * 60 * 1000 + 1)).not.toBeNull();
    db.close();
  });
});

describe('quiet hours and templates', () => {
  const settings = {
    notify: null,
    alerts: null,
    level2: [],
    locale: 'en',
    quietHours: { start: '22:00', end: '07:00' },
  };
  it('wrap midnight in the person’s zone', () => {
    expect(inQuietHours(settings, new Date('2026-11-30T23:30:00Z'), 'Europe/Lisbon')).toBe(true);
    expect(inQuietHours(settings, new Date('2026-11-30T12:00:00Z'), 'Europe/Lisbon')).toBe(false);
    // 06:30 in Auckland is 17:30 UTC the day before.
    expect(inQuietHours(settings, new Date('2026-11-29T17:30:00Z'), 'Pacific/Auckland')).toBe(true);
  });
  it('render text and HTML from the same paragraphs, escaping HTML', () => {
    const m = render('alert', { what: '<script>x</script>', at: 'now' }, { channel: 'email' });
    expect(m.text).toContain('<script>x</script>');
    expect(m.html).toContain('&lt;script&gt;x&lt;/script&gt;');
    expect(m.html).not.toContain('<script>');
    expect(render('welcome', { who: '' }, { locale: 'xx' }).text).toContain('Welcome to memvault');
  });
});

describe('configuration', () => {
  it('nothing configured: every channel is off, and everything else works', async () => {
    const config = loadConfig({ MEMVAULT_DATA_DIR: dir });
    expect(config.channels).toEqual({ telegram: null, twilio: null, smtp: null, inboundMail: null });
    const status = await memvault(['channels', 'status', '--data-dir', dir, '--json']);
    expect(status.code).toBe(0);
    const body = status.json<Record<string, { configured: boolean; detail: string }>>();
    expect(Object.values(body).every((c) => !c.configured)).toBe(true);
    expect(body.telegram?.detail).toContain('MEMVAULT_TELEGRAM_BOT_TOKEN');
  });
  it('a half-configured channel names what is missing, never a value', () => {
    expect(() => loadConfig({ MEMVAULT_TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}` })).toThrow(
      /set MEMVAULT_TWILIO_AUTH_TOKEN and MEMVAULT_TWILIO_FROM/,
    );
    expect(() => loadConfig({ MEMVAULT_TELEGRAM_BOT_TOKEN: 'nope' })).toThrow(/MEMVAULT_TELEGRAM_BOT_TOKEN is invalid/);
    expect(() => loadConfig({ MEMVAULT_SMTP_URL: 'http://x' })).toThrow(/MEMVAULT_SMTP_URL/);
  });
});
