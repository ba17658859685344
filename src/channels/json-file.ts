import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import type { UserId } from '../core/entry.js';
import { MemvaultError, storageError } from '../core/errors.js';
import { writeFileAtomic } from '../infra/atomic-file.js';
import type { PersonFiles } from '../ports/channels.js';

/**
 * One small JSON document per person (channel links, notifications, onboarding), validated with zod on every
 * read and replaced atomically on every write. A missing file is the empty document; a damaged one is
 * DATA_CORRUPTION naming the file, never silently reset (that would forget a STOP or a link).
 */
export class PersonJsonFile<S extends z.ZodType> {
  readonly #files: PersonFiles;
  readonly #name: string;
  readonly #schema: S;
  readonly #empty: () => z.output<S>;

  constructor(files: PersonFiles, name: string, schema: S, empty: () => z.output<S>) {
    this.#files = files;
    this.#name = name;
    this.#schema = schema;
    this.#empty = empty;
  }

  async read(userId: UserId): Promise<z.output<S>> {
    return this.#parse(this.#files.pathOf(userId, this.#name));
  }

  /** Read-modify-write under the person's file lock; `change` returns the result and mutates `doc`. */
  async update<T>(userId: UserId, change: (doc: z.output<S>) => T): Promise<T> {
    return this.#files.withFile(userId, this.#name, async (path) => {
      const doc = await this.#parse(path);
      const result = change(doc);
      try {
        await writeFileAtomic(path, `${JSON.stringify(doc)}\n`);
      } catch (error) {
        throw storageError(`Could not write the person’s ${this.#name}.`, error, { userId });
      }
      return result;
    });
  }

  async #parse(path: string): Promise<z.output<S>> {
    let raw: string;
    try {
      raw = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return this.#empty();
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
