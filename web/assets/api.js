/**
 * The web app's one way to talk to the API: JSON in and out, the session cookie sent by the browser, and the
 * CSRF token (readable cookie `mv_csrf`) echoed in `X-CSRF-Token` on every request that changes something.
 */

export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {{ code?: string, message?: string, reason?: string, details?: Record<string, unknown> } | undefined} body
   * @param {string} [path] the API path that failed
   */
  constructor(status, body, path = '') {
    super(body?.message ?? `Request failed (${status}).`);
    this.status = status;
    this.path = path;
    this.code = body?.code ?? 'INTERNAL_ERROR';
    this.reason = body?.reason;
    this.details = body?.details;
  }
}

/** A random id for this browser, so the risk score can tell a known device from a new one. Not a secret. */
function deviceId() {
  try {
    let id = localStorage.getItem('mv_device');
    if (!id) {
      id = crypto.randomUUID().replace(/-/g, '');
      localStorage.setItem('mv_device', id);
    }
    return id;
  } catch {
    return undefined;
  }
}

function csrfToken() {
  const pair = document.cookie.split('; ').find((c) => c.startsWith('mv_csrf='));
  return pair ? decodeURIComponent(pair.slice('mv_csrf='.length)) : undefined;
}

/**
 * @param {'GET'|'POST'|'PATCH'|'DELETE'} method
 * @param {string} path
 * @param {unknown} [body]
 */
export async function api(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  const device = deviceId();
  if (device) headers['x-device-id'] = device;
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') {
    const token = csrfToken();
    if (token) headers['x-csrf-token'] = token;
  }
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data?.error, path);
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body);
