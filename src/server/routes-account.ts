import { Readable } from 'node:stream';
import { createRoute, z } from '@hono/zod-openapi';
import { securityError, validationError } from '../core/errors.js';
import { normalizeUserId } from '../core/user-id.js';
import { EXPORT_FORMATS, type ExportFormat } from '../ports/export.js';
import type { App, RouteKit } from './context.js';
import { errorResponses, jsonBody, jsonResponse, SESSION_SECURITY } from './openapi-helpers.js';
import { clearSessionCookies, clientIp, requestMeta, requireSession } from './session.js';

const DeleteAccountBody = z
  .strictObject({ password: z.string().min(1).max(1024) })
  .openapi('DeleteAccount', { description: 'Your password: the confirmation that you mean it.' });
const KitBody = z.strictObject({ password: z.string().min(1).max(1024) }).openapi('MakeRecoveryKit');
const KitResponse = z.object({ code: z.string(), createdAt: z.string() }).openapi('RecoveryKit');
const KitStatus = z
  .object({ exists: z.boolean(), createdAt: z.string().nullable(), stale: z.boolean() })
  .openapi('RecoveryKitStatus');
const RecoverBody = z
  .strictObject({
    phone: z.string().min(3).max(40),
    code: z.string().min(1).max(200),
    newPassword: z.string().min(1).max(1024),
  })
  .openapi('Recover');
const DeleteAccountResponse = z
  .object({ deleted: z.literal(true), backups: z.number().int() })
  .openapi('AccountDeleted');

/**
 * The person's own data: "Download my data" (GET /v1/export, a zip streamed as it is written) and "Delete my
 * account" (DELETE /v1/account). Each exists only when the composition root passes its service.
 */
export function registerAccountRoutes(app: App, kit: RouteKit): void {
  const session = requireSession(kit);
  const account = kit.deps.account;
  if (account) {
    app.openapi(
      createRoute({
        method: 'delete',
        path: '/v1/account',
        operationId: 'deleteAccount',
        description:
          'Deletes the signed-in person’s account with every file, backup and session, once the password confirms it.',
        tags: ['auth'],
        summary: 'Delete my account: every file, backup and session, confirmed by the password',
        middleware: [session] as const,
        security: SESSION_SECURITY,
        request: jsonBody(DeleteAccountBody),
        responses: {
          200: jsonResponse(DeleteAccountResponse, 'Deleted; the session is gone too'),
          ...errorResponses(400, 401, 403, 423, 429),
        },
      }),
      async (c) => {
        const { password } = c.req.valid('json');
        const principal = c.get('principal');
        const report = await account.deleteAccount(principal.userId, { password }, c.get('meta'));
        clearSessionCookies(c, kit);
        return c.json({ deleted: true as const, backups: report.backups }, 200);
      },
    );
  }
  const recovery = kit.deps.recovery;
  if (recovery) {
    app.openapi(
      createRoute({
        method: 'post',
        path: '/v1/account/recovery-kit',
        operationId: 'createRecoveryKit',
        description:
          'Makes a recovery kit whose code, shown only this once, can replace a forgotten password; any earlier kit stops working.',
        tags: ['auth'],
        summary: 'Make a recovery kit: a code shown once that replaces a forgotten password (replaces any earlier kit)',
        middleware: [session] as const,
        security: SESSION_SECURITY,
        request: jsonBody(KitBody),
        responses: {
          201: jsonResponse(KitResponse, 'The code, shown this once'),
          ...errorResponses(400, 401, 403, 409, 423),
        },
      }),
      async (c) => {
        const { password } = c.req.valid('json');
        const made = await recovery.createKit(c.get('principal').userId, password, c.get('meta'));
        return c.json(made, 201);
      },
    );
    app.openapi(
      createRoute({
        method: 'get',
        path: '/v1/account/recovery-kit',
        operationId: 'getRecoveryKitStatus',
        description:
          'Tells whether a recovery kit exists, when it was made, and whether it is stale because the keys changed since.',
        tags: ['auth'],
        summary: 'Whether a recovery kit exists and still fits the keys',
        middleware: [session] as const,
        security: SESSION_SECURITY,
        responses: { 200: jsonResponse(KitStatus, 'Status'), ...errorResponses(401) },
      }),
      async (c) => c.json(await recovery.status(c.get('principal').userId), 200),
    );
    app.openapi(
      createRoute({
        method: 'post',
        path: '/v1/auth/recover',
        operationId: 'recoverAccount',
        description:
          'Replaces a forgotten password using the recovery code; every session ends and TOTP must be enrolled again.',
        tags: ['auth'],
        summary: 'Replace a forgotten password with the recovery code; ends every session, TOTP to enrol again',
        request: jsonBody(RecoverBody),
        responses: {
          204: { description: 'Password replaced; sign in with it' },
          ...errorResponses(400, 401, 404, 409, 422, 429),
        },
      }),
      async (c) => {
        const body = c.req.valid('json');
        const userId = normalizeUserId(body.phone);
        const wait = await kit.limiter.take([
          `ip:${clientIp(c, kit.deps.config.trustProxy ?? false)}`,
          `phone:${userId}`,
        ]);
        if (wait > 0) {
          throw securityError('rate_limited', `Too many attempts. Try again in ${wait} s.`, {
            retryAfterSeconds: wait,
          });
        }
        await recovery.recover(
          userId,
          body.code,
          body.newPassword,
          requestMeta(c, kit.deps.config.trustProxy ?? false, 'web'),
        );
        return c.body(null, 204);
      },
    );
  }

  const exports = kit.deps.exports;
  if (!exports) return;

  app.get('/v1/export', session, async (c) => {
    const format = c.req.query('format') ?? 'markdown';
    if (!(EXPORT_FORMATS as readonly string[]).includes(format)) {
      throw validationError(`format must be one of ${EXPORT_FORMATS.join(', ')}.`, { field: 'format' });
    }
    const principal = c.get('principal');
    const { manifest, stream } = await exports.export(principal, format as ExportFormat);
    const name = `memvault-export-${principal.userId.slice(1)}-${manifest.exportedAt.slice(0, 10)}.zip`;
    c.header('Content-Type', 'application/zip');
    c.header('Content-Disposition', `attachment; filename="${name}"`);
    c.header('X-Memvault-Levels', manifest.levels.join(','));
    c.header('X-Memvault-Locked', String(manifest.locked));
    return c.body(Readable.toWeb(stream as Readable) as ReadableStream<Uint8Array>, 200);
  });
}
