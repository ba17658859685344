import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { validationError } from '../core/errors.js';

/** Everything memvault reads from the environment, validated once here and nowhere else. */
export interface Config {
  readonly dataDir: string;
  /** 32-byte master key from MEMVAULT_MASTER_KEY; undefined → MEMVAULT_MASTER_KEY_FILE, else dataDir/master.key. */
  readonly masterKeyEnv: string | undefined;
  /** MEMVAULT_MASTER_KEY_FILE: a key file kept outside the data dir (same 0600 checks). */
  readonly masterKeyFile: string | undefined;
  /** MEMVAULT_LEVEL1=plain keeps level 1 as readable Markdown. */
  readonly level1Plain: boolean;
  readonly maxContentBytes: number;
  /** MEMVAULT_CACHE_MB: memory for parsed and opened memories per process, across people (least recently used out). */
  readonly cacheBytes: number;
  readonly host: string;
  readonly port: number;
  /** The URL people open; its origin and host are the WebAuthn origin and RP id. */
  readonly publicUrl: string;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly llm: {
    readonly baseURL: string;
    readonly apiKey: string;
    readonly model: string;
    readonly timeoutMs: number;
    /** Time budget of one digest written by the LLM (MEMVAULT_LLM_DIGEST_TIMEOUT_MS, default 10 s). */
    readonly digestTimeoutMs?: number;
  } | null;
  /** Where `backup create` writes (MEMVAULT_BACKUP_DIR, default `<dataDir>/backups`). */
  readonly backupDir: string;
  /** Extra age recipients (MEMVAULT_BACKUP_RECIPIENT, comma-separated `age1…`) every backup is also encrypted to. */
  readonly backupRecipients: readonly string[];
  /** Cron pattern of the server's backup of every person (MEMVAULT_BACKUP_SCHEDULE; "off" disables), server time zone. */
  readonly backupSchedule: string | null;
  /** Retention applied after each scheduled run (MEMVAULT_BACKUP_KEEP_DAILY / _WEEKLY / _MONTHLY). */
  readonly backupKeep: { readonly daily: number; readonly weekly: number; readonly monthly: number };
  /** MEMVAULT_INSIGHTS_SCHEDULE=off: `serve` does not process each person's day after their local midnight. */
  readonly insightsSchedule?: boolean;
  /** Messenger and mail channels (docs/channels.md); each null when its variables are unset. */
  readonly channels?: ChannelsConfig;
  /** `serve` processes (MEMVAULT_WORKERS or --workers; default: the number of cores). 1 runs no cluster. */
  readonly workers?: number;
  /** MEMVAULT_METRICS_TOKEN: a bearer token that opens GET /metrics from any address (else loopback only). */
  readonly metricsToken?: string;
  /**
   * MEMVAULT_DATABASE_URL (postgres://…): memories, audit log and insights live in PostgreSQL, shared by every
   * server (docs/scale-out.md); MEMVAULT_DATABASE_SCHEMA names the schema (default "memvault"). Null: files only.
   */
  readonly database?: { readonly url: string; readonly schema: string } | null;
  readonly embeddings: {
    readonly baseURL: string;
    readonly apiKey: string;
    readonly model: string;
    readonly timeoutMs: number;
  } | null;
}

export interface ChannelsConfig {
  readonly telegram: { readonly token: string; readonly webhookSecret: string | null } | null;
  readonly twilio: { readonly accountSid: string; readonly authToken: string; readonly from: string } | null;
  readonly smtp: { readonly url: string; readonly from: string } | null;
  /** Inbound e-mail: an SMTP server `serve` runs for `<secret>@domain` addresses (docs/channels.md). */
  readonly inboundMail?: { readonly host: string; readonly port: number; readonly domain: string } | null;
}

const Env = z.object({
  MEMVAULT_DATA_DIR: z.string().min(1).optional(),
  MEMVAULT_MASTER_KEY: z.string().min(1).optional(),
  MEMVAULT_MASTER_KEY_FILE: z.string().min(1).optional(),
  MEMVAULT_LEVEL1: z.enum(['plain', 'sealed']).default('sealed'),
  MEMVAULT_MAX_CONTENT_BYTES: z.coerce.number().int().min(256).max(10_000_000).default(65_536),
  MEMVAULT_CACHE_MB: z.coerce.number().int().min(1).max(1_048_576).default(128),
  MEMVAULT_HOST: z.string().min(1).default('127.0.0.1'),
  MEMVAULT_PORT: z.coerce.number().int().min(0).max(65_535).default(8787),
  MEMVAULT_WORKERS: z.coerce.number().int().min(1).max(256).optional(),
  MEMVAULT_METRICS_TOKEN: z.string().min(16).optional(),
  MEMVAULT_PUBLIC_URL: z.url().optional(),
  MEMVAULT_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MEMVAULT_LLM_BASE_URL: z.url().optional(),
  MEMVAULT_LLM_API_KEY: z.string().optional(),
  MEMVAULT_LLM_MODEL: z.string().min(1).default('gpt-4o-mini'),
  MEMVAULT_LLM_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(2_000),
  MEMVAULT_LLM_DIGEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  MEMVAULT_BACKUP_DIR: z.string().min(1).optional(),
  MEMVAULT_BACKUP_RECIPIENT: z
    .string()
    .regex(
      /^\s*age1[02-9ac-hj-np-z]{58}(\s*,\s*age1[02-9ac-hj-np-z]{58})*\s*$/,
      'expected age1… recipients, comma-separated',
    )
    .optional(),
  MEMVAULT_BACKUP_SCHEDULE: z.string().min(1).default('0 3 * * *'),
  MEMVAULT_BACKUP_KEEP_DAILY: z.coerce.number().int().min(0).max(1000).default(7),
  MEMVAULT_BACKUP_KEEP_WEEKLY: z.coerce.number().int().min(0).max(1000).default(4),
  MEMVAULT_BACKUP_KEEP_MONTHLY: z.coerce.number().int().min(0).max(1000).default(12),
  MEMVAULT_EMBEDDINGS_BASE_URL: z.url().optional(),
  MEMVAULT_EMBEDDINGS_API_KEY: z.string().optional(),
  MEMVAULT_EMBEDDINGS_MODEL: z.string().min(1).default('text-embedding-3-small'),
  MEMVAULT_EMBEDDINGS_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(1_500),
  MEMVAULT_INSIGHTS_SCHEDULE: z.enum(['on', 'off']).default('on'),
  MEMVAULT_TELEGRAM_BOT_TOKEN: z
    .string()
    .regex(/^\d+:[A-Za-z0-9_-]{20,}$/, 'expected a bot token from @BotFather (123456:ABC…)')
    .optional(),
  // Telegram allows 1–256 characters A–Z, a–z, 0–9, _ and - in the secret token.
  MEMVAULT_TELEGRAM_WEBHOOK_SECRET: z
    .string()
    .regex(/^[A-Za-z0-9_-]{16,256}$/, 'expected 16–256 characters A–Z, a–z, 0–9, _ or -')
    .optional(),
  MEMVAULT_TWILIO_ACCOUNT_SID: z
    .string()
    .regex(/^AC[0-9a-fA-F]{32}$/, 'expected AC followed by 32 hex digits')
    .optional(),
  MEMVAULT_TWILIO_AUTH_TOKEN: z.string().min(16).optional(),
  MEMVAULT_TWILIO_FROM: z
    .string()
    .regex(/^\+[1-9][0-9]{6,14}$/, 'expected the Twilio number in E.164, e.g. +14155550100')
    .optional(),
  MEMVAULT_SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
  MEMVAULT_MAIL_FROM: z.string().min(3).max(320).optional(),
  MEMVAULT_INBOUND_SMTP_PORT: z.coerce.number().int().min(1).max(65_535).optional(),
  MEMVAULT_INBOUND_SMTP_HOST: z.string().min(1).max(255).default('127.0.0.1'),
  MEMVAULT_INBOUND_MAIL_DOMAIN: z
    .string()
    .regex(
      /^(?=.{3,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i,
      'expected a mail domain, e.g. in.example.org',
    )
    .optional(),
  MEMVAULT_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/\S+$/, 'expected postgres://user@host:5432/database')
    .optional(),
  MEMVAULT_DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected lowercase letters, digits and _')
    .default('memvault'),
});

export interface ConfigOverrides {
  readonly dataDir?: string;
  readonly host?: string;
  readonly port?: number;
  readonly workers?: number;
}

/**
 * Builds the configuration from the environment and command-line overrides.
 * @throws MemvaultError VALIDATION_ERROR naming the variable that is wrong (never its value: it may be a key).
 */
export function loadConfig(env: NodeJS.ProcessEnv, overrides: ConfigOverrides = {}): Config {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? 'environment');
    throw validationError(`Environment variable ${name} is invalid: ${issue?.message ?? 'bad value'}.`, {
      variable: name,
    });
  }
  const e = parsed.data;
  const host = overrides.host ?? e.MEMVAULT_HOST;
  const port = overrides.port ?? e.MEMVAULT_PORT;
  const dataDir = resolve(overrides.dataDir ?? e.MEMVAULT_DATA_DIR ?? './data');
  return {
    dataDir,
    backupDir: resolve(e.MEMVAULT_BACKUP_DIR ?? resolve(dataDir, 'backups')),
    backupRecipients: e.MEMVAULT_BACKUP_RECIPIENT?.split(',').map((r) => r.trim()) ?? [],
    backupSchedule: e.MEMVAULT_BACKUP_SCHEDULE.trim() === 'off' ? null : e.MEMVAULT_BACKUP_SCHEDULE.trim(),
    backupKeep: {
      daily: e.MEMVAULT_BACKUP_KEEP_DAILY,
      weekly: e.MEMVAULT_BACKUP_KEEP_WEEKLY,
      monthly: e.MEMVAULT_BACKUP_KEEP_MONTHLY,
    },
    masterKeyEnv: e.MEMVAULT_MASTER_KEY,
    masterKeyFile: e.MEMVAULT_MASTER_KEY_FILE,
    level1Plain: e.MEMVAULT_LEVEL1 === 'plain',
    maxContentBytes: e.MEMVAULT_MAX_CONTENT_BYTES,
    cacheBytes: e.MEMVAULT_CACHE_MB * 2 ** 20,
    host,
    port,
    publicUrl:
      e.MEMVAULT_PUBLIC_URL ?? `http://${host === '127.0.0.1' || host === '0.0.0.0' ? 'localhost' : host}:${port}`,
    logLevel: e.MEMVAULT_LOG_LEVEL,
    insightsSchedule: e.MEMVAULT_INSIGHTS_SCHEDULE === 'on',
    channels: channelsConfig(e),
    workers: overrides.workers ?? e.MEMVAULT_WORKERS ?? availableParallelism(),
    ...(e.MEMVAULT_METRICS_TOKEN ? { metricsToken: e.MEMVAULT_METRICS_TOKEN } : {}),
    database: e.MEMVAULT_DATABASE_URL ? { url: e.MEMVAULT_DATABASE_URL, schema: e.MEMVAULT_DATABASE_SCHEMA } : null,
    llm: e.MEMVAULT_LLM_BASE_URL
      ? {
          baseURL: e.MEMVAULT_LLM_BASE_URL,
          apiKey: e.MEMVAULT_LLM_API_KEY ?? 'not-needed',
          model: e.MEMVAULT_LLM_MODEL,
          timeoutMs: e.MEMVAULT_LLM_TIMEOUT_MS,
          digestTimeoutMs: e.MEMVAULT_LLM_DIGEST_TIMEOUT_MS,
        }
      : null,
    embeddings: e.MEMVAULT_EMBEDDINGS_BASE_URL
      ? {
          baseURL: e.MEMVAULT_EMBEDDINGS_BASE_URL,
          apiKey: e.MEMVAULT_EMBEDDINGS_API_KEY ?? 'not-needed',
          model: e.MEMVAULT_EMBEDDINGS_MODEL,
          timeoutMs: e.MEMVAULT_EMBEDDINGS_TIMEOUT_MS,
        }
      : null,
  };
}

/** Each channel needs all of its variables; a half-configured one is an error naming what is missing. */
function channelsConfig(e: z.output<typeof Env>): ChannelsConfig {
  const need = (set: Record<string, string | undefined>, channel: string) => {
    const given = Object.values(set).some((v) => v !== undefined);
    const missing = Object.entries(set)
      .filter(([, v]) => v === undefined)
      .map(([k]) => k);
    if (given && missing.length > 0) {
      throw validationError(`${channel} is half configured: set ${missing.join(' and ')} as well, or unset the rest.`, {
        variable: missing[0],
      });
    }
    return given;
  };
  const twilio = {
    MEMVAULT_TWILIO_ACCOUNT_SID: e.MEMVAULT_TWILIO_ACCOUNT_SID,
    MEMVAULT_TWILIO_AUTH_TOKEN: e.MEMVAULT_TWILIO_AUTH_TOKEN,
    MEMVAULT_TWILIO_FROM: e.MEMVAULT_TWILIO_FROM,
  };
  const smtp = { MEMVAULT_SMTP_URL: e.MEMVAULT_SMTP_URL, MEMVAULT_MAIL_FROM: e.MEMVAULT_MAIL_FROM };
  const inbound = {
    MEMVAULT_INBOUND_SMTP_PORT: e.MEMVAULT_INBOUND_SMTP_PORT?.toString(),
    MEMVAULT_INBOUND_MAIL_DOMAIN: e.MEMVAULT_INBOUND_MAIL_DOMAIN,
  };
  if (e.MEMVAULT_TELEGRAM_WEBHOOK_SECRET !== undefined && e.MEMVAULT_TELEGRAM_BOT_TOKEN === undefined) {
    throw validationError('MEMVAULT_TELEGRAM_WEBHOOK_SECRET is set without MEMVAULT_TELEGRAM_BOT_TOKEN.', {
      variable: 'MEMVAULT_TELEGRAM_BOT_TOKEN',
    });
  }
  return {
    telegram: e.MEMVAULT_TELEGRAM_BOT_TOKEN
      ? { token: e.MEMVAULT_TELEGRAM_BOT_TOKEN, webhookSecret: e.MEMVAULT_TELEGRAM_WEBHOOK_SECRET ?? null }
      : null,
    twilio: need(twilio, 'Twilio')
      ? {
          accountSid: twilio.MEMVAULT_TWILIO_ACCOUNT_SID!,
          authToken: twilio.MEMVAULT_TWILIO_AUTH_TOKEN!,
          from: twilio.MEMVAULT_TWILIO_FROM!,
        }
      : null,
    smtp: need(smtp, 'E-mail') ? { url: smtp.MEMVAULT_SMTP_URL!, from: smtp.MEMVAULT_MAIL_FROM! } : null,
    inboundMail: need(inbound, 'Inbound e-mail')
      ? {
          host: e.MEMVAULT_INBOUND_SMTP_HOST,
          port: e.MEMVAULT_INBOUND_SMTP_PORT!,
          domain: e.MEMVAULT_INBOUND_MAIL_DOMAIN!.toLowerCase(),
        }
      : null,
  };
}
