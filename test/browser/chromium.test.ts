import { describe, expect, it } from 'vitest';
import { DEFAULT_CHROMIUM, isCi, planBrowserSuite } from './chromium.js';

const only =
  (...present: string[]) =>
  (path: string) =>
    present.includes(path);

describe('planBrowserSuite', () => {
  it('runs against Debian Chromium when it is installed', () => {
    expect(planBrowserSuite({}, only(DEFAULT_CHROMIUM))).toEqual({ action: 'run', executable: DEFAULT_CHROMIUM });
  });

  it('runs against MEMVAULT_CHROMIUM when it names a browser that exists', () => {
    expect(planBrowserSuite({ MEMVAULT_CHROMIUM: '/opt/chrome/chrome' }, only('/opt/chrome/chrome'))).toEqual({
      action: 'run',
      executable: '/opt/chrome/chrome',
    });
  });

  it('without a browser and outside CI, skips with one line saying how to install it', () => {
    const plan = planBrowserSuite({}, only());
    expect(plan.action).toBe('skip');
    if (plan.action !== 'skip') return;
    expect(plan.line).not.toContain('\n');
    expect(plan.line).toContain('apt-get install -y chromium');
    expect(plan.line).toContain(DEFAULT_CHROMIUM);
  });

  it('names a MEMVAULT_CHROMIUM that does not exist rather than falling back to another browser', () => {
    const plan = planBrowserSuite({ MEMVAULT_CHROMIUM: '/nope/chromium' }, only(DEFAULT_CHROMIUM));
    expect(plan).toMatchObject({ action: 'skip', line: expect.stringContaining('MEMVAULT_CHROMIUM=/nope/chromium') });
  });

  it.each(['true', '1', 'yes'])('in CI (CI=%s) a missing browser fails the run', (ci) => {
    const plan = planBrowserSuite({ CI: ci }, only());
    expect(plan).toMatchObject({ action: 'fail', message: expect.stringContaining('apt-get install -y chromium') });
  });

  it.each(['', 'false', '0'])('CI=%j does not count as CI', (ci) => {
    expect(isCi({ CI: ci })).toBe(false);
    expect(planBrowserSuite({ CI: ci }, only()).action).toBe('skip');
  });
});
