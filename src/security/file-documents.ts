import { statSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { MemvaultError, storageError } from '../core/errors.js';
import { fsyncDirectory } from '../infra/atomic-file.js';
import { KeyedMutex } from '../infra/keyed-mutex.js';
import { checkDocument, type DocumentOwner, type DocumentStore, type StoredDocument } from '../ports/documents.js';
import { ensurePrivateDir, withFileLock, writeFileAtomic } from './crypto-fs.js';
import { withPersonFile } from './person-lock.js';

/** The instance's documents' writers in this process, one after another per file (a person's: withPersonFile). */
const instanceQueue = new KeyedMutex<string>();

/** Where a store keeps its documents: the given store, or else the files of the data dir. */
export interface DocumentsOption {
  readonly dataDir?: string;
  readonly documents?: DocumentStore | undefined;
}

export function documentsOf(options: DocumentsOption): DocumentStore {
  if (options.documents) return options.documents;
  if (options.dataDir === undefined) {
    throw new MemvaultError('CONFIG_ERROR', 'A data directory or a document store is needed.');
  }
  return new FileDocuments(options.dataDir);
}

/**
 * Documents as files in the data dir: a person's in `users/<E164>/<name>`, the instance's in `<dataDir>/<name>`,
 * mode 0600, written atomically (temp file, fsync, rename, directory fsync). `exclusive` queues in this process
 * and holds `<name>.lock` against the other memvault processes on this host (the CLI beside the server).
 */
export class FileDocuments implements DocumentStore {
  readonly #dataDir: string;

  constructor(dataDir: string) {
    this.#dataDir = dataDir;
  }

  path(owner: DocumentOwner, name: string): string {
    checkDocument(owner, name);
    return owner === null ? join(this.#dataDir, name) : join(this.#dataDir, 'users', owner, name);
  }

  describe(owner: DocumentOwner, name: string): string {
    return this.path(owner, name);
  }

  async read(owner: DocumentOwner, name: string): Promise<StoredDocument | undefined> {
    const path = this.path(owner, name);
    // The version before the text: a write in between leaves the version behind, never the text, so a cache
    // keyed on the version reloads.
    const version = versionOf(path);
    if (version === undefined) return undefined;
    try {
      return { text: await readFile(path, 'utf8'), version };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw storageError(`Could not read ${path}.`, error, { file: path });
    }
  }

  async version(owner: DocumentOwner, name: string): Promise<string | undefined> {
    return versionOf(this.path(owner, name));
  }

  async write(
    owner: DocumentOwner,
    name: string,
    text: string,
    options: { readonly exclusive?: boolean } = {},
  ): Promise<boolean> {
    const path = this.path(owner, name);
    if (owner !== null) {
      await ensurePrivateDir(dirname(path)).catch((error: unknown) => {
        throw storageError('Could not create the person’s folder.', error, { file: path });
      });
    }
    return writeFileAtomic(path, text, { mode: 0o600, ...(options.exclusive ? { exclusive: true } : {}) });
  }

  async remove(owner: DocumentOwner, name: string): Promise<boolean> {
    const path = this.path(owner, name);
    try {
      await rm(path);
      await fsyncDirectory(dirname(path));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw storageError(`Could not remove ${path}.`, error, { file: path });
    }
    return true;
  }

  async exclusive<T>(owner: DocumentOwner, name: string, fn: () => Promise<T>): Promise<T> {
    const path = this.path(owner, name);
    if (owner !== null) return withPersonFile(this.#dataDir, owner, name, fn);
    return instanceQueue.run(path, () => withFileLock(path, fn));
  }
}

/** Device, inode, size and mtime: every atomic rewrite (a rename) changes the inode. */
function versionOf(path: string): string | undefined {
  try {
    // Synchronous: a stat of one small local file takes microseconds, and the keyring asks this under a person's
    // lock on every sealed append, where a thread-pool round trip would cost milliseconds.
    const info = statSync(path, { bigint: true });
    return `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw storageError(`Could not read ${path}.`, error, { file: path });
  }
}
