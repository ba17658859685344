import { createHash, createHmac, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';

/**
 * A software WebAuthn authenticator for tests: a P-256 credential made with node:crypto, attestation "none",
 * real CBOR, real signatures over authenticatorData ‖ SHA-256(clientDataJSON). It answers the JSON options
 * the server produces with the JSON responses a browser would send, PRF included (HMAC of the salt under a
 * per-credential secret, like CTAP2's hmac-secret).
 */

type Cbor = number | string | Uint8Array | Cbor[] | Map<Cbor, Cbor> | { [key: string]: Cbor };

function head(major: number, value: number): Buffer {
  if (value < 24) return Buffer.from([(major << 5) | value]);
  if (value < 0x100) return Buffer.from([(major << 5) | 24, value]);
  if (value < 0x10000) {
    const b = Buffer.alloc(3);
    b[0] = (major << 5) | 25;
    b.writeUInt16BE(value, 1);
    return b;
  }
  const b = Buffer.alloc(5);
  b[0] = (major << 5) | 26;
  b.writeUInt32BE(value, 1);
  return b;
}

/** Minimal CBOR encoder (RFC 8949): integers, byte and text strings, arrays, maps. */
export function cbor(value: Cbor): Buffer {
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([head(3, bytes.length), bytes]);
  }
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), value]);
  if (Array.isArray(value)) return Buffer.concat([head(4, value.length), ...value.map(cbor)]);
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
  return Buffer.concat([head(5, entries.length), ...entries.flatMap(([k, v]) => [cbor(k), cbor(v)])]);
}

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();

export interface SoftCredential {
  readonly id: Buffer;
  readonly privateKey: KeyObject;
  readonly cosePublicKey: Buffer;
  readonly prfSecret: Buffer;
  counter: number;
  /** The user handle the credential was created for (base64url). */
  userHandle: string;
}

export interface AssertOptions {
  /** Report user verification (the fingerprint or face check). Default true. */
  readonly userVerified?: boolean;
  /** Answer the PRF extension. Default true when the options asked for it. */
  readonly prf?: boolean;
  /** Origin the browser reports. */
  readonly origin?: string;
  /** Override the counter (a cloned authenticator replays an old one). */
  readonly counter?: number;
}

type JsonOptions = {
  challenge: string;
  rp?: { id?: string };
  rpId?: string;
  user?: { id: string };
  extensions?: { prf?: { eval?: { first?: unknown } } };
};

export class SoftAuthenticator {
  readonly credentials: SoftCredential[] = [];
  private readonly origin: string;
  private readonly rpId: string;

  constructor(options: { origin: string; rpId: string }) {
    this.origin = options.origin;
    this.rpId = options.rpId;
  }

  private prf(credential: SoftCredential, options: JsonOptions, enabled: boolean) {
    const salt = options.extensions?.prf?.eval?.first;
    if (!enabled || typeof salt !== 'string') return undefined;
    const output = createHmac('sha256', credential.prfSecret).update(Buffer.from(salt, 'base64url')).digest();
    return { results: { first: b64url(output) } };
  }

  /** Answers `navigator.credentials.create` options with a RegistrationResponseJSON. */
  register(options: unknown, answer: AssertOptions = {}) {
    const opts = options as JsonOptions;
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const cosePublicKey = cbor(
      new Map<Cbor, Cbor>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(jwk.x ?? '', 'base64url')],
        [-3, Buffer.from(jwk.y ?? '', 'base64url')],
      ]),
    );
    const credential: SoftCredential = {
      id: randomBytes(16),
      privateKey,
      cosePublicKey,
      prfSecret: randomBytes(32),
      counter: 0,
      userHandle: opts.user?.id ?? '',
    };
    this.credentials.push(credential);
    const uv = answer.userVerified ?? true;
    const flags = 0x01 | (uv ? 0x04 : 0) | 0x40;
    const counter = Buffer.alloc(4);
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(credential.id.length);
    const authData = Buffer.concat([
      sha256(opts.rp?.id ?? this.rpId),
      Buffer.from([flags]),
      counter,
      Buffer.alloc(16),
      idLength,
      credential.id,
      cosePublicKey,
    ]);
    const clientDataJSON = Buffer.from(
      JSON.stringify({
        type: 'webauthn.create',
        challenge: opts.challenge,
        origin: answer.origin ?? this.origin,
        crossOrigin: false,
      }),
    );
    const attestationObject = cbor({ fmt: 'none', attStmt: {}, authData });
    const prf = this.prf(credential, opts, answer.prf ?? true);
    return {
      id: b64url(credential.id),
      rawId: b64url(credential.id),
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientDataJSON),
        attestationObject: b64url(attestationObject),
        transports: ['internal'],
      },
      clientExtensionResults: prf ? { prf: { enabled: true, ...prf } } : {},
    };
  }

  /** Answers `navigator.credentials.get` options with an AuthenticationResponseJSON from `credential`. */
  assert(options: unknown, credential: SoftCredential | undefined = this.credentials[0], answer: AssertOptions = {}) {
    if (!credential) throw new Error('the soft authenticator holds no credential');
    const opts = options as JsonOptions;
    const uv = answer.userVerified ?? true;
    credential.counter = answer.counter ?? credential.counter + 1;
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(credential.counter);
    const authData = Buffer.concat([sha256(opts.rpId ?? this.rpId), Buffer.from([0x01 | (uv ? 0x04 : 0)]), counter]);
    const clientDataJSON = Buffer.from(
      JSON.stringify({
        type: 'webauthn.get',
        challenge: opts.challenge,
        origin: answer.origin ?? this.origin,
        crossOrigin: false,
      }),
    );
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), credential.privateKey);
    const prf = this.prf(credential, opts, answer.prf ?? true);
    return {
      id: b64url(credential.id),
      rawId: b64url(credential.id),
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        userHandle: credential.userHandle,
      },
      clientExtensionResults: prf ? { prf } : {},
    };
  }
}
