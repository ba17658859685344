import type { ZodType } from 'zod';
import { ErrorBody } from './schemas.js';

/** A required JSON request body. */
export function jsonBody<T extends ZodType>(schema: T, description?: string) {
  return {
    body: {
      required: true,
      content: { 'application/json': { schema } },
      ...(description ? { description } : {}),
    },
  } as const;
}

/** A JSON response. */
export function jsonResponse<T extends ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } } as const;
}

const ERROR_TEXT: Record<number, string> = {
  400: 'Malformed request: bad JSON, unknown field, wrong type or id',
  401: 'Missing, forged or expired credentials',
  403: 'Forbidden: level locked, CSRF token missing, or factor required',
  404: 'Not found',
  409: 'Conflict',
  413: 'Body too large',
  415: 'Content-Type must be application/json',
  422: 'Rejected by the domain (e.g. not a phone number, weak password)',
  423: 'Locked out after repeated failures',
  429: 'Too many attempts; see Retry-After',
  500: 'A bug or damaged data on the server; the body says which (no details of the cause)',
  503: 'Storage unavailable; try again later',
};

/** Statuses whose answer carries Retry-After (seconds). */
const RETRY_AFTER = new Set([423, 429]);
const retryAfterHeader = {
  'Retry-After': {
    description: 'Seconds to wait before trying again',
    schema: { type: 'integer' as const, minimum: 0 },
  },
};

/** The error responses of a route, all with the one error body; 500 and 503 can answer any route. */
export function errorResponses(...statuses: number[]) {
  return Object.fromEntries(
    [...new Set([...statuses, 500, 503])].map((s) => [
      s,
      {
        description: ERROR_TEXT[s] ?? 'Error',
        content: { 'application/json': { schema: ErrorBody } },
        ...(RETRY_AFTER.has(s) ? { headers: retryAfterHeader } : {}),
      },
    ]),
  );
}

/** Either credential works: the API's bearer token or the web app's cookie (with its CSRF header on writes). */
export const SESSION_SECURITY = [{ bearer: [] }, { cookie: [] }];
