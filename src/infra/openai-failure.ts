import OpenAI from 'openai';

/** What went wrong with a request to an OpenAI-compatible endpoint, in the terms both LLM callers report. */
export interface OpenAiFailure {
  readonly kind: 'timeout' | 'network' | 'rate_limited' | 'http_error';
  /** A sentence a person (or an operator) can act on; never the request or the answer. */
  readonly message: string;
  readonly status?: number;
}

/**
 * Sorts what the `openai` client threw (or the caller's time budget aborting it) into the four kinds callers handle:
 * a timeout, a network failure or 5xx (worth retrying), a 429 (retry after the server's wait) and any other HTTP
 * refusal (bad key, unknown model: retrying cannot help). The classifier and the digest writer map these onto their
 * own error types.
 */
export function describeOpenAiFailure(error: unknown, budget: AbortSignal, what: string): OpenAiFailure {
  if (
    budget.aborted ||
    error instanceof OpenAI.APIConnectionTimeoutError ||
    error instanceof OpenAI.APIUserAbortError
  ) {
    return { kind: 'timeout', message: `The LLM did not ${what} within its time budget.` };
  }
  if (error instanceof OpenAI.APIConnectionError) {
    return { kind: 'network', message: 'The LLM endpoint could not be reached or dropped the connection.' };
  }
  if (error instanceof OpenAI.APIError) {
    const status = error.status;
    if (status === 429) {
      return { kind: 'rate_limited', message: 'The LLM endpoint is rate limiting requests (429).', status };
    }
    if (status !== undefined && status >= 500) {
      return { kind: 'network', message: `The LLM endpoint failed with HTTP ${status}.`, status };
    }
    return {
      kind: 'http_error',
      message: `The LLM endpoint refused the request with HTTP ${status}.`,
      ...(status === undefined ? {} : { status }),
    };
  }
  return { kind: 'network', message: 'The LLM request failed.' };
}

/**
 * The JSON a model answered with, or why there is none. Some local servers wrap JSON in a Markdown fence even when
 * asked for a schema; the fence is taken off first. Callers turn `empty` and `not_json` into their own errors.
 */
export function answerJson(
  content: string | null | undefined,
): { readonly json: unknown } | { readonly problem: 'empty' | 'not_json'; readonly cause?: unknown } {
  if (typeof content !== 'string' || content.trim() === '') return { problem: 'empty' };
  const body = content
    .trim()
    .replace(/^```(?:json)?\s*/i, '')
    .replace(/\s*```$/, '');
  try {
    return { json: JSON.parse(body) };
  } catch (cause) {
    return { problem: 'not_json', cause };
  }
}
