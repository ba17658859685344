import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

const TEMP_SUFFIX = '.tmp';
// `.<name>.<pid>.<random>.tmp`: hidden, attributable to a process, never confused with a vault file.
const TEMP_NAME = /^\.(.+)\.\d+\.[0-9a-f]{12}\.tmp$/;

export interface AtomicWriteOptions {
  /** File mode of the new file; default 0o600. */
  readonly mode?: number;
  /** Create only: an existing file is left as it is and the call returns false (link instead of rename). */
  readonly exclusive?: boolean;
}

/** The temp-file name `writeFileAtomic` uses for `path` (same directory, so the rename stays on one filesystem). */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
}

/** True for a name `tempPathFor` produces. */
export function isTempFileName(name: string): boolean {
  return TEMP_NAME.test(name);
}

/**
 * Replaces `path` with `data` (bytes, or chunks written as they come) so that a crash at any instant leaves either
 * the old file or the new one:
 * write a temp file beside it → fsync it → rename over the target (or link it, with `exclusive`) → fsync the
 * directory. The temp file never outlives the call. Returns false only when `exclusive` found the file there.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array | AsyncIterable<Uint8Array>,
  options: AtomicWriteOptions = {},
): Promise<boolean> {
  const temp = tempPathFor(path);
  const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, options.mode ?? 0o600);
  let renamed = false;
  try {
    try {
      if (typeof data === 'string' || data instanceof Uint8Array) await handle.writeFile(data);
      else {
        for await (const chunk of data) {
          let done = 0;
          while (done < chunk.byteLength)
            done += (await handle.write(chunk, done, chunk.byteLength - done)).bytesWritten;
        }
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (options.exclusive) {
      try {
        await link(temp, path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw error;
      }
    } else {
      await rename(temp, path);
      renamed = true;
    }
  } finally {
    // Still there after a link or a failure.
    if (!renamed) await unlink(temp).catch(() => undefined);
  }
  await fsyncDirectory(dirname(path));
  return true;
}

/** Makes a directory's entries (creations, renames, unlinks) durable. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The name of the file a temp file was written for, or null when `name` is no temp file of `tempPathFor`. */
export function tempTarget(name: string): string | null {
  return TEMP_NAME.exec(name)?.[1] ?? null;
}

/**
 * Removes temp files left in `dir` by interrupted atomic writes, optionally only those written for targets
 * `owns` accepts (other components may keep their own files in the same folder). Call it only while holding the
 * lock that guards writes to those targets, so no live writer's temp file is removed. Returns the removed names.
 */
export async function removeTempFiles(dir: string, owns: (target: string) => boolean = () => true): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir)) {
    const target = tempTarget(name);
    if (target === null || !owns(target)) continue;
    try {
      await unlink(join(dir, name));
      removed.push(name);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return removed;
}
