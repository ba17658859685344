import { MemvaultError } from '../../core/errors.js';

/** The LLM answered, but not with a classification that passes the schema (bad JSON, unknown category…). */
export class LlmBadOutputError extends MemvaultError {
  readonly kind = 'bad_output';

  constructor(problem: string, options: { cause?: unknown } = {}) {
    // `problem` describes the shape ("not JSON", "category: invalid option"), never the model's text.
    super('CLASSIFICATION_ERROR', `The LLM classifier answered with an invalid classification: ${problem}.`, options);
  }
}
