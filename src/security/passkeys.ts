import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import { MemvaultError, securityError, validationError } from '../core/errors.js';
import type { StoredPasskey } from './auth-store.js';

/**
 * The WebAuthn library (and its crypto dependencies) loads on first use: about 250 ms that every command line
 * and every server start would otherwise pay, though only passkey requests need it.
 */
const webauthn = () => import('@simplewebauthn/server');

/** The relying party: this server as browsers see it. */
export interface RelyingParty {
  readonly rpId: string;
  readonly rpName: string;
  /** Every origin the web app is served from, e.g. "https://memvault.example". */
  readonly origins: readonly string[];
}

const TIMEOUT_MS = 120_000;

/**
 * The PRF extension input as it travels in the options JSON: `first` is base64url (the WebAuthn Level 3 JSON
 * form, which `PublicKeyCredential.parseCreationOptionsFromJSON` decodes). The browser code must pass bytes to
 * `navigator.credentials` and send PRF results back base64url-encoded in `clientExtensionResults.prf.results.first`.
 */
function prfInput(salt: string) {
  // The library types say BufferSource; the JSON form carries base64url strings instead.
  return { prf: { eval: { first: salt as unknown as BufferSource } } };
}

/** Options for `navigator.credentials.create` (`challenge` is base64url): user verification required, PRF requested, no duplicates. */
export async function registrationOptions(input: {
  readonly rp: RelyingParty;
  readonly challenge: string;
  readonly userName: string;
  readonly webauthnUserId: string;
  readonly prfSalt: string;
  readonly existing: readonly StoredPasskey[];
}): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const { generateRegistrationOptions } = await webauthn();
  return generateRegistrationOptions({
    rpName: input.rp.rpName,
    rpID: input.rp.rpId,
    userName: input.userName,
    userDisplayName: input.userName,
    userID: new Uint8Array(Buffer.from(input.webauthnUserId, 'base64url')),
    // Bytes, so the options carry exactly `challenge` (a string would be UTF-8 encoded once more).
    challenge: new Uint8Array(Buffer.from(input.challenge, 'base64url')),
    timeout: TIMEOUT_MS,
    attestationType: 'none',
    excludeCredentials: input.existing.map((p) => ({
      id: p.id,
      ...(p.transports ? { transports: p.transports } : {}),
    })),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
    extensions: prfInput(input.prfSalt),
  });
}

/** Options for `navigator.credentials.get` that unlock level 4 with one of the user's passkeys. */
export async function authenticationOptions(input: {
  readonly rp: RelyingParty;
  readonly challenge: string;
  readonly prfSalt: string;
  readonly passkeys: readonly StoredPasskey[];
}): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const { generateAuthenticationOptions } = await webauthn();
  return generateAuthenticationOptions({
    rpID: input.rp.rpId,
    challenge: new Uint8Array(Buffer.from(input.challenge, 'base64url')),
    timeout: TIMEOUT_MS,
    userVerification: 'required',
    allowCredentials: input.passkeys.map((p) => ({ id: p.id, ...(p.transports ? { transports: p.transports } : {}) })),
    extensions: prfInput(input.prfSalt),
  });
}

/** The PRF output a client reported (base64url, 32 bytes), if any. Not signed by the authenticator: it only helps unwrap. */
export function prfOutput(response: { clientExtensionResults?: unknown }): Uint8Array | undefined {
  const results = (response.clientExtensionResults as { prf?: { results?: { first?: unknown } } } | undefined)?.prf
    ?.results;
  const first = results?.first;
  if (typeof first !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(first)) return undefined;
  const bytes = Buffer.from(first, 'base64url');
  return bytes.length === 32 ? new Uint8Array(bytes) : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Shape check before the library sees client input: a malformed body is a VALIDATION_ERROR, not a crash. */
function asCredential<T>(value: unknown, what: string, fields: readonly string[]): T {
  if (
    !isObject(value) ||
    typeof value.id !== 'string' ||
    typeof value.rawId !== 'string' ||
    value.type !== 'public-key' ||
    !isObject(value.response) ||
    !fields.every((f) => typeof (value.response as Record<string, unknown>)[f] === 'string')
  ) {
    throw validationError(`The ${what} is not a WebAuthn credential in JSON form.`, { field: 'passkey' });
  }
  return { clientExtensionResults: {}, ...value } as T;
}

/**
 * Verifies a registration against the challenge: origin, RP id, signature over the attestation, user
 * verification. Returns the passkey to store and the PRF output when the authenticator gave one.
 * @throws SECURITY_ERROR biometric_failed when the ceremony does not verify.
 */
export async function verifyRegistration(input: {
  readonly rp: RelyingParty;
  readonly response: unknown;
  readonly challenge: string;
  readonly now: Date;
}): Promise<{ passkey: StoredPasskey; prf: Uint8Array | undefined }> {
  const response = asCredential<RegistrationResponseJSON>(input.response, 'passkey registration', [
    'clientDataJSON',
    'attestationObject',
  ]);
  let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
  try {
    const { verifyRegistrationResponse } = await webauthn();
    verified = await verifyRegistrationResponse({
      response,
      expectedChallenge: input.challenge,
      expectedOrigin: [...input.rp.origins],
      expectedRPID: input.rp.rpId,
      requireUserVerification: true,
    });
  } catch (error) {
    throw new MemvaultError(
      'SECURITY_ERROR',
      'The passkey could not be registered: the browser response did not verify.',
      { reason: 'biometric_failed', cause: error },
    );
  }
  if (!verified.verified) {
    throw securityError(
      'biometric_failed',
      'The passkey could not be registered: the browser response did not verify.',
    );
  }
  const info = verified.registrationInfo;
  const extensions = response.clientExtensionResults as { prf?: { enabled?: boolean } } | undefined;
  const prf = prfOutput(response);
  const transports = info.credential.transports;
  return {
    passkey: {
      id: info.credential.id,
      publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
      counter: info.credential.counter,
      ...(transports && transports.length > 0 ? { transports: [...transports] } : {}),
      createdAt: input.now.toISOString(),
      lastUsedAt: null,
      deviceType: info.credentialDeviceType,
      backedUp: info.credentialBackedUp,
      prf: extensions?.prf?.enabled === true || prf !== undefined,
    },
    prf,
  };
}

/**
 * Verifies an assertion that answers the session's challenge with one of this user's passkeys, with user
 * verification, and a signature counter that moved forward (a cloned authenticator shows up here).
 * @returns the passkey used and its new counter, plus the PRF output when the client sent one.
 * @throws SECURITY_ERROR biometric_failed for another user's credential, no user verification, a bad
 *   signature, a stale challenge or a counter that went backwards.
 */
export async function verifyAssertion(input: {
  readonly rp: RelyingParty;
  readonly response: unknown;
  readonly challenge: string;
  readonly passkeys: readonly StoredPasskey[];
  readonly webauthnUserId: string;
}): Promise<{ passkey: StoredPasskey; newCounter: number; prf: Uint8Array | undefined }> {
  const fail = (why: string, cause?: unknown) =>
    new MemvaultError('SECURITY_ERROR', `The passkey check failed: ${why}`, {
      reason: 'biometric_failed',
      ...(cause === undefined ? {} : { cause }),
    });
  const response = asCredential<AuthenticationResponseJSON>(input.response, 'passkey response', [
    'clientDataJSON',
    'authenticatorData',
    'signature',
  ]);
  const passkey = input.passkeys.find((p) => p.id === response.id);
  if (!passkey) throw fail('this passkey is not registered to your account.');
  const handle = response.response.userHandle;
  if (handle !== undefined && handle !== null && handle !== '' && handle !== input.webauthnUserId) {
    throw fail('this passkey belongs to another account.');
  }
  let verified: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
  try {
    const { verifyAuthenticationResponse } = await webauthn();
    verified = await verifyAuthenticationResponse({
      response,
      expectedChallenge: input.challenge,
      expectedOrigin: [...input.rp.origins],
      expectedRPID: input.rp.rpId,
      credential: {
        id: passkey.id,
        publicKey: new Uint8Array(Buffer.from(passkey.publicKey, 'base64url')),
        counter: passkey.counter,
        ...(passkey.transports ? { transports: passkey.transports } : {}),
      },
      requireUserVerification: true,
    });
  } catch (error) {
    throw fail('the browser response did not verify (user verification is required).', error);
  }
  if (!verified.verified || !verified.authenticationInfo.userVerified) {
    throw fail('the browser response did not verify (user verification is required).');
  }
  return { passkey, newCounter: verified.authenticationInfo.newCounter, prf: prfOutput(response) };
}
