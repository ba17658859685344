import { type KeyObject, createPrivateKey, createPublicKey, diffieHellman, randomBytes } from 'node:crypto';

/** Length of raw X25519 private and public keys (RFC 7748). */
export const X25519_KEY_BYTES = 32;

// Keys cross into node:crypto as JWK: on Node 20 with OpenSSL 3, JWK import and export are several times faster
// than DER (no decoder lookup). A private JWK must carry `x`, but Node derives the public half from `d` alone,
// so a placeholder is passed; the known-answer tests (RFC 7748) would catch any change of that behaviour.
const X_PLACEHOLDER = 'A'.repeat(43);

export interface RawKeyPair {
  readonly privateKey: Buffer;
  readonly publicKey: Buffer;
}

const fromJwk = (value: string | undefined): Buffer => {
  const bytes = Buffer.from(value ?? '', 'base64url');
  if (bytes.length !== X25519_KEY_BYTES) throw new Error('unexpected X25519 JWK export');
  return bytes;
};

/**
 * A fresh private key object: 32 random bytes, which X25519 clamps itself (RFC 7748 §5), so every string of 32
 * bytes is a valid key and no key-generation call is needed.
 *
 * Never `generateKeyPairSync('x25519')` here: on Node 20 (seen on 20.20.2) exporting such a key as JWK can
 * deadlock the process for good. The export holds the key's mutex while it allocates; a garbage collection in that
 * instant destroys the finished key-generation job, whose destructor takes the same mutex. A loop of
 * generate-then-export hangs within ~35,000 keys; every seal did one, so a key rotation's re-seal of a few thousand
 * entries hung one run in a few, holding the person's vault lock (test/security/crypto/x25519-deadlock.test.ts).
 */
function newX25519PrivateKey(): KeyObject {
  const secret = randomBytes(X25519_KEY_BYTES);
  try {
    return x25519PrivateKey(secret);
  } finally {
    secret.fill(0);
  }
}

/** A fresh X25519 key pair as raw 32-byte keys. */
export function generateX25519(): RawKeyPair {
  const jwk = newX25519PrivateKey().export({ format: 'jwk' });
  return { privateKey: fromJwk(jwk.d), publicKey: fromJwk(jwk.x) };
}

export function x25519PrivateKey(raw: Uint8Array): KeyObject {
  if (raw.byteLength !== X25519_KEY_BYTES) throw new RangeError('X25519 private key must be 32 bytes');
  const d = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64url');
  return createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d, x: X_PLACEHOLDER }, format: 'jwk' });
}

export function x25519PublicKey(raw: Uint8Array): KeyObject {
  if (raw.byteLength !== X25519_KEY_BYTES) throw new RangeError('X25519 public key must be 32 bytes');
  const x = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64url');
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' });
}

/** The raw public key of a private key object. */
export function rawPublicKey(privateKey: KeyObject): Buffer {
  return fromJwk(privateKey.export({ format: 'jwk' }).x);
}

/** X25519(private, public); throws for a low-order public key (all-zero shared secret). */
export function x25519(privateKey: KeyObject, publicKey: KeyObject): Buffer {
  return diffieHellman({ privateKey, publicKey });
}
