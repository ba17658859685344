import { generate } from 'otplib';
import { describe, expect, it } from 'vitest';
import { cleanTotpCode, newTotpSecret, TOTP_PERIOD, totpEnrollment, verifyTotp } from './totp.js';

const at = (iso: string) => new Date(iso);
const codeAt = (secret: string, when: Date) => generate({ secret, epoch: Math.floor(when.getTime() / 1000) });
// Fixed secrets where codes are compared: with random ones, a code equals another step's (or another secret's)
// about once in a million runs for each comparison, and these tests make several.
const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const OTHER_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

describe('totp', () => {
  it('makes 160-bit base32 secrets, different each time', async () => {
    const a = await newTotpSecret();
    expect(a).toMatch(/^[A-Z2-7]{32}$/);
    expect(await newTotpSecret()).not.toBe(a);
  });

  it('enrolment gives an otpauth URI for memvault labelled with the phone, and an SVG QR code', async () => {
    const secret = await newTotpSecret();
    const e = await totpEnrollment(secret, '+14155550134');
    expect(e.secret).toBe(secret);
    expect(e.otpauthUri).toMatch(/^otpauth:\/\/totp\/memvault:%2B14155550134\?/);
    expect(e.otpauthUri).toContain(`secret=${secret}`);
    expect(e.otpauthUri).toContain('issuer=memvault');
    expect(e.qrSvg.startsWith('<svg')).toBe(true);
  });

  it('accepts the current code and one step either side, not two', async () => {
    const secret = SECRET;
    const now = at('2026-11-26T18:00:10Z');
    const code = await codeAt(secret, now);
    const step = Math.floor(now.getTime() / 1000 / TOTP_PERIOD);
    expect(await verifyTotp(secret, code, { now })).toBe(step);
    expect(await verifyTotp(secret, code, { now: new Date(now.getTime() + 30_000) })).toBe(step);
    expect(await verifyTotp(secret, code, { now: new Date(now.getTime() - 30_000) })).toBe(step);
    expect(await verifyTotp(secret, code, { now: new Date(now.getTime() + 65_000) })).toBeNull();
  });

  it('refuses a code whose step was already used, and earlier steps', async () => {
    const secret = SECRET;
    const now = at('2026-11-26T18:00:10Z');
    const step = await verifyTotp(secret, await codeAt(secret, now), { now });
    expect(step).not.toBeNull();
    expect(await verifyTotp(secret, await codeAt(secret, now), { now, afterStep: step })).toBeNull();
    const before = new Date(now.getTime() - 30_000);
    expect(await verifyTotp(secret, await codeAt(secret, before), { now, afterStep: step })).toBeNull();
    const next = new Date(now.getTime() + 30_000);
    expect(await verifyTotp(secret, await codeAt(secret, next), { now: next, afterStep: step })).toBe(step! + 1);
  });

  it('refuses a code of another secret and malformed codes', async () => {
    const now = at('2026-11-26T18:00:10Z');
    const mine = SECRET;
    const other = await codeAt(OTHER_SECRET, now);
    const ownCode = await codeAt(mine, now);
    expect(await verifyTotp(mine, other, { now })).toBeNull();
    for (const bad of ['', '12345', '1234567', 'abcdef', '12 34 5x', '١٢٣٤٥٦']) {
      expect(await verifyTotp(mine, bad, { now })).toBeNull();
    }
    expect(cleanTotpCode('123 456')).toBe('123456');
    expect(await verifyTotp(mine, `${ownCode.slice(0, 3)} ${ownCode.slice(3)}`, { now })).not.toBeNull();
  });
});
