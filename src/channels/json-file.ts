import type { z } from 'zod';
import type { UserId } from '../core/entry.js';
import { MemvaultError, storageError } from '../core/errors.js';
import type { DocumentStore } from '../ports/documents.js';

/**
 * One small JSON document per person (channel links, notifications, onboarding), validated with zod on every
 * read and replaced whole on every write. It lives in the document store (src/ports/documents.ts): a file in the
 * person's folder in file mode, a row of `mv_documents` in PostgreSQL mode, so every server sees the same links
 * and preferences. A missing document is the empty one; a damaged one is DATA_CORRUPTION naming it, never
 * silently reset (that would forget a STOP or a link).
 */
export class PersonJsonFile<S extends z.ZodType> {
  readonly #documents: DocumentStore;
  readonly #name: string;
  readonly #schema: S;
  readonly #empty: () => z.output<S>;

  constructor(documents: DocumentStore, name: string, schema: S, empty: () => z.output<S>) {
    this.#documents = documents;
    this.#name = name;
    this.#schema = schema;
    this.#empty = empty;
  }

  async read(userId: UserId): Promise<z.output<S>> {
    return this.#parse(userId);
  }

  /**
   * Read-modify-write as the document's only holder across processes and servers; `change` returns the result
   * and mutates `doc`. A `change` that throws writes nothing.
   */
  async update<T>(userId: UserId, change: (doc: z.output<S>) => T): Promise<T> {
    return this.#documents.exclusive(userId, this.#name, async () => {
      const doc = await this.#parse(userId);
      const result = change(doc);
      try {
        await this.#documents.write(userId, this.#name, `${JSON.stringify(doc)}\n`);
      } catch (error) {
        if (error instanceof MemvaultError) throw error;
        throw storageError(`Could not write the person’s ${this.#name}.`, error, { userId });
      }
      return result;
    });
  }

  async #parse(userId: UserId): Promise<z.output<S>> {
    let raw: string;
    try {
      const stored = await this.#documents.read(userId, this.#name);
      if (stored === undefined) return this.#empty();
      raw = stored.text;
    } catch (error) {
      if (error instanceof MemvaultError) throw error;
      throw storageError(`Could not read ${this.#name}.`, error);
    }
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (cause) {
      throw new MemvaultError('DATA_CORRUPTION', `${this.#name} is not valid JSON; restore it from a backup.`, {
        cause,
        details: { file: this.#name },
      });
    }
    const parsed = this.#schema.safeParse(json);
    if (!parsed.success) {
      throw new MemvaultError('DATA_CORRUPTION', `${this.#name} has an unexpected shape; restore it from a backup.`, {
        details: { file: this.#name },
      });
    }
    return parsed.data;
  }
}
