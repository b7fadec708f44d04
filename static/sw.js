// Guichet's service worker (served at /sw.js: its scope is the whole site). It keeps the
// buyer's order page working without network at the door: the page itself, its script and
// style, and — once the order page has been opened online — the order's data and its QR codes.
//
// - the order page's files: network first (always the current version online), the cache
//   when offline; they are cached at install and refreshed by every online visit;
// - an order by its private link (`/api/orders/by-link/<link>` and its tickets' QR images
//   `.../tickets/<id>?format=svg`): network first, the last answer kept for offline use. The
//   order page also asks for them to be kept (a "keep" message), as its first visit runs
//   before this worker controls it;
// - everything else goes to the network untouched (the shop's holds and live seat map are
//   never answered from a cache).
//
// The cache lives on the buyer's own device; the PDFs are not kept (open them online once to
// save them).

const VERSION = "guichet-1";
const PAGES = `${VERSION}-pages`;
const ORDERS = `${VERSION}-orders`;
const PAGE_FILES = [
  "/order.html", "/order.js", "/dom.js", "/i18n.js", "/pwa.js", "/style.css",
  "/manifest.webmanifest", "/icon.svg",
];
const ORDER_DATA = /^\/api\/orders\/by-link\/[^/]+(\/tickets\/\d+)?$/;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(PAGES).then((cache) => cache.addAll(PAGE_FILES)));
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (!name.startsWith(`${VERSION}-`)) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

/** Which cache keeps this GET request, or null when it is not for the order page. */
function cacheFor(url) {
  if (url.origin !== self.location.origin) return null;
  if (ORDER_DATA.test(url.pathname) && (!url.search || url.search === "?format=svg")) return ORDERS;
  if (PAGE_FILES.includes(url.pathname)) return PAGES;
  return null;
}

async function networkFirst(request, cacheName) {
  const cache = await caches.open(cacheName);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (err) {
    const kept = await cache.match(request, { ignoreSearch: false, ignoreVary: true });
    if (kept) return kept;
    throw err;
  }
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET") return;
  const cacheName = cacheFor(new URL(request.url));
  if (cacheName) event.respondWith(networkFirst(request, cacheName));
});

// The order page, on its first visit (not yet controlled): "keep these URLs of my order".
self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type !== "keep" || !Array.isArray(data.urls)) return;
  const urls = data.urls.map((u) => new URL(u, self.location.origin))
    .filter((u) => cacheFor(u) === ORDERS).map((u) => u.href);
  event.waitUntil((async () => {
    let ok = true;
    try {
      const cache = await caches.open(ORDERS);
      await cache.addAll(urls);
    } catch {
      ok = false;
    }
    event.ports[0]?.postMessage({ type: "kept", ok, count: urls.length });
  })());
});
