import { ApiError, get } from './api.js';

/**
 * Who is signed in: `state.me` is the answer of GET /v1/me ({ user, session }) or null when signed out. Pages read
 * it; anything that changes it calls `setMe` (or `refreshMe`) so the header (unlocked levels, nav) follows.
 */

/** @type {{ me: { user: any, session: any } | null }} */
export const state = { me: null };

/** @type {Set<() => void>} */
const listeners = new Set();

/** Calls `listener` after every change of the signed-in person or their session. */
export function onMeChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** @param {{ user: any, session: any } | null} me */
export function setMe(me) {
  state.me = me;
  for (const listener of listeners) listener();
}

/** Sets the session part only (after an unlock or lock answered with the new session). */
export function setSession(session) {
  if (state.me) setMe({ ...state.me, session });
}

/** Asks the server who is signed in; a 401 means nobody. */
export async function refreshMe() {
  try {
    setMe(await get('/v1/me'));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) setMe(null);
    else throw error;
  }
  return state.me;
}
