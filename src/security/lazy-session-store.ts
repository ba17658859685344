import type { Clock } from '../ports/clock.js';
import type { SessionStorePort } from '../ports/session-store.js';

/**
 * The SQLite session store, opened on first use: CLI commands that never touch a session (`list`, `add`) do
 * not pay for loading better-sqlite3 or opening the file.
 */
export function lazySqliteSessionStore(options: { path: string; clock?: Clock }): SessionStorePort {
  let opened: Promise<SessionStorePort> | undefined;
  let closed = false;
  const get = () => {
    opened ??= import('./sqlite-session-store.js').then(({ SqliteSessionStore }) => new SqliteSessionStore(options));
    return opened;
  };
  return {
    create: async (record) => (await get()).create(record),
    get: async (hash) => (await get()).get(hash),
    touch: async (hash, seen) => (await get()).touch(hash, seen),
    replace: async (hash, version, change) => (await get()).replace(hash, version, change),
    delete: async (hash) => (await get()).delete(hash),
    listByUser: async (userId) => (await get()).listByUser(userId),
    deleteByUser: async (userId) => (await get()).deleteByUser(userId),
    purge: async (before) => (await get()).purge(before),
    count: async () => (await get()).count(),
    incrementWindow: async (key, windowMs) => (await get()).incrementWindow(key, windowMs),
    update: async (key, ttlMs, fn) => (await get()).update(key, ttlMs, fn),
    read: async (key) => (await get()).read(key),
    ping: async () => (await get()).ping(),
    close: async () => {
      if (closed) return;
      closed = true;
      if (opened) await (await opened).close();
    },
  };
}
