import OpenAI from 'openai';
import { z } from 'zod';
import { MemvaultError } from '../core/errors.js';
import { answerJson, describeOpenAiFailure } from '../infra/openai-failure.js';
import type { DigestFacts, DigestFallbackReason, DigestWriter } from '../ports/insights.js';

/**
 * The digest's system prompt. The facts come as JSON in the user message; the model writes prose only from
 * them. Memories it is not given are counted in `notShown`, and it is told never to guess at them.
 */
export const DIGEST_SYSTEM_PROMPT = `You write a short personal digest of someone's day or week from the facts given as JSON, for them to read.

Rules:
- Write to the person ("you"), warmly and plainly, in 3 to 8 sentences of flowing prose, then, only if there are any, a line "Coming up:" and a line "On this day:" each followed by short bullet lines starting with "• ".
- Use ONLY the facts given. Never invent people, places, events, dates or feelings. Quote nothing that is not in the facts.
- Placeholders such as _pin_ or _credential_ stand for values that were removed on purpose: never guess them, never mention them.
- "notShown" counts memories you were not given. If it is above 0, end with one sentence saying that many memories were not included; say nothing about what they might hold.
- No headings, no Markdown other than the bullet lines, no greeting or sign-off.

Answer as JSON: {"text": "the digest"}.`;

/** Strict JSON schema sent as `response_format`. */
export const DIGEST_RESPONSE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['text'],
  properties: { text: { type: 'string' } },
} as const;

/** The answer, checked: the model's output is untrusted input. */
export const digestAnswerSchema = z.strictObject({
  text: z
    .string()
    .trim()
    .min(40, 'too short to be a digest')
    .max(4000, 'longer than a digest')
    // Control characters other than newlines and tabs have no place in text shown to a person.
    .refine((t) => !/[\u0000-\u0008\u000b-\u001f\u007f]/u.test(t), 'holds control characters'),
});

type WriterReason = Extract<DigestFallbackReason, 'timeout' | 'network' | 'rate_limited' | 'http_error' | 'bad_output'>;

/** Why the LLM did not write a digest: the insights service falls back to the template with this reason. */
export class DigestWriterError extends MemvaultError {
  readonly kind: WriterReason;

  constructor(kind: WriterReason, message: string, options: { cause?: unknown; status?: number } = {}) {
    super('NETWORK_ERROR', message, {
      ...(options.cause === undefined ? {} : { cause: options.cause }),
      details: { kind, ...(options.status === undefined ? {} : { status: options.status }) },
    });
    this.kind = kind;
  }
}

export interface LlmDigestWriterOptions {
  readonly baseURL: string;
  readonly apiKey: string;
  readonly model: string;
  /** Custom fetch (proxies, tests). */
  readonly fetch?: typeof fetch;
}

/**
 * Writes digests with any OpenAI-compatible chat-completions endpoint. One attempt within the caller's time
 * budget (its `signal`): a digest is not worth retrying at night when the template is already there.
 */
export function createLlmDigestWriter(options: LlmDigestWriterOptions): DigestWriter {
  const client = new OpenAI({
    baseURL: options.baseURL,
    apiKey: options.apiKey,
    maxRetries: 0,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  return {
    async write(facts: DigestFacts, signal: AbortSignal): Promise<string> {
      let content: string | null | undefined;
      try {
        const completion = await client.chat.completions.create(
          {
            model: options.model,
            temperature: 0.4,
            max_tokens: 700,
            messages: [
              { role: 'system', content: DIGEST_SYSTEM_PROMPT },
              { role: 'user', content: JSON.stringify(facts) },
            ],
            response_format: {
              type: 'json_schema',
              json_schema: { name: 'memory_digest', strict: true, schema: DIGEST_RESPONSE_SCHEMA },
            },
          },
          { signal, maxRetries: 0 },
        );
        content = completion.choices[0]?.message?.content;
      } catch (error) {
        throw failure(error, signal);
      }
      return parseDigestAnswer(content);
    },
  };
}

/** Reads the model's message as a digest, or throws `DigestWriterError` (bad_output). */
export function parseDigestAnswer(content: string | null | undefined): string {
  const answer = answerJson(content);
  if ('problem' in answer) {
    throw answer.problem === 'empty'
      ? new DigestWriterError('bad_output', 'The LLM returned an empty digest.')
      : new DigestWriterError('bad_output', 'The LLM digest is not JSON.', { cause: answer.cause });
  }
  const parsed = digestAnswerSchema.safeParse(answer.json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DigestWriterError(
      'bad_output',
      `The LLM digest does not match its schema (${issue?.path.join('.') || 'answer'}: ${issue?.message ?? 'invalid'}).`,
      { cause: parsed.error },
    );
  }
  return parsed.data.text;
}

function failure(error: unknown, signal: AbortSignal): DigestWriterError {
  if (error instanceof DigestWriterError) return error;
  const { kind, message, status } = describeOpenAiFailure(error, signal, 'write the digest');
  return new DigestWriterError(kind, message, { cause: error, ...(status === undefined ? {} : { status }) });
}
