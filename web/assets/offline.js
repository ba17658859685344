import { toast } from './dom.js';

/**
 * Installs the service worker (web/sw.js) and, whenever the connection is back (and at start), asks it to send
 * the captures it queued while offline. The page learns what was sent through a "flushed" message, and other
 * modules (the timeline) can listen for `memvault:flushed` on window to redraw.
 */

function csrfToken() {
  const pair = document.cookie.split('; ').find((c) => c.startsWith('mv_csrf='));
  return pair ? decodeURIComponent(pair.slice('mv_csrf='.length)) : undefined;
}

function deviceId() {
  try {
    return localStorage.getItem('mv_device') ?? undefined;
  } catch {
    return undefined;
  }
}

async function flush() {
  const registration = await navigator.serviceWorker.ready;
  registration.active?.postMessage({ type: 'flush', csrf: csrfToken(), device: deviceId() });
}

let retryDelay = 500;
let retryTimer;

export function startOffline() {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => undefined);
  navigator.serviceWorker.addEventListener('message', (event) => {
    if (event.data?.type !== 'flushed') return;
    const { sent, refused } = event.data;
    if (sent > 0)
      toast(
        `Back online: ${sent} ${sent === 1 ? 'memory' : 'memories'} written offline ${sent === 1 ? 'was' : 'were'} saved.`,
      );
    if (refused > 0)
      toast(`${refused} offline ${refused === 1 ? 'capture was' : 'captures were'} refused by the server.`, 'error');
    window.dispatchEvent(new CustomEvent('memvault:flushed', { detail: event.data }));
    // "online" often fires before the network really carries requests: what is still waiting is tried again,
    // a little later each time, while the browser says it is online.
    if (event.data.waiting > 0 && navigator.onLine) {
      retryDelay = Math.min(retryDelay * 2, 60_000);
      clearTimeout(retryTimer);
      retryTimer = setTimeout(() => flush().catch(() => undefined), retryDelay);
    } else retryDelay = 500;
  });
  window.addEventListener('online', () => {
    retryDelay = 500;
    flush().catch(() => undefined);
  });
  if (navigator.onLine) flush().catch(() => undefined);
}
