import { post } from './api.js';
import { startOffline } from './offline.js';
import { startRouter } from './router.js';
import { refreshMe, setMe } from './state.js';
// Pages: each module registers its route (and nav link) on import; the nav follows the registrations' order.
import './pages/signin.js';
import './pages/timeline.js';
import './pages/today.js';
import './pages/search.js';
import './pages/memory.js';
import './pages/trash.js';
import './pages/security.js';
import './pages/audit.js';
import './pages/settings.js';
import './pages/tokens.js';
import './pages/account.js';
import './pages/notifications.js';
import './pages/llm-settings.js';
import './pages/channels.js';

/**
 * memvault's web app: one page, hash routes, no build step. Every piece of user content is put in the DOM as
 * text (never as HTML), and a locked level shows only that it is locked. See web/assets/README.md.
 */

document.getElementById('sign-out').addEventListener('click', async () => {
  try {
    await post('/v1/auth/sign-out');
  } catch {
    // Signing out of an already-dead session is still signing out.
  }
  setMe(null);
  location.hash = '#/signin';
});

// The skip link must not change the hash: the hash is the router's.
document.querySelector('.skip').addEventListener('click', (event) => {
  event.preventDefault();
  document.getElementById('main').focus();
});

startOffline();

void refreshMe()
  .catch(() => {
    setMe(null);
  })
  .then(startRouter);
