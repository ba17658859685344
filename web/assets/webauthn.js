/**
 * WebAuthn in the browser, from and to the JSON forms the server speaks (base64url for every byte string),
 * including the PRF extension whose output helps wrap level 4's key.
 */

/** @param {string} value */
export function fromBase64url(value) {
  const base64 = value
    .replace(/-/g, '+')
    .replace(/_/g, '/')
    .padEnd(Math.ceil(value.length / 4) * 4, '=');
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

/** @param {ArrayBuffer | ArrayBufferView} value */
export function toBase64url(value) {
  const bytes =
    value instanceof ArrayBuffer
      ? new Uint8Array(value)
      : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function supported() {
  return typeof window.PublicKeyCredential === 'function' && Boolean(navigator.credentials);
}

function extensionsIn(ext) {
  if (!ext) return undefined;
  const out = { ...ext };
  const evalIn = ext.prf?.eval;
  if (evalIn?.first) {
    out.prf = {
      eval: {
        first: fromBase64url(evalIn.first),
        ...(evalIn.second ? { second: fromBase64url(evalIn.second) } : {}),
      },
    };
  }
  return out;
}

function extensionsOut(results) {
  const out = { ...results };
  if (results.prf) {
    const prf = { ...(results.prf.enabled === undefined ? {} : { enabled: results.prf.enabled }) };
    if (results.prf.results?.first) {
      prf.results = {
        first: toBase64url(results.prf.results.first),
        ...(results.prf.results.second ? { second: toBase64url(results.prf.results.second) } : {}),
      };
    }
    out.prf = prf;
  }
  return out;
}

const descriptors = (list) => (list ?? []).map((c) => ({ ...c, id: fromBase64url(c.id) }));

/** Registers a passkey from PublicKeyCredentialCreationOptionsJSON; returns RegistrationResponseJSON. */
export async function createPasskey(options) {
  const publicKey = {
    ...options,
    challenge: fromBase64url(options.challenge),
    user: { ...options.user, id: fromBase64url(options.user.id) },
    excludeCredentials: descriptors(options.excludeCredentials),
    extensions: extensionsIn(options.extensions),
  };
  const credential = await navigator.credentials.create({ publicKey });
  if (!credential) throw new Error('The authenticator returned nothing.');
  const r = credential.response;
  const publicKeyBytes = r.getPublicKey?.();
  return {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    ...(credential.authenticatorAttachment ? { authenticatorAttachment: credential.authenticatorAttachment } : {}),
    response: {
      clientDataJSON: toBase64url(r.clientDataJSON),
      attestationObject: toBase64url(r.attestationObject),
      transports: r.getTransports?.() ?? [],
      ...(r.getAuthenticatorData ? { authenticatorData: toBase64url(r.getAuthenticatorData()) } : {}),
      ...(r.getPublicKeyAlgorithm ? { publicKeyAlgorithm: r.getPublicKeyAlgorithm() } : {}),
      ...(publicKeyBytes ? { publicKey: toBase64url(publicKeyBytes) } : {}),
    },
    clientExtensionResults: extensionsOut(credential.getClientExtensionResults()),
  };
}

/** Answers PublicKeyCredentialRequestOptionsJSON; returns AuthenticationResponseJSON. */
export async function usePasskey(options) {
  const publicKey = {
    ...options,
    challenge: fromBase64url(options.challenge),
    allowCredentials: descriptors(options.allowCredentials),
    extensions: extensionsIn(options.extensions),
  };
  const credential = await navigator.credentials.get({ publicKey });
  if (!credential) throw new Error('The authenticator returned nothing.');
  const r = credential.response;
  return {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    ...(credential.authenticatorAttachment ? { authenticatorAttachment: credential.authenticatorAttachment } : {}),
    response: {
      clientDataJSON: toBase64url(r.clientDataJSON),
      authenticatorData: toBase64url(r.authenticatorData),
      signature: toBase64url(r.signature),
      ...(r.userHandle ? { userHandle: toBase64url(r.userHandle) } : {}),
    },
    clientExtensionResults: extensionsOut(credential.getClientExtensionResults()),
  };
}
