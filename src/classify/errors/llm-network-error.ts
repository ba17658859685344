import { MemvaultError } from '../../core/errors.js';

/** Why an LLM request failed below the level of its answer. */
export type LlmNetworkFailure = 'network' | 'rate_limited' | 'http_error';

/** The LLM endpoint could not be reached, dropped the connection, or kept refusing (429, 5xx, 4xx). */
export class LlmNetworkError extends MemvaultError {
  readonly kind: LlmNetworkFailure;
  readonly status: number | undefined;

  constructor(kind: LlmNetworkFailure, message: string, options: { cause?: unknown; status?: number } = {}) {
    super('NETWORK_ERROR', message, {
      ...(options.cause === undefined ? {} : { cause: options.cause }),
      ...(options.status === undefined ? {} : { details: { status: options.status } }),
    });
    this.kind = kind;
    this.status = options.status;
  }
}
