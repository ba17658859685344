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
  .openapi({
    format: 'date-time',
    description: 'ISO 8601 date-time (a bare date, 2026-11-26, means midnight UTC)',
    example: '2026-11-26T18:04:49.000Z',
  });

/** An instant the server reports: always ISO 8601 in UTC. */
const Timestamp = z.string().openapi({ format: 'date-time', example: '2026-11-26T18:04:49.000Z' });

export const Level = z.literal([1, 2, 3, 4]).openapi('Level', {
  // The generator documents only the first value of a multi-value literal; say all four.
  type: 'integer',
  enum: [1, 2, 3, 4],
  description: '1 chronological/general, 2 confidential, 3 secret, 4 ultra-secret',
});
export const CategorySchema = z.enum(CATEGORIES).openapi('Category');

/**
 * A query list, sent comma-separated (`?categories=GENERAL,SECRET`, OpenAPI style form, explode false) or as
 * repeated keys; each part is checked against `item`.
 */
const queryList = <T extends z.ZodType>(item: T, max: number, description: string) =>
  z
    .preprocess((value) => {
      const parts = (Array.isArray(value) ? value : [value]).flatMap((v) =>
        typeof v === 'string' ? v.split(',') : [v],
      );
      return parts.map((p) => (typeof p === 'string' ? p.trim() : p)).filter((p) => p !== '');
    }, z.array(item).max(max))
    .optional()
    .openapi({ description, param: { style: 'form', explode: false } });

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
    .openapi({
      param: { name: 'id', in: 'path', description: 'The memory’s id (ULID)' },
      example: '01JDQ8Z6M0X8V3Y9G7K2T4B5N1',
    }),
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
    /** Make the recovery kit within the sign-up: its code comes back once, in `recoveryKit` (the web app does). */
    recoveryKit: z.boolean().optional().openapi({
      description:
        'Also make the recovery kit now: its code is in the response, shown this once (the same kit as POST /v1/account/recovery-kit).',
    }),
  })
  .openapi('SignUp');

export const SignInBody = z.strictObject({ phone, password, session: sessionMode }).openapi('SignIn');

export const Session = z
  .object({
    id: z.string(),
    userId: z.string(),
    createdAt: Timestamp,
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
    createdAt: Timestamp,
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

/** Sign-up's answer: the session, and the recovery kit's code when it was asked for (shown this once). */
export const SignUpResponse = SessionResponse.extend({
  recoveryKit: z
    .object({ code: z.string(), createdAt: z.string() })
    .optional()
    .openapi({ description: 'Only when `recoveryKit: true` was asked: the code, shown this once, never again.' }),
}).openapi('SignUpResponse');

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
    date: Timestamp.openapi({ description: 'When it was written' }),
    eventDate: Timestamp.nullable().openapi({ description: 'When it happened, when the text says so' }),
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

const LIMIT_TEXT = 'Most items to return';
const OFFSET_TEXT = 'Items to skip (paging: offset + limit; `total` says how many there are)';

export const ListQuery = z.strictObject({
  categories: queryList(
    z.preprocess((v) => (typeof v === 'string' ? v.toUpperCase() : v), CategorySchema),
    5,
    'Only these categories (any case), comma-separated',
  ),
  levels: queryList(
    z.preprocess((v) => (typeof v === 'string' && /^\d$/.test(v) ? Number(v) : v), Level),
    4,
    'Only these levels, comma-separated',
  ),
  tags: queryList(z.string().min(1).max(64), 20, 'Only memories with every one of these tags, comma-separated'),
  from: isoDate.optional().openapi({ description: 'From this instant (inclusive)' }),
  to: isoDate.optional().openapi({ description: 'Up to this instant (exclusive)' }),
  dateField: z
    .enum(['date', 'eventDate'])
    .optional()
    .openapi({ description: 'Which date from/to apply to: when written (default) or when it happened' }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(500)
    .optional()
    .openapi({ description: `${LIMIT_TEXT} (default 50)` }),
  offset: z.coerce.number().int().min(0).max(1_000_000).optional().openapi({ description: OFFSET_TEXT }),
  order: z.enum(['asc', 'desc']).optional().openapi({ description: 'By date: desc (newest first, default) or asc' }),
});

export const Damaged = z.object({ id: z.string().nullable(), category: CategorySchema, reason: z.string() });

export const ListResponse = z
  .object({
    memories: z.array(Memory),
    /** Matching memories whose level is locked: counted, never shown. */
    locked: z.number().int(),
    /** The locked ones, unopened: id, category, level and the date where it is not sealed (levels 3–4 seal it). */
    sealed: z.array(z.object({ id: z.string(), category: CategorySchema, level: Level, date: Timestamp.nullable() })),
    damaged: z.array(Damaged),
    total: z.number().int().openapi({ description: 'Matching memories the session can read, over all pages' }),
  })
  .openapi('MemoryList');

export const CorrectBody = z
  .strictObject({
    category: CategorySchema.optional().openapi({ description: 'Move it to this category (and level)' }),
    text: z
      .string()
      .trim()
      .min(1, 'Write the new text')
      .optional()
      .openapi({ description: 'Replace its text: classified again; the earlier text is kept as a version' }),
  })
  .refine((body) => (body.category === undefined) !== (body.text === undefined), {
    message: 'Give either a category (to move it) or a text (to edit it), not both',
  })
  .openapi('Correct');

export const DeleteQuery = z.strictObject({
  permanent: z
    .enum(['true', 'false'])
    .optional()
    .openapi({ description: 'true: erase it now, with its versions; default: move it to the trash for 30 days' }),
});

export const Version = z
  .object({
    revision: z.number().int().openapi({ description: 'Its revision number (1: as first written)' }),
    category: CategorySchema,
    level: Level,
    savedAt: Timestamp.nullable().openapi({
      description: 'When this version was written (null when sealed and locked)',
    }),
    replacedAt: Timestamp.openapi({ description: 'When the edit that replaced it was made' }),
    memory: Memory.nullable().openapi({ description: 'The version; null while its level is locked' }),
  })
  .openapi('Version');

export const VersionsResponse = z.object({ versions: z.array(Version) }).openapi('Versions');

export const TrashResponse = z
  .object({
    memories: z.array(
      z.object({
        id: z.string(),
        category: CategorySchema,
        level: Level,
        trashedAt: Timestamp,
        erasedAfter: Timestamp.openapi({ description: 'Erased for good after this, unless restored' }),
        memory: Memory.nullable().openapi({ description: 'The memory; null while its level is locked' }),
      }),
    ),
  })
  .openapi('Trash');

export const EmptyTrashResponse = z.object({ erased: z.number().int() }).openapi('EmptyTrash');

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

/** Search ranks at most this many matches; `total` counts up to it, and paging stays inside it. */
export const SEARCH_WINDOW = 500;

export const SearchBody = z
  .strictObject({
    query: z.string().trim().min(1).max(1000).openapi({ description: 'What to look for, in your own words' }),
    limit: z
      .number()
      .int()
      .min(1)
      .max(200)
      .optional()
      .openapi({ description: `${LIMIT_TEXT} (default 50)` }),
    offset: z
      .number()
      .int()
      .min(0)
      .max(SEARCH_WINDOW - 1)
      .optional()
      .openapi({ description: OFFSET_TEXT }),
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
    total: z
      .number()
      .int()
      .openapi({ description: `Matches over all pages (counted up to ${SEARCH_WINDOW})` }),
  })
  .openapi('SearchResults');

export const AuditQuery = z.strictObject({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(500)
    .optional()
    .openapi({ description: `${LIMIT_TEXT} (default 100)` }),
  offset: z.coerce.number().int().min(0).max(10_000_000).optional().openapi({ description: OFFSET_TEXT }),
});

export const AuditResponse = z
  .object({
    records: z.array(
      z.object({
        seq: z.number().int(),
        at: Timestamp,
        action: z.string(),
        result: z.enum(['success', 'failure', 'denied']),
        reason: z.string().optional(),
        level: Level.optional(),
        ip: z.string().optional(),
        userAgent: z.string().optional(),
        device: z.string().optional(),
        session: z.string().optional(),
        client: z.string().optional(),
        risk: z.number(),
      }),
    ),
    total: z.number().int().openapi({ description: 'Records in the log, over all pages' }),
  })
  .openapi('AuditLog');

export const MeResponse = z.object({ user: Profile, session: Session }).openapi('Me');

export const HealthResponse = z
  .object({
    status: z.literal('ok'),
    uptimeSeconds: z.number(),
    /** Which process answered: with `serve --workers N`, each worker answers for itself. */
    worker: z.object({ index: z.number().int(), pid: z.number().int() }),
  })
  .openapi('Health');
export const ReadyResponse = z
  .object({
    status: z.enum(['ready', 'not_ready']),
    worker: z.object({ index: z.number().int(), pid: z.number().int() }),
    /** Each dependency: "ok", or the error code that made it fail. */
    checks: z.record(z.string(), z.string()),
  })
  .openapi('Ready');
