import type { UserId } from '../core/entry.js';
import { isUserId } from '../core/e164.js';
import { validationError } from '../core/errors.js';

/**
 * Small documents that are state besides the vault: a person's keyring (with its pre-rotation copy and its
 * generation record), sign-in factors (TOTP, passkeys), recovery kit, and the instance's token store (personal
 * access tokens, OAuth grants and clients). Their writers seal or MAC whatever is secret; a store keeps the text
 * byte for byte and never looks inside. Adapters: files in the data dir (src/security/file-documents.ts) and
 * PostgreSQL (src/pg/pg-documents.ts), so servers on different hosts, which share nothing but the database,
 * see the same keyrings and factors. Both pass test/contract/auth-records.contract.ts.
 *
 * Contract, for every adapter:
 * - `owner` is a person (E.164) or null for the instance; `name` is a plain file name (letters, digits, `.+_-`).
 * - A write replaces the whole document at once: a reader sees the old text or the new one, never a mix.
 * - `version` changes with every write (even of the same text) and is undefined for a missing document, so a
 *   cache keyed on it sees a change made by another process or server.
 * - `exclusive` runs `fn` as the only holder of that document across every process and server using the store;
 *   reads inside it see every write finished before. Every read-modify-write goes through it.
 */
export type DocumentOwner = UserId | null;

export interface StoredDocument {
  readonly text: string;
  /** Changes with every write: compare it, never order it. */
  readonly version: string;
}

export interface DocumentStore {
  /** The document, or undefined when there is none. */
  read(owner: DocumentOwner, name: string): Promise<StoredDocument | undefined>;
  /** The document's current version (cheaper than `read`), or undefined when there is none. */
  version(owner: DocumentOwner, name: string): Promise<string | undefined>;
  /**
   * Replaces (or creates) the document. With `exclusive` it only creates: when the document exists, nothing
   * changes and the answer is false.
   */
  write(owner: DocumentOwner, name: string, text: string, options?: { readonly exclusive?: boolean }): Promise<boolean>;
  /** Removes the document; answers whether it existed. */
  remove(owner: DocumentOwner, name: string): Promise<boolean>;
  /** Runs `fn` as the only holder of the document (see the contract above); its result or failure is the call's. */
  exclusive<T>(owner: DocumentOwner, name: string, fn: () => Promise<T>): Promise<T>;
  /** Where the document lives, for messages to an operator (a file path, or the table). Never secret. */
  describe(owner: DocumentOwner, name: string): string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

/** @throws VALIDATION_ERROR for an owner that is neither null nor E.164, or a name that is not a plain file name. */
export function checkDocument(owner: DocumentOwner, name: string): void {
  if (owner !== null && (typeof owner !== 'string' || !isUserId(owner))) {
    throw validationError('Not a normalised phone number (E.164).', { field: 'userId' });
  }
  // Names are constants of the code, never typed by a person; this guards a future caller's mistake.
  if (typeof name !== 'string' || !NAME.test(name) || name.includes('..')) {
    throw validationError('A stored document name must be a plain file name.', { field: 'name' });
  }
}
