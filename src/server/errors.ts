import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { type ErrorCode, MemvaultError, type SecurityReason } from '../core/errors.js';
import { publicDetails, publicMessage } from '../core/public-message.js';

/** The error codes the HTTP edge adds for failures that happen before a use case runs. */
export type HttpErrorCode = ErrorCode | 'INTERNAL_ERROR' | 'UNSUPPORTED_MEDIA_TYPE' | 'PAYLOAD_TOO_LARGE';

export interface ErrorPayload {
  readonly error: {
    readonly code: HttpErrorCode;
    readonly message: string;
    readonly reason?: SecurityReason;
    readonly details?: Record<string, unknown>;
  };
}

const SECURITY_STATUS: Readonly<Record<SecurityReason, ContentfulStatusCode>> = {
  authentication_failed: 401,
  session_expired: 401,
  biometric_failed: 401,
  insufficient_permissions: 403,
  second_factor_required: 403,
  time_restriction: 403,
  csrf_failed: 403,
  locked_out: 423,
  rate_limited: 429,
};

const CODE_STATUS: Readonly<Record<ErrorCode, ContentfulStatusCode>> = {
  // A request that parsed but that the domain refuses (a bad phone number, a weak password).
  VALIDATION_ERROR: 422,
  CLASSIFICATION_ERROR: 500,
  STORAGE_ERROR: 503,
  SECURITY_ERROR: 403,
  NETWORK_ERROR: 502,
  DATA_CORRUPTION: 500,
  NOT_FOUND: 404,
  CONFLICT: 409,
  // Refused at start; a request can only meet it if the data dir is swapped under a running server.
  CONFIG_ERROR: 500,
};

/** The HTTP status for a MemvaultError: by code, and by reason for SECURITY_ERROR. */
export function statusOf(error: MemvaultError): ContentfulStatusCode {
  if (error.code === 'SECURITY_ERROR' && error.reason) return SECURITY_STATUS[error.reason];
  return CODE_STATUS[error.code];
}

/** Only these detail keys cross the wire: ids, field names, positions, retry hints. Never values a user typed. */
const SAFE_DETAILS = new Set(['field', 'fields', 'id', 'entryId', 'level', 'line', 'retryAfterSeconds', 'issues']);

/**
 * The wire body of a MemvaultError: code, message, reason and whitelisted details; no stack, no cause, and no
 * absolute server path or lock owner's pid (`publicMessage`).
 */
export function errorPayload(error: MemvaultError): ErrorPayload {
  const safe: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error.details ?? {})) if (SAFE_DETAILS.has(key)) safe[key] = value;
  const details = publicDetails(safe);
  return {
    error: {
      code: error.code,
      message: publicMessage(error.message),
      ...(error.reason ? { reason: error.reason } : {}),
      ...(Object.keys(details).length > 0 ? { details } : {}),
    },
  };
}

export function httpError(code: HttpErrorCode, message: string, details?: Record<string, unknown>): ErrorPayload {
  return { error: { code, message, ...(details ? { details } : {}) } };
}

export { MemvaultError };
