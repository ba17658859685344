import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { channelsHttp } from '../../src/app/channels.js';
import { loadConfig } from '../../src/app/config.js';
import { createMemvault } from '../../src/app/container.js';
import type { UserId } from '../../src/core/entry.js';
import { createHttpApp } from '../../src/server/http-app.js';
import { onFreePort, serveOrClose } from '../server/real.js';
import { startSmtpStandIn, startTelegramStandIn, startTwilioStandIn, twilioSignature } from './stand-ins.js';

export const BOT_TOKEN = '123456789:AAE-test_token_for_the_stand_in_0123';
export const WEBHOOK_SECRET = 'wh-secret_0123456789abcdefABCDEF';
export const TWILIO_SID = `AC${'0123456789abcdef'.repeat(2)}`;
export const TWILIO_TOKEN = 'twilio-auth-token-0123456789abcdef';
export const TWILIO_FROM = '+14155550100';

interface StandIns {
  readonly telegram: Awaited<ReturnType<typeof startTelegramStandIn>>;
  readonly twilio: Awaited<ReturnType<typeof startTwilioStandIn>>;
  readonly smtp: Awaited<ReturnType<typeof startSmtpStandIn>>;
}

/** memvault with every channel configured, each provider a loopback stand-in, served over real HTTP. */
export async function startChannelServer(extraEnv: NodeJS.ProcessEnv = {}) {
  const [telegram, twilio, smtp] = await Promise.all([
    startTelegramStandIn(BOT_TOKEN),
    startTwilioStandIn(TWILIO_SID, TWILIO_TOKEN),
    startSmtpStandIn(),
  ]);
  const dataDir = await mkdtemp(join(tmpdir(), 'memvault-channels-'));
  return onFreePort((port) => serveOn(port, dataDir, { telegram, twilio, smtp }, extraEnv));
}

async function serveOn(
  port: number,
  dataDir: string,
  { telegram, twilio, smtp }: StandIns,
  extraEnv: NodeJS.ProcessEnv,
) {
  // The public URL differs from the address we call: Twilio signs the URL it was given, which memvault must use.
  const publicUrl = `http://localhost:${port}`;
  const config = loadConfig(
    {
      MEMVAULT_DATA_DIR: dataDir,
      MEMVAULT_LOG_LEVEL: 'silent',
      MEMVAULT_PUBLIC_URL: publicUrl,
      MEMVAULT_TELEGRAM_BOT_TOKEN: BOT_TOKEN,
      MEMVAULT_TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
      MEMVAULT_TWILIO_ACCOUNT_SID: TWILIO_SID,
      MEMVAULT_TWILIO_AUTH_TOKEN: TWILIO_TOKEN,
      MEMVAULT_TWILIO_FROM: TWILIO_FROM,
      MEMVAULT_SMTP_URL: smtp.url,
      MEMVAULT_MAIL_FROM: 'memvault <memvault@example.org>',
      ...extraEnv,
    },
    { port, host: '127.0.0.1' },
  );
  const mv = await createMemvault(config, {
    channelEndpoints: { telegramApiRoot: telegram.url, twilioApiBase: twilio.url },
  });
  const app = createHttpApp({
    memory: mv.memory,
    auth: mv.auth,
    audit: mv.audit,
    insights: mv.insights,
    channels: channelsHttp(mv.channels),
    logger: mv.logger,
    config: { cookieSecure: false, maxBodyBytes: 256 * 1024, webauthnOrigin: publicUrl },
  });
  const server = await serveOrClose(app, port, mv);
  const base = `http://127.0.0.1:${port}`;
  let updateId = 1000;
  return {
    mv,
    base,
    publicUrl,
    dataDir,
    telegram,
    twilio,
    smtp,
    nextUpdateId: () => ++updateId,
    /** POSTs a Telegram update as Telegram does (secret header unless overridden). */
    async tg(update: Record<string, unknown>, secret: string | null = WEBHOOK_SECRET) {
      return fetch(`${base}/v1/channels/telegram/webhook`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(secret === null ? {} : { 'x-telegram-bot-api-secret-token': secret }),
        },
        body: JSON.stringify(update),
      });
    },
    /** POSTs a Twilio inbound message, signed as Twilio signs it (or with the given signature). */
    async twilioPost(kind: 'sms' | 'whatsapp', params: Record<string, string>, signature?: string | null) {
      const url = `${publicUrl}/v1/channels/twilio/${kind}`;
      const sig = signature === undefined ? twilioSignature(TWILIO_TOKEN, url, params) : signature;
      const res = await fetch(`${base}/v1/channels/twilio/${kind}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(sig === null ? {} : { 'x-twilio-signature': sig }),
        },
        body: new URLSearchParams(params).toString(),
      });
      return { status: res.status, text: await res.text() };
    },
    async memories(userId: UserId) {
      const opener = await mv.auth.channelOpener(userId);
      const all = await mv.vault.read(userId, {}, opener);
      return { entries: all.entries, total: all.entries.length + all.locked };
    },
    /** Every body any stand-in received: Telegram calls, Twilio messages, raw mails. */
    allOutbound(): string[] {
      return [
        ...telegram.calls.map((c) => c.raw),
        ...twilio.messages.map((m) => m.raw),
        ...smtp.mails.map((m) => m.raw),
      ];
    },
    async close() {
      await server.close();
      await mv.close();
      await Promise.all([telegram.close(), twilio.close(), smtp.close()]);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export type ChannelServer = Awaited<ReturnType<typeof startChannelServer>>;

/** A Telegram private-chat message update. */
export function tgMessage(id: number, chat: number, fields: Record<string, unknown>, kind = 'message') {
  return {
    update_id: id,
    [kind]: {
      message_id: id,
      date: Math.floor(Date.now() / 1000),
      chat: { id: chat, type: 'private', first_name: 'Ana' },
      from: { id: chat, is_bot: false, first_name: 'Ana' },
      ...fields,
    },
  };
}
