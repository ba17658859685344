import twilio from 'twilio';
import RequestClient from 'twilio/lib/base/RequestClient.js';
import { MemvaultError } from '../core/errors.js';
import type { ChannelHealth, ChannelSender, OutboundMessage } from '../ports/channels.js';
import { type Logger, silentLogger } from '../ports/logger.js';
import type { ChannelService } from './service.js';

/** SMS and WhatsApp bodies longer than this are refused by Twilio. */
const MAX_BODY = 1600;
/** A Twilio webhook form is a few kilobytes; much more is not Twilio. */
const MAX_FORM_BYTES = 256 * 1024;
const TWILIO_API = 'https://api.twilio.com';

export type TwilioKind = 'sms' | 'whatsapp';

export interface TwilioOptions {
  readonly accountSid: string;
  readonly authToken: string;
  /** MEMVAULT_TWILIO_FROM: the Twilio number (E.164); WhatsApp sends from `whatsapp:<it>`. */
  readonly from: string;
  /** MEMVAULT_PUBLIC_URL: the URL Twilio calls, which the signature covers. */
  readonly publicUrl: string;
  /** The REST API root instead of https://api.twilio.com (tests: a loopback stand-in). */
  readonly apiBase?: string;
  readonly logger?: Logger;
}

export interface TwilioChannel {
  readonly sms: ChannelSender;
  readonly whatsapp: ChannelSender;
  attach(service: ChannelService): void;
  /** The webhook path of a kind, under the public URL. */
  path(kind: TwilioKind): string;
  /** Handles one inbound webhook: 403 for a missing or forged X-Twilio-Signature (nothing handled), else TwiML. */
  webhook(kind: TwilioKind, request: Request): Promise<Response>;
}

/** The real Twilio RequestClient, sent to another API root: the client speaks real HTTP to the stand-in. */
class RebasedRequestClient extends RequestClient {
  readonly #base: string;
  constructor(base: string) {
    super();
    this.#base = base.replace(/\/$/, '');
  }
  override request<T>(opts: RequestClient.RequestOptions<T>) {
    return super.request<T>({ ...opts, uri: opts.uri.replace(TWILIO_API, this.#base) });
  }
}

const twiml = (text: string | null) => {
  const response = new twilio.twiml.MessagingResponse();
  if (text !== null) response.message(text.length <= MAX_BODY ? text : `${text.slice(0, MAX_BODY - 1)}…`);
  return new Response(response.toString(), { status: 200, headers: { 'content-type': 'text/xml; charset=utf-8' } });
};

const refuse = (status: number, code: string, message: string) =>
  new Response(JSON.stringify({ error: { code, message } }), {
    status,
    headers: { 'content-type': 'application/json' },
  });

export function createTwilioChannel(options: TwilioOptions): TwilioChannel {
  const logger = options.logger ?? silentLogger;
  const client = twilio(options.accountSid, options.authToken, {
    ...(options.apiBase ? { httpClient: new RebasedRequestClient(options.apiBase) } : {}),
    autoRetry: true,
    maxRetries: 2,
  });
  let service: ChannelService | null = null;
  const base = options.publicUrl.replace(/\/$/, '');
  const path = (kind: TwilioKind) => `/v1/channels/twilio/${kind}`;

  const senderFor = (kind: TwilioKind): ChannelSender => ({
    kind,
    async send(to: string, message: OutboundMessage): Promise<void> {
      const prefix = kind === 'whatsapp' ? 'whatsapp:' : '';
      const body = message.text.length <= MAX_BODY ? message.text : `${message.text.slice(0, MAX_BODY - 1)}…`;
      try {
        await client.messages.create({ from: `${prefix}${options.from}`, to: `${prefix}${to}`, body });
      } catch (cause) {
        const status = (cause as { status?: number }).status;
        throw new MemvaultError(
          'NETWORK_ERROR',
          `Twilio did not accept the ${kind === 'sms' ? 'SMS' : 'WhatsApp message'}${status ? ` (HTTP ${status})` : ''}.`,
          { cause },
        );
      }
    },
    async health(): Promise<ChannelHealth> {
      try {
        const account = await client.api.v2010.accounts(options.accountSid).fetch();
        return { configured: true, reachable: true, detail: `Twilio account ${account.status}, from ${options.from}` };
      } catch (cause) {
        const status = (cause as { status?: number }).status;
        return {
          configured: true,
          reachable: false,
          detail: status ? `Twilio refused the credentials (HTTP ${status})` : 'Twilio API unreachable',
        };
      }
    },
  });

  return {
    sms: senderFor('sms'),
    whatsapp: senderFor('whatsapp'),
    attach(s) {
      service = s;
    },
    path,
    async webhook(kind, request) {
      if (!service)
        throw new MemvaultError('CONFIG_ERROR', 'The Twilio channel is not attached to the channel service.');
      const raw = await request.text();
      if (raw.length > MAX_FORM_BYTES) return refuse(413, 'PAYLOAD_TOO_LARGE', 'The form is too large.');
      const params: Record<string, string> = {};
      for (const [k, v] of new URLSearchParams(raw)) params[k] = v;
      const signature = request.headers.get('x-twilio-signature') ?? '';
      // Twilio signs the URL it called (the public one, not the address we listen on) plus the sorted form.
      const url = `${base}${path(kind)}${new URL(request.url).search}`;
      if (!signature || !twilio.validateRequest(options.authToken, signature, url, params)) {
        logger.warn({ channel: kind }, 'webhook refused: missing or wrong X-Twilio-Signature');
        return refuse(403, 'SECURITY_ERROR', 'Missing or wrong X-Twilio-Signature.');
      }
      const sid = params.MessageSid ?? params.SmsSid;
      const fromRaw = params.From ?? '';
      const from = kind === 'whatsapp' ? fromRaw.replace(/^whatsapp:/, '') : fromRaw;
      if (!sid || !from) return refuse(400, 'VALIDATION_ERROR', 'The form has no MessageSid or From.');
      const body = params.Body ?? '';
      const media = Number(params.NumMedia ?? 0);
      const result = await service.handle({
        channel: kind,
        providerId: sid,
        address: from,
        // A picture without a caption has nothing to save.
        text: body.length === 0 && media > 0 ? null : body,
      });
      return twiml(result.reply?.text ?? null);
    },
  };
}
