import { timingSafeEqual } from 'node:crypto';
import { Bot, type Context, GrammyError, HttpError, Keyboard } from 'grammy';
import type { Update } from 'grammy/types';
import { MemvaultError } from '../core/errors.js';
import type { ChannelHealth, ChannelSender, OutboundMessage } from '../ports/channels.js';
import { type Logger, silentLogger } from '../ports/logger.js';
import type { ChannelService, InboundResult } from './service.js';

/** Telegram refuses longer messages. */
const MAX_TEXT = 4096;
/** A webhook body larger than this is not a Telegram update memvault handles (a 100 KB message is 4 KB max). */
export const MAX_UPDATE_BYTES = 1_000_000;

export interface TelegramOptions {
  readonly token: string;
  /** MEMVAULT_TELEGRAM_WEBHOOK_SECRET: required for webhook mode, compared in constant time. */
  readonly webhookSecret?: string;
  /** The Bot API root; default https://api.telegram.org. Tests point it at a loopback stand-in. */
  readonly apiRoot?: string;
  readonly logger?: Logger;
}

export interface TelegramChannel {
  readonly sender: ChannelSender;
  /** Connects the inbound side to the channel service (done once, by the composition root). */
  attach(service: ChannelService): void;
  /**
   * Handles one webhook request: 403 when the secret header is missing or wrong (nothing handled), 429 when the
   * chat is over its rate (Telegram retries it later, so nothing accepted is lost), 200 otherwise.
   */
  webhook(request: Request): Promise<Response>;
  /** The bot's username (getMe, asked once), for t.me deep links. @throws NETWORK_ERROR when Telegram does not answer */
  username(): Promise<string>;
  /** Long-polling mode (no public URL needed). Resolves once polling runs. */
  startPolling(): Promise<void>;
  stop(): Promise<void>;
}

function clip(text: string): string {
  return text.length <= MAX_TEXT ? text : `${text.slice(0, MAX_TEXT - 1)}…`;
}

function sameSecret(given: string | null, expected: string): boolean {
  if (given === null) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  // timingSafeEqual needs equal lengths; comparing b with itself keeps the time independent of where they differ.
  if (a.length !== b.length) {
    timingSafeEqual(b, b);
    return false;
  }
  return timingSafeEqual(a, b);
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

export function createTelegramChannel(options: TelegramOptions): TelegramChannel {
  const logger = options.logger ?? silentLogger;
  const bot = new Bot(options.token, options.apiRoot ? { client: { apiRoot: options.apiRoot } } : {});
  let service: ChannelService | null = null;
  let polling = false;
  /** The outcome of each update being handled, read back by the webhook to choose its status. */
  const outcomes = new Map<number, InboundResult['status']>();

  async function reply(ctx: Context, result: InboundResult): Promise<void> {
    if (!result.reply) return;
    const chatId = ctx.chat?.id;
    if (chatId === undefined) return;
    const markup = result.requestContact
      ? { reply_markup: new Keyboard().requestContact('Share my phone number').oneTime().resized() }
      : { reply_markup: { remove_keyboard: true as const } };
    await ctx.api.sendMessage(chatId, clip(result.reply.text), markup);
  }

  bot.on(['message', 'edited_message'], async (ctx) => {
    if (!service)
      throw new MemvaultError('CONFIG_ERROR', 'The Telegram channel is not attached to the channel service.');
    const msg = ctx.msg;
    const from = ctx.from;
    // Only private chats: a group would mix several people's messages into one person's vault.
    if (ctx.chat.type !== 'private' || !from) return;
    const text = msg.text ?? msg.caption ?? null;
    const contact = msg.contact
      ? { phone: msg.contact.phone_number, ownContact: msg.contact.user_id === from.id }
      : undefined;
    for (let attempt = 0; ; attempt++) {
      const result = await service.handle({
        channel: 'telegram',
        providerId: String(ctx.update.update_id),
        address: String(ctx.chat.id),
        text,
        edited: ctx.editedMessage !== undefined,
        ...(contact ? { contact } : {}),
        at: new Date(msg.date * 1000),
      });
      outcomes.set(ctx.update.update_id, result.status);
      // Polling has no retry by Telegram: wait for the chat's rate instead of dropping the message.
      if (result.status === 'rate_limited' && polling && attempt < 40) {
        await new Promise((r) => setTimeout(r, 250));
        continue;
      }
      // A webhook's rate-limited update is answered 429 and retried by Telegram: no "slow down" message.
      if (result.status !== 'rate_limited') await reply(ctx, result);
      return;
    }
  });

  bot.catch((err) => {
    const cause = err.error;
    const code =
      cause instanceof MemvaultError
        ? cause.code
        : cause instanceof GrammyError
          ? `telegram_${cause.error_code}`
          : 'unknown';
    logger.error({ channel: 'telegram', update: err.ctx.update.update_id, code }, 'telegram update failed');
  });

  const ensureInit = async () => {
    if (!bot.isInited()) await bot.init();
  };

  const sender: ChannelSender = {
    kind: 'telegram',
    async send(chatId: string, message: OutboundMessage): Promise<void> {
      try {
        await bot.api.sendMessage(chatId, clip(message.text));
      } catch (cause) {
        const detail = cause instanceof GrammyError ? ` (Telegram said ${cause.error_code})` : '';
        throw new MemvaultError('NETWORK_ERROR', `Telegram did not accept the message${detail}.`, { cause });
      }
    },
    async health(): Promise<ChannelHealth> {
      try {
        const me = await bot.api.getMe();
        const mode = options.webhookSecret ? 'webhook' : 'long polling';
        return { configured: true, reachable: true, detail: `bot @${me.username} (${mode})` };
      } catch (cause) {
        const why =
          cause instanceof GrammyError
            ? `token refused (${cause.error_code})`
            : cause instanceof HttpError
              ? 'unreachable'
              : 'error';
        return { configured: true, reachable: false, detail: `Telegram Bot API ${why}` };
      }
    },
  };

  return {
    sender,
    attach(s) {
      service = s;
    },
    async webhook(request) {
      if (!options.webhookSecret) {
        return json(404, { error: { code: 'NOT_FOUND', message: 'Telegram webhook mode is not configured.' } });
      }
      if (!sameSecret(request.headers.get('x-telegram-bot-api-secret-token'), options.webhookSecret)) {
        logger.warn({ channel: 'telegram' }, 'webhook refused: wrong or missing secret token');
        return json(403, {
          error: { code: 'SECURITY_ERROR', message: 'Wrong or missing X-Telegram-Bot-Api-Secret-Token.' },
        });
      }
      const length = Number(request.headers.get('content-length') ?? 0);
      if (length > MAX_UPDATE_BYTES)
        return json(413, { error: { code: 'PAYLOAD_TOO_LARGE', message: 'Update too large.' } });
      let update: Update;
      try {
        const raw = await request.text();
        if (raw.length > MAX_UPDATE_BYTES) throw new Error('too large');
        update = JSON.parse(raw) as Update;
      } catch {
        return json(400, { error: { code: 'VALIDATION_ERROR', message: 'The body is not a Telegram update.' } });
      }
      if (typeof update !== 'object' || update === null || !Number.isSafeInteger(update.update_id)) {
        return json(400, { error: { code: 'VALIDATION_ERROR', message: 'The body is not a Telegram update.' } });
      }
      await ensureInit();
      try {
        await bot.handleUpdate(update);
      } catch (err) {
        // Logged by bot.catch semantics; Telegram retries on a 500, and the idempotency store makes that safe.
        const cause = (err as { error?: unknown }).error;
        logger.error(
          {
            channel: 'telegram',
            update: update.update_id,
            code: cause instanceof MemvaultError ? cause.code : 'unknown',
          },
          'telegram update failed',
        );
        outcomes.delete(update.update_id);
        return json(500, { error: { code: 'INTERNAL_ERROR', message: 'The update could not be handled; retry.' } });
      }
      const status = outcomes.get(update.update_id);
      outcomes.delete(update.update_id);
      if (status === 'rate_limited') return json(429, { ok: false, retry_after: 1 }, { 'retry-after': '1' });
      return json(200, { ok: true });
    },
    async username() {
      try {
        await ensureInit();
      } catch (cause) {
        const detail = cause instanceof GrammyError ? ` (Telegram said ${cause.error_code})` : '';
        throw new MemvaultError('NETWORK_ERROR', `Telegram did not tell the bot’s name${detail}; try again later.`, {
          cause,
        });
      }
      return bot.botInfo.username;
    },
    async startPolling() {
      polling = true;
      await new Promise<void>((resolve, reject) => {
        bot.start({ onStart: () => resolve(), drop_pending_updates: false }).catch((error: unknown) => {
          polling = false;
          reject(error);
        });
      });
    },
    async stop() {
      if (polling) await bot.stop();
      polling = false;
    },
  };
}
