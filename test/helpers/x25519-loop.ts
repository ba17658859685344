/**
 * For test/security/crypto/x25519-deadlock.test.ts: makes argv[2] key pairs, and seals one message per five of
 * them (each seal makes an ephemeral key), with the production code, then prints `done`. On the code this guards
 * against it seldom got there: the process hung.
 */
import { generateX25519 } from '../../src/security/crypto-x25519.js';
import { sealToPublicKey } from '../../src/security/seal.js';

const count = Number(process.argv[2]);
const recipient = generateX25519().publicKey;
const ctx = { userId: '+14155550134', level: 2, category: 'GENERAL', entryId: '01M8Q0X58B80PT04FEBMNQ8TMS' } as const;
const text = new TextEncoder().encode('a note about kayaking and tea');
for (let i = 0; i < count; i++) {
  generateX25519();
  if (i % 5 === 0) sealToPublicKey(recipient, ctx as never, text);
}
process.stdout.write('done\n');
