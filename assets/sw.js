// albert-lens service worker: keeps the app shell (index.html, JS, wasm, CSS, icon) so the page
// loads offline after the first visit. Model files are NOT handled here: the app stores them in
// its own Cache API cache ("albert-lens-models-v1") and verifies them by SHA-256 when reading back.
//
// scripts/trunk-post-build.mjs replaces the two placeholders below at build time with the build's
// shell files (hashed names) and a version derived from their contents.
const SHELL_FILES = /*SHELL_FILES*/ [];
const VERSION = /*VERSION*/ 'dev';
const SHELL_CACHE = `albert-lens-shell-${VERSION}`;

const scope = new URL(self.registration.scope);
const shellUrls = ['./', ...SHELL_FILES].map((f) => new URL(f, scope).href);
const isShellAsset = (url) => /\.(?:js|wasm|css|svg|ico|png|webmanifest)$/.test(url.pathname);

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(SHELL_CACHE);
      // `cache: 'reload'` skips the HTTP cache so the shell matches this build.
      await cache.addAll(shellUrls.map((u) => new Request(u, { cache: 'reload' })));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith('albert-lens-shell-') && name !== SHELL_CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== scope.origin || !url.href.startsWith(scope.href)) return;
  // The embedded model (model/...) is cached by the app itself, with verification.
  if (url.pathname.startsWith(new URL('model/', scope).pathname)) return;

  if (req.mode === 'navigate') {
    // Network first, so a new build shows up; the cached shell when offline.
    event.respondWith(
      (async () => {
        try {
          const fresh = await fetch(req);
          if (fresh.ok) {
            const cache = await caches.open(SHELL_CACHE);
            await cache.put(new URL('./', scope).href, fresh.clone());
          }
          return fresh;
        } catch (err) {
          const cached = await caches.match(new URL('./', scope).href, { cacheName: SHELL_CACHE });
          if (cached) return cached;
          throw err;
        }
      })(),
    );
    return;
  }
  if (isShellAsset(url)) {
    // Hashed file names never change content: cache first.
    event.respondWith(
      (async () => {
        const cache = await caches.open(SHELL_CACHE);
        const cached = await cache.match(req, { ignoreSearch: true });
        if (cached) return cached;
        const fresh = await fetch(req);
        if (fresh.ok && url.pathname !== new URL('sw.js', scope).pathname) await cache.put(req, fresh.clone());
        return fresh;
      })(),
    );
  }
});
