// livescore service worker: the app shell offline, and push notifications
// (docs/notifications.md).
//
// Offline: the page (network first, the last copy when the network fails), its hashed
// assets (cache first: a hashed name never changes), and the API's GET answers (network
// first, the last answer when the network fails). The page then shows the last known state
// under a connection state other than "live", i.e. marked as not current (docs/webapp.md).
// Nothing else is cached: writes, the socket and other origins go to the network.
const CACHE = "livescore-v1";
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil((async () => {
  for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key);
  await self.clients.claim();
})()));
self.addEventListener("fetch", (event) => {
  const req = event.request, url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/static/")) event.respondWith(cacheFirst(req));
  // A match's live snapshot is how the page learns the truth when its socket is in doubt: a
  // cached one would pass an old score off as current, so it always goes to the network.
  else if (/^\/api\/v1\/matches\/[^/]+\/live\/$/.test(url.pathname)) return;
  else if (req.mode === "navigate" || url.pathname === "/" || url.pathname.startsWith("/api/v1/")) event.respondWith(networkFirst(req, req.mode === "navigate" ? "/" : req));
});
async function cacheFirst(req) {
  const hit = await caches.match(req);
  if (hit) return hit;
  const res = await fetch(req);
  if (res.ok) (await caches.open(CACHE)).put(req, res.clone());
  return res;
}
async function networkFirst(req, key) {
  try {
    const res = await fetch(req);
    if (res.ok) (await caches.open(CACHE)).put(key, res.clone());
    return res;
  } catch (err) {
    const hit = await caches.match(key);
    if (hit) return hit;
    throw err;
  }
}

// Push: a push with
// the same tag (one per match) replaces the one before it: a newer score, or the correction
// of a goal disallowed after VAR, takes the place of the old one on the lock screen.
self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch { return; }
  if (!data.title) return;
  event.waitUntil(self.registration.showNotification(data.title, {
    body: data.body || "",
    tag: data.tag || data.id,
    renotify: data.kind === "goal" || data.kind === "digest",
    data: { url: data.url || "/" },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = new URL(event.notification.data.url, self.location.origin).href;
  event.waitUntil((async () => {
    const open = await clients.matchAll({ type: "window", includeUncontrolled: true });
    const mine = open.find((c) => new URL(c.url).origin === self.location.origin);
    if (mine) { await mine.focus(); return mine.navigate(url); }
    return clients.openWindow(url);
  })());
});
