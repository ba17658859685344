import { type KeyObject, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';

/** Length of raw X25519 private and public keys (RFC 7748). */
export const X25519_KEY_BYTES = 32;

// DER prefixes of the PKCS#8 and SPKI encodings of an X25519 key (OID 1.3.101.110); the raw key follows.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

export interface RawKeyPair {
  readonly privateKey: Buffer;
  readonly publicKey: Buffer;
}

/** A fresh X25519 key pair as raw 32-byte keys. */
export function generateX25519(): RawKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  return {
    privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length),
    publicKey: publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length),
  };
}

export function x25519PrivateKey(raw: Uint8Array): KeyObject {
  if (raw.byteLength !== X25519_KEY_BYTES) throw new RangeError('X25519 private key must be 32 bytes');
  const der = Buffer.concat([PKCS8_PREFIX, raw]);
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

export function x25519PublicKey(raw: Uint8Array): KeyObject {
  if (raw.byteLength !== X25519_KEY_BYTES) throw new RangeError('X25519 public key must be 32 bytes');
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** The raw public key of a private key object. */
export function rawPublicKey(privateKey: KeyObject): Buffer {
  return createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
}

/** X25519(private, public); throws for a low-order public key (all-zero shared secret). */
export function x25519(privateKey: KeyObject, publicKey: KeyObject): Buffer {
  return diffieHellman({ privateKey, publicKey });
}
