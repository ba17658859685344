import OpenAI from 'openai';
import { z } from 'zod';
import { CATEGORIES, type Category, levelOf, moreProtective } from '../core/category.js';
import { answerJson, describeOpenAiFailure } from '../infra/openai-failure.js';
import type { Classification, Classifier, ClassifyContext } from '../ports/classifier.js';
import { THRESHOLDS } from './confidence.js';
import { CERTAIN, type Finding, maskFindings, strongestFinding } from './detectors.js';
import { LlmBadOutputError } from './errors/llm-bad-output-error.js';
import { LlmNetworkError } from './errors/llm-network-error.js';
import { LlmTimeoutError } from './errors/llm-timeout-error.js';
import type { LlmError } from './errors/index.js';
import type { LocalClassifier } from './local-classifier.js';
import type { PersonalModelStore } from './personal-model.js';

/**
 * The seed's system prompt (SEED §2) with the categories as this project defines them and hard cases written
 * for the prompt (never taken from an evaluation set); the local detectors still double-check the answer.
 */
export const SYSTEM_PROMPT = `You are an expert memory classification system. Your task is to analyze user messages and classify them into appropriate memory categories.

Classification Categories (when a message fits several, choose the MORE protective one):
1. CHRONOLOGICAL: something that happened or will happen at a time: events, activities, appointments, plans, trips, milestones.
2. GENERAL: facts, preferences, ideas, knowledge, recipes, opinions, things to remember with no specific time and nothing sensitive.
3. CONFIDENTIAL: personal and private: health (physical and mental), therapy, medication, relationships and family conflict, money trouble, debts, salary, work problems, legal and immigration matters, confessions, feelings about people, home address and contact details, anything the writer marks as private ("don't tell anyone", "between us").
4. SECRET: credentials and identifiers that let someone into an account or a place: passwords, PINs, door/gate/alarm/locker/garage/bin-store codes, Wi-Fi keys, card numbers with expiry or CVV, bank account numbers, IBANs and routing numbers (even when shared for a payment), national ids, passport and licence numbers, API keys and tokens, one-time codes, 2FA backup codes, answers to security questions. A value must be present or clearly given; talk about passwords without one is not SECRET.
5. ULTRASECRET: master secrets whose exposure is catastrophic because they unlock everything else: crypto seed phrases and private keys or WHERE they are kept, hardware-wallet PINs with recovery material, password-manager master passwords and emergency kits, the one password that resets all the others, safe and safe-deposit-box combinations and where their keys are, duress or panic codes, disk-encryption recovery keys and encryption master keys, Shamir shares.

Hard cases:
- A code may have no keyword, be told in words or split across phrases: "new keypad on the shed, it's four one one nine" and "first two numbers are 7 and 3, the last two are our house number" are SECRET.
- An event that carries a code takes the code's category: "at the pool, locker combo 12-30-7, then a sauna" is SECRET.
- "Bank asks for my memorable word, it's Thistle" is SECRET (a security-question answer).
- Location alone can be the secret: "the 24 words are on a steel plate in the loft" and "the spare safe key is in the sugar tin" are ULTRASECRET.
- "If I'm ever forced to open it, I enter 6619 and it calls the police" is ULTRASECRET (a duress code).
- The SECRET/ULTRASECRET boundary goes both ways: an ordinary app PIN or a Wi-Fi key for the "master bedroom" is SECRET; the PIN of a hardware wallet together with where its recovery card is, or the password that opens a password vault, is ULTRASECRET.
- What guards everything else is ULTRASECRET even without the word "master": the e-mail password "every reset goes to", a company's root, break-glass or domain-admin login, "the one password that opens all my others", a phrase agreed with family that means "I am in trouble, call the police".
- A dictated value is still a value: "pwd green paint four life all one word", "password bluebonnet dash four four" are SECRET; the code that opens a phone or laptop when the fingerprint or face ID fails is ULTRASECRET (a biometric fallback).
- A hardware-wallet PIN alone, with the words said to be kept elsewhere ("just the PIN here, the words are not on this phone"), is SECRET.
- A value may come a few words after what it belongs to, or stand alone in a password's shape: "Passport for the Lisbon trip: 612093847", "the NAS is Qu4rtz!Harbor", "the temporary one for the office: 3 9 0 5 1" are SECRET.
- Identity documents named without their number ("the kids' passports are in the blue folder", "renewing my residence card") are CONFIDENTIAL; with the number they are SECRET.
- Harmless look-alikes are NOT secrets: a discount or promo code, a zip or post code, an invoice, order or ticket number, a public transaction hash or receiving address, a spare car key on the hook at home, a brooch or map "pin", "key lime pie", a keynote, a postal PIN code, Secret Santa, "the secret is more butter", a "safe trip", "seed the tomatoes", "retail therapy", a book titled "The Secret…", a vendor's documented example key or a published test card used for testing, a spare key left with a neighbour, a number someone called, a password-policy discussion, flight and booking numbers, a shop's phone number, a mobile network's service code such as *737#, a flat, suite or room number, a game's room code, a badge or enamel pin and the year it came from, a "code review", "code freeze" or hospital "code blue", an example IBAN or key printed in public documentation.
- "I forgot my password again" is GENERAL; "I changed my bank password this morning" is CHRONOLOGICAL: a kind of secret without its value.

Values the user's device already recognised as secrets are replaced by placeholders such as _pin_ or _credential_; treat a placeholder as the secret it stands for.

Response Format (JSON):
{
    "category": "CATEGORY_NAME",
    "confidence": 0.0-1.0,
    "reasoning": "Brief explanation",
    "tags": ["tag1", "tag2"],
    "emotional_context": "emotion_detected",
    "security_level": 1-5
}

Consider context, emotional tone, and sensitivity when classifying. When a message fits several categories, choose the more protective one; when unsure between two, choose the more protective.`;

/** Strict JSON schema sent as `response_format`. */
export const RESPONSE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['category', 'confidence', 'reasoning', 'tags', 'emotional_context', 'security_level'],
  properties: {
    category: { type: 'string', enum: [...CATEGORIES] },
    confidence: { type: 'number' },
    reasoning: { type: 'string' },
    tags: { type: 'array', items: { type: 'string' } },
    emotional_context: { type: 'string' },
    security_level: { type: 'integer' },
  },
} as const;

/** zod check of the answer: the model's output is untrusted input. */
export const llmAnswerSchema = z.object({
  category: z.enum(CATEGORIES),
  confidence: z.number().min(0).max(1),
  reasoning: z.string().max(2000),
  tags: z.array(z.string().max(80)).max(30),
  emotional_context: z.string().max(80),
  security_level: z.number().int().min(1).max(5),
});
export type LlmAnswer = z.infer<typeof llmAnswerSchema>;

export interface LlmClassifierOptions {
  /** OpenAI-compatible endpoint, e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1 (Ollama). */
  readonly baseURL: string;
  readonly apiKey: string;
  readonly model: string;
  /** Total time budget for one classification, retries included (default 2000 ms). */
  readonly timeoutMs?: number;
  /** Retries after the first attempt on 429, 5xx, timeouts and dropped connections (default 2). */
  readonly maxRetries?: number;
  /** The fallback and double-check. */
  readonly local: LocalClassifier;
  /** Custom fetch (proxies, tests). */
  readonly fetch?: typeof fetch;
  /** Base delay of the exponential backoff (default 100 ms); the wait is a random share of base·2^attempt. */
  readonly backoffBaseMs?: number;
  /**
   * Per-user models from corrections. When a message closely matches what this person corrected before,
   * their correction (applied by the local classifier) wins over the LLM, which knows nothing of it.
   */
  readonly personal?: PersonalModelStore;
}

/** Similarity to a corrected message from which the person's correction outranks the LLM. */
const PERSONAL_PRECEDENCE = 0.6;

/** The LLM path: answers from the endpoint when it can, from the local classifier otherwise. */
export interface LlmClassifier extends Classifier {
  /** The raw LLM answer for `text` (masked), without fallback: throws an `LlmError`. */
  ask(text: string, signal?: AbortSignal): Promise<LlmAnswer>;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Creates the LLM classifier over any OpenAI-compatible chat-completions endpoint. Every message is first
 * read by the local detectors: recognised secret values are masked before anything leaves the machine, and
 * where the detectors are certain the final category is the more protective of the two answers. Any
 * failure — time budget, network, rate limit, bad output — falls back to the local answer, with
 * `fallbackReason` saying why.
 */
export function createLlmClassifier(options: LlmClassifierOptions): LlmClassifier {
  const timeoutMs = options.timeoutMs ?? 2000;
  const maxRetries = options.maxRetries ?? 2;
  const backoffBase = options.backoffBaseMs ?? 100;
  const client = new OpenAI({
    baseURL: options.baseURL,
    apiKey: options.apiKey,
    maxRetries: 0,
    timeout: timeoutMs,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });

  async function attempt(masked: string, signal: AbortSignal, remaining: number): Promise<LlmAnswer> {
    const completion = await client.chat.completions.create(
      {
        model: options.model,
        temperature: 0.1,
        max_tokens: 300,
        messages: [
          { role: 'system', content: SYSTEM_PROMPT },
          { role: 'user', content: `Classify this message:\n\n${masked}` },
        ],
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'memory_classification', strict: true, schema: RESPONSE_SCHEMA },
        },
      },
      { signal, timeout: Math.max(1, remaining), maxRetries: 0 },
    );
    return parseAnswer(completion.choices[0]?.message?.content);
  }

  async function ask(text: string, outer?: AbortSignal): Promise<LlmAnswer> {
    const masked = maskFindings(text, options.local.detect(text));
    const deadline = Date.now() + timeoutMs;
    const budget = new AbortController();
    const timer = setTimeout(() => budget.abort(new LlmTimeoutError(timeoutMs)), timeoutMs);
    const onOuterAbort = () => budget.abort(outer?.reason);
    outer?.addEventListener('abort', onOuterAbort, { once: true });
    try {
      for (let n = 0; ; n++) {
        try {
          return await attempt(masked, budget.signal, deadline - Date.now());
        } catch (error) {
          const failure = classifyFailure(error, budget.signal, timeoutMs);
          const retryable =
            failure instanceof LlmTimeoutError || (failure instanceof LlmNetworkError && failure.kind !== 'http_error');
          if (!retryable || n >= maxRetries || budget.signal.aborted) throw failure;
          const backoff = Math.random() * backoffBase * 2 ** n;
          const wait = Math.max(backoff, retryAfterMs(error) ?? 0);
          // Waiting past the deadline cannot succeed: fail now so the fallback has the time instead.
          if (Date.now() + wait >= deadline) throw failure;
          await sleep(wait, budget.signal).catch(() => {
            throw new LlmTimeoutError(timeoutMs, { cause: failure });
          });
        }
      }
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
    }
  }

  async function classify(text: string, ctx: ClassifyContext = {}): Promise<Classification> {
    const local = await options.local.classify(text, ctx);
    if (ctx.userId && options.personal) {
      const mine = options.personal.predictSync(ctx.userId, text.replace(/\u0000/g, '').trim());
      if (mine && mine.similarity >= PERSONAL_PRECEDENCE && mine.category === local.category) return local;
    }
    let answer: LlmAnswer;
    try {
      answer = await ask(text);
    } catch (error) {
      const reason = (error as Partial<LlmError>).kind ?? 'network';
      return { ...local, fallbackReason: reason };
    }
    return merge(answer, local, options.local.detect(text), text);
  }

  return { classify, ask };
}

/** Reads the model's message content as a classification, or throws `LlmBadOutputError`. */
export function parseAnswer(content: string | null | undefined): LlmAnswer {
  const answer = answerJson(content);
  if ('problem' in answer) {
    throw answer.problem === 'empty'
      ? new LlmBadOutputError('empty answer')
      : new LlmBadOutputError('not JSON', { cause: answer.cause });
  }
  const parsed = llmAnswerSchema.safeParse(answer.json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new LlmBadOutputError(`${issue?.path.join('.') || 'answer'}: ${issue?.code ?? 'invalid'}`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}

/** Maps whatever the request threw to one of the three LLM errors. */
function classifyFailure(error: unknown, budget: AbortSignal, timeoutMs: number): LlmError {
  if (error instanceof LlmBadOutputError || error instanceof LlmNetworkError || error instanceof LlmTimeoutError) {
    return error;
  }
  const failure = describeOpenAiFailure(error, budget, 'classify the message');
  if (failure.kind === 'timeout') return new LlmTimeoutError(timeoutMs, { cause: error });
  return new LlmNetworkError(failure.kind, failure.message, {
    cause: error,
    ...(failure.status === undefined ? {} : { status: failure.status }),
  });
}

/** Milliseconds the server asked us to wait (Retry-After seconds or date, retry-after-ms). */
function retryAfterMs(error: unknown): number | undefined {
  if (!(error instanceof OpenAI.APIError) || !error.headers) return undefined;
  const ms = Number(error.headers.get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return ms;
  const header = error.headers.get('retry-after');
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Combines the LLM answer with the local one: certain detectors set a floor; values never leak into text. */
function merge(answer: LlmAnswer, local: Classification, findings: readonly Finding[], text: string): Classification {
  const certain = strongestFinding(findings, CERTAIN);
  let category: Category = answer.category;
  let reasoning = redact(answer.reasoning, findings, text).trim() || local.reasoning;
  if (certain && moreProtective(category, certain.category) !== category) {
    category = certain.category;
    reasoning = `${local.reasoning.replace(/\.$/, '')} (the LLM suggested ${answer.category.toLowerCase()}).`;
  }
  const values = findings.map((f) => text.slice(f.start, f.end).toLowerCase());
  const tags = [
    ...new Set(
      answer.tags
        .map((t) => t.trim().toLowerCase())
        .filter((t) => t.length > 0 && t.length <= 40 && !values.some((v) => v && (t.includes(v) || v.includes(t)))),
    ),
  ].slice(0, 8);
  const confidence = Math.min(1, Math.max(0, answer.confidence));
  return {
    category,
    level: levelOf(category),
    confidence,
    reasoning,
    tags: tags.length ? tags : local.tags,
    emotionalContext: answer.emotional_context.trim().toLowerCase() || local.emotionalContext,
    ...(local.eventDate === undefined ? {} : { eventDate: local.eventDate }),
    source: 'llm',
    needsReview: confidence < THRESHOLDS[category],
  };
}

/** Removes any detected secret value the model may have echoed. */
function redact(s: string, findings: readonly Finding[], text: string): string {
  let out = s;
  for (const f of findings) {
    const value = text.slice(f.start, f.end).trim();
    if (value.length >= 3) out = out.split(value).join('[redacted]');
  }
  return out;
}
