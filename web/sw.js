// The page's service worker. It does three things for a page served from a plain static host:
// - cross-origin isolation: it adds the COOP/COEP headers to every response of the page's own
//   origin, which lets the browser give the page shared memory, and the engine its threads
//   (hosts that send the headers themselves, `trunk serve` and dist/_headers, need none of this);
// - a cache of everything the page fetched (the page, its WebAssembly, the model, the samples), so
//   that a second visit, and a classroom without network, start at once.
// - a video file dropped on the page (live mode): the page puts it in the CLIPS cache and plays it
//   from ./clip/<name>, which this worker serves, with byte ranges as a video element asks for them.
//   The page's Content-Security-Policy admits media from its own origin only, not blob: URLs.
// BUILD is replaced after each build by a stamp of its files (scripts/post-build.sh): a
// new build is a new service worker with a fresh cache, and the old cache is dropped.
const BUILD = 'unstamped';
const CACHE = `layercam-${BUILD}`;
const CLIPS = 'layercam-clips'; // src/web/live.rs writes it
const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

self.addEventListener('install', () => self.skipWaiting());

self.addEventListener('activate', (event) => event.waitUntil((async () => {
  for (const name of await caches.keys()) if (name !== CACHE && name !== CLIPS) await caches.delete(name);
  await self.clients.claim();
})()));

self.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method === 'GET' && url.origin === self.location.origin) {
    event.respondWith(url.pathname.startsWith(new URL('./clip/', self.registration.scope).pathname) ? clip(request) : respond(request, event));
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

/** The dropped video file, whole or the byte range asked for (206), from the CLIPS cache. */
async function clip(request) {
  const stored = await (await caches.open(CLIPS)).match(request.url);
  if (!stored) return isolated(new Response('this video is no longer on the page: drop it again', { status: 404 }));
  const body = await stored.blob();
  const headers = { 'Content-Type': body.type, 'Accept-Ranges': 'bytes' };
  const range = /^bytes=(\d*)-(\d*)$/.exec(request.headers.get('Range') ?? '');
  if (!range || (!range[1] && !range[2])) return isolated(new Response(body, { headers }));
  // "bytes=a-b", "bytes=a-" or the last n bytes, "bytes=-n".
  const start = range[1] ? Number(range[1]) : Math.max(0, body.size - Number(range[2]));
  const end = range[1] && range[2] ? Math.min(Number(range[2]), body.size - 1) : body.size - 1;
  if (start > end) {
    return isolated(new Response(null, { status: 416, headers: { 'Content-Range': `bytes */${body.size}` } }));
  }
  return isolated(new Response(body.slice(start, end + 1), {
    status: 206, headers: { ...headers, 'Content-Range': `bytes ${start}-${end}/${body.size}` },
  }));
}
