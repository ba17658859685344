import { createRoute, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import { notFound } from '../core/errors.js';
import {
  type AppNotification,
  CHANNEL_KINDS,
  CHAT_KINDS,
  type ChannelPreferencesView,
  type ChannelsHttp,
} from '../ports/channels.js';
import type { App, RouteKit } from './context.js';
import { errorResponses, jsonBody, jsonResponse, SESSION_SECURITY } from './openapi-helpers.js';
import { requireSession } from './session.js';

const Notification = z
  .object({
    id: z.string(),
    at: z.string(),
    purpose: z.enum(['reply', 'welcome', 'digest', 'alert', 'code', 'notice']),
    subject: z.string(),
    text: z.string(),
    read: z.boolean(),
  })
  .openapi('Notification');

const NotificationList = z
  .object({ items: z.array(Notification), unread: z.number().int() })
  .openapi('NotificationList');

const MarkRead = z
  .strictObject({
    id: z
      .string()
      .regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'Expected a notification id')
      .optional(),
  })
  .openapi({ description: 'One notification by id, or every unread one without an id' });

const Onboarding = z
  .object({
    steps: z.array(z.object({ id: z.string(), title: z.string(), doneAt: z.string().nullable() })),
    completed: z.number().int(),
    total: z.number().int(),
    skipped: z.boolean(),
    next: z.string().nullable(),
  })
  .openapi('Onboarding');

const Skip = z.strictObject({ skipped: z.boolean() });

const Kind = z.enum(CHANNEL_KINDS);
const ChatKind = z.enum(CHAT_KINDS);
const HourMinute = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'Expected HH:MM (24-hour)');
const QuietHours = z.strictObject({ start: HourMinute, end: HourMinute });
// At most a few of each: a longer list is not a person's choice.
const Kinds = z.array(Kind).max(8);

const ChannelPreferences = z
  .object({
    links: z.array(
      z.object({
        kind: Kind,
        address: z.string().openapi({ description: 'The Telegram chat id, or the WhatsApp/SMS number' }),
        verified: z.boolean(),
        stopped: z.boolean().openapi({ description: 'STOP or /stop was sent there: nothing goes there until START' }),
        linkedAt: z.string(),
      }),
    ),
    email: z.string().nullable().openapi({ description: 'The profile’s e-mail address, where e-mail goes' }),
    mailAddress: z.string().nullable().openapi({
      description: 'The secret address that stores what is mailed to it as a memory; null when inbound e-mail is off',
    }),
    settings: z.object({
      notify: Kinds.nullable().openapi({ description: 'Where digests and notices go; null: everywhere' }),
      alerts: Kinds.nullable().openapi({ description: 'Where security alerts go; null: everywhere' }),
      level2: Kinds.openapi({ description: 'Messengers that may show level-2 (confidential) content' }),
      quietHours: QuietHours.nullable().openapi({
        description: 'Local times between which digests and notices wait (alerts do not)',
      }),
      locale: z.string(),
    }),
    available: z
      .object({ telegram: z.boolean(), whatsapp: z.boolean(), sms: z.boolean(), email: z.boolean() })
      .openapi({ description: 'Which channels this server has configured' }),
  })
  .openapi('ChannelPreferences');

const PreferencesPatch = z
  .strictObject({
    notify: Kinds.nullable().optional(),
    alerts: Kinds.nullable().optional(),
    level2: z.array(ChatKind).max(8).optional(),
    quietHours: QuietHours.nullable().optional(),
  })
  .openapi({ description: 'Only the settings named change; null for notify or alerts means every channel' });

const KindParam = z.object({
  kind: ChatKind.openapi({
    param: { name: 'kind', in: 'path', description: 'The messenger to unlink: telegram, whatsapp or sms' },
  }),
});

const TelegramLink = z
  .object({
    url: z.string().openapi({ example: 'https://t.me/memvault_bot?start=Q2hhbm5lbHMgYXJlIHRoaW4gZWRnZXM' }),
    expiresAt: z.string(),
  })
  .openapi('TelegramLink');

/** The port's read-only view as the response schema's (mutable) JSON. */
const preferencesBody = (p: ChannelPreferencesView) => ({
  links: p.links.map((l) => ({ ...l })),
  email: p.email,
  mailAddress: p.mailAddress,
  settings: {
    notify: p.settings.notify === null ? null : [...p.settings.notify],
    alerts: p.settings.alerts === null ? null : [...p.settings.alerts],
    level2: [...p.settings.level2],
    quietHours: p.settings.quietHours === null ? null : { ...p.settings.quietHours },
    locale: p.settings.locale,
  },
  available: { ...p.available },
});

/** SSE keep-alive: proxies close idle connections after a minute or so. */
const KEEP_ALIVE_MS = 25_000;

const mutable = (n: AppNotification) => ({ ...n });

/**
 * Channel webhooks (Telegram, Twilio SMS and WhatsApp: authenticated by the provider's signature or secret, not
 * a session), in-app notifications with their live stream, and the onboarding checklist.
 */
export function registerChannelRoutes(app: App, kit: RouteKit, channels: ChannelsHttp): void {
  const session = requireSession(kit);

  const webhookDoc = (operationId: string, path: string, summary: string, description: string, content: string) =>
    app.openAPIRegistry.registerPath({
      method: 'post',
      path,
      operationId,
      tags: ['channels'],
      summary,
      description,
      request: { body: { required: true, content: { [content]: { schema: z.object({}).passthrough() } } } },
      responses: {
        200: { description: 'Handled (or a retry of a handled delivery: nothing stored twice)' },
        403: { description: 'Missing or wrong signature / secret: nothing handled' },
        404: { description: 'The channel is not configured on this server' },
        429: {
          description: 'Telegram only: the chat is over its rate; Telegram retries the update later',
          headers: {
            'Retry-After': {
              description: 'Seconds to wait before trying again (also in the body as retry_after)',
              schema: { type: 'integer' as const, minimum: 0 },
            },
          },
        },
        500: { description: 'The update could not be handled; the provider retries it' },
        503: { description: 'Storage unavailable; the provider retries the delivery later' },
      },
    });
  webhookDoc(
    'telegramWebhook',
    '/v1/channels/telegram/webhook',
    'Telegram Bot API webhook',
    'Set with setWebhook(url = MEMVAULT_PUBLIC_URL + this path, secret_token = MEMVAULT_TELEGRAM_WEBHOOK_SECRET). ' +
      'The X-Telegram-Bot-Api-Secret-Token header is compared in constant time.',
    'application/json',
  );
  for (const kind of ['sms', 'whatsapp'] as const) {
    webhookDoc(
      kind === 'sms' ? 'twilioSmsWebhook' : 'twilioWhatsappWebhook',
      `/v1/channels/twilio/${kind}`,
      `Twilio ${kind === 'sms' ? 'SMS' : 'WhatsApp'} webhook`,
      'Twilio’s "A message comes in" webhook (HTTP POST). X-Twilio-Signature is validated against ' +
        'MEMVAULT_PUBLIC_URL + this path; the answer is TwiML.',
      'application/x-www-form-urlencoded',
    );
  }
  const notConfigured = (what: string) => ({
    error: { code: 'NOT_FOUND', message: `${what} is not configured on this server.` },
  });
  app.post('/v1/channels/telegram/webhook', async (c) =>
    channels.telegramWebhook ? channels.telegramWebhook(c.req.raw) : c.json(notConfigured('Telegram'), 404),
  );
  app.post('/v1/channels/twilio/:kind{sms|whatsapp}', async (c) => {
    const kind = c.req.param('kind') as 'sms' | 'whatsapp';
    return channels.twilioWebhook ? channels.twilioWebhook(kind, c.req.raw) : c.json(notConfigured('Twilio'), 404);
  });

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/notifications',
      operationId: 'listNotifications',
      description:
        'The signed-in person’s in-app notifications (replies, digests, alerts), newest first, with how many are unread.',
      tags: ['notifications'],
      summary: 'In-app notifications, newest first, with the unread count',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      responses: { 200: jsonResponse(NotificationList, 'Notifications'), ...errorResponses(401) },
    }),
    async (c) => {
      const list = await channels.notifications(c.get('principal').userId);
      return c.json({ items: list.items.map(mutable), unread: list.unread }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/notifications/read',
      operationId: 'markNotificationsRead',
      description: 'Marks one notification as read by its id, or every unread notification when no id is given.',
      tags: ['notifications'],
      summary: 'Marks one notification (or all) as read',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      request: jsonBody(MarkRead),
      responses: {
        200: jsonResponse(z.object({ marked: z.number().int() }), 'How many were marked'),
        ...errorResponses(400, 401, 404),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('json');
      const marked = await channels.markRead(c.get('principal').userId, id);
      return c.json({ marked: marked.length }, 200);
    },
  );

  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/v1/notifications/stream',
    operationId: 'streamNotifications',
    description:
      'A server-sent event stream that sends a notification event for each new notification while the connection is open.',
    tags: ['notifications'],
    summary: 'Server-sent events: one "notification" event per new notification',
    security: SESSION_SECURITY,
    responses: { 200: { description: 'text/event-stream' }, ...errorResponses(401) },
  });
  app.get('/v1/notifications/stream', session, (c) => {
    const userId = c.get('principal').userId;
    return streamSSE(c, async (stream) => {
      const queue: AppNotification[] = [];
      let wake: (() => void) | null = null;
      const unsubscribe = channels.subscribe(userId, (item) => {
        queue.push(item);
        wake?.();
      });
      stream.onAbort(() => {
        unsubscribe();
        wake?.();
      });
      try {
        await stream.writeSSE({ event: 'ready', data: '{}' });
        while (!stream.aborted) {
          const item = queue.shift();
          if (item) {
            await stream.writeSSE({ event: 'notification', id: item.id, data: JSON.stringify(item) });
            continue;
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, KEEP_ALIVE_MS).unref();
          });
          wake = null;
          if (queue.length === 0 && !stream.aborted) await stream.write(': keep-alive\n\n');
        }
      } finally {
        unsubscribe();
      }
    });
  });

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/settings/channels',
      operationId: 'getChannelSettings',
      description:
        'The signed-in person’s linked messengers, e-mail address and channel settings: where digests and alerts go, where level 2 may show, quiet hours.',
      tags: ['channels'],
      summary: 'Linked channels and where digests, alerts and level 2 go',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      responses: { 200: jsonResponse(ChannelPreferences, 'The channels and settings'), ...errorResponses(401) },
    }),
    async (c) => c.json(preferencesBody(await channels.preferences(c.get('principal').userId)), 200),
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/v1/settings/channels',
      operationId: 'updateChannelSettings',
      description:
        'Changes the channel settings the body names: where digests and notices go, where security alerts go, which messengers may show level 2, quiet hours.',
      tags: ['channels'],
      summary: 'Change where digests, alerts and level 2 go, and the quiet hours',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      request: jsonBody(PreferencesPatch),
      responses: {
        200: jsonResponse(ChannelPreferences, 'The channels and the new settings'),
        ...errorResponses(400, 401, 415),
      },
    }),
    async (c) => {
      const patch = c.req.valid('json');
      const next = await channels.updatePreferences(c.get('principal').userId, {
        ...(patch.notify !== undefined ? { notify: patch.notify } : {}),
        ...(patch.alerts !== undefined ? { alerts: patch.alerts } : {}),
        ...(patch.level2 !== undefined ? { level2: patch.level2 } : {}),
        ...(patch.quietHours !== undefined ? { quietHours: patch.quietHours } : {}),
      });
      return c.json(preferencesBody(next), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/settings/channels/{kind}',
      operationId: 'unlinkChannel',
      description:
        'Unlinks a messenger: nothing is sent there any more and nothing from there is stored, until it is linked again.',
      tags: ['channels'],
      summary: 'Unlink Telegram, WhatsApp or SMS',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      request: { params: KindParam },
      responses: {
        200: jsonResponse(ChannelPreferences, 'The channels left and the settings'),
        ...errorResponses(400, 401, 404),
      },
    }),
    async (c) => {
      const next = await channels.unlink(c.get('principal').userId, c.req.valid('param').kind);
      return c.json(preferencesBody(next), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/settings/channels/mail-address',
      operationId: 'newMailAddress',
      description:
        'Replaces the secret address that stores mailed messages as memories: the old address stops working at once (a leaked address is fixed this way).',
      tags: ['channels'],
      summary: 'A new secret inbound e-mail address',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      responses: {
        200: jsonResponse(ChannelPreferences, 'The channels with the new address'),
        ...errorResponses(401, 404),
      },
    }),
    async (c) => c.json(preferencesBody(await channels.newMailAddress(c.get('principal').userId)), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/channels/telegram/link',
      operationId: 'startTelegramLink',
      description:
        'Starts linking Telegram from the web: a t.me deep link with a single-use token (15 minutes). The chat that opens it is linked to the signed-in person once they share their own contact with the same phone number.',
      tags: ['channels'],
      summary: 'A t.me deep link that links a Telegram chat to the signed-in person',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      responses: {
        200: jsonResponse(TelegramLink, 'The deep link and when its token expires'),
        ...errorResponses(401, 404),
      },
    }),
    async (c) => {
      if (!channels.telegramLink) throw notFound('Telegram is not configured on this server.');
      return c.json(await channels.telegramLink(c.get('principal').userId), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/onboarding',
      operationId: 'getOnboarding',
      description:
        'The signed-in person’s getting-started checklist: each step with when it was done, the count done and the next step.',
      tags: ['onboarding'],
      summary: 'The getting-started checklist: real steps, each done when it really happened',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      responses: { 200: jsonResponse(Onboarding, 'The checklist'), ...errorResponses(401) },
    }),
    async (c) => {
      const view = await channels.onboarding(c.get('principal').userId);
      return c.json({ ...view, steps: view.steps.map((s) => ({ ...s })) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/onboarding',
      operationId: 'updateOnboarding',
      description:
        'Skips the getting-started checklist or brings it back; the progress already made is kept either way.',
      tags: ['onboarding'],
      summary: 'Skips the checklist, or brings it back (progress is kept either way)',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      request: jsonBody(Skip),
      responses: { 200: jsonResponse(Onboarding, 'The checklist'), ...errorResponses(400, 401) },
    }),
    async (c) => {
      const view = await channels.skipOnboarding(c.get('principal').userId, c.req.valid('json').skipped);
      return c.json({ ...view, steps: view.steps.map((s) => ({ ...s })) }, 200);
    },
  );
}
