import { z } from '@hono/zod-openapi';
import { CATEGORIES } from '../core/category.js';
import { CHANNELS } from '../core/entry.js';
import { ERROR_CODES, SECURITY_REASONS } from '../core/errors.js';

/**
 * The wire schemas of the HTTP API. They validate requests and generate the OpenAPI document, so the two can
 * never disagree. Request objects are strict: an unknown field is a 400, never silently dropped.
 */

/** ULID: 26 Crockford base-32 characters. Anything else (a path, "..", a quote) stops here. */
export const ULID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

const isoDate = z
  .string()
  .max(40)
  .refine((v) => !Number.isNaN(Date.parse(v)), 'Expected an ISO 8601 date')
  .openapi({ example: '2026-11-26T18:04:49.000Z' });

export const Level = z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)]).openapi('Level');
export const CategorySchema = z.enum(CATEGORIES).openapi('Category');

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.enum([...ERROR_CODES, 'INTERNAL_ERROR', 'UNSUPPORTED_MEDIA_TYPE', 'PAYLOAD_TOO_LARGE']),
      message: z.string(),
      reason: z.enum(SECURITY_REASONS).optional(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .openapi('Error');

export const IdParam = z.object({
  id: z
    .string()
    .regex(ULID_PATTERN, 'Expected a memory id (26-character ULID)')
    .openapi({ param: { name: 'id', in: 'path' }, example: '01JDQ8Z6M0X8V3Y9G7K2T4B5N1' }),
});

const phone = z.string().min(3).max(64).openapi({ example: '+14155550134' });
// Bounded so a password hash (Argon2id) can never be asked to chew megabytes.
const password = z.string().min(1).max(1024);
const sessionMode = z
  .enum(['bearer', 'cookie'])
  .optional()
  .openapi({ description: 'bearer (default): the token is returned once in the body; cookie: HttpOnly cookies.' });

export const SignUpBody = z
  .strictObject({
    phone,
    password,
    name: z.string().max(200).nullable().optional(),
    timezone: z.string().max(64).optional(),
    email: z.email().max(320).nullable().optional(),
    session: sessionMode,
  })
  .openapi('SignUp');

export const SignInBody = z.strictObject({ phone, password, session: sessionMode }).openapi('SignIn');

export const Session = z
  .object({
    id: z.string(),
    userId: z.string(),
    createdAt: z.string(),
    unlocked: z.array(Level),
    expires: z.record(z.string(), z.string()),
    totpEnrolled: z.boolean(),
    passkeys: z.number().int(),
  })
  .openapi('Session');

export const Profile = z
  .object({
    userId: z.string(),
    name: z.string().nullable(),
    timezone: z.string(),
    createdAt: z.string(),
    maxLevel: Level,
    email: z.string().nullable(),
    /** BCP 47 tag for dates and numbers in the web app; null follows the browser. */
    locale: z.string().nullable(),
  })
  .openapi('Profile');

/** A BCP 47 language tag the runtime knows, e.g. "en-GB", "pt-PT". */
const locale = z
  .string()
  .max(35)
  .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/, 'Use a language tag such as en-GB or pt-PT.')
  .refine((tag) => {
    try {
      return Intl.getCanonicalLocales(tag).length === 1;
    } catch {
      return false;
    }
  }, 'Use a language tag such as en-GB or pt-PT.');

/** The fields a person may change of their profile; absent ones stay. */
export const ProfilePatchBody = z
  .strictObject({
    name: z.string().max(200).nullable().optional(),
    timezone: z.string().max(64).optional(),
    /** Empty string: follow the browser again. */
    locale: z.union([locale, z.literal('')]).optional(),
  })
  .openapi('ProfilePatch');

export const SessionResponse = z
  .object({
    session: Session,
    /** Only for `session: "bearer"`: shown once, never again. */
    token: z.string().optional(),
    /** Only for `session: "cookie"`: echo it in `X-CSRF-Token` on every state-changing request. */
    csrfToken: z.string().optional(),
    user: Profile.optional(),
  })
  .openapi('SessionResponse');

/** A WebAuthn response in its JSON form; its inner structure is checked by the authentication service. */
const webauthnJson = z
  .looseObject({ id: z.string().max(1024), type: z.literal('public-key') })
  .openapi('WebAuthnResponse');

export const UnlockBody = z
  .strictObject({
    level: z.union([z.literal(2), z.literal(3), z.literal(4)]),
    password: password.optional(),
    totp: z
      .string()
      .regex(/^[0-9]{6,8}$/, 'Expected a 6–8 digit code')
      .optional(),
    passkey: webauthnJson.optional(),
  })
  .openapi('Unlock');

export const LockBody = z.strictObject({ level: z.union([z.literal(2), z.literal(3), z.literal(4)]).optional() });

export const TotpEnrollmentResponse = z
  .object({ secret: z.string(), otpauthUri: z.string(), qrSvg: z.string() })
  .openapi('TotpEnrollment');

export const TotpConfirmBody = z.strictObject({ code: z.string().regex(/^[0-9]{6,8}$/, 'Expected a 6–8 digit code') });

/** A password change from a signed-in session: the current password proves it is the person, not a left-open tab. */
export const PasswordChangeBody = z.strictObject({ current: password, password });

export const PasskeyRegisterBody = z.strictObject({
  response: webauthnJson,
  /** With a PRF-capable authenticator, the password lets level 4's key be wrapped by the passkey's PRF output. */
  password: password.optional(),
});

export const Memory = z
  .object({
    id: z.string(),
    date: z.string(),
    eventDate: z.string().nullable(),
    category: CategorySchema,
    level: Level,
    tags: z.array(z.string()),
    content: z.string(),
    analysis: z.string(),
    confidence: z.number(),
    related: z.array(z.string()),
    emotionalContext: z.string(),
    channel: z.enum(CHANNELS),
    externalId: z.string().nullable(),
  })
  .openapi('Memory');

export const RememberBody = z
  .strictObject({
    // No length cap here: the memory service enforces the one limit (MEMVAULT_MAX_CONTENT_BYTES) for every edge,
    // and the body limit (twice that, plus headroom) bounds what is parsed.
    text: z.string().trim().min(1, 'Write something to remember'),
    at: isoDate.optional(),
    externalId: z.string().min(1).max(200).optional(),
    category: CategorySchema.optional(),
  })
  .openapi('Remember');

export const RememberResponse = z
  .object({
    memory: Memory,
    reply: z.string(),
    indexed: z.boolean(),
    classification: z.object({
      category: CategorySchema,
      level: Level,
      confidence: z.number(),
      source: z.enum(['llm', 'local']),
      fallbackReason: z.string().optional().openapi({
        description:
          'Present when a configured LLM failed and the local classifier answered: timeout, network, rate_limited, http_error or bad_output',
      }),
      needsReview: z.boolean(),
    }),
  })
  .openapi('RememberResult');

const csv = (pattern: RegExp, what: string) =>
  z.string().max(500).regex(pattern, `Expected a comma-separated list of ${what}`).optional();

// Case-insensitive without a regex flag, which OpenAPI's `pattern` cannot carry: SECRET, secret, Secret.
const anyCase = (word: string) =>
  word
    .split('')
    .map((ch) => `[${ch}${ch.toLowerCase()}]`)
    .join('');
const CATEGORY_WORD = `(${CATEGORIES.map(anyCase).join('|')})`;

export const ListQuery = z.strictObject({
  categories: csv(new RegExp(`^${CATEGORY_WORD}(,${CATEGORY_WORD})*$`), 'categories').openapi({
    example: 'CHRONOLOGICAL,GENERAL',
  }),
  levels: csv(/^[1-4](,[1-4])*$/, 'levels 1–4'),
  tags: csv(/^[^,]{1,64}(,[^,]{1,64})*$/, 'tags'),
  from: isoDate.optional(),
  to: isoDate.optional(),
  dateField: z.enum(['date', 'eventDate']).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
  offset: z.coerce.number().int().min(0).max(1_000_000).optional(),
  order: z.enum(['asc', 'desc']).optional(),
});

export const Damaged = z.object({ id: z.string().nullable(), category: CategorySchema, reason: z.string() });

export const ListResponse = z
  .object({
    memories: z.array(Memory),
    /** Matching memories whose level is locked: counted, never shown. */
    locked: z.number().int(),
    /** The locked ones, unopened: id, category, level and the date where it is not sealed (levels 3–4 seal it). */
    sealed: z.array(z.object({ id: z.string(), category: CategorySchema, level: Level, date: z.string().nullable() })),
    damaged: z.array(Damaged),
    total: z.number().int(),
  })
  .openapi('MemoryList');

export const CorrectBody = z.strictObject({ category: CategorySchema }).openapi('Correct');

export const MemoryResponse = z.object({ memory: Memory }).openapi('MemoryResponse');
export const RelatedResponse = z
  .object({
    memories: z.array(Memory),
    /** Why each related memory is related, from the daily processing (absent without the insights manager). */
    connections: z
      .array(
        z.object({
          id: z.string(),
          kind: z.enum(['people', 'location', 'thematic', 'emotional', 'temporal']),
          reason: z.string().openapi({ example: 'both mention Nadia' }),
        }),
      )
      .optional(),
  })
  .openapi('Related');

export const SearchBody = z
  .strictObject({
    query: z.string().trim().min(1).max(1000),
    limit: z.number().int().min(1).max(200).optional(),
    from: isoDate.optional(),
    to: isoDate.optional(),
    dateField: z.enum(['date', 'eventDate']).optional(),
    tags: z.array(z.string().min(1).max(64)).max(20).optional(),
    categories: z.array(CategorySchema).max(5).optional(),
    levels: z.array(Level).max(4).optional(),
  })
  .openapi('Search');

export const SearchResponse = z
  .object({
    results: z.array(
      z.object({ memory: Memory, score: z.number(), signals: z.array(z.string()), highlighted: z.string() }),
    ),
  })
  .openapi('SearchResults');

export const AuditQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).optional(),
  before: z.coerce.number().int().min(0).optional(),
});

export const AuditResponse = z
  .object({
    records: z.array(
      z.object({
        seq: z.number().int(),
        at: z.string(),
        action: z.string(),
        result: z.enum(['success', 'failure', 'denied']),
        reason: z.string().optional(),
        level: Level.optional(),
        ip: z.string().optional(),
        userAgent: z.string().optional(),
        device: z.string().optional(),
        session: z.string().optional(),
        risk: z.number(),
      }),
    ),
  })
  .openapi('AuditLog');

export const MeResponse = z.object({ user: Profile, session: Session }).openapi('Me');

export const HealthResponse = z.object({ status: z.literal('ok'), uptimeSeconds: z.number() }).openapi('Health');
export const ReadyResponse = z.object({ status: z.enum(['ready', 'not_ready']) }).openapi('Ready');
