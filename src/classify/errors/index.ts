export { LlmBadOutputError } from './llm-bad-output-error.js';
export { LlmNetworkError, type LlmNetworkFailure } from './llm-network-error.js';
export { LlmTimeoutError } from './llm-timeout-error.js';

import type { LlmBadOutputError } from './llm-bad-output-error.js';
import type { LlmNetworkError } from './llm-network-error.js';
import type { LlmTimeoutError } from './llm-timeout-error.js';

/** Any failure of the LLM path; each one triggers the local fallback with its `kind` as the reason. */
export type LlmError = LlmTimeoutError | LlmNetworkError | LlmBadOutputError;
