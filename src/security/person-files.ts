import { join } from 'node:path';
import type { UserId } from '../core/entry.js';
import type { PersonFiles } from '../ports/channels.js';
import { userDir } from './crypto-fs.js';
import { withPersonFile } from './person-lock.js';

/** `PersonFiles` over `withPersonFile`: the channel stores get the same locking as the auth store and audit log. */
export function createPersonFiles(dataDir: string): PersonFiles {
  return {
    withFile: (userId, name, fn) =>
      withPersonFile(dataDir, userId, name, () => fn(join(userDir(dataDir, userId), name))),
    pathOf: (userId: UserId, name: string) => join(userDir(dataDir, userId), name),
  };
}
