import nodemailer from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import { MemvaultError } from '../core/errors.js';
import type { ChannelHealth, ChannelSender, OutboundMessage } from '../ports/channels.js';

export interface EmailOptions {
  /** MEMVAULT_SMTP_URL, e.g. smtps://user:pass@smtp.example.org:465 or smtp://127.0.0.1:2525. */
  readonly smtpUrl: string;
  /** MEMVAULT_MAIL_FROM, e.g. "memvault <memvault@example.org>". */
  readonly from: string;
  /** Accept a self-signed certificate (tests against a loopback SMTP server only). */
  readonly allowSelfSigned?: boolean;
}

/** Outbound e-mail over SMTP with nodemailer: each message carries the text and the HTML of one template. */
export function createEmailSender(options: EmailOptions): ChannelSender & { close(): void } {
  // Pooled: a fan-out of digests reuses a few connections (and their TLS sessions) instead of one per mail.
  const pool: SMTPPool.Options = {
    url: options.smtpUrl,
    pool: true,
    maxConnections: 3,
    maxMessages: 100,
    ...(options.allowSelfSigned ? { tls: { rejectUnauthorized: false } } : {}),
  };
  const transport = nodemailer.createTransport(pool, { from: options.from });
  const where = (() => {
    try {
      const u = new URL(options.smtpUrl);
      return `${u.protocol}//${u.hostname}:${u.port || (u.protocol === 'smtps:' ? 465 : 587)}`; // never the password
    } catch {
      return 'the SMTP server';
    }
  })();
  return {
    kind: 'email',
    async send(to: string, message: OutboundMessage): Promise<void> {
      try {
        await transport.sendMail({
          to,
          subject: message.subject,
          text: message.text,
          ...(message.html ? { html: message.html } : {}),
        });
      } catch (cause) {
        const code = (cause as { responseCode?: number }).responseCode;
        throw new MemvaultError(
          'NETWORK_ERROR',
          `${where} did not accept the e-mail${code ? ` (SMTP ${code})` : ''}.`,
          {
            cause,
          },
        );
      }
    },
    async health(): Promise<ChannelHealth> {
      try {
        await transport.verify();
        return { configured: true, reachable: true, detail: `SMTP ${where}` };
      } catch {
        return { configured: true, reachable: false, detail: `SMTP ${where} did not answer or refused the login` };
      }
    },
    close() {
      transport.close();
    },
  };
}
