// The page's service worker. It does two things for a page served from a plain static host:
// - cross-origin isolation: it adds the COOP/COEP headers to every response of the page's own
//   origin, which lets the browser give the page shared memory, and the engine its threads
//   (hosts that send the headers themselves, `trunk serve` and dist/_headers, need none of this);
// - a cache of everything the page fetched (the page, its WebAssembly, the model, the samples), so
//   that a second visit, and a classroom without network, start at once.
// BUILD is replaced after each build by a stamp of its files (scripts/post-build.sh): a
// new build is a new service worker with a fresh cache, and the old cache is dropped.
const BUILD = 'unstamped';
const CACHE = `layercam-${BUILD}`;
const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

self.addEventListener('install', () => self.skipWaiting());

self.addEventListener('activate', (event) => event.waitUntil((async () => {
  for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
  await self.clients.claim();
})()));

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method === 'GET' && new URL(request.url).origin === self.location.origin) {
    event.respondWith(respond(request, event));
  }
});

/**
 * From the cache when this build has it, else from the network, isolated either way. The cache
 * keeps the isolated response itself, so a hit is returned as Cache Storage gives it (the intent:
 * a body straight from the cache lets the browser reuse the WebAssembly it compiled before; the
 * page tests do not show a faster second visit yet). A miss is stored while the page reads it,
 * not before: the model's download progress reaches the page as it arrives.
 */
async function respond(request, event) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request);
  if (cached) return cached;
  const response = isolated(await fetch(request));
  if (response.ok && BUILD !== 'unstamped') event.waitUntil(cache.put(request, response.clone()));
  return response;
}

function isolated(response) {
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(ISOLATION)) headers.set(name, value);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
