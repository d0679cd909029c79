// livescore web client: one WebSocket for everything (docs/protocol.md), REST for the rest.
// No framework: the DOM is built with textContent only, so no text from the server (names,
// chat) is ever parsed as HTML.

const RECONNECT_BASE_MS = 500; // backoff: random(0, min(CAP, BASE * 2^attempt)), full jitter
const RECONNECT_CAP_MS = 30000;
const POLL_MS = 5000; // REST polling (ETag) when WebSockets are unavailable
const PING_MS = 25000;
const REPORT_MS = 5000; // latency reports ({"op":"lat"}): what this client measured, batched
const FAILS_BEFORE_POLLING = 3; // socket attempts that never opened before polling starts
const NO_RETRY = new Set([4001, 4003, 4009, 4010]); // the protocol says: do not reconnect

const $ = (sel, root = document) => root.querySelector(sel);
function h(tag, attrs = {}, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "on") for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (v !== null && v !== undefined && v !== false) el.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids.flat()) if (kid !== null && kid !== undefined && kid !== false)
    el.append(kid instanceof Node ? kid : String(kid));
  return el;
}
const flag = (code) => h("span", { class: `flag f-${code}`, "aria-hidden": "true" });

// ---- session and REST -----------------------------------------------------------------

const me = JSON.parse(localStorage.getItem("me") || "null"); // {token, user, username}
const device = localStorage.getItem("device") || crypto.randomUUID().slice(0, 12);
localStorage.setItem("device", device);

async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (me) headers.Authorization = `Token ${me.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(`/api/v1/${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) throw Object.assign(new Error((data && (data.detail || JSON.stringify(data))) || res.statusText), { status: res.status, data });
  return data;
}
const results = (page) => (Array.isArray(page) ? page : page.results);

// ---- the socket ------------------------------------------------------------------------

const conn = {
  ws: null, attempt: 0, opened: false, fails: 0, timer: null, pinger: null, reporter: null, polling: null,
  rtt: null, pingAt: 0, seen: [], // round trip of the last ping; [ch, seq, arrival] to report
  subs: new Map(), // channel -> handler(frame)
  seqs: new Map(), // match channel -> last seq applied

  state(s) {
    const el = $("#conn"); el.dataset.state = s; el.textContent = s;
  },
  touch() { $("#updated").textContent = new Date().toLocaleTimeString(); },

  connect() {
    clearTimeout(this.timer);
    if (!("WebSocket" in window)) return this.poll();
    const proto = location.protocol === "https:" ? "wss" : "ws";
    let ws;
    try { ws = new WebSocket(`${proto}://${location.host}/ws/?device=${device}`); }
    catch { return this.retry(); }
    this.ws = ws; this.opened = false;
    ws.onopen = () => {
      this.opened = true; this.attempt = 0; this.fails = 0; this.stopPolling();
      this.state("live"); this.touch();
      if (me) this.send({ op: "auth", token: me.token }); // in a frame, never in the URL
      for (const ch of this.subs.keys()) this.sendSub(ch);
      this.ping(); // at once too: the first round trip makes latency reports possible
      this.pinger = setInterval(() => this.ping(), PING_MS);
      this.reporter = setInterval(() => this.report(), REPORT_MS);
    };
    ws.onmessage = (e) => { this.touch(); for (const line of e.data.split("\n")) if (line) this.dispatch(JSON.parse(line)); };
    ws.onclose = (e) => {
      clearInterval(this.pinger); clearInterval(this.reporter); this.seen = []; this.rtt = null;
      if (this.ws !== ws) return;
      this.ws = null;
      if (!this.opened) this.fails += 1;
      if (e.code === 4001 && me) return signOut();
      if (NO_RETRY.has(e.code)) return this.state(e.code === 4010 ? "opened elsewhere" : "offline");
      if (e.code === 4008) this.attempt += 3; // rate limited: back off harder
      // A reconnect storm: the server says when to come back (retry=<ms>, already spread).
      const busy = e.code === 4014 && /retry=(\d+)/.exec(e.reason || "");
      this.retry(busy ? Number(busy[1]) : null);
    };
  },
  retry(after = null) {
    this.state("reconnecting");
    if (this.fails >= FAILS_BEFORE_POLLING) this.poll();
    const delay = after ?? Math.random() * Math.min(RECONNECT_CAP_MS, RECONNECT_BASE_MS * 2 ** this.attempt);
    this.attempt += 1;
    this.timer = setTimeout(() => this.connect(), delay);
  },
  send(frame) { if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(frame)); },
  ping() { this.pingAt = performance.now(); this.send({ op: "ping" }); },
  // Tell the server how long ago each match frame arrived; with half the round trip it
  // works out the frame's way from the gateway to this screen, no clocks compared.
  report() {
    if (this.rtt === null || !this.seen.length) return;
    const now = performance.now(), byChannel = new Map();
    for (const [ch, seq, at] of this.seen.splice(0)) {
      if (!byChannel.has(ch)) byChannel.set(ch, []);
      byChannel.get(ch).push([seq, Math.round(now - at)]);
    }
    for (const [ch, d] of byChannel) this.send({ op: "lat", ch, d: d.slice(-20), rtt: this.rtt });
  },
  delay: 0, // the fan's spoiler delay (seconds), applied to match channels
  sendSub(ch) {
    const since = this.seqs.get(ch);
    const frame = since ? { op: "sub", ch, since } : { op: "sub", ch };
    if (this.delay && ch.startsWith("match:")) frame.delay = this.delay;
    this.send(frame);
  },
  sub(ch, handler) { this.subs.set(ch, handler); this.sendSub(ch); },
  unsub(ch) { if (this.subs.delete(ch)) this.send({ op: "unsub", ch }); },
  unsubAll() { for (const ch of [...this.subs.keys()]) this.unsub(ch); },

  dispatch(f) {
    if (f.t === "pong" && this.pingAt) { this.rtt = Math.round(performance.now() - this.pingAt); this.pingAt = 0; return; }
    const handler = f.ch && this.subs.get(f.ch);
    if (!f.ch || !f.ch.startsWith("match:")) { if (handler) handler(f); return; }
    const last = this.seqs.get(f.ch) || 0;
    if (f.t === "reset") { this.seqs.delete(f.ch); live.delete(f.ch.slice(6)); if (handler) handler(f); return; }
    if (f.t === "snap") { this.seqs.set(f.ch, f.seq); if (handler) handler(f); return; }
    if (f.t === "ok" || f.t === "unsub" || f.t === "err") { if (handler) handler(f); return; }
    if (!f.seq || f.seq <= last) return; // a duplicate (resume overlap)
    if (last && f.seq > last + 1) { this.sendSub(f.ch); return; } // a gap: resume with since
    this.seqs.set(f.ch, f.seq);
    if (this.ws && this.seen.push([f.ch, f.seq, performance.now()]) > 100) this.seen.shift();
    if (handler) handler(f);
  },

  // Fallback: poll the REST live snapshot of each match channel, with ETag (304s are free).
  poll() {
    if (this.polling) return;
    this.state("polling");
    const etags = new Map();
    const tick = async () => {
      for (const ch of this.subs.keys()) {
        if (!ch.startsWith("match:")) continue;
        const res = await fetch(`/api/v1/matches/${ch.slice(6)}/live/`, { headers: etags.has(ch) ? { "If-None-Match": etags.get(ch) } : {} }).catch(() => null);
        if (!res || res.status !== 200) continue;
        etags.set(ch, res.headers.get("ETag"));
        this.touch();
        this.dispatch(await res.json());
      }
    };
    tick();
    this.polling = setInterval(tick, POLL_MS);
  },
  stopPolling() { clearInterval(this.polling); this.polling = null; if (this.ws) this.state("live"); },
};

// ---- live match state, from snapshots and deltas ----------------------------------------

const live = new Map(); // slug -> {h, a, s, ps, st, m, ev: [...], w}
const STATUS = { scheduled: "", first_half: "1st", half_time: "HT", second_half: "2nd", extra_time: "ET", penalties: "Penalties", suspended: "SUSP", finished: "FT", postponed: "PP", abandoned: "AB", cancelled: "CANC" };

function apply(slug, f) {
  if (f.t === "snap") { live.set(slug, { ...f.d, ev: [...(f.d.ev || [])] }); return live.get(slug); }
  const m = live.get(slug);
  if (!m) return null;
  const d = f.d || {};
  if (d.s) m.s = d.s;
  if (d.ps) m.ps = d.ps;
  if (d.st) m.st = d.st;
  if (d.m) m.m = d.m;
  if (d.pos !== undefined) m.pos = d.pos;
  if (d.ko) m.ko = d.ko; // a delayed or rescheduled kick-off
  if (["goal", "disallow", "correct", "card", "sub", "miss", "var", "pen", "status"].includes(f.t)) m.ev.push({ t: f.t, seq: f.seq, ...d });
  return m;
}

function minute(m) { return m.st && STATUS[m.st] !== undefined && ["first_half", "second_half", "extra_time"].includes(m.st) ? `${m.m}'` : STATUS[m.st] ?? ""; }

// ---- views ---------------------------------------------------------------------------------

const view = () => $("#view");
let leaving = []; // cleanup of the current view (unsubscribe, timers)
function show(...nodes) { view().replaceChildren(...nodes); }

function matchRow(m) {
  const st = h("span", { class: "st" }, m.status === "scheduled" ? new Date(m.kickoff).toLocaleString([], { weekday: "short", hour: "2-digit", minute: "2-digit" }) : STATUS[m.status] ?? m.status);
  const hs = h("span", { class: "sc" }, m.status === "scheduled" ? "" : m.home_score);
  const as = h("span", { class: "sc" }, m.status === "scheduled" ? "" : m.away_score);
  const row = h("a", { class: `row${["first_half", "half_time", "second_half", "extra_time", "penalties", "suspended"].includes(m.status) ? " live" : ""}`, href: `#/m/${m.slug}`, "data-slug": m.slug },
    h("div", { class: "teams" },
      h("span", { class: "team" }, flag(m.home.code), m.home.name, h("span", { style: "flex:1" }), hs),
      h("span", { class: "team" }, flag(m.away.code), m.away.name, h("span", { style: "flex:1" }), as)),
    st);
  row.update = (x) => { hs.textContent = x.s[0]; as.textContent = x.s[1]; st.textContent = minute(x); };
  return row;
}

async function liveList() {
  const [now, soon, done] = await Promise.all([
    api("matches/?status=live"),
    api(`matches/?status=scheduled&date_from=${new Date().toISOString().slice(0, 10)}`),
    api(`matches/?status=finished&date_from=${new Date(Date.now() - 7 * 86400000).toISOString().slice(0, 10)}`),
  ]);
  const rows = new Map();
  const section = (title, list, empty) => [h("h2", {}, title), h("div", { class: "card" }, list.length ? list.map((m) => { const r = matchRow(m); rows.set(m.slug, r); return r; }) : h("p", { class: "muted" }, empty))];
  show(...section("Live now", results(now), "No match in play."), ...section("Upcoming", results(soon).slice(0, 10), "Nothing scheduled."), ...section("Results", results(done).slice(-10).reverse(), "No results this week."));
  for (const m of results(now)) {
    const ch = `match:${m.slug}`;
    conn.sub(ch, (f) => { const x = apply(m.slug, f); if (x && x.s) rows.get(m.slug).update(x); });
    leaving.push(() => conn.unsub(ch));
  }
}

const PHASE = { first_half: "Kick-off", half_time: "Half time", second_half: "Second half", extra_time: "Extra time", penalties: "Penalty shootout", suspended: "Play suspended", finished: "Full time", postponed: "Postponed", abandoned: "Abandoned", cancelled: "Cancelled" };

function eventLine(e, all) {
  const who = e.p || e.tm;
  const what = {
    goal: () => [h("span", { class: "pill goal" }, "GOAL"), ` ${who}${e.k === "pen" ? " (pen)" : e.k === "og" ? " (og)" : ""} ${e.s ? e.s.join("-") : ""}`],
    disallow: () => [h("span", { class: "pill var" }, "VAR"), ` goal disallowed${e.r ? ` (${e.r})` : ""} ${e.s ? e.s.join("-") : ""}`],
    correct: () => [h("span", { class: "pill var" }, "VAR"), ` goal given to ${who}`],
    card: () => [h("span", { class: `bk ${e.c === "r" ? "red" : "yellow"}` }), ` ${who}`],
    sub: () => `In ${e.p}, out ${e.po}`,
    miss: () => `${who} missed a penalty`,
    var: () => [h("span", { class: "pill var" }, "VAR"), ` review${e.r ? `: ${e.r}` : ""}`],
    pen: () => `${e.ok ? "Scored" : "Missed"}: ${who} (${(e.ps || []).join("-")})`,
    status: () => e.rp ? ["Replay scheduled: ", h("a", { href: `#/m/${e.rp}` }, e.rp)]
      : e.ko ? `Kick-off moved to ${e.ko.replace("T", " ")}${e.r ? ` (${e.r})` : ""}`
      : PHASE[e.st] || e.st,
  }[e.t];
  const cancelled = e.t === "goal" && all.some((x) => (x.t === "disallow" || x.t === "correct") && x.ref === e.seq);
  return h("li", { "data-t": e.t }, h("span", { class: "m" }, e.m ? `${e.m}'` : ""), e.tm ? flag(e.tm) : "", h("span", { class: cancelled ? "off" : "" }, what ? what() : e.t));
}

async function matchPage(slug) {
  const match = await api(`matches/${slug}/`);
  const scoreH = h("span", { id: "score-h" }, match.home_score), scoreA = h("span", { id: "score-a" }, match.away_score);
  const status = h("div", { class: "sub", id: "status" }), watching = h("div", { class: "sub muted", id: "watching" });
  const tl = h("ol", { class: "tl", id: "timeline", reversed: true });
  let rendering = false;
  const render = (m) => {
    status.textContent = `${minute(m)}${m.ps ? ` · pens ${m.ps.join("-")}` : ""}`;
    if (m.w !== undefined) watching.textContent = `${m.w} watching`;
    tl.replaceChildren(...[...m.ev].reverse().map((e) => eventLine(e, m.ev)));
  };
  const ch = `match:${slug}`;
  conn.sub(ch, (f) => {
    if (f.t === "err") return;
    const m = apply(slug, f);
    if (!m) return;
    // Optimistic: the big score first, in this very event, before anything else re-renders.
    scoreH.textContent = m.s[0]; scoreA.textContent = m.s[1];
    if (!rendering) { rendering = true; requestAnimationFrame(() => { rendering = false; render(live.get(slug) || m); }); }
  });
  leaving.push(() => conn.unsub(ch));
  const preds = h("div", { class: "card", id: "predictions" });
  const chat = h("div", { class: "card", id: "chat" });
  show(
    h("div", { class: "card" },
      h("div", { class: "score" }, flag(match.home.code), scoreH, "–", scoreA, flag(match.away.code)),
      h("div", { class: "sub" }, `${match.home.name} v ${match.away.name}`), status, watching),
    h("h2", {}, "Timeline"), h("div", { class: "card" }, tl),
    h("h2", {}, "Predictions"), preds,
    h("h2", {}, "Chat"), chat,
  );
  predictions(match, preds);
  chatPanel(slug, chat);
  status.after(followButton({ match: slug }, `${match.home.code} v ${match.away.code}`));
  if (conn.delay) watching.after(h("div", { class: "sub muted", id: "delayed" }, `Delayed ${conn.delay} s (spoiler delay)`));
}

// ---- follows and push notifications (docs/notifications.md) --------------------------------

// Subscribes this browser to Web Push (service worker /sw.js) and registers it; resolves to
// what the fan should know: that it worked, or why the browser cannot (no support,
// permission refused, no push service).
async function registerPush() {
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) return "This browser has no push notifications.";
  const config = await api("push/config/");
  if (!config.vapid_public_key) return "Push notifications are not configured on this server.";
  if ((await Notification.requestPermission()) !== "granted") return "Notifications are blocked for this site.";
  const subscribe = async () => {
    const reg = await navigator.serviceWorker.register("/sw.js");
    const key = Uint8Array.from(atob(config.vapid_public_key.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
    const sub = (await reg.pushManager.getSubscription()) || (await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key }));
    await api("push/devices/", { method: "POST", body: { device_id: device, subscription: sub.toJSON() } });
    return "Push notifications are on for this browser.";
  };
  // A browser without a reachable push service may never answer the subscription.
  const late = new Promise((resolve) => setTimeout(() => resolve("The browser's push service did not answer; try again later."), 15000));
  try { return await Promise.race([subscribe(), late]); }
  catch (err) { return `Push notifications are unavailable here (${err.message}).`; }
}

function followButton(target, label) {
  const note = h("span", { class: "muted", id: "push-note" });
  const button = h("button", { id: "follow", disabled: !me }, me ? "Follow" : "Sign in to follow");
  let follow = null, touched = false;
  const paint = () => { button.textContent = follow ? "Following ✓" : `Follow ${label}`; };
  // What the fan follows already; a click before it loads wins.
  if (me) api("push/follows/").then((all) => { if (!touched) { follow = all.find((f) => f.match === target.match && f.team === (target.team || null)) || null; paint(); } }).catch(() => {});
  button.addEventListener("click", async () => {
    touched = true; button.disabled = true;
    try {
      if (follow) { await api(`push/follows/${follow.id}/`, { method: "DELETE" }); follow = null; note.textContent = ""; }
      else { follow = await api("push/follows/", { method: "POST", body: target }); note.textContent = await registerPush(); }
    } catch (err) { note.textContent = err.message; }
    button.disabled = false; paint();
  });
  return h("div", { class: "follow" }, button, " ", note);
}

// ---- predictions -----------------------------------------------------------------------------

const KINDS = {
  score: "Exact score", winner: "Winner", first_scorer: "First scorer", possession: "Possession",
};

async function predictions(match, root) {
  const counts = await api(`matches/${match.slug}/prediction-counts/`).catch(() => null);
  const locked = () => match.status !== "scheduled" || new Date(match.kickoff) <= new Date();
  const countdown = h("p", { class: "muted", id: "lock" });
  const tick = () => {
    const left = Math.max(0, new Date(match.kickoff) - new Date());
    countdown.textContent = locked() ? "Predictions are locked." : `Locks in ${Math.floor(left / 3600000)}h ${Math.floor(left / 60000) % 60}m ${Math.floor(left / 1000) % 60}s`;
  };
  tick();
  const timer = setInterval(tick, 1000);
  leaving.push(() => clearInterval(timer));
  const total = counts ? h("p", { class: "muted" }, `${counts.total} fans predicted`) : null;
  if (!me) return root.replaceChildren(countdown, total || "", h("a", { href: "#/signin" }, "Sign in to predict"));
  const mine = results(await api("me/predictions/")).filter((p) => p.match === match.slug);
  const players = (await Promise.all([match.home.code, match.away.code].map((c) => api(`teams/${c}/players/`).catch(() => [])))).flat();
  const pick = (kind) => mine.find((p) => p.kind === kind) || {};
  const msg = h("p", { id: "pred-msg", class: "muted" });
  const field = (kind, inputs) => h("form", { "data-kind": kind, on: { submit: async (e) => {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(e.target));
    for (const k of ["home_goals", "away_goals", "band", "player"]) if (data[k] !== undefined) data[k] = data[k] === "" ? undefined : Number(data[k]);
    if (data.player === 0) { delete data.player; data.no_goal = true; }
    try { await api(`matches/${match.slug}/predictions/${kind}/`, { method: "PUT", body: data }); msg.textContent = `${KINDS[kind]} saved.`; msg.className = "ok"; }
    catch (err) { msg.textContent = err.message; msg.className = "err"; }
  } } }, h("label", {}, KINDS[kind]), inputs, h("button", { disabled: locked() }, "Save"));
  const num = (name, value) => h("input", { name, type: "number", min: 0, max: 30, value: value ?? "", required: true, inputmode: "numeric", "aria-label": name });
  const select = (name, options, value) => h("select", { name }, options.map(([v, label]) => h("option", { value: v, selected: String(v) === String(value ?? "") }, label)));
  root.replaceChildren(countdown, total || "",
    field("score", h("div", { class: "tabs" }, num("home_goals", pick("score").home_goals), num("away_goals", pick("score").away_goals))),
    field("winner", select("outcome", [["H", match.home.name], ["D", "Draw"], ["A", match.away.name]], pick("winner").outcome)),
    field("first_scorer", select("player", [[0, "No goal"], ...players.map((p) => [p.id, p.name])], pick("first_scorer").player)),
    field("possession", select("band", [[1, "Home < 40%"], [2, "Home 40-50%"], [3, "Home 50-60%"], [4, "Home > 60%"]], pick("possession").band)),
    msg);
}

// ---- chat ------------------------------------------------------------------------------------

async function chatPanel(slug, root) {
  const room = await api(`chat/rooms/?match=${slug}`).catch(() => null);
  if (!room) return root.replaceChildren(h("p", { class: "muted" }, "No chat for this match."));
  const list = h("div", { class: "chat", id: "chat-list" }), state = h("p", { class: "muted" });
  const seen = new Set();
  const add = (m) => {
    if (seen.has(m.id)) return; // in `hist` and in a batch right after: once
    seen.add(m.id);
    list.append(h("div", { class: "msg", "data-id": m.id, "data-u": m.u }, h("b", {}, m.n), m.x)); // text, never HTML
    list.scrollTop = list.scrollHeight;
  };
  conn.sub(room.channel, (f) => {
    if (f.t === "hist") { list.replaceChildren(); seen.clear(); f.d.m.forEach(add); state.textContent = f.d.slow ? `Slow mode: ${f.d.slow}s` : ""; }
    else if (f.t === "msgs") f.d.forEach(add);
    else if (f.t === "del") for (const el of [...list.children]) { if ((f.d.ids || []).includes(Number(el.dataset.id)) || Number(el.dataset.u) === f.d.u) el.remove(); }
    else if (f.t === "room") state.textContent = f.d.slow ? `Slow mode: ${f.d.slow}s` : "";
    else if (f.t === "ack") { add({ id: f.d.id, u: me.user, n: me.username, x: pending.get(f.d.cid) || "" }); pending.delete(f.d.cid); }
    else if (f.t === "err") state.textContent = f.msg + (f.wait ? ` (wait ${Math.ceil(f.wait)}s)` : "");
    else if (f.t === "unsub") state.textContent = "You can no longer read this room.";
  });
  leaving.push(() => conn.unsub(room.channel));
  const pending = new Map();
  const form = me ? h("form", { on: { submit: (e) => {
    e.preventDefault();
    const input = e.target.elements.text, cid = crypto.randomUUID().slice(0, 16);
    pending.set(cid, input.value);
    conn.send({ op: "say", ch: room.channel, text: input.value, cid });
    input.value = "";
  } } }, h("input", { name: "text", maxlength: 280, placeholder: "Say something", autocomplete: "off", required: true })) : h("a", { href: "#/signin" }, "Sign in to chat");
  root.replaceChildren(list, state, form);
}

// ---- leaderboards and leagues ----------------------------------------------------------------

function boardTable(board) {
  const row = (e) => h("tr", { class: me && e.user_id === me.user ? "me" : "" }, h("td", {}, e.rank), h("td", {}, e.name), h("td", {}, e.points));
  const around = (board.around || []).filter((e) => !board.top.some((t) => t.user_id === e.user_id));
  return h("table", { class: "board", id: "board" }, h("tbody", {}, board.top.map(row), around.length ? [h("tr", {}, h("td", { colspan: 3 }, "…")), around.map(row)] : []));
}

async function boards(scope) {
  const leagues = me ? await api("leagues/").catch(() => []) : [];
  const tabs = h("div", { class: "tabs" }, h("a", { href: "#/boards", class: !scope ? "on" : "" }, "Global"), leagues.map((l) => h("a", { href: `#/boards/league/${l.id}`, class: scope === `league/${l.id}` ? "on" : "" }, l.name)));
  const path = scope ? `leaderboards/${scope}/?n=20` : "leaderboards/global/?n=20";
  const card = h("div", { class: "card" });
  const load = async () => {
    try {
      const board = await api(path);
      // While a match is live the standings are provisional: "if it ended now" (docs/scoring.md).
      const live = board.provisional ? h("span", { class: "pill var", id: "provisional" }, "LIVE: if it ended now") : "";
      card.replaceChildren(h("p", { class: "muted" }, `${board.size} fans `, live), boardTable(board));
    }
    catch (err) { card.replaceChildren(h("p", { class: "err" }, err.message)); }
  };
  show(tabs, card);
  await load();
  const ch = `leaderboard:${scope ? scope.replace("/", ":") : "global"}`;
  conn.sub(ch, (f) => { if (f.t === "lb") load(); });
  leaving.push(() => conn.unsub(ch));
  if (scope && scope.startsWith("league/")) {
    // A league's provisional board moves with the global one (its members' live totals).
    conn.sub("leaderboard:global", (f) => { if (f.t === "lb" && f.d && f.d.prov) load(); });
    leaving.push(() => conn.unsub("leaderboard:global"));
  }
}

async function leagues() {
  if (!me) return show(h("p", {}, h("a", { href: "#/signin" }, "Sign in"), " to play in leagues."));
  const list = await api("leagues/");
  const out = h("p", { id: "league-msg" });
  const act = (fn) => async (e) => { e.preventDefault(); try { await fn(new FormData(e.target)); } catch (err) { out.textContent = err.message; out.className = "err"; } };
  show(
    h("h2", {}, "My leagues"),
    h("div", { class: "card" }, list.length ? list.map((l) => h("div", { class: "row", "data-league": l.id },
      h("a", { href: `#/boards/league/${l.id}`, style: "flex:1" }, `${l.name} (${l.members})`),
      h("button", { on: { click: async () => { const inv = await api(`leagues/${l.id}/invites/`, { method: "POST", body: {} }); out.replaceChildren("Invite code: ", h("span", { class: "code", id: "invite" }, inv.code)); } } }, "Invite"),
      l.owner === me.username ? "" : h("button", { on: { click: async () => { await api(`leagues/${l.id}/leave/`, { method: "POST" }); route(); } } }, "Leave"))) : h("p", { class: "muted" }, "None yet.")),
    out,
    h("h2", {}, "Create"), h("form", { class: "card", id: "create", on: { submit: act(async (d) => { await api("leagues/", { method: "POST", body: { name: d.get("name") } }); route(); }) } }, h("input", { name: "name", required: true, maxlength: 80, placeholder: "League name" }), h("button", {}, "Create")),
    h("h2", {}, "Join"), h("form", { class: "card", id: "join", on: { submit: act(async (d) => { await api("leagues/join/", { method: "POST", body: { code: d.get("code").trim() } }); route(); }) } }, h("input", { name: "code", required: true, placeholder: "Invite code" }), h("button", {}, "Join")),
  );
}

// ---- alerts: push preferences and follows (docs/notifications.md) ---------------------------

async function alertsPage() {
  if (!me) return show(h("p", {}, h("a", { href: "#/signin" }, "Sign in"), " to get push notifications."));
  const [prefs, follows] = await Promise.all([api("push/preferences/"), api("push/follows/")]);
  const out = h("p", { id: "alerts-msg" });
  // A fan who never chose keeps UTC on the server: offer the browser's own zone.
  const zone = prefs.timezone === "UTC" ? Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC" : prefs.timezone;
  const field = (label, input) => h("label", {}, label, input);
  const save = async (e) => {
    e.preventDefault();
    const d = new FormData(e.target);
    const body = { timezone: d.get("timezone"), quiet_from: d.get("quiet_from") || null, quiet_to: d.get("quiet_to") || null, delay: Number(d.get("delay")), cap: Number(d.get("cap")) };
    try {
      const saved = await api("push/preferences/", { method: "PATCH", body });
      out.textContent = "Saved."; out.className = "";
      if (saved.delay !== conn.delay) conn.delay = saved.delay;
    } catch (err) { out.textContent = err.message; out.className = "err"; }
  };
  show(
    h("h2", {}, "Alerts"),
    h("form", { class: "card", id: "prefs", on: { submit: save } },
      field("Time zone ", h("input", { name: "timezone", value: zone, required: true })),
      field("Quiet from ", h("input", { name: "quiet_from", type: "time", value: prefs.quiet_from || "" })),
      field("Quiet until ", h("input", { name: "quiet_to", type: "time", value: prefs.quiet_to || "" })),
      field("Spoiler delay, seconds ", h("input", { name: "delay", type: "number", min: 0, max: 120, value: prefs.delay })),
      field("At most per match per minute ", h("input", { name: "cap", type: "number", min: 1, max: 20, value: prefs.cap })),
      h("button", {}, "Save")),
    out,
    h("h2", {}, "Following"),
    h("div", { class: "card", id: "follows" }, follows.length
      ? follows.map((f) => h("div", { class: "row" }, h("span", { style: "flex:1" }, f.team || f.match), h("span", { class: "muted" }, f.kinds.join(", "))))
      : h("p", { class: "muted" }, "Nothing yet: follow a match from its page.")),
  );
}

function signIn() {
  const out = h("p", { class: "err" });
  show(h("h2", {}, "Sign in"), h("form", { class: "card", id: "signin-form", on: { submit: async (e) => {
    e.preventDefault();
    try {
      const who = await api("auth/token/", { method: "POST", body: Object.fromEntries(new FormData(e.target)) });
      localStorage.setItem("me", JSON.stringify(who));
      location.hash = "#/"; location.reload();
    } catch (err) { out.textContent = err.message; }
  } } }, h("input", { name: "username", autocomplete: "username", required: true, placeholder: "Username" }), h("input", { name: "password", type: "password", autocomplete: "current-password", required: true, placeholder: "Password" }), h("button", {}, "Sign in"), out));
}

async function signOut() {
  if (me) await api("auth/token/", { method: "DELETE" }).catch(() => null);
  localStorage.removeItem("me");
  location.hash = "#/"; location.reload();
}

// ---- routing -----------------------------------------------------------------------------------

async function route() {
  for (const done of leaving) done();
  leaving = [];
  const [, page, ...rest] = location.hash.replace(/^#/, "").split("/");
  try {
    if (page === "m") await matchPage(rest[0]);
    else if (page === "boards") await boards(rest.join("/"));
    else if (page === "leagues") await leagues();
    else if (page === "alerts") await alertsPage();
    else if (page === "signin") signIn();
    else await liveList();
  } catch (err) {
    // Offline or a server restart: keep what is on screen, say so, and try again shortly.
    if (!view().firstChild || view().textContent === "Loading…") show(h("p", { class: "err" }, `Could not load: ${err.message}`));
    const again = setTimeout(route, 3000);
    leaving.push(() => clearTimeout(again));
  }
}

// The fan's spoiler delay holds their match frames on the socket too (docs/protocol.md).
async function loadDelay() {
  if (!me) return;
  const prefs = await api("push/preferences/").catch(() => null);
  if (prefs && prefs.delay !== conn.delay) { conn.delay = prefs.delay; for (const ch of conn.subs.keys()) if (ch.startsWith("match:")) conn.sendSub(ch); }
}

const signin = $("#signin");
if (me) { signin.textContent = `Sign out ${me.username}`; signin.href = "#/"; signin.addEventListener("click", (e) => { e.preventDefault(); signOut(); }); }
window.addEventListener("hashchange", route);
conn.connect();
loadDelay().finally(route);
window.livescore = { conn, live }; // for the browser tests and the curious
