// The staff page's service worker: the page shell, its fonts and the last /api/page and /api/menu
// are kept, so a tablet that loaded the page once still opens it, with the menu and prices, while
// the box does not answer. Network first: a box that answers always serves the current files.
const CACHE = 'hotpot-page-v1';
const SHELL = [
  '/',
  '/manifest.webmanifest',
  '/assets/app.js',
  '/assets/i18n.js',
  '/assets/tablet.js',
  '/assets/app.css',
  '/assets/fonts.css',
  '/assets/icon.svg',
  ...['cyrillic', 'georgian', 'lari', 'latin'].flatMap((script) => [400, 700].map((weight) => `/assets/font-${script}-${weight}.woff2`)),
];
/** Answers kept for when the box is away; every other /api/ request goes to the box only. */
const KEPT_API = new Set(['/api/page', '/api/menu']);

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then(async (cache) => {
        await cache.addAll(SHELL.map((url) => new Request(url, { cache: 'reload', credentials: 'same-origin' })));
        // The menu and settings as they are now; a page behind the staff login may not have them yet.
        await Promise.all([...KEPT_API].map((url) => fetch(url, { credentials: 'same-origin', cache: 'no-store' }).then((r) => (r.ok ? cache.put(url, r) : undefined)).catch(() => undefined)));
      })
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

function kept(request, url) {
  if (request.method !== 'GET' || url.origin !== self.location.origin) return false;
  return request.mode === 'navigate' ? url.pathname === '/' : SHELL.includes(url.pathname) || KEPT_API.has(url.pathname);
}

async function networkFirst(request, key) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    // A redirect (to /login) or an error is not the page: the kept copy stays.
    if (response.ok && !response.redirected) await cache.put(key, response.clone());
    return response;
  } catch (error) {
    const copy = await cache.match(key);
    if (copy) return copy;
    throw error;
  }
}

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (!kept(event.request, url)) return;
  event.respondWith(networkFirst(event.request, url.pathname));
});
