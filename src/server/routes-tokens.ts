import { createRoute, z } from '@hono/zod-openapi';
import type { TokenService } from '../ports/tokens.js';
import type { App, RouteKit } from './context.js';
import { errorResponses, jsonBody, jsonResponse, SESSION_SECURITY } from './openapi-helpers.js';
import { requireSession } from './session.js';

const TokenLevelSchema = z.literal([1, 2]).openapi('TokenLevel', {
  type: 'integer',
  enum: [1, 2],
  description: 'A level a token may read: 1 (chronological, general) or 2 (confidential).',
});

const TokenInfo = z
  .object({
    id: z.string().openapi({ description: 'Public id, for revoking', example: 'tok_3mQ9x0bKc1Zr' }),
    kind: z.enum(['personal', 'oauth']).openapi({ description: 'personal: made by you; oauth: a connected app' }),
    name: z.string().openapi({ description: 'The token’s name, or the OAuth client’s; audit records name it' }),
    clientId: z.string().nullable().openapi({ description: 'The OAuth client id (null for personal tokens)' }),
    levels: z.array(TokenLevelSchema).openapi({ description: 'The levels the token reads' }),
    createdAt: z.string().openapi({ format: 'date-time' }),
    expiresAt: z.string().nullable().openapi({ format: 'date-time', description: 'null: never expires' }),
    lastUsedAt: z.string().nullable().openapi({ format: 'date-time', description: 'Within a minute' }),
  })
  .openapi('Token');

const CreateTokenBody = z
  .strictObject({
    name: z.string().min(1).max(64).openapi({ description: 'A name you will recognise', example: 'Claude Desktop' }),
    levels: z
      .array(z.number().int())
      .max(4)
      .optional()
      .openapi({
        description:
          'Levels to read: [1] (default) or [1, 2]. Level 2 needs level 2 unlocked in this session; 3 and 4 are never allowed.',
        example: [1, 2],
      }),
    expiresInDays: z
      .number()
      .int()
      .min(1)
      .max(1830)
      .optional()
      .openapi({ description: 'Days until the token stops working; omit for a token that does not expire' }),
  })
  .openapi('CreateToken');

const CreatedToken = z
  .object({
    token: z.string().openapi({ description: 'The token itself: shown this once, store it now' }),
    info: TokenInfo,
  })
  .openapi('CreatedToken');

const TokenList = z.object({ tokens: z.array(TokenInfo) }).openapi('TokenList');

const TokenIdParam = z.object({
  id: z
    .string()
    .regex(/^tok_[A-Za-z0-9_-]{12}$/, 'Expected a token id (tok_ and 12 characters)')
    .openapi({ param: { name: 'id', in: 'path', description: 'The token’s public id' }, example: 'tok_3mQ9x0bKc1Zr' }),
});

/** Personal access tokens and connected apps under /v1/tokens: session only, never with a token. */
export function registerTokenRoutes(app: App, kit: RouteKit, tokens: TokenService): void {
  const session = requireSession(kit);

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/tokens',
      operationId: 'listTokens',
      tags: ['tokens'],
      summary: 'Your access tokens and connected apps',
      description: 'Personal access tokens and OAuth grants of the signed-in person, newest first; never the secrets.',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      responses: { 200: jsonResponse(TokenList, 'Tokens'), ...errorResponses(401, 500, 503) },
    }),
    async (c) => c.json({ tokens: (await tokens.list(c.get('principal').userId)).map(tokenDto) }, 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/tokens',
      operationId: 'createToken',
      tags: ['tokens'],
      summary: 'Create a personal access token (shown once)',
      description:
        'For an assistant or a script. The token reads level 1, or levels 1–2 when this session has level 2 ' +
        'unlocked (its key is wrapped under the token). It is stored hashed and shown only in this answer.',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      request: jsonBody(CreateTokenBody),
      responses: {
        201: jsonResponse(CreatedToken, 'Created'),
        ...errorResponses(400, 401, 403, 413, 415, 422, 500, 503),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const principal = c.get('principal');
      const now = Date.now();
      const created = await tokens.createPersonal(
        principal.userId,
        {
          name: body.name,
          levels: body.levels ?? [1],
          expiresAt: body.expiresInDays === undefined ? null : new Date(now + body.expiresInDays * 86_400_000),
        },
        { sessionToken: c.get('token') },
        c.get('meta'),
      );
      return c.json({ token: created.token, info: tokenDto(created.grant) }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/tokens/{id}',
      operationId: 'revokeToken',
      tags: ['tokens'],
      summary: 'Revoke a token or disconnect an app',
      description: 'Every secret of the token (an OAuth grant’s access and refresh tokens too) stops working at once.',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      request: { params: TokenIdParam },
      responses: { 204: { description: 'Revoked' }, ...errorResponses(400, 401, 403, 404, 500, 503) },
    }),
    async (c) => {
      await tokens.revoke(c.get('principal').userId, c.req.valid('param').id, c.get('meta'));
      return c.body(null, 204);
    },
  );
}

function tokenDto(grant: Awaited<ReturnType<TokenService['list']>>[number]) {
  return {
    id: grant.id,
    kind: grant.kind,
    name: grant.name,
    clientId: grant.clientId,
    levels: [...grant.levels],
    createdAt: grant.createdAt,
    expiresAt: grant.expiresAt,
    lastUsedAt: grant.lastUsedAt,
  };
}
