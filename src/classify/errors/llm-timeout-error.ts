import { MemvaultError } from '../../core/errors.js';

/** The LLM did not answer within the classification time budget; the local classifier answers instead. */
export class LlmTimeoutError extends MemvaultError {
  readonly kind = 'timeout';

  constructor(budgetMs: number, options: { cause?: unknown } = {}) {
    super('NETWORK_ERROR', `The LLM classifier did not answer within ${budgetMs} ms.`, {
      ...options,
      details: { budgetMs },
    });
  }
}
