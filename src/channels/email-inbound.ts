import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { isMemvaultError } from '../core/errors.js';
import { type Logger, silentLogger } from '../ports/logger.js';
import type { ChannelService, InboundStatus } from './service.js';

/** A mail larger than this is refused (552) before it is parsed: a memory is text, not attachments. */
export const MAX_MAIL_BYTES = 1_000_000;

export interface InboundMailOptions {
  readonly host: string;
  readonly port: number;
  /** MEMVAULT_INBOUND_MAIL_DOMAIN: only `<token>@<domain>` is accepted. */
  readonly domain: string;
  readonly service: ChannelService;
  /** Whether a token names a person right now (checked at RCPT TO, so unknown addresses bounce at once). */
  readonly knows: (token: string) => boolean;
  readonly logger?: Logger;
}

export interface InboundMail {
  /** Listens; resolves with the port (the given one, or the one picked for port 0). */
  start(): Promise<number>;
  close(): Promise<void>;
}

const TOKEN = /^[a-z2-7]{20}$/;

/** An SMTP reply error: the sending server bounces (5xx) or retries later (4xx). */
const smtpError = (responseCode: number, message: string) => Object.assign(new Error(message), { responseCode });

/**
 * Inbound e-mail: an SMTP server (smtp-server) that accepts mail only for `<secret token>@<domain>`, parses it
 * with mailparser and hands the subject and text to the channel service like any other inbound message. Nothing
 * is answered by mail (a reply could loop with an auto-responder); a mail that cannot be stored bounces with the
 * reason, and one over the person's rate gets 451 so the sender's server retries it later — none is lost.
 * Plain SMTP without AUTH, as a mail exchanger receives it: put it behind your MX relay for TLS (docs/channels.md).
 */
export function createInboundMail(options: InboundMailOptions): InboundMail {
  const logger = options.logger ?? silentLogger;
  const domain = options.domain.toLowerCase();
  const tokenOf = (address: string): string | null => {
    const at = address.lastIndexOf('@');
    if (at <= 0 || address.slice(at + 1).toLowerCase() !== domain) return null;
    const local = address.slice(0, at).toLowerCase();
    return TOKEN.test(local) ? local : null;
  };

  async function deliver(raw: Buffer, session: SMTPServerSession): Promise<void> {
    const parsed = await simpleParser(raw, { skipImageLinks: true });
    const subject = (parsed.subject ?? '').trim();
    const body = (parsed.text ?? '').trim();
    const text = subject && body ? `${subject}\n\n${body}` : subject || body;
    const messageId = parsed.messageId ?? createHash('sha256').update(raw).digest('hex');
    const statuses: InboundStatus[] = [];
    let refusal = '';
    for (const rcpt of session.envelope.rcptTo) {
      const token = tokenOf(rcpt.address);
      if (!token) continue;
      const result = await options.service.handle({
        channel: 'email',
        // Per recipient and message; hashed, so the secret address never reaches an entry or a log.
        providerId: createHash('sha256').update(`${token}\0${messageId}`).digest('hex'),
        address: token,
        text,
      });
      statuses.push(result.status);
      if (result.status === 'answered' && result.reply) refusal = result.reply.text.split('\n')[0] ?? '';
    }
    if (statuses.includes('rate_limited')) throw smtpError(451, 'Too many messages at once; try again later');
    if (statuses.length > 0 && statuses.every((s) => s === 'answered')) {
      // Only our own fixed sentences (empty, too long): never the mail's content.
      throw smtpError(550, `Not saved: ${refusal.replace(/[^\x20-\x7e]/g, ' ').slice(0, 200)}`);
    }
  }

  const server = new SMTPServer({
    name: domain,
    banner: 'memvault inbound mail',
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    size: MAX_MAIL_BYTES,
    // Enough for the mail servers that deliver to one installation; more at once is a flood, not mail.
    maxClients: 50,
    logger: false,
    onRcptTo(address, _session, callback) {
      const token = tokenOf(address.address);
      if (!token || !options.knows(token)) return callback(smtpError(550, 'No such mailbox here'));
      callback();
    },
    onData(stream: SMTPServerDataStream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => {
        if (!stream.sizeExceeded) chunks.push(chunk);
      });
      stream.on('end', () => {
        if (stream.sizeExceeded) {
          callback(smtpError(552, `Message larger than ${MAX_MAIL_BYTES} bytes`));
          return;
        }
        deliver(Buffer.concat(chunks), session).then(
          () => callback(),
          (error: unknown) => {
            const code = (error as { responseCode?: number }).responseCode;
            if (code) return callback(error as Error);
            logger.error(
              { channel: 'email', code: isMemvaultError(error) ? error.code : 'unknown' },
              'inbound mail not handled',
            );
            // Temporary: the sending server tries again, and the idempotency key keeps it from storing twice.
            callback(smtpError(451, 'Could not store the message now; try again later'));
          },
        );
      });
    },
  });
  server.on('error', (error: Error & { code?: string }) => {
    logger.warn({ channel: 'email', code: error.code ?? 'unknown' }, 'inbound SMTP connection error');
  });

  return {
    start: () =>
      new Promise<number>((resolve, reject) => {
        server.server.once('error', reject);
        server.listen(options.port, options.host, () => {
          server.server.off('error', reject);
          resolve((server.server.address() as AddressInfo).port);
        });
      }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
