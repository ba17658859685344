import type { TotpEnrollment } from '../ports/security.js';

// otplib and qrcode load on first use: a command line that checks no code should not pay for them.
const otplib = () => import('otplib');

/** Time step in seconds (RFC 6238 default, what every authenticator app uses). */
export const TOTP_PERIOD = 30;
const ISSUER = 'memvault';
const CODE_SHAPE = /^[0-9]{6}$/;

/** A new random TOTP secret: 20 bytes (160 bits, RFC 4226's recommendation), base32. */
export async function newTotpSecret(): Promise<string> {
  const { generateSecret } = await otplib();
  return generateSecret({ length: 20 });
}

/** What the person scans: the secret, its `otpauth://` URI (issuer "memvault", labelled with the phone) and a QR SVG. */
export async function totpEnrollment(secret: string, label: string): Promise<TotpEnrollment> {
  const [{ generateURI }, QRCode] = await Promise.all([otplib(), import('qrcode')]);
  const otpauthUri = generateURI({ issuer: ISSUER, label, secret, period: TOTP_PERIOD, digits: 6 });
  const qrSvg = await QRCode.toString(otpauthUri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return { secret, otpauthUri, qrSvg };
}

/** Strips the spaces and dashes people type inside codes ("123 456"). */
export function cleanTotpCode(code: string): string {
  return typeof code === 'string' ? code.replace(/[\s-]/g, '') : '';
}

/**
 * Checks a 6-digit code against the secret at `now`, accepting one step either side for clock drift.
 * A code whose time step is not after `afterStep` is refused: each step's code works once (replay).
 * @returns the matched time step, or null when the code is wrong, malformed, or already used.
 */
export async function verifyTotp(
  secret: string,
  code: string,
  options: { readonly now: Date; readonly afterStep?: number | null },
): Promise<number | null> {
  const token = cleanTotpCode(code);
  if (!CODE_SHAPE.test(token)) return null;
  const { verify } = await otplib();
  const result = await verify({
    secret,
    token,
    period: TOTP_PERIOD,
    epoch: Math.floor(options.now.getTime() / 1000),
    epochTolerance: TOTP_PERIOD,
    ...(options.afterStep === undefined || options.afterStep === null ? {} : { afterTimeStep: options.afterStep }),
  });
  return result.valid && 'timeStep' in result ? result.timeStep : null;
}
