import { type Logger as PinoLogger, type DestinationStream, pino } from 'pino';

/**
 * Structured logs (pino). Redaction is a second line of defence: the code never logs secrets or message text,
 * and these paths are censored anyway should one slip into a log object.
 */
export const REDACT_PATHS = [
  'password',
  'newPassword',
  'oldPassword',
  'token',
  'totp',
  'code',
  'secret',
  'text',
  'content',
  'masterKey',
  'privateKey',
  'authorization',
  'cookie',
  '*.password',
  '*.token',
  '*.totp',
  '*.secret',
  '*.text',
  '*.content',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
];

export function createLogger(level: string, destination?: DestinationStream): PinoLogger {
  const options = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { app: 'memvault' } };
  return destination ? pino(options, destination) : pino(options);
}
