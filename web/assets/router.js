import { showError, skeletonSoon } from './dom.js';
import { onMeChange, state } from './state.js';

/**
 * Hash routes. A page registers itself once with `registerRoute`; the nav links are drawn from the registrations
 * that carry `nav`, in `nav.order`. A route is public (`public: true`, shown only while signed out) or private
 * (shown only while signed in); the one named `fallback: true` answers every path no route matches.
 */

/**
 * @typedef {object} Route
 * @property {string} name unique; the nav link of the current route carries aria-current
 * @property {string} pattern a path such as '/search' or '/memory/:id'
 * @property {(params: Record<string, string>, query: URLSearchParams) => void | Promise<void>} view draws the page
 * @property {{ label: string, order: number } | undefined} [nav] a link in the main nav
 * @property {Record<string, RegExp>} [params] a parameter a path must satisfy to match
 * @property {boolean} [public] reachable signed out only (the sign-in page)
 * @property {boolean} [fallback] the route for any path no route matches
 */

/** @type {Route[]} */
const routes = [];

/** @param {Route} route */
export function registerRoute(route) {
  if (routes.some((r) => r.name === route.name)) throw new Error(`Route ${route.name} is registered twice.`);
  const names = [];
  const source = route.pattern
    .split('/')
    .map((part) => {
      if (!part.startsWith(':')) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(part.slice(1));
      return '([^/]+)';
    })
    .join('/');
  routes.push({ ...route, regex: new RegExp(`^${source}$`), names });
  drawNav();
}

/** The route the hash names, with its parameters and query; unknown paths go to the fallback route. */
export function currentRoute() {
  const [rawPath, rawQuery] = location.hash.replace(/^#/, '').split('?');
  const path = rawPath || '/';
  for (const route of routes) {
    const match = route.regex.exec(path);
    if (!match) continue;
    const params = Object.fromEntries(route.names.map((n, i) => [n, decodeURIComponent(match[i + 1])]));
    if (Object.entries(route.params ?? {}).some(([n, re]) => !re.test(params[n]))) continue;
    return { route, params, query: new URLSearchParams(rawQuery ?? '') };
  }
  const fallback = routes.find((r) => r.fallback);
  return { route: fallback, params: {}, query: new URLSearchParams(rawQuery ?? '') };
}

/** The nav list, from the registered routes that carry `nav`. */
function drawNav() {
  const list = document.querySelector('#nav ul');
  if (!list) return;
  const links = routes
    .filter((r) => r.nav)
    .sort((a, b) => a.nav.order - b.nav.order)
    .map((r) => {
      const li = document.createElement('li');
      const a = document.createElement('a');
      a.href = `#${r.pattern}`;
      a.dataset.route = r.name;
      a.textContent = r.nav.label;
      li.append(a);
      return li;
    });
  list.replaceChildren(...links);
  updateChrome();
}

/** The header: nav and session badge only while signed in, the unlocked levels, the current page's link. */
export function updateChrome() {
  const me = state.me;
  document.getElementById('nav').hidden = !me;
  document.getElementById('session-badge').hidden = !me;
  if (me) {
    const levels = me.session.unlocked;
    document.getElementById('unlocked-levels').textContent = `Unlocked: ${levels.map((l) => `L${l}`).join(' ')}`;
  }
  const name = routes.length > 0 ? currentRoute().route?.name : undefined;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.route === name) {
      a.setAttribute('aria-current', 'page');
      // On a phone the nav row scrolls sideways: keep the current page's link in sight.
      const row = a.closest('ul');
      if (row && row.scrollWidth > row.clientWidth) {
        row.scrollLeft = a.offsetLeft - row.offsetLeft - (row.clientWidth - a.offsetWidth) / 2;
      }
    } else a.removeAttribute('aria-current');
  }
}

/** How many renders have started, and the newest one that has finished. */
let started = 0;
let finished = 0;

/** Draws the current route; a private page while signed out goes to sign-in, a public one while signed in home. */
export async function render() {
  const mine = ++started;
  await draw();
  // A slow page that finishes after a newer one (Settings still loading when the person moves on) has just drawn
  // itself over it: draw the current route again.
  if (mine < finished) await render();
  else finished = mine;
}

async function draw() {
  const { route, params, query } = currentRoute();
  if (!route) return;
  if (!state.me && !route.public) {
    location.hash = '#/signin';
    return;
  }
  if (state.me && route.public) {
    location.hash = '#/';
    return;
  }
  updateChrome();
  const main = document.getElementById('main');
  main.setAttribute('aria-busy', 'true');
  // A page that takes a moment shows its shape at once (a skeleton) instead of the previous page.
  const cancelSkeleton = skeletonSoon();
  try {
    await route.view(params, query);
  } catch (error) {
    showError(error);
  } finally {
    cancelSkeleton();
    main.removeAttribute('aria-busy');
  }
}

/** Starts routing: draws the current route now and on every hash change. */
export function startRouter() {
  onMeChange(updateChrome);
  window.addEventListener('hashchange', () => {
    void render();
  });
  return render();
}
