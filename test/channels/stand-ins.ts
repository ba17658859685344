import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface Recorded {
  readonly method: string;
  readonly body: Record<string, unknown>;
  /** The raw request body as received: what "never appears in an outbound body" is asserted on. */
  readonly raw: string;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * A Telegram Bot API stand-in (grammY's `client.apiRoot` points here): answers `/bot<token>/<method>` like the
 * real API, records every call's body, and serves queued updates to getUpdates (long polling).
 */
export async function startTelegramStandIn(token: string) {
  const calls: Recorded[] = [];
  const updates: Array<Record<string, unknown>> = [];
  let messageId = 1;
  const server = createServer(async (req, res) => {
    const raw = await readBody(req);
    const match = /^\/bot([^/]+)\/(\w+)$/.exec(req.url ?? '');
    res.setHeader('content-type', 'application/json');
    if (!match || match[1] !== token) {
      res.statusCode = 401;
      res.end(JSON.stringify({ ok: false, error_code: 401, description: 'Unauthorized' }));
      return;
    }
    const method = match[2]!;
    const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    if (method !== 'getUpdates') calls.push({ method, body, raw });
    const ok = (result: unknown) => res.end(JSON.stringify({ ok: true, result }));
    switch (method) {
      case 'getMe':
        return ok({ id: 4242, is_bot: true, first_name: 'memvault', username: 'memvault_test_bot' });
      case 'sendMessage':
        return ok({
          message_id: messageId++,
          date: Math.floor(Date.now() / 1000),
          chat: { id: body.chat_id, type: 'private' },
          text: body.text,
        });
      case 'getUpdates': {
        const offset = Number(body.offset ?? 0);
        while (updates.length > 0 && Number(updates[0]!.update_id) < offset) updates.shift();
        if (updates.length > 0) return ok(updates.slice(0, 100));
        // Long polling: answer empty after a short wait.
        setTimeout(() => ok([]), 50);
        return;
      }
      default:
        return ok(true);
    }
  });
  const url = await listen(server);
  return {
    url,
    calls,
    /** Every sendMessage to a chat, in order. */
    sent: (chatId: number) => calls.filter((c) => c.method === 'sendMessage' && Number(c.body.chat_id) === chatId),
    queue: (update: Record<string, unknown>) => updates.push(update),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A Twilio REST stand-in: Messages.create and the account fetch, with HTTP Basic auth checked. */
export async function startTwilioStandIn(accountSid: string, authToken: string) {
  const messages: Recorded[] = [];
  const server = createServer(async (req, res) => {
    const raw = await readBody(req);
    res.setHeader('content-type', 'application/json');
    const expected = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
    if (req.headers.authorization !== expected) {
      res.statusCode = 401;
      res.end(JSON.stringify({ code: 20003, message: 'Authenticate', status: 401 }));
      return;
    }
    if (req.method === 'POST' && req.url === `/2010-04-01/Accounts/${accountSid}/Messages.json`) {
      const body = Object.fromEntries(new URLSearchParams(raw));
      messages.push({ method: 'Messages.create', body, raw });
      res.statusCode = 201;
      res.end(
        JSON.stringify({
          sid: `SM${String(messages.length).padStart(32, '0')}`,
          status: 'queued',
          to: body.To,
          from: body.From,
          body: body.Body,
          account_sid: accountSid,
        }),
      );
      return;
    }
    if (req.method === 'GET' && req.url === `/2010-04-01/Accounts/${accountSid}.json`) {
      res.end(JSON.stringify({ sid: accountSid, status: 'active', friendly_name: 'test' }));
      return;
    }
    res.statusCode = 404;
    res.end(JSON.stringify({ code: 20404, message: 'Not found', status: 404 }));
  });
  const url = await listen(server);
  return { url, messages, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/**
 * X-Twilio-Signature exactly as Twilio documents it: the full URL, then each POST parameter's name and value
 * sorted by name and appended, HMAC-SHA1 with the auth token, base64.
 */
export function twilioSignature(authToken: string, url: string, params: Record<string, string>): string {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, key) => acc + key + params[key], url);
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

export interface ReceivedMail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  readonly raw: string;
}

/** A real SMTP server on loopback (smtp-server) that parses each received mail with mailparser. */
export async function startSmtpStandIn() {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const parsed = await simpleParser(raw);
        const to = Array.isArray(parsed.to) ? parsed.to[0]?.text : parsed.to?.text;
        mails.push({
          to: to ?? '',
          subject: parsed.subject ?? '',
          text: parsed.text ?? '',
          html: parsed.html || '',
          raw,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
