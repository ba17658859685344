/**
 * memvault's service worker. Two jobs, nothing else:
 * 1. The app shell (the page and /assets/…) loads offline: network first, the last copy when offline.
 *    API answers are never cached: memories stay in the vault, not in the browser.
 * 2. A capture (POST /v1/memories) made offline is queued in IndexedDB with the time it was written and sent
 *    when the page says the connection is back (message "flush"); the page is told what was sent.
 */

const SHELL = 'memvault-shell-v1';
const DB = 'memvault-offline';
const STORE = 'captures';

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(SHELL)
      .then((cache) => cache.addAll(['/', '/assets/style.css', '/assets/app.js']))
      .catch(() => undefined)
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

function isShell(url) {
  return url.origin === self.location.origin && (url.pathname === '/' || url.pathname.startsWith('/assets/'));
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === 'POST' && url.pathname === '/v1/memories') {
    event.respondWith(captureOrQueue(request));
    return;
  }
  if (request.method === 'GET' && isShell(url)) event.respondWith(networkFirst(request));
});

async function networkFirst(request) {
  const cache = await caches.open(SHELL);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(request, { ignoreSearch: true });
    if (cached) return cached;
    throw error;
  }
}

function openDb() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE, { keyPath: 'id', autoIncrement: true });
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}

async function tx(mode, run) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const t = db.transaction(STORE, mode);
      const result = run(t.objectStore(STORE));
      t.oncomplete = () => resolve(result.result ?? result);
      t.onerror = () => reject(t.error);
    });
  } finally {
    db.close();
  }
}

const json = (status, body) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

async function captureOrQueue(request) {
  const body = await request.clone().text();
  try {
    return await fetch(request);
  } catch {
    // No connection: keep it here, with the moment it was written, and say so.
    let parsed;
    try {
      parsed = JSON.parse(body);
    } catch {
      return json(400, { error: { code: 'VALIDATION_ERROR', message: 'The capture could not be read.' } });
    }
    const at = parsed.at ?? new Date().toISOString();
    await tx('readwrite', (store) => store.add({ body: JSON.stringify({ ...parsed, at }), at }));
    const waiting = await tx('readonly', (store) => store.count());
    return json(202, {
      queued: true,
      waiting,
      reply: 'You are offline: saved on this device, and it will be sent when the connection is back.',
    });
  }
}

/** Sends what waits, oldest first; stops at the first network failure. `csrf` is the page's current token. */
async function flush(csrf, device) {
  const items = await tx('readonly', (store) => store.getAll());
  let sent = 0;
  let refused = 0;
  for (const item of items) {
    let response;
    try {
      response = await fetch('/v1/memories', {
        method: 'POST',
        credentials: 'same-origin',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          ...(csrf ? { 'x-csrf-token': csrf } : {}),
          ...(device ? { 'x-device-id': device } : {}),
        },
        body: item.body,
      });
    } catch {
      break;
    }
    // Signed out or the session ended: keep it for the next session rather than lose it.
    if (response.status === 401 || response.status === 403) break;
    // 5xx or 429: try again later. Any other refusal (e.g. 400/413/422) will never succeed: drop it.
    if (response.status >= 500 || response.status === 429) break;
    if (!response.ok) refused++;
    else sent++;
    await tx('readwrite', (store) => store.delete(item.id));
  }
  const waiting = await tx('readonly', (store) => store.count());
  return { sent, refused, waiting };
}

self.addEventListener('message', (event) => {
  if (event.data?.type !== 'flush') return;
  event.waitUntil(
    flush(event.data.csrf, event.data.device).then(async (result) => {
      for (const client of await self.clients.matchAll()) client.postMessage({ type: 'flushed', ...result });
    }),
  );
});
