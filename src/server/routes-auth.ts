import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { securityError } from '../core/errors.js';
import { normalizeUserId } from '../core/user-id.js';
import type { Factors } from '../ports/security.js';
import type { App, RouteKit } from './context.js';
import { profileDto, sessionDto } from './dto.js';
import { errorResponses, jsonBody, jsonResponse, SESSION_SECURITY } from './openapi-helpers.js';
import {
  LockBody,
  MeResponse,
  PasskeyRegisterBody,
  PasswordChangeBody,
  ProfilePatchBody,
  SessionResponse,
  SignInBody,
  SignUpBody,
  SignUpResponse,
  TotpConfirmBody,
  TotpEnrollmentResponse,
  UnlockBody,
} from './schemas.js';
import {
  clearSessionCookies,
  clientIp,
  requestMeta,
  requireSession,
  SESSION_COOKIE,
  setSessionCookies,
} from './session.js';

const WebAuthnOptions = z.record(z.string(), z.unknown()).openapi('WebAuthnOptions');

/** Takes a token from each key's bucket or refuses with 429 (the error mapper adds Retry-After). */
async function throttle(kit: RouteKit, keys: string[]): Promise<void> {
  const wait = await kit.limiter.take(keys);
  if (wait > 0) {
    throw securityError('rate_limited', `Too many attempts. Try again in ${wait} s.`, { retryAfterSeconds: wait });
  }
}

const ipKey = (c: Context, kit: RouteKit) => `ip:${clientIp(c, kit.deps.config.trustProxy ?? false)}`;

/** A browser signing in again replaces its session: end the old one rather than leave it live on the server. */
async function replaceCookieSession(c: Context, kit: RouteKit, token: string): Promise<string> {
  const old = getCookie(c, SESSION_COOKIE);
  if (old !== undefined && old !== token) await kit.deps.auth.signOut(old).catch(() => undefined);
  return setSessionCookies(c, kit, token);
}

/** Sign-up, sign-in, sessions, unlocking levels, TOTP and passkeys under /v1/auth. */
export function registerAuthRoutes(app: App, kit: RouteKit): void {
  const { auth, memory } = kit.deps;
  const trustProxy = kit.deps.config.trustProxy ?? false;
  const session = requireSession(kit);

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/auth/sign-up',
      operationId: 'signUp',
      description:
        'Creates the person’s vault, keyring and audit log with a policy-checked password, and signs them in; with `recoveryKit: true` also makes their recovery kit and returns its code once.',
      tags: ['auth'],
      summary: 'Create an account and sign in',
      request: jsonBody(SignUpBody),
      responses: {
        201: jsonResponse(SignUpResponse, 'Account created; signed in'),
        ...errorResponses(400, 409, 413, 415, 422, 429),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      await throttle(kit, [ipKey(c, kit)]);
      const mode = body.session ?? 'bearer';
      const profile = await memory.signUp({
        phone: body.phone,
        password: body.password,
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.timezone !== undefined ? { timezone: body.timezone } : {}),
        ...(body.email !== undefined ? { email: body.email } : {}),
      });
      const meta = requestMeta(c, trustProxy, mode === 'cookie' ? 'web' : 'api');
      const signed = await auth.signIn(profile.userId, body.password, meta);
      await signed.release?.();
      const user = profileDto(profile);
      // The kit within the sign-up (issue 12 §5): the code is shown once, right after the account is made. A kit
      // that cannot be made does not undo the account: the answer simply has none, and Settings offers it.
      let recoveryKit: { code: string; createdAt: string } | undefined;
      if (body.recoveryKit && kit.deps.recovery) {
        try {
          recoveryKit = await kit.deps.recovery.createKit(profile.userId, body.password, meta);
        } catch (error) {
          kit.deps.logger.warn(
            { userId: profile.userId, err: error instanceof Error ? error.name : 'unknown' },
            'recovery kit at sign-up failed; the account is made without one',
          );
        }
      }
      const kitPart = recoveryKit ? { recoveryKit } : {};
      if (mode === 'cookie') {
        const csrfToken = await replaceCookieSession(c, kit, signed.token);
        return c.json({ session: sessionDto(signed.session), csrfToken, user, ...kitPart }, 201);
      }
      return c.json({ session: sessionDto(signed.session), token: signed.token, user, ...kitPart }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/auth/sign-in',
      operationId: 'signIn',
      description:
        'Checks the password (rate-limited, with lockout) and opens a session holding levels 1 and 2. The bearer token is returned once; with session "cookie" it is set as an HttpOnly cookie instead.',
      tags: ['auth'],
      summary: 'Sign in with a password (levels 1 and 2 unlocked)',
      request: jsonBody(SignInBody),
      responses: {
        200: jsonResponse(SessionResponse, 'Signed in'),
        ...errorResponses(400, 401, 413, 415, 422, 423, 429),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      await throttle(kit, [ipKey(c, kit)]);
      const userId = normalizeUserId(body.phone);
      await throttle(kit, [`phone:${userId}`]);
      const mode = body.session ?? 'bearer';
      const meta = requestMeta(c, trustProxy, mode === 'cookie' ? 'web' : 'api');
      const signed = await auth.signIn(userId, body.password, meta);
      await signed.release?.();
      if (mode === 'cookie') {
        const csrfToken = await replaceCookieSession(c, kit, signed.token);
        return c.json({ session: sessionDto(signed.session), csrfToken }, 200);
      }
      return c.json({ session: sessionDto(signed.session), token: signed.token }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/me',
      operationId: 'getMe',
      description: 'The signed-in person’s profile and the session’s unlocked levels with their expiry times.',
      tags: ['auth'],
      summary: 'The signed-in user and their session',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      responses: { 200: jsonResponse(MeResponse, 'Profile and session'), ...errorResponses(401) },
    }),
    async (c) => {
      const principal = c.get('principal');
      const profile = await memory.profile(principal.userId);
      return c.json({ user: profileDto(profile), session: sessionDto(c.get('session').session) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/v1/me',
      operationId: 'updateMe',
      description: 'Changes the signed-in person’s display name, IANA time zone or interface language.',
      tags: ['auth'],
      summary: 'Change the name, time zone or locale',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      request: jsonBody(ProfilePatchBody),
      responses: { 200: jsonResponse(MeResponse, 'Profile and session'), ...errorResponses(400, 401, 403, 415, 422) },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const profile = await memory.updateProfile(c.get('principal').userId, {
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.timezone !== undefined ? { timezone: body.timezone } : {}),
        ...(body.locale !== undefined ? { preferences: { locale: body.locale } } : {}),
      });
      return c.json({ user: profileDto(profile), session: sessionDto(c.get('session').session) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/auth/unlock',
      operationId: 'unlockLevel',
      description:
        'Unlocks a level inside the session with that level’s factors: 2 the password, 3 password and TOTP code, 4 password and passkey.',
      tags: ['auth'],
      summary: 'Unlock a level: 2 password, 3 password + TOTP, 4 password + passkey',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      request: jsonBody(UnlockBody),
      responses: {
        200: jsonResponse(SessionResponse, 'The session with the level unlocked'),
        ...errorResponses(400, 401, 403, 413, 415, 423, 429),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      await throttle(kit, [ipKey(c, kit), `session:${c.get('session').session.id}`]);
      const factors: Factors = {
        ...(body.password !== undefined ? { password: body.password } : {}),
        ...(body.totp !== undefined ? { totp: body.totp } : {}),
        ...(body.passkey !== undefined ? { passkey: body.passkey } : {}),
      };
      const unlocked = await auth.unlock(c.get('token'), body.level, factors, c.get('meta'));
      await unlocked.release?.();
      return c.json({ session: sessionDto(unlocked.session) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/auth/lock',
      operationId: 'lockLevel',
      description: 'Locks one level (or every level above 1) and drops its keys from the server’s memory.',
      tags: ['auth'],
      summary: 'Lock one level, or every level above 1',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      request: jsonBody(LockBody),
      responses: { 200: jsonResponse(SessionResponse, 'The session after locking'), ...errorResponses(400, 401, 403) },
    }),
    async (c) => {
      const { level } = c.req.valid('json');
      const locked = await auth.lock(c.get('token'), level);
      await locked.release?.();
      return c.json({ session: sessionDto(locked.session) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/auth/sign-out',
      operationId: 'signOut',
      description: 'Ends this session and zeroes its keys; the token stops working.',
      tags: ['auth'],
      summary: 'End the session and drop its keys',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      responses: { 204: { description: 'Signed out' }, ...errorResponses(401, 403) },
    }),
    async (c) => {
      await auth.signOut(c.get('token'));
      clearSessionCookies(c, kit);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/auth/sign-out-everywhere',
      operationId: 'signOutEverywhere',
      description: 'Ends every session of the person, in every server process.',
      tags: ['auth'],
      summary: 'End every session of this person, on every device, including this one',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      responses: { 204: { description: 'Every session signed out' }, ...errorResponses(401, 403) },
    }),
    async (c) => {
      await auth.signOutEverywhere(c.get('token'), c.get('meta'));
      clearSessionCookies(c, kit);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/auth/password',
      operationId: 'changePassword',
      description:
        'Checks the current password (rate-limited), stores the new one (policy-checked) and ends every session of the person, in every process.',
      tags: ['auth'],
      summary: 'Change the password; every session ends, this one too, so sign in again with the new one',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      request: jsonBody(PasswordChangeBody),
      responses: {
        204: { description: 'Password changed; every session signed out' },
        ...errorResponses(400, 401, 403, 415, 422, 429),
      },
    }),
    async (c) => {
      await throttle(kit, [ipKey(c, kit), `session:${c.get('session').session.id}`]);
      const body = c.req.valid('json');
      await auth.changePassword(c.get('principal').userId, body.current, body.password, c.get('meta'));
      clearSessionCookies(c, kit);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/auth/totp/begin',
      operationId: 'beginTotp',
      description: 'Starts two-factor enrolment: a secret, its otpauth URI and a QR code. Needs level 2 unlocked.',
      tags: ['auth'],
      summary: 'Start TOTP enrolment: a secret and its QR code (SVG)',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      responses: {
        200: jsonResponse(TotpEnrollmentResponse, 'The secret to add to an authenticator app'),
        ...errorResponses(401, 403),
      },
    }),
    async (c) => {
      const enrollment = await auth.totpBegin(c.get('token'));
      return c.json({ secret: enrollment.secret, otpauthUri: enrollment.otpauthUri, qrSvg: enrollment.qrSvg }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/auth/totp/confirm',
      operationId: 'confirmTotp',
      description: 'Confirms enrolment with a current code from the authenticator app.',
      tags: ['auth'],
      summary: 'Finish TOTP enrolment with a current code',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      request: jsonBody(TotpConfirmBody),
      responses: { 204: { description: 'TOTP enrolled' }, ...errorResponses(400, 401, 403, 415, 429) },
    }),
    async (c) => {
      await throttle(kit, [ipKey(c, kit), `session:${c.get('session').session.id}`]);
      await auth.totpConfirm(c.get('token'), c.req.valid('json').code, c.get('meta'));
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/auth/passkeys/registration-options',
      operationId: 'passkeyRegistrationOptions',
      description:
        'WebAuthn creation options for adding a passkey (level 2 unlocked; level 4 too once a passkey exists).',
      tags: ['auth'],
      summary: 'WebAuthn creation options for a new passkey (needs level 2 unlocked)',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      responses: {
        200: jsonResponse(WebAuthnOptions, 'PublicKeyCredentialCreationOptionsJSON'),
        ...errorResponses(401, 403),
      },
    }),
    async (c) => {
      const options = (await auth.passkeyRegistrationOptions(c.get('token'))) as Record<string, unknown>;
      return c.json(options, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/auth/passkeys',
      operationId: 'registerPasskey',
      description: 'Registers the passkey from the WebAuthn response to the options just issued.',
      tags: ['auth'],
      summary: 'Register a passkey from the authenticator’s response',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      request: jsonBody(PasskeyRegisterBody),
      responses: {
        201: jsonResponse(z.object({ credentialId: z.string() }), 'Passkey registered'),
        ...errorResponses(400, 401, 403, 415),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      // The auth service takes the password beside the credential (it splits it off before verifying).
      const response = body.password === undefined ? body.response : { ...body.response, password: body.password };
      const result = await auth.passkeyRegister(c.get('token'), response, c.get('meta'));
      return c.json({ credentialId: result.credentialId }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/auth/passkeys/authentication-options',
      operationId: 'passkeyAuthenticationOptions',
      description: 'WebAuthn request options for the assertion that unlocks level 4.',
      tags: ['auth'],
      summary: 'WebAuthn request options for unlocking level 4',
      middleware: [session] as const,
      security: SESSION_SECURITY,
      responses: {
        200: jsonResponse(WebAuthnOptions, 'PublicKeyCredentialRequestOptionsJSON'),
        ...errorResponses(401, 403),
      },
    }),
    async (c) => {
      const options = (await auth.passkeyAuthenticationOptions(c.get('token'))) as Record<string, unknown>;
      return c.json(options, 200);
    },
  );
}
