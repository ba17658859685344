import { checkDocument, type DocumentOwner, type DocumentStore, type StoredDocument } from '../ports/documents.js';
import type { PgDatabase } from './database.js';

const UPSERT =
  "INSERT INTO mv_documents (owner, name, body, version) VALUES ($1, $2, $3, nextval('mv_documents_version')) ";

/**
 * Keyrings, sign-in factors, recovery kits and the token store in PostgreSQL (src/ports/documents.ts): one row per
 * document in `mv_documents`, holding the very text its file holds, so `memvault migrate` copies them both ways
 * unchanged and the same MACs and seals check them. Every write takes a new number from one sequence as its
 * version. `exclusive` is a transaction holding an advisory lock on the document; every statement made inside it
 * through the same PgDatabase (this store's reads and writes, the audit log's, the vault's) joins that
 * transaction, so it commits as a whole or not at all.
 */
export class PgDocuments implements DocumentStore {
  readonly #db: PgDatabase;

  constructor(options: { readonly db: PgDatabase }) {
    this.#db = options.db;
  }

  async read(owner: DocumentOwner, name: string): Promise<StoredDocument | undefined> {
    checkDocument(owner, name);
    const rows = await this.#db.query<{ body: string; version: string }>(
      'read a stored sign-in record',
      'SELECT body, version FROM mv_documents WHERE owner = $1 AND name = $2',
      [owner ?? '', name],
    );
    const row = rows[0];
    return row ? { text: row.body, version: row.version } : undefined;
  }

  async version(owner: DocumentOwner, name: string): Promise<string | undefined> {
    checkDocument(owner, name);
    const rows = await this.#db.query<{ version: string }>(
      'read a stored sign-in record',
      'SELECT version FROM mv_documents WHERE owner = $1 AND name = $2',
      [owner ?? '', name],
    );
    return rows[0]?.version;
  }

  async write(
    owner: DocumentOwner,
    name: string,
    text: string,
    options: { readonly exclusive?: boolean } = {},
  ): Promise<boolean> {
    checkDocument(owner, name);
    const rows = await this.#db.query<{ version: string }>(
      'save a sign-in record',
      options.exclusive
        ? `${UPSERT} ON CONFLICT (owner, name) DO NOTHING RETURNING version`
        : `${UPSERT} ON CONFLICT (owner, name) DO UPDATE SET body = EXCLUDED.body, version = EXCLUDED.version, ` +
            'updated_at = now() RETURNING version',
      [owner ?? '', name, text],
    );
    return rows.length > 0;
  }

  async remove(owner: DocumentOwner, name: string): Promise<boolean> {
    checkDocument(owner, name);
    const rows = await this.#db.query<{ one: number }>(
      'remove a sign-in record',
      'DELETE FROM mv_documents WHERE owner = $1 AND name = $2 RETURNING 1 AS one',
      [owner ?? '', name],
    );
    return rows.length > 0;
  }

  async exclusive<T>(owner: DocumentOwner, name: string, fn: () => Promise<T>): Promise<T> {
    checkDocument(owner, name);
    const key = `memvault.document:${owner ?? ''}/${name}`;
    return this.#db.atomically('change a sign-in record', async () => {
      await this.#db.query('wait for a sign-in record', 'SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [key]);
      return fn();
    });
  }

  describe(owner: DocumentOwner, name: string): string {
    checkDocument(owner, name);
    return `${name} (PostgreSQL table mv_documents)`;
  }
}
