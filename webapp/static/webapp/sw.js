// livescore service worker: shows push notifications (docs/notifications.md). A push with
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
