/**
 * The one error type memvault throws across layers. Every failure carries a stable `code` (DESIGN §2) that
 * edges map to an HTTP status or an exit code, and a message a person can act on. Branch on `code` and
 * `reason`, never on the message text.
 */
export const ERROR_CODES = [
  'VALIDATION_ERROR',
  'CLASSIFICATION_ERROR',
  'STORAGE_ERROR',
  'SECURITY_ERROR',
  'NETWORK_ERROR',
  'DATA_CORRUPTION',
  'NOT_FOUND',
  'CONFLICT',
  /** The installation is set up inconsistently (a master key other than the data dir's): fix it, then start. */
  'CONFIG_ERROR',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Why access was denied; carried by `SECURITY_ERROR`. */
export const SECURITY_REASONS = [
  'authentication_failed',
  'insufficient_permissions',
  'time_restriction',
  'biometric_failed',
  'locked_out',
  'second_factor_required',
  'session_expired',
  'csrf_failed',
  'rate_limited',
] as const;

export type SecurityReason = (typeof SECURITY_REASONS)[number];

export interface MemvaultErrorOptions {
  readonly cause?: unknown;
  readonly reason?: SecurityReason;
  /** Safe, non-secret details for the caller (a field name, a line number, an entry id). */
  readonly details?: Readonly<Record<string, unknown>>;
}

export class MemvaultError extends Error {
  override readonly name = 'MemvaultError';
  readonly code: ErrorCode;
  readonly reason: SecurityReason | undefined;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options: MemvaultErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.reason = options.reason;
    this.details = options.details;
  }

  /** A plain, log- and wire-safe view: no stack, no cause. */
  toJSON(): { code: ErrorCode; message: string; reason?: SecurityReason; details?: Record<string, unknown> } {
    return {
      code: this.code,
      message: this.message,
      ...(this.reason === undefined ? {} : { reason: this.reason }),
      ...(this.details === undefined ? {} : { details: { ...this.details } }),
    };
  }
}

export function isMemvaultError(value: unknown, code?: ErrorCode): value is MemvaultError {
  return value instanceof MemvaultError && (code === undefined || value.code === code);
}

export const validationError = (message: string, details?: Record<string, unknown>, cause?: unknown) =>
  new MemvaultError('VALIDATION_ERROR', message, { ...(details ? { details } : {}), ...(cause ? { cause } : {}) });

export const notFound = (message: string, details?: Record<string, unknown>) =>
  new MemvaultError('NOT_FOUND', message, details ? { details } : {});

export const securityError = (reason: SecurityReason, message: string, details?: Record<string, unknown>) =>
  new MemvaultError('SECURITY_ERROR', message, { reason, ...(details ? { details } : {}) });

export const storageError = (message: string, cause?: unknown, details?: Record<string, unknown>) =>
  new MemvaultError('STORAGE_ERROR', message, { ...(cause ? { cause } : {}), ...(details ? { details } : {}) });

export const corruption = (message: string, details?: Record<string, unknown>, cause?: unknown) =>
  new MemvaultError('DATA_CORRUPTION', message, { ...(details ? { details } : {}), ...(cause ? { cause } : {}) });
