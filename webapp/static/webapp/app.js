// livescore web client: one WebSocket for everything (docs/protocol.md), REST for the rest.
// No framework: the DOM is built with textContent only, so no text from the server (names,
// chat) is ever parsed as HTML.

const RECONNECT_BASE_MS = 500; // backoff: random(0, min(CAP, BASE * 2^attempt)), full jitter
const RECONNECT_CAP_MS = 30000;
const POLL_MS = 5000; // REST polling (ETag) when WebSockets are unavailable
const PING_MS = 25000; // the server closes sockets silent for 60 s (4011)
// Liveness (docs/protocol.md, "Liveness"): the server writes a heartbeat to a socket that had
// nothing for 5 s, so a live connection brings a message at least every 10 s. Past
// STALE_MS without one this page can no longer vouch for what it shows.
const STALE_MS = 15000;
const REPORT_MS = 5000; // latency reports ({"op":"lat"}): what this client measured, batched
const FETCH_TIMEOUT_MS = 10000; // a request on a dead connection must not hang for minutes
const FAILS_BEFORE_POLLING = 3; // socket attempts that never opened before polling starts
const NO_RETRY = new Set([4001, 4003, 4009, 4010]); // the protocol says: do not reconnect

const $ = (sel, root = document) => root.querySelector(sel);
function h(tag, attrs = {}, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "on") for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === "style") el.style.cssText = v; // CSSOM: allowed by the page's CSP, an attribute is not
    else if (v !== null && v !== undefined && v !== false) el.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids.flat()) if (kid !== null && kid !== undefined && kid !== false)
    el.append(kid instanceof Node ? kid : String(kid));
  return el;
}
const flag = (code) => h("span", { class: `flag f-${code}`, "aria-hidden": "true" });
const plural = (n, one, many = `${one}s`) => `${n} ${t(n === 1 ? one : many)}`;

// ---- languages -------------------------------------------------------------------------------
// English is written in the code; another language is a dictionary from the English text,
// loaded only for the fans who read it (es.js). Chosen from the browser's languages unless
// the fan picked one. Team names come from the browser's own region names where a team is
// a country (its flag names the region), dates and times from Intl in the same language.
const LANGS = { en: "English", es: "Español" };
const lang = localStorage.getItem("lang") || (navigator.languages || [navigator.language]).map((l) => l.slice(0, 2)).find((l) => l in LANGS) || "en";
document.documentElement.lang = lang;
let words = {};
function t(text, params) {
  const out = words[text] ?? text;
  return params ? out.replace(/\{(\w+)\}/g, (_, k) => params[k] ?? "") : out;
}
const teams = new Map(); // code -> {name, flag}, from every team the API has shown
const regions = typeof Intl.DisplayNames === "function" ? new Intl.DisplayNames([lang], { type: "region", fallback: "none" }) : null;
function rememberTeam(team) { if (team && team.code) teams.set(team.code, team); return team; }
function teamName(code, fallback) {
  const team = teams.get(code);
  const letters = [...(team?.flag || "")].map((c) => c.codePointAt(0) - 0x1f1e6).filter((n) => n >= 0 && n < 26);
  const region = letters.length === 2 && lang !== "en" && regions ? regions.of(String.fromCharCode(...letters.map((n) => n + 65))) : null;
  return region || t(team?.name || fallback || code);
}
const nameOf = (team) => teamName(rememberTeam(team).code, team.name);
const stageName = (slug) => slug.replace(/-/g, " ").replace(/^./, (c) => c.toUpperCase());
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- the server's clock ----------------------------------------------------------------
// "Now" is the server's: the lock and the match clock never trust the phone's clock. Each
// `pong` (and heartbeat) carries the server's time; a pong's sample is corrected by half its
// round trip, the best (least delayed) recent one wins.
const clock = {
  offset: 0, known: false, samples: [],
  now() { return Date.now() + this.offset; },
  sample(serverMs, rttMs = 0) {
    this.samples.push([rttMs, serverMs + rttMs / 2 - Date.now()]);
    if (this.samples.length > 8) this.samples.shift();
    this.offset = [...this.samples].sort((a, b) => a[0] - b[0])[0][1];
    this.known = true;
  },
  fromHeader(date) { if (!this.known && date) { const t = Date.parse(date); if (t) this.offset = t + 500 - Date.now(); } },
};

// ---- session and REST -----------------------------------------------------------------

const me = JSON.parse(localStorage.getItem("me") || "null"); // {token, user, username}
// This browser (its push subscription is registered under it) ...
const browserId = localStorage.getItem("device") || crypto.randomUUID().slice(0, 12);
localStorage.setItem("device", browserId);
// ... and this tab's socket: each tab has its own device id, so two tabs of one fan never
// evict each other; eviction (4010) stays for this tab's own reconnect racing its old socket
// (docs/webapp.md, "Many tabs").
const device = `${browserId}.${crypto.randomUUID().slice(0, 6)}`;

// The answers of the first screen's reads, carried by the page (webapp/views.py): each is
// used once, then the API is asked as usual.
const boot = JSON.parse(document.getElementById("boot")?.textContent || "{}");
function booted(path) { const data = boot[path]; delete boot[path]; return data; }

async function api(path, { method = "GET", body, retries = 2 } = {}) {
  if (method === "GET" && path in boot) return booted(path);
  const headers = { Accept: "application/json" };
  if (me) headers.Authorization = `Token ${me.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(`/api/v1/${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  clock.fromHeader(res.headers.get("Date"));
  // Briefly unavailable (a board being rebuilt, a database blink): the server says when.
  if (res.status === 503 && retries > 0 && method === "GET") {
    await sleep(Math.min(10, Number(res.headers.get("Retry-After")) || 1) * 1000);
    return api(path, { method, body, retries: retries - 1 });
  }
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) throw Object.assign(new Error((data && (data.detail || JSON.stringify(data))) || res.statusText), { status: res.status, data });
  return data;
}
const results = (page) => (Array.isArray(page) ? page : page.results);

// ---- the socket ------------------------------------------------------------------------
// One object, one state: connecting, live, stale, reconnecting, polling, offline (docs/webapp.md).

const conn = {
  ws: null, attempt: 0, opened: false, fails: 0, timer: null, pinger: null, reporter: null, polling: null,
  rtt: null, pingAt: 0, seen: [], // round trip of the last ping; [ch, seq, arrival] to report
  heardAt: 0, // performance.now() of the last message on the current socket
  subs: new Map(), // channel -> handler(frame)
  seqs: new Map(), // match channel -> last seq applied
  current: "connecting",
  log: [], // [state, Date.now()] of the last 50 changes (the browser tests read it)

  state(s) {
    if (s !== this.current && this.log.push([s, Date.now()]) > 50) this.log.shift();
    this.current = s;
    const el = $("#conn"); el.dataset.state = s; el.textContent = s;
    document.body.dataset.conn = s; // what is on screen is marked as not current unless live
  },
  touch() { $("#updated").textContent = new Date(clock.now()).toLocaleTimeString(lang); },

  connect() {
    clearTimeout(this.timer);
    if (!("WebSocket" in window)) return this.poll();
    if (this.current !== "stale" && this.current !== "connecting") this.state("reconnecting");
    const proto = location.protocol === "https:" ? "wss" : "ws";
    let ws;
    try { ws = new WebSocket(`${proto}://${location.host}/ws/?device=${device}`); }
    catch { return this.retry(); }
    this.ws = ws; this.opened = false;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.opened = true; this.attempt = 0; this.fails = 0; this.heardAt = performance.now();
      this.stopPolling();
      this.state("live"); this.touch();
      if (me) this.send({ op: "auth", token: me.token }); // in a frame, never in the URL
      for (const ch of this.subs.keys()) this.sendSub(ch);
      this.ping(); // at once too: the round trip and the server's clock
      this.pinger = setInterval(() => this.ping(), PING_MS);
      this.reporter = setInterval(() => this.report(), REPORT_MS);
    };
    ws.onmessage = (e) => {
      if (this.ws !== ws) return; // an abandoned socket that woke up: its news is old
      this.heardAt = performance.now();
      if (this.current === "stale") this.state("live");
      this.touch();
      for (const line of e.data.split("\n")) if (line) this.dispatch(JSON.parse(line));
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.drop();
      if (!this.opened) this.fails += 1;
      if (e.code === 4001 && me) return signOut();
      if (NO_RETRY.has(e.code)) return this.state("offline");
      if (e.code === 4008) this.attempt += 3; // rate limited: back off harder
      // A reconnect storm: the server says when to come back (retry=<ms>, already spread).
      const busy = e.code === 4014 && /retry=(\d+)/.exec(e.reason || "");
      this.retry(busy ? Number(busy[1]) : null);
    };
  },
  drop() {
    clearInterval(this.pinger); clearInterval(this.reporter); this.seen = []; this.rtt = null;
    const ws = this.ws; this.ws = null;
    if (ws && ws.readyState < 2) try { ws.close(); } catch { /* already gone */ }
  },
  retry(after = null) {
    if (this.current !== "stale") this.state(navigator.onLine === false ? "offline" : "reconnecting");
    if (this.fails >= FAILS_BEFORE_POLLING) this.poll();
    const delay = after ?? Math.random() * Math.min(RECONNECT_CAP_MS, RECONNECT_BASE_MS * 2 ** this.attempt);
    this.attempt += 1;
    this.timer = setTimeout(() => this.connect(), delay);
  },
  // The watchdog: silence past STALE_MS means a dead network that never said so (a tunnel,
  // a NAT that forgot the flow). Say so, fetch the truth over REST, and start a fresh socket:
  // the frozen one may never close.
  watch() {
    if (!this.ws || !this.opened || performance.now() - this.heardAt < STALE_MS) return;
    this.state("stale");
    this.drop();
    this.refresh();
    this.connect();
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

  dispatch(f) {
    if (f.t === "pong") {
      if (this.pingAt) { this.rtt = Math.round(performance.now() - this.pingAt); this.pingAt = 0; }
      if (f.ts) clock.sample(f.ts, this.rtt ?? 0);
      return;
    }
    if (f.t === "hb") { if (!clock.known && f.ts) clock.sample(f.ts); return; }
    const handler = f.ch && this.subs.get(f.ch);
    if (!f.ch || !f.ch.startsWith("match:")) { if (handler) handler(f); return; }
    const last = this.seqs.get(f.ch) || 0;
    if (f.t === "reset") { this.seqs.delete(f.ch); live.delete(f.ch.slice(6)); if (handler) handler(f); return; }
    if (f.t === "snap") { this.seqs.set(f.ch, f.seq); if (handler) handler(f); return; }
    // Answers, and reactions' counts (best effort, no seq: never resumed, read on REST).
    if (f.t === "ok" || f.t === "unsub" || f.t === "err" || f.t === "ack" || f.t === "rx") { if (handler) handler(f); return; }
    if (!f.seq || f.seq <= last) return; // a duplicate (resume overlap)
    if (last && f.seq > last + 1) { this.sendSub(f.ch); return; } // a gap: resume with since
    this.seqs.set(f.ch, f.seq);
    if (this.ws && this.seen.push([f.ch, f.seq, performance.now()]) > 100) this.seen.shift();
    if (handler) handler(f);
  },

  // The REST truth of every followed match, once: its snapshot is the socket's own frame.
  async refresh(etags = new Map()) {
    for (const ch of [...this.subs.keys()]) {
      if (!ch.startsWith("match:")) continue;
      const res = await fetch(`/api/v1/matches/${ch.slice(6)}/live/`, { headers: etags.has(ch) ? { "If-None-Match": etags.get(ch) } : {}, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) }).catch(() => null);
      if (!res || res.status !== 200) continue;
      etags.set(ch, res.headers.get("ETag"));
      const snap = await res.json().catch(() => null);
      if (!snap || !this.subs.has(ch)) continue;
      // Only forward: a snapshot older than what this page applied would undo frames.
      if ((this.seqs.get(ch) || 0) <= snap.seq) { this.touch(); this.dispatch(snap); }
    }
  },
  // Fallback: poll the REST live snapshot of each match channel, with ETag (304s are free).
  poll() {
    if (this.polling) return;
    this.state("polling");
    const etags = new Map();
    this.refresh(etags);
    this.polling = setInterval(() => this.refresh(etags), POLL_MS);
  },
  stopPolling() { clearInterval(this.polling); this.polling = null; },
};

// ---- live match state, from snapshots and deltas: one reducer ---------------------------

const live = new Map(); // slug -> {h, a, s, ps, st, m, pos, ko, pa, pm, ev: [...], w, lu, sx, mo, sim}
const STATUS = { scheduled: "", first_half: "1st", half_time: "HT", second_half: "2nd", extra_time: "ET", penalties: "Pens", suspended: "SUSP", finished: "FT", postponed: "PP", abandoned: "AB", cancelled: "CANC" };
const LIVE_STATUSES = new Set(["first_half", "half_time", "second_half", "extra_time", "penalties", "suspended"]);
const DONE_STATUSES = new Set(["finished", "abandoned", "cancelled"]);
const EVENT_TYPES = new Set(["goal", "disallow", "correct", "card", "sub", "miss", "var", "pen", "status"]);

// Events by seq, oldest first: a snapshot, the REST timeline and live deltas all merge here,
// so a fan who joined late and one who watched see the same list.
function mergeEvents(into, items) {
  const bySeq = new Map(into.map((e) => [e.seq, e]));
  for (const e of items) bySeq.set(e.seq, e);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

function apply(slug, f) {
  if (f.t === "snap") {
    const before = live.get(slug);
    const m = { ...f.d, ev: mergeEvents(before ? before.ev : [], f.d.ev || []) };
    live.set(slug, m);
    return m;
  }
  const m = live.get(slug);
  if (!m) return null;
  const d = f.d || {};
  // The match centre's frames carry no score; their `m` is when the figures were taken.
  if (f.t === "lineup") { m.lu = { ...m.lu, [d.tm]: d }; return m; }
  if (f.t === "stats") { m.sx = { ...m.sx, [d.pr]: { m: d.m, h: d.h, a: d.a } }; if (d.mo) m.mo = d.mo; if (d.sim) m.sim = 1; return m; }
  for (const key of ["s", "ps", "st", "m", "ko", "pa", "pm"]) if (d[key] !== undefined) m[key] = d[key];
  if (d.pos !== undefined) m.pos = d.pos;
  if (EVENT_TYPES.has(f.t)) m.ev = mergeEvents(m.ev, [{ t: f.t, seq: f.seq, ...d }]);
  return m;
}

// The match clock, run here from the period's start by the server's clock (docs/protocol.md,
// "The match clock"); never behind the latest event's minute (a feed ahead of the wall
// clock, as in a sped-up replay). `45+2'`, `HT`, `ET 105'`, `Pens`.
const PERIOD_END = { first_half: 45, second_half: 90, extra_time: 120 };
function minute(m, now = clock.now()) {
  if (!m || !m.st) return "";
  const end = PERIOD_END[m.st];
  if (end === undefined) return t(STATUS[m.st] ?? "");
  let at = m.m || 0;
  if (m.pa) at = Math.max(at, (m.pm || 0) + Math.floor(Math.max(0, now - m.pa * 1000) / 60000) + 1);
  at = Math.max(at, 1);
  const text = at > end ? `${end}+${at - end}'` : `${at}'`;
  return m.st === "extra_time" ? `ET ${text}` : text;
}
const eventMinute = (e) => (e.m === undefined ? "" : e.x ? `${e.m}+${e.x}'` : `${e.m}'`);

// A match as a list row shows it: from REST (`status`, scores) or from live state (`st`, `s`).
function rowStatus(st, ps, kickoff, m) {
  if (st === "scheduled") return new Date(kickoff).toLocaleString(lang, { weekday: "short", hour: "2-digit", minute: "2-digit" });
  const base = m ? minute(m) : t(STATUS[st] ?? st);
  return ps && DONE_STATUSES.has(st) ? `${base} · ${ps.join("-")} pens` : ps ? `${base} ${ps.join("-")}` : base;
}

// ---- views ---------------------------------------------------------------------------------

const view = () => $("#view");
let leaving = []; // cleanup of the current view (unsubscribe, timers)
// A view is an async function: a fan who navigates on before its reads answer must not have
// the old view drawn over the new one (or its subscriptions left behind). Each view takes
// its `show` and `stale` from begin(), bound to the route it was started for.
let routeToken = 0;
function begin() {
  const token = routeToken;
  const stale = () => token !== routeToken;
  return { stale, show: (...nodes) => { if (!stale()) view().replaceChildren(...nodes); return !stale(); } };
}
function show(...nodes) { view().replaceChildren(...nodes); }
function every(ms, fn) { const t = setInterval(fn, ms); leaving.push(() => clearInterval(t)); }

function matchRow(m) {
  const pens = m.home_pens !== null && m.home_pens !== undefined ? [m.home_pens, m.away_pens] : null;
  const state = { st: m.status, s: [m.home_score, m.away_score], ps: pens, ko: m.kickoff };
  const st = h("span", { class: "st" });
  const hs = h("span", { class: "sc" }), as = h("span", { class: "sc" });
  const row = h("a", { class: "row", href: `#/m/${m.slug}`, "data-slug": m.slug },
    h("div", { class: "teams" },
      h("span", { class: "team" }, flag(m.home.code), nameOf(m.home), h("span", { style: "flex:1" }), hs),
      h("span", { class: "team" }, flag(m.away.code), nameOf(m.away), h("span", { style: "flex:1" }), as)),
    st);
  row.paint = () => {
    const x = live.get(m.slug);
    const cur = x && x.st ? x : state;
    const scheduled = cur.st === "scheduled" || cur.st === "postponed";
    hs.textContent = scheduled ? "" : cur.s[0]; as.textContent = scheduled ? "" : cur.s[1];
    st.textContent = cur.st === "postponed" ? "PP" : rowStatus(cur.st, cur.ps, state.ko, x && x.st ? x : null);
    row.classList.toggle("live", LIVE_STATUSES.has(cur.st));
  };
  row.schedule = (d) => { Object.assign(state, { st: d.st, s: d.s || state.s, ps: d.ps || state.ps, ko: d.ko || state.ko }); row.paint(); };
  row.state = state;
  row.paint();
  return row;
}

async function liveList() {
  const { show, stale } = begin();
  const favourite = localStorage.getItem("team");
  const [now, soon, done] = await Promise.all([
    api("matches/?status=live"),
    api(`matches/?status=scheduled&date_from=${new Date(clock.now()).toISOString().slice(0, 10)}`),
    api(`matches/?status=finished&date_from=${new Date(clock.now() - 7 * 86400000).toISOString().slice(0, 10)}`),
  ]);
  if (stale()) return;
  const rows = new Map();
  const sections = {};
  const section = (key, title, list, empty) => {
    const card = h("div", { class: "card", id: `list-${key}` });
    const note = h("p", { class: "muted" }, empty);
    sections[key] = { card, note };
    // The fan's team first (stable: the API's order otherwise).
    const mine = (m) => Number(m.home.code === favourite || m.away.code === favourite);
    for (const m of [...list].sort((a, b) => mine(b) - mine(a))) { const r = matchRow(m); r.classList.toggle("fav", mine(m) === 1); rows.set(m.slug, r); card.append(r); }
    if (!list.length) card.append(note);
    return [h("h2", {}, title), card];
  };
  // A row moves to the section its status belongs in; live rows follow their match channel.
  const place = (row) => {
    const st = row.state.st;
    const key = LIVE_STATUSES.has(st) ? "live" : DONE_STATUSES.has(st) ? "done" : "soon";
    const { card } = sections[key];
    if (row.parentNode !== card) { key === "done" || key === "live" ? card.prepend(row) : card.append(row); }
    for (const { card: c, note } of Object.values(sections)) {
      const empty = !c.querySelector(".row");
      if (empty && !note.isConnected) c.append(note); else if (!empty && note.isConnected) note.remove();
    }
    const ch = `match:${row.dataset.slug}`;
    if (key === "live" && !conn.subs.has(ch)) {
      conn.sub(ch, (f) => { if (apply(row.dataset.slug, f)) row.paint(); });
      leaving.push(() => conn.unsub(ch));
    }
  };
  show(...section("live", t("Live now"), results(now), t("No match in play.")), ...section("soon", t("Upcoming"), results(soon).slice(0, 10), t("Nothing scheduled.")), ...section("done", t("Results"), results(done).slice(-10).reverse(), t("No results this week.")));
  for (const row of rows.values()) place(row);
  conn.sub("schedule", async (f) => {
    if (f.t !== "status" || !f.d) return;
    let row = rows.get(f.d.m);
    if (!row) {
      if (!LIVE_STATUSES.has(f.d.st)) return; // not on this page and not live: nothing to move
      const m = await api(`matches/${f.d.m}/`).catch(() => null);
      if (!m || rows.has(f.d.m)) return;
      row = matchRow(m); rows.set(m.slug, row);
    }
    row.schedule(f.d);
    place(row);
  });
  leaving.push(() => conn.unsub("schedule"));
  every(1000, () => { for (const row of rows.values()) if (row.classList.contains("live")) row.paint(); });
}

const PHASE = { first_half: "Kick-off", half_time: "Half time", second_half: "Second half", extra_time: "Extra time", penalties: "Penalty shootout", suspended: "Play suspended", finished: "Full time", postponed: "Postponed", abandoned: "Abandoned", cancelled: "Cancelled", scheduled: "Scheduled" };

function eventLine(e, all) {
  const who = e.p || e.tm;
  const what = {
    goal: () => [h("span", { class: "pill goal" }, t("GOAL")), ` ${who}${e.k === "pen" ? ` (${t("pen")})` : e.k === "og" ? ` (${t("og")})` : ""} ${e.s ? e.s.join("-") : ""}`],
    disallow: () => [h("span", { class: "pill var" }, "VAR"), ` ${t("goal disallowed")}${e.r ? ` (${e.r})` : ""} ${e.s ? e.s.join("-") : ""}`],
    correct: () => [h("span", { class: "pill var" }, "VAR"), ` ${t("goal given to {who}", { who })}`],
    card: () => [h("span", { class: `bk ${e.c === "r" ? "red" : "yellow"}`, role: "img", "aria-label": e.c === "r" ? t("Red card") : t("Yellow card") }), ` ${who}`],
    sub: () => t("In {on}, out {off}", { on: e.p, off: e.po }),
    miss: () => t("{who} missed a penalty", { who }),
    var: () => [h("span", { class: "pill var" }, "VAR"), ` ${t("review")}${e.r ? `: ${e.r}` : ""}`],
    pen: () => `${e.ok ? t("Scored") : t("Missed")}: ${who} (${(e.ps || []).join("-")})`,
    status: () => e.rp ? [t("Replay scheduled: "), h("a", { href: `#/m/${e.rp}` }, e.rp)]
      : e.ko ? t("Kick-off moved to {when}", { when: new Date(e.ko).toLocaleString(lang, { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" }) }) + (e.r ? ` (${e.r})` : "")
      : t(PHASE[e.st] || e.st),
  }[e.t];
  const cancelled = e.t === "goal" && all.some((x) => (x.t === "disallow" || x.t === "correct") && x.ref === e.seq);
  return h("li", { "data-t": e.t, "data-seq": e.seq }, h("span", { class: "m" }, e.t === "pen" || e.t === "status" ? "" : eventMinute(e)), e.tm ? flag(e.tm) : "", h("span", { class: cancelled ? "off" : "" }, what ? what() : e.t));
}

// The match centre's code is loaded when a match page first opens (the first screen does
// not pay for it); offline and never fetched, the page goes on without it.
let centreModule = null;
const loadCentre = () => (centreModule ??= import("./centre.js").catch(() => { centreModule = null; return null; }));

// Goals read out to screen readers, politely (after what they are reading): one live region
// for the whole app, so a re-render never repeats an announcement.
function announce(text) {
  const region = $("#announce");
  region.textContent = "";
  setTimeout(() => { region.textContent = text; }, 50);
}
const goalText = (m, d) => t("Goal for {team}! {scorer} {minute}. {home} {sh}, {away} {sa}", { team: teamName(d.tm), scorer: d.p || "", minute: eventMinute(d), home: teamName(m.h), sh: d.s[0], away: teamName(m.a), sa: d.s[1] });

function matchInfo(match) {
  const when = new Date(match.kickoff).toLocaleString(lang, { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  const stage = [match.stage && t(stageName(match.stage)), match.group && t(match.group)].filter(Boolean).join(" · ");
  return h("div", { class: "sub muted", id: "match-info" }, [stage, when, match.venue].filter(Boolean).join(" · "));
}

// ---- reactions and shared moments (docs/social.md) -----------------------------------------

const RX_KINDS = { fire: "Fire", clap: "Applause", heart: "Love", wow: "Wow", laugh: "Laugh", cry: "Sad", angry: "Angry", party: "Party" };
const MOMENT_TYPES = new Set(["goal", "correct", "card", "miss", "var", "disallow", "pen"]);
const isMoment = (e) => MOMENT_TYPES.has(e.t) || (e.t === "status" && e.st === "finished");
const shareable = (e) => e.t === "goal" || e.t === "correct" || (e.t === "status" && e.st === "finished");

// A match's reactions: counts by moment from REST on opening, then `rx` frames; the fan's
// own tap shows at once and is confirmed (or undone) by the socket's ack or REST's answer.
function reactions(slug, changed) {
  const moments = new Map(); // seq -> {c: counts, mine}
  const pending = new Map(); // cid -> [seq, the moment before the tap]
  let cids = 0;
  const set = (seq, c, mine) => { const was = moments.get(seq) || { c: {}, mine: null }; moments.set(seq, { c: c ?? was.c, mine: mine === undefined ? was.mine : mine }); changed(); };
  const undo = (seq, before, why) => { set(seq, before.c, before.mine); announce(why); };
  api(`matches/${slug}/reactions/`).then((list) => { for (const m of list) set(m.seq, m.counts, m.mine); }).catch(() => {});
  async function react(seq, kind) {
    if (!me) { location.hash = "#/signin"; return; }
    const before = moments.get(seq) || { c: {}, mine: null };
    const next = before.mine === kind ? null : kind; // tapping your own reaction takes it back
    const c = { ...before.c };
    if (before.mine && c[before.mine]) c[before.mine] -= 1;
    if (next) c[next] = (c[next] || 0) + 1;
    set(seq, c, next);
    if (conn.current === "live" && conn.ws && conn.ws.readyState === 1) {
      const cid = `rx-${device}-${(cids += 1)}`;
      pending.set(cid, [seq, before]);
      conn.send({ op: "react", ch: `match:${slug}`, seq, kind: next, cid });
      return;
    }
    try {
      const m = await api(`matches/${slug}/moments/${seq}/reaction/`, next ? { method: "PUT", body: { kind: next } } : { method: "DELETE" });
      set(seq, m.counts, m.mine);
    } catch (err) { undo(seq, before, err.message); }
  }
  return {
    frame(f) {
      if (f.t === "rx") set(f.d.m, f.d.c);
      else if (f.t === "ack" && f.d && pending.delete(f.d.cid)) set(f.d.m, f.d.c, f.d.mine || null);
      else if (f.t === "err" && pending.has(f.cid)) { const [seq, before] = pending.get(f.cid); pending.delete(f.cid); undo(seq, before, f.msg); }
    },
    bar(e, where = "tl") {
      const m = moments.get(e.seq) || { c: {}, mine: null };
      const buttons = Object.entries(RX_KINDS).map(([kind, label]) => h("button", { type: "button", "data-rx": `${where}:${e.seq}:${kind}`, "aria-pressed": String(m.mine === kind), "aria-label": `${t(label)}: ${m.c[kind] || 0}`, title: t(label), on: { click: () => react(e.seq, kind) } },
        h("i", { class: `rx-${kind}`, "aria-hidden": "true" }), m.c[kind] ? String(m.c[kind]) : ""));
      if (shareable(e)) buttons.push(h("button", { type: "button", "data-rx": `${where}:${e.seq}:share`, on: { click: (ev) => shareMoment(slug, e.seq, ev.currentTarget) } }, t("Share")));
      return h("div", { class: "rx", role: "group", "aria-label": t("Reactions") }, buttons);
    },
  };
}

// The moment's share link (its card, docs/social.md): the system's share sheet where the
// browser has one, else the link copied.
async function shareMoment(slug, seq, button) {
  const url = `${location.origin}/share/${slug}/${seq}/`;
  if (navigator.share) { try { await navigator.share({ url, title: document.title }); } catch { /* closed */ } return; }
  try { await navigator.clipboard.writeText(url); button.textContent = t("Link copied"); }
  catch { button.textContent = url; }
  announce(button.textContent);
  setTimeout(() => { button.textContent = t("Share"); }, 3000);
}

async function matchPage(slug, at = 0) {
  const { show, stale } = begin();
  // The score first: the match centre's code arrives in parallel and joins when it does.
  const centreLoading = loadCentre();
  const match = await api(`matches/${slug}/`);
  if (stale()) return;
  let centre = null;
  const scoreH = h("span", { id: "score-h" }, match.home_score), scoreA = h("span", { id: "score-a" }, match.away_score);
  const status = h("div", { class: "sub", id: "status" }), watching = h("div", { class: "sub muted", id: "watching" });
  const notCurrent = h("div", { class: "sub stale-note", id: "stale-note" }, t("Not current: reconnecting…"));
  const tl = h("ol", { class: "tl", id: "timeline", reversed: true });
  const strip = h("div", { id: "momentum-slot" });
  const panels = { timeline: h("div", { class: "card", id: "panel-timeline", role: "tabpanel" }, tl), lineups: h("div", { class: "card", id: "panel-lineups", role: "tabpanel" }), stats: h("div", { class: "card", id: "panel-stats", role: "tabpanel" }) };
  const pens = match.home_pens !== null ? [match.home_pens, match.away_pens] : null;
  // Until the socket's snapshot arrives, the REST detail is the state.
  if (!live.has(slug)) live.set(slug, { h: match.home.code, a: match.away.code, st: match.status, s: [match.home_score, match.away_score], ps: pens, m: match.minute, ev: [] });
  let tab = "timeline", period = "all";
  const ctx = { h, flag, t };
  let rendering = false, scrolled = false;
  const later = () => { if (!rendering) { rendering = true; requestAnimationFrame(() => { rendering = false; render(); }); } };
  const rx = reactions(slug, () => later());
  const latestBar = h("div", { id: "latest-rx" });
  const render = () => {
    const m = live.get(slug);
    if (!m) return;
    status.textContent = `${minute(m)}${m.ps ? ` · ${t("pens")} ${m.ps.join("-")}` : ""}`;
    if (m.w !== undefined) watching.textContent = t("{n} watching", { n: m.w });
    // Redrawn whole: the reaction button that had the focus gets it back.
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.rx : null;
    tl.replaceChildren(...[...m.ev].reverse().map((e) => {
      const li = eventLine(e, m.ev);
      if (isMoment(e)) li.append(rx.bar(e));
      if (e.seq === at) li.classList.add("here");
      return li;
    }));
    // Under the big score: the latest goal (or full time), to react to at once.
    const latest = [...m.ev].reverse().find((e) => e.t === "goal" || e.t === "correct" || (e.t === "status" && e.st === "finished"));
    latestBar.replaceChildren(...(latest ? [rx.bar(latest, "top")] : []));
    if (focused) { const again = document.querySelector(`#view [data-rx="${focused}"]`); if (again) again.focus(); }
    const here = at && !scrolled && tl.querySelector(`[data-seq="${at}"]`);
    if (here) { scrolled = true; here.scrollIntoView({ block: "center" }); }
    if (!centre) { for (const key of ["lineups", "stats"]) if (tab === key) panels[key].replaceChildren(h("p", { class: "muted" }, t("Loading…"))); return; }
    strip.replaceChildren(centre.momentum(ctx, m));
    if (tab === "lineups") panels.lineups.replaceChildren(centre.lineups(ctx, m));
    if (tab === "stats") panels.stats.replaceChildren(centre.stats(ctx, m, period, (p) => { period = p; render(); }));
  };
  const tabs = h("div", { class: "tabs", role: "tablist", id: "match-tabs" });
  const choose = (name) => {
    tab = name;
    for (const [key, panel] of Object.entries(panels)) panel.hidden = key !== name;
    for (const b of tabs.children) { const on = b.dataset.tab === name; b.classList.toggle("on", on); b.setAttribute("aria-selected", String(on)); b.tabIndex = on ? 0 : -1; }
    render();
  };
  const names = [["timeline", t("Timeline")], ["lineups", t("Line-ups")], ["stats", t("Stats")]];
  tabs.append(...names.map(([key, label]) => h("button", { type: "button", role: "tab", "data-tab": key, id: `tab-${key}`, "aria-controls": `panel-${key}`, on: { click: () => choose(key) } }, label)));
  // Arrow keys move between the tabs, as a tab list does.
  tabs.addEventListener("keydown", (e) => {
    const keys = names.map(([k]) => k), step = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
    if (!step) return;
    const next = keys[(keys.indexOf(tab) + step + keys.length) % keys.length];
    choose(next); tabs.querySelector(`[data-tab=${next}]`).focus();
  });
  const ch = `match:${slug}`;
  const onStatus = [];
  conn.sub(ch, (f) => {
    if (f.t === "rx" || f.t === "ack" || (f.t === "err" && f.cid)) { rx.frame(f); return; }
    if (f.t === "err") return;
    const m = apply(slug, f);
    if (!m) return;
    // Optimistic: the big score first, in this very event, before anything else re-renders.
    scoreH.textContent = m.s[0]; scoreA.textContent = m.s[1];
    if (f.t === "goal" && f.d && f.d.s) announce(goalText(m, f.d));
    if (m.st) for (const fn of onStatus) fn(m, f);
    later();
  });
  leaving.push(() => conn.unsub(ch));
  // The snapshot the page came with: drawn now, then the socket's own takes over by seq.
  const first = booted(`matches/${slug}/live/`);
  if (first && first.t === "snap") conn.dispatch(first);
  // The whole timeline, as a live watcher collected it (the snapshot carries the last 20).
  api(`matches/${slug}/timeline/`).then((tline) => { const m = live.get(slug); if (m) { m.ev = mergeEvents(m.ev, tline.ev); later(); } }).catch(() => {});
  every(1000, () => { const m = live.get(slug); if (m && PERIOD_END[m.st]) status.textContent = `${minute(m)}${m.ps ? ` · ${t("pens")} ${m.ps.join("-")}` : ""}`; });
  const preds = h("div", { class: "card", id: "predictions" });
  const chat = h("div", { class: "card", id: "chat" });
  show(
    h("div", { class: "card" },
      h("div", { class: "score", role: "group", "aria-label": t("Score") }, flag(match.home.code), h("span", { class: "sr" }, teamName(match.home.code)), scoreH, "–", scoreA, h("span", { class: "sr" }, teamName(match.away.code)), flag(match.away.code)),
      h("div", { class: "sub" }, `${nameOf(match.home)} v ${nameOf(match.away)}`), matchInfo(match), status, notCurrent, watching, latestBar, strip),
    tabs, ...Object.values(panels),
    h("h2", {}, t("Predictions")), preds,
    h("h2", {}, t("Chat")), chat,
  );
  choose("timeline");
  centreLoading.then((module) => { if (stale()) return; centre = module; if (!centre) tabs.replaceChildren(tabs.firstChild); render(); });
  predictions(match, preds, onStatus);
  chatPanel({ match: slug }, chat);
  status.after(followButton({ match: slug }, `${match.home.code} v ${match.away.code}`));
  if (conn.delay) watching.after(h("div", { class: "sub muted", id: "delayed" }, t("Delayed {n} s (spoiler delay)", { n: conn.delay })));
}

// ---- follows and push notifications (docs/notifications.md) --------------------------------

// Subscribes this browser to Web Push (service worker /sw.js) and registers it; resolves to
// what the fan should know: that it worked, or why the browser cannot (no support,
// permission refused, no push service).
async function registerPush() {
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) return t("This browser has no push notifications.");
  const config = await api("push/config/");
  if (!config.vapid_public_key) return t("Push notifications are not configured on this server.");
  if ((await Notification.requestPermission()) !== "granted") return t("Notifications are blocked for this site.");
  const subscribe = async () => {
    await navigator.serviceWorker.register("/sw.js");
    // A new registration has no active worker yet: pushManager.subscribe needs one.
    const reg = await navigator.serviceWorker.ready;
    const key = Uint8Array.from(atob(config.vapid_public_key.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
    const sub = (await reg.pushManager.getSubscription()) || (await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key }));
    await api("push/devices/", { method: "POST", body: { device_id: browserId, subscription: sub.toJSON() } });
    return t("Push notifications are on for this browser.");
  };
  // A browser without a reachable push service may never answer the subscription.
  const late = new Promise((resolve) => setTimeout(() => resolve(t("The browser's push service did not answer; try again later.")), 15000));
  try { return await Promise.race([subscribe(), late]); }
  catch (err) { return pushTrouble(err); }
}

// A browser's push errors in plain words.
function pushTrouble(err) {
  if (err.name === "NotAllowedError") return t("Notifications are blocked for this site: allow them in the browser's settings.");
  if (err.name === "AbortError" || err.name === "NotSupportedError") return t("This browser could not reach its push service; try again later.");
  if (err.status) return `The server refused this browser's registration: ${err.message}`;
  return t("Push notifications are unavailable in this browser.");
}

function followButton(target, label) {
  const note = h("span", { class: "muted", id: "push-note" });
  const button = h("button", { id: "follow", disabled: !me }, me ? "Follow" : t("Sign in to follow"));
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


// ---- the tournament: matches by day, group tables, the bracket; team pages --------------------

const dayKey = (iso) => { const d = new Date(iso); return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`; };
const dayLabel = (key) => new Date(`${key}T12:00`).toLocaleDateString(lang, { weekday: "short", day: "numeric", month: "short" });

// The competition a fan means by "the tournament": one with a match today or later, else the
// latest.
async function currentCompetition(comps) {
  comps = [...comps].sort((a, b) => b.season - a.season);
  const next = results(await api(`matches/?status=scheduled&date_from=${dayKey(clock.now())}`).catch(() => ({ results: [] })))[0];
  return (next && comps.find((c) => c.slug === next.competition)) || comps[0];
}

async function tournament(slug, tab = "matches", day = "") {
  const { show, stale } = begin();
  const comps = results(await api("competitions/"));
  const comp = comps.find((c) => c.slug === slug) || (await currentCompetition(comps));
  if (stale()) return;
  if (!comp) return show(h("p", { class: "muted" }, t("No tournament loaded.")));
  if (comp.slug !== slug) { location.replace(`#/t/${comp.slug}`); return; }
  const tabs = h("div", { class: "tabs", role: "tablist" }, [["matches", "Matches"], ["groups", "Groups"], ["bracket", "Bracket"]].map(([k, label]) =>
    h("a", { href: `#/t/${comp.slug}/${k}`, class: k === tab ? "on" : "", role: "tab", "aria-selected": String(k === tab) }, label)));
  const others = comps.filter((c) => c.slug !== comp.slug).map((c) => h("a", { href: `#/t/${c.slug}` }, c.name));
  const head = [h("h2", {}, comp.name), others.length ? h("p", { class: "muted" }, t("Also: "), others) : "", tabs];
  if (tab === "groups") return groupsTab(comp, head, show, stale);
  if (tab === "bracket") return bracketTab(comp, head, show, stale);
  const matches = await allPages(`matches/?competition=${comp.slug}`);
  if (stale()) return;
  const byDay = new Map();
  for (const m of matches) { const k = dayKey(m.kickoff); if (!byDay.has(k)) byDay.set(k, []); byDay.get(k).push(m); }
  const days = [...byDay.keys()].sort();
  const today = dayKey(clock.now());
  const chosen = byDay.has(day) ? day : days.find((d) => d >= today) || days[days.length - 1];
  const strip = h("div", { class: "days", id: "days", role: "tablist", "aria-label": t("Match days") }, days.map((d) =>
    h("a", { href: `#/t/${comp.slug}/matches/${d}`, class: d === chosen ? "on" : "", "data-day": d, role: "tab", "aria-selected": String(d === chosen) }, dayLabel(d))));
  const card = h("div", { class: "card", id: "day-matches" });
  for (const m of byDay.get(chosen) || []) {
    const row = matchRow(m);
    card.append(h("div", { class: "muted stage" }, [m.stage && t(stageName(m.stage)), m.group && t(m.group)].filter(Boolean).join(" · ")), row);
    if (LIVE_STATUSES.has(m.status)) {
      conn.sub(`match:${m.slug}`, (f) => { if (apply(m.slug, f)) row.paint(); });
      leaving.push(() => conn.unsub(`match:${m.slug}`));
    }
  }
  show(...head, strip, card);
  strip.querySelector(".on")?.scrollIntoView({ inline: "center", block: "nearest" });
  every(1000, () => { for (const row of card.querySelectorAll(".row.live")) row.paint(); });
}

async function groupsTab(comp, head, show, stale) {
  const groups = await api(`competitions/${comp.slug}/groups/`);
  if (stale()) return;
  const table = (g) => h("table", { class: "board group", "data-group": g.group },
    h("caption", {}, t(`Group ${g.group}`), g.complete ? "" : h("span", { class: "muted" }, ` · ${t("in progress")}`)),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "#"), h("th", { scope: "col" }, t("Team")), h("th", { scope: "col", title: "played" }, "P"), h("th", { scope: "col", title: "goal difference" }, "GD"), h("th", { scope: "col", title: "points" }, t("Pts")))),
    h("tbody", {}, g.table.map((r) => h("tr", { "data-team": r.team.code },
      h("td", {}, r.tied ? `${r.position}=` : r.position),
      h("td", {}, h("a", { href: `#/team/${r.team.code}` }, flag(r.team.code), " ", nameOf(r.team))),
      h("td", {}, r.played), h("td", {}, r.difference > 0 ? `+${r.difference}` : r.difference), h("td", {}, r.points)))));
  show(...head, groups.length ? h("div", { class: "card", id: "groups" }, groups.map(table)) : h("p", { class: "muted" }, t("No groups in this tournament.")));
}

// The bracket, drawn again whenever a side is decided (a `bracket` frame) or one of its
// matches changes status (a score at full time), without a reload.
async function bracketTab(comp, head, show, stale) {
  let drawing = null, again = false;
  const redraw = async () => {
    if (drawing) { again = true; return; }
    drawing = drawBracket(comp, head, show, stale).catch(() => {});
    await drawing; drawing = null;
    if (again) { again = false; redraw(); }
  };
  conn.sub("schedule", (f) => {
    if ((f.t === "bracket" && f.d && f.d.c === comp.slug) || (f.t === "status" && f.d && $(`#bracket [data-match='${f.d.m}']`))) redraw();
  });
  leaving.push(() => conn.unsub("schedule"));
  await redraw();
}

// A side not yet decided, as the API names it ("Winner Match 62", "Runner-up Group B",
// "3rd Group A/B/C"), in the fan's language.
function sourceText(label) {
  const found = label.match(/^(Winner|Loser|Runner-up|3rd) (Match|Group) (.+)$/);
  return found ? t(`${found[1]} ${found[2]} {x}`, { x: found[3] }) : label;
}

async function drawBracket(comp, head, show, stale) {
  const [fixtures, matches] = await Promise.all([api(`competitions/${comp.slug}/bracket/`), allPages(`matches/?competition=${comp.slug}`)]);
  if (stale()) return;
  const bySlug = new Map(matches.map((m) => [m.slug, m]));
  const stages = new Map();
  for (const f of fixtures) { if (!stages.has(f.stage)) stages.set(f.stage, []); stages.get(f.stage).push(f); }
  const side = (s, score) => h("span", { class: "team" }, s.team ? [flag(s.team), " ", s.team] : h("span", { class: "muted" }, sourceText(s.label)), h("span", { style: "flex:1" }), score ?? "");
  const fixture = (f) => {
    const m = f.match && bySlug.get(f.match);
    const done = m && m.status !== "scheduled";
    const body = h("div", { class: "teams" }, side(f.home, done ? m.home_score : null), side(f.away, done ? m.away_score : null));
    const pens = m && m.home_pens !== null && m.home_pens !== undefined ? h("span", { class: "muted" }, ` ${m.home_pens}-${m.away_pens} pens`) : "";
    return h(m ? "a" : "div", { class: "row fixture", "data-fixture": f.number, "data-match": m ? m.slug : null, href: m ? `#/m/${m.slug}` : null },
      h("span", { class: "muted num" }, f.number), body, pens);
  };
  show(...head, h("div", { id: "bracket" }, [...stages].flatMap(([stage, list]) =>
    [h("h3", {}, t(stageName(stage))), h("div", { class: "card" }, list.map(fixture))])));
}

async function teamPage(code) {
  const { show, stale } = begin();
  code = (code || "").toUpperCase();
  const [team, players, matches] = await Promise.all([api(`teams/${code}/`), api(`teams/${code}/players/`), allPages(`matches/?team=${code}`)]);
  if (stale()) return;
  const card = h("div", { class: "card", id: "team-matches" }, matches.map((m) => matchRow(m)));
  show(
    h("h2", {}, flag(team.code), " ", nameOf(team)), followButton({ team: team.code }, nameOf(team)),
    h("h3", {}, t("Matches")), card,
    h("h3", {}, `Squad (${players.length})`),
    h("div", { class: "card", id: "squad" }, players.length ? players.map((p) => h("div", { class: "row" }, h("span", { class: "muted num" }, p.number ?? ""), h("span", { style: "flex:1" }, p.name), h("span", { class: "muted" }, p.position))) : h("p", { class: "muted" }, t("No squad loaded."))),
  );
}

// ---- predictions -----------------------------------------------------------------------------

const KINDS = {
  score: t("Exact score"), winner: t("Winner"), first_scorer: t("First scorer"), possession: t("Possession"),
};
const BANDS = [[1, "Home < 40%"], [2, "Home 40-49%"], [3, "Home 50-59%"], [4, "Home 60%+"]];
const bandOf = (pos) => (pos < 40 ? 1 : pos < 50 ? 2 : pos < 60 ? 3 : 4);
const sign = (n) => Math.sign(n);

function countdownText(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400), hh = Math.floor(s / 3600) % 24, mm = Math.floor(s / 60) % 60;
  return d ? t("Locks in {d}d {h}h", { d, h: hh }) : t("Locks in {h}h {m}m {s}s", { h: hh, m: mm, s: s % 60 });
}

// What a pick says in words, and after settlement which rule paid it (docs/scoring.md).
function pickText(kind, p, match, players) {
  if (kind === "score") return `${p.home_goals}-${p.away_goals}`;
  if (kind === "winner") return { H: nameOf(match.home), D: t("Draw"), A: nameOf(match.away) }[p.outcome];
  if (kind === "first_scorer") return p.no_goal ? "No goal" : (players.find((x) => x.id === p.player) || {}).name || t("a player");
  return t((BANDS.find(([b]) => b === p.band) || [0, ""])[1]);
}
function ruleText(kind, p, m, rules) {
  if (p.status === "void") return "void: the match was not completed";
  const [hs, as] = m.s || [0, 0];
  if (kind === "score") {
    if (p.home_goals === hs && p.away_goals === as) return t("exact score");
    if (p.home_goals - p.away_goals === hs - as) return t("right goal difference");
    if (sign(p.home_goals - p.away_goals) === sign(hs - as)) return t("right outcome");
    return t("score missed");
  }
  if (kind === "winner") {
    const shootout = m.ps && hs === as && rules && rules.penalties_decide_winner;
    const outcome = shootout ? (m.ps[0] > m.ps[1] ? "H" : "A") : hs > as ? "H" : hs < as ? "A" : "D";
    return `${p.outcome === outcome ? "right" : "wrong"}${shootout ? " (the shootout decides the winner)" : ""}`;
  }
  if (kind === "possession") return m.pos === undefined ? "no possession figure: 0" : p.band === bandOf(m.pos) ? "right band" : t("wrong band");
  return p.points > 0 ? "right" : "wrong";
}

async function predictions(match, root, onStatus) {
  const slug = match.slug;
  const [counts, rules] = await Promise.all([api(`matches/${slug}/prediction-counts/`).catch(() => null), api(`matches/${slug}/rules/`).catch(() => null)]);
  let status = match.status, kickoff = Date.parse(match.kickoff);
  // Locked at kick-off by the server's clock, or as soon as a frame says the match started,
  // whichever comes first; a postponed match stays open (docs/scoring.md).
  const locked = () => (status === "scheduled" ? clock.now() >= kickoff : status !== "postponed");
  const countdown = h("p", { class: "muted", id: "lock" });
  const total = counts ? h("p", { class: "muted" }, t("{fans} predicted", { fans: plural(counts.total, "fan") })) : "";
  const rulesLink = h("span", {}, h("a", { href: `#/rules/${slug}` }, t("How points are scored")), " · ", h("a", { href: `#/play/${match.competition}/day/${dayKey(match.kickoff)}` }, t("Predict the whole matchday")));
  const tick = () => {
    const shut = locked();
    countdown.textContent = shut ? "Predictions are locked." : countdownText(kickoff - clock.now());
    for (const el of root.querySelectorAll("form input, form select, form button")) el.disabled = shut;
  };
  onStatus.push((m, f) => {
    status = m.st;
    if (f && f.t === "status" && f.d && f.d.ko) kickoff = Date.parse(f.d.ko);
    tick();
  });
  every(1000, tick);
  if (!me) { root.replaceChildren(countdown, total, h("a", { href: "#/signin" }, t("Sign in to predict")), " · ", rulesLink); tick(); return; }
  const [mineAll, players] = await Promise.all([
    api("me/predictions/").then(results),
    Promise.all([match.home.code, match.away.code].map((c) => api(`teams/${c}/players/`).catch(() => []))).then((x) => x.flat()),
  ]);
  const mine = new Map(mineAll.filter((p) => p.match === slug).map((p) => [p.kind, p]));
  const msg = h("p", { id: "pred-msg", class: "muted" });
  const picked = (kind) => {
    const p = mine.get(kind);
    const line = h("p", { class: "pick", "data-pick": kind });
    if (!p) line.append(locked() ? "You did not pick." : t("Not picked yet."));
    else {
      line.append(t("Your pick: "), h("b", {}, pickText(kind, p, match, players)));
      if (p.status === "settled" || p.status === "void") {
        const m = live.get(slug) || { s: [match.home_score, match.away_score] };
        line.append(" · ", h("b", { class: "pts", "data-points": p.points }, plural(p.points, "pt")), ` (${ruleText(kind, p, m, rules)})`);
      }
    }
    return line;
  };
  const field = (kind, inputs) => {
    const line = picked(kind);
    return h("form", { "data-kind": kind, on: { submit: async (e) => {
      e.preventDefault();
      if (locked()) return tick();
      const data = Object.fromEntries(new FormData(e.target));
      for (const k of ["home_goals", "away_goals", "band", "player"]) if (data[k] !== undefined) data[k] = data[k] === "" ? undefined : Number(data[k]);
      if (data.player === 0) { delete data.player; data.no_goal = true; }
      try {
        mine.set(kind, await api(`matches/${slug}/predictions/${kind}/`, { method: "PUT", body: data }));
        msg.textContent = t("{kind} saved.", { kind: t(KINDS[kind]) }); msg.className = "ok";
        e.target.querySelector(".pick").replaceWith(picked(kind));
      } catch (err) { msg.textContent = err.status === 409 ? "Predictions are locked." : err.message; msg.className = "err"; }
    } } }, h("label", {}, t(KINDS[kind])), line, inputs, h("button", {}, t("Save")));
  };
  const num = (name, value, label) => h("input", { name, type: "number", min: 0, max: 30, value: value ?? "", required: true, inputmode: "numeric", "aria-label": label });
  // The first option is "Choose": nothing is shown as picked that the fan did not pick.
  const select = (name, label, options, value) => h("select", { name, required: true, "aria-label": label },
    h("option", { value: "", selected: value === undefined || value === null }, t("Choose…")),
    options.map(([v, text]) => h("option", { value: v, selected: value !== undefined && value !== null && String(v) === String(value) }, text)));
  const score = mine.get("score") || {}, winner = mine.get("winner") || {}, scorer = mine.get("first_scorer") || {}, pos = mine.get("possession") || {};
  root.replaceChildren(countdown, total,
    field("score", h("div", { class: "tabs" }, num("home_goals", score.home_goals, t("{team} goals", { team: nameOf(match.home) })), num("away_goals", score.away_goals, t("{team} goals", { team: nameOf(match.away) })))),
    field("winner", select("outcome", t("Winner"), [["H", nameOf(match.home)], ["D", t("Draw")], ["A", nameOf(match.away)]], winner.outcome)),
    field("first_scorer", select("player", t("First scorer"), [[0, "No goal"], ...players.map((p) => [p.id, p.name])], scorer.no_goal ? 0 : scorer.player)),
    field("possession", select("band", t("Possession"), BANDS.map(([b, text]) => [b, t(text)]), pos.band)),
    msg, rulesLink);
  tick();
}

// The rules a match is scored by, for fans (docs/scoring.md, from the server's own figures).
async function rulesPage(slug) {
  const { show } = begin();
  // Without a match: the rules of the tournament's next match (or its first).
  if (!slug) {
    const comp = await currentCompetition(results(await api("competitions/")));
    const first = comp && results(await api(`matches/?competition=${comp.slug}&status=scheduled`))[0];
    slug = first ? first.slug : comp && results(await api(`matches/?competition=${comp.slug}`))[0]?.slug;
  }
  const r = slug ? await api(`matches/${slug}/rules/`) : null;
  const pts = (n) => plural(n, "point");
  const rows = r ? [
    ["Exact score", pts(r.exact_score)],
    ["Right goal difference (not exact)", pts(r.goal_difference)],
    ["Right outcome only (home win, draw, away win)", pts(r.score_outcome)],
    ["Winner", pts(r.winner)],
    ["First scorer (own goals never count; \"No goal\" wins when no other goal does)", pts(r.first_scorer)],
    ["Possession band of the home team", pts(r.possession)],
  ] : [];
  show(h("h2", {}, t("How points are scored")), h("div", { class: "card", id: "rules" },
    r ? h("table", { class: "board" }, h("tbody", {}, rows.map(([a, b]) => h("tr", {}, h("td", {}, a), h("td", {}, b))))) : h("p", {}, t("Open a match and follow “How points are scored” for its figures.")),
    h("p", {}, t("The score kinds do not add up: an exact score pays the exact score only.")),
    r ? h("p", {}, r.extra_time_counts ? "Goals in extra time count in the score." : t("Only the score after 90 minutes counts; extra time does not.")) : "",
    r ? h("p", { id: "rules-shootout" }, r.penalties_decide_winner
      ? "Winner after a shootout: the team that wins the shootout is the winner, so “Draw” earns nothing, while an exact score of the level result still pays."
      : "A match level after extra time is a draw for the winner pick, whoever wins the shootout.") : "",
    r && r.multiplier > 1 ? h("p", {}, t("This match counts {n} times (its stage's multiplier).", { n: r.multiplier })) : "",
    r && r.rarity_bonus ? h("p", {}, `A right pick earns up to ${pts(r.rarity_bonus)} more, the fewer fans shared it.`) : "",
    r && r.jokers ? h("p", {}, t("A joker, one per round, doubles your points on one match; move it until that match kicks off.")) : "",
    r ? h("p", { id: "rules-outrights" }, t("Tournament picks, open until the first kick-off: the champion {c}, each finalist {f}, the top scorer {s}.", { c: pts(r.outright_champion), f: pts(r.outright_finalist), s: pts(r.outright_top_scorer) })) : "",
    h("p", { class: "muted" }, t("Predictions lock at the actual kick-off by the server's clock."))));
}

// The prediction game's pages (play.js), loaded when first opened.
let playModule = null;
async function play(slug, tab = "day", day = "") {
  const { show, stale } = begin();
  if (!me) return show(h("h2", {}, t("Predict")), h("div", { class: "card" }, h("p", {}, t("Predict every match of a matchday in one go, play a joker on a round and pick the champion.")), h("a", { href: "#/signup" }, t("Create an account")), " · ", h("a", { href: "#/signin" }, t("Sign in"))));
  const [comps, module] = await Promise.all([api("competitions/").then(results), (playModule ??= import("./play.js"))]);
  const comp = comps.find((c) => c.slug === slug) || (await currentCompetition(comps));
  if (stale()) return;
  if (!comp) return show(h("p", { class: "muted" }, t("No tournament loaded.")));
  if (comp.slug !== slug) { location.replace(`#/play/${comp.slug}/${tab}`); return; }
  const ctx = { h, t, api, clock, flag, lang, plural, every, allPages, allTeams, dayKey, dayLabel, teamName, rememberTeam, countdownText, show: (...nodes) => { if (!stale()) show(...nodes); } };
  await module.playPage(ctx, comp, tab, day);
}

// ---- chat ------------------------------------------------------------------------------------

// The chat of a match (`{ match: slug }`) or of a league (`{ league: id }`).
async function chatPanel(which, root) {
  const room = await api(`chat/rooms/?${new URLSearchParams(which)}`).catch(() => null);
  if (!room) return root.replaceChildren(h("p", { class: "muted" }, t("No chat here.")));
  const list = h("div", { class: "chat", id: "chat-list" }), state = h("p", { class: "muted" });
  const seen = new Set();
  const add = (m) => {
    if (seen.has(m.id)) return; // in `hist` and in a batch right after: once
    seen.add(m.id);
    list.append(h("div", { class: "msg", "data-id": m.id, "data-u": m.u }, h("b", {}, m.n), m.x)); // text, never HTML
    list.scrollTop = list.scrollHeight;
  };
  conn.sub(room.channel, (f) => {
    if (f.t === "hist") { list.replaceChildren(); seen.clear(); f.d.m.forEach(add); state.textContent = f.d.slow ? t("Slow mode: {n}s", { n: f.d.slow }) : ""; }
    else if (f.t === "msgs") f.d.forEach(add);
    else if (f.t === "del") for (const el of [...list.children]) { if ((f.d.ids || []).includes(Number(el.dataset.id)) || Number(el.dataset.u) === f.d.u) el.remove(); }
    else if (f.t === "room") state.textContent = f.d.slow ? t("Slow mode: {n}s", { n: f.d.slow }) : "";
    else if (f.t === "ack") { add({ id: f.d.id, u: me.user, n: me.username, x: pending.get(f.d.cid) || "" }); pending.delete(f.d.cid); }
    else if (f.t === "err") state.textContent = f.msg + (f.wait ? ` (wait ${Math.ceil(f.wait)}s)` : "");
    else if (f.t === "unsub") state.textContent = t("You can no longer read this room.");
  });
  leaving.push(() => conn.unsub(room.channel));
  const pending = new Map();
  const form = me ? h("form", { on: { submit: (e) => {
    e.preventDefault();
    const input = e.target.elements.text, cid = crypto.randomUUID().slice(0, 16);
    pending.set(cid, input.value);
    conn.send({ op: "say", ch: room.channel, text: input.value, cid });
    input.value = "";
  } } }, h("input", { name: "text", maxlength: 280, placeholder: t("Say something"), "aria-label": t("Message"), autocomplete: "off", required: true })) : h("a", { href: "#/signin" }, t("Sign in to chat"));
  root.replaceChildren(list, state, form);
}

// ---- leaderboards and leagues ----------------------------------------------------------------

function boardTable(board) {
  const row = (e) => h("tr", { class: me && e.user_id === me.user ? "me" : "" }, h("td", {}, e.rank), h("td", {}, e.name), h("td", {}, e.points));
  // An empty board says so (a table with no rows is an invisible one).
  if (!board.top.length) return h("p", { class: "muted", id: "board" }, t("No points on this board yet: it fills as matches finish."));
  const around = (board.around || []).filter((e) => !board.top.some((t) => t.user_id === e.user_id));
  return h("table", { class: "board", id: "board" }, h("tbody", {}, board.top.map(row), around.length ? [h("tr", {}, h("td", { colspan: 3 }, "…")), around.map(row)] : []));
}

async function boards(scope) {
  const { show, stale } = begin();
  const leagues = me ? await api("leagues/").catch(() => []) : [];
  if (stale()) return;
  const tabs = h("div", { class: "tabs" }, h("a", { href: "#/boards", class: !scope ? "on" : "" }, t("Global")), leagues.map((l) => h("a", { href: `#/boards/league/${l.id}`, class: scope === `league/${l.id}` ? "on" : "" }, l.name)));
  const path = scope ? `leaderboards/${scope}/?n=20` : "leaderboards/global/?n=20";
  const card = h("div", { class: "card" });
  const load = async () => {
    try {
      const board = await api(path);
      // While a match is live the standings are provisional: t("if it ended now") (docs/scoring.md).
      const live = board.provisional ? h("span", { class: "pill var", id: "provisional" }, "LIVE: if it ended now") : "";
      card.replaceChildren(h("p", { class: "muted" }, `${plural(board.size, "fan")} `, live), boardTable(board));
    }
    catch (err) { card.replaceChildren(h("p", { class: "err" }, err.message)); }
  };
  show(tabs, card);
  await load();
  if (stale()) return;
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
  const { show, stale } = begin();
  if (!me) return show(h("p", {}, h("a", { href: "#/signin" }, t("Sign in")), " to play in leagues."));
  const list = await api("leagues/");
  if (stale()) return;
  const out = h("p", { id: "league-msg", role: "status" });
  const act = (fn) => async (e) => { e.preventDefault(); try { await fn(new FormData(e.target)); } catch (err) { out.textContent = err.message; out.className = "err"; } };
  show(
    h("h2", {}, t("My leagues")),
    h("div", { class: "card" }, list.length ? list.map((l) => h("div", { class: "row", "data-league": l.id },
      h("a", { href: `#/league/${l.id}`, style: "flex:1" }, `${l.name} (${plural(l.members, "member")})`),
      h("button", { on: { click: () => invite(l, out) } }, t("Invite")))) : h("p", { class: "muted" }, t("None yet."))),
    out,
    h("h2", {}, t("Create")), h("form", { class: "card", id: "create", on: { submit: act(async (d) => { await api("leagues/", { method: "POST", body: { name: d.get("name") } }); route(); }) } }, h("input", { name: "name", required: true, maxlength: 80, placeholder: t("League name"), "aria-label": t("League name") }), h("button", {}, t("Create"))),
    h("h2", {}, t("Join")), h("form", { class: "card", id: "join", on: { submit: act(async (d) => { const l = await api("leagues/join/", { method: "POST", body: { code: d.get("code").trim() } }); location.hash = `#/league/${l.id}`; }) } }, h("input", { name: "code", required: true, placeholder: t("Invite code"), "aria-label": t("Invite code"), autocapitalize: "characters" }), h("button", {}, t("Join"))),
  );
}

// An invite: its code to read out, and a link that opens this app on the join screen, shared
// with the Web Share API where the browser has it, copied elsewhere.
async function invite(league, out) {
  try {
    const inv = await api(`leagues/${league.id}/invites/`, { method: "POST", body: {} });
    const link = `${location.origin}/#/join/${encodeURIComponent(inv.code)}`;
    const note = h("span", { class: "muted", id: "share-note" });
    const share = h("button", { id: "share", on: { click: async () => {
      const text = `Join my league "${league.name}" on livescore`;
      try {
        if (navigator.share) { await navigator.share({ title: league.name, text, url: link }); return; }
        await navigator.clipboard.writeText(link); note.textContent = t("Link copied.");
      } catch (err) { if (err.name !== "AbortError") note.textContent = `Copy this link: ${link}`; }
    } } }, navigator.share ? "Share link" : t("Copy link"));
    out.className = "";
    out.replaceChildren(t("Invite code: "), h("span", { class: "code", id: "invite" }, inv.code), " ", share, " ", note,
      h("span", { class: "muted", id: "invite-link", "data-link": link }, ` valid ${Math.round((new Date(inv.expires_at) - clock.now()) / 3600000)} h, ${plural(inv.max_uses, "use")}`));
  } catch (err) { out.textContent = err.message; out.className = "err"; }
}

// `#/join/<code>`: what a shared link opens. A fan not signed in signs in or up first and
// comes back here (the code waits in sessionStorage).
async function joinPage(code) {
  const { show } = begin();
  code = decodeURIComponent(code || "");
  if (!me) {
    sessionStorage.setItem("join", code);
    return show(h("h2", {}, t("Join a league")), h("p", {}, t("You have an invite code "), h("span", { class: "code" }, code), "."),
      h("p", {}, h("a", { href: "#/signup" }, t("Create an account")), " or ", h("a", { href: "#/signin" }, t("sign in")), " to join."));
  }
  sessionStorage.removeItem("join");
  const out = h("p", { class: "err", id: "join-msg", role: "alert" });
  show(h("h2", {}, t("Join a league")), h("div", { class: "card" }, h("p", {}, t("Invite code "), h("span", { class: "code" }, code)),
    h("button", { id: "join-now", on: { click: async () => {
      try { const l = await api("leagues/join/", { method: "POST", body: { code } }); location.hash = `#/league/${l.id}`; }
      catch (err) { out.textContent = err.message; }
    } } }, t("Join league")), out));
}

// `#/league/<id>`: the board, the members (the owner removes them) and the league's chat.
async function leaguePage(id) {
  const { show, stale } = begin();
  if (!me) return show(h("p", {}, h("a", { href: "#/signin" }, t("Sign in")), " to see your leagues."));
  const [list, members] = await Promise.all([api("leagues/"), api(`leagues/${id}/members/`)]);
  if (stale()) return;
  const league = list.find((l) => String(l.id) === String(id));
  if (!league) return show(h("p", { class: "err" }, t("Not one of your leagues.")));
  const mine = league.owner === me.username;
  const out = h("p", { id: "league-msg", role: "status" });
  const memberRow = (m) => h("div", { class: "row", "data-member": m.user },
    h("span", { style: "flex:1" }, m.username, m.owner ? h("span", { class: "muted" }, " (owner)") : ""),
    mine && !m.owner ? h("button", { on: { click: async (e) => {
      if (!confirm(`Remove ${m.username} from ${league.name}?`)) return;
      try { await api(`leagues/${id}/members/${m.user}/`, { method: "DELETE" }); e.target.closest(".row").remove(); }
      catch (err) { out.textContent = err.message; out.className = "err"; }
    } } }, t("Remove")) : "");
  const chat = h("div", { class: "card", id: "league-chat" });
  show(
    h("h2", {}, league.name),
    h("p", {}, h("a", { href: `#/boards/league/${id}` }, t("Board")), " · ",
      h("button", { on: { click: () => invite(league, out) } }, t("Invite")),
      mine ? "" : [" · ", h("button", { id: "leave", on: { click: async () => { await api(`leagues/${id}/leave/`, { method: "POST" }); location.hash = "#/leagues"; } } }, t("Leave"))]),
    out,
    h("h3", {}, plural(members.length, "member")), h("div", { class: "card", id: "members" }, members.map(memberRow)),
    h("h3", {}, t("Chat")), chat,
  );
  await chatPanel({ league: id }, chat);
}

// ---- alerts: push preferences and follows (docs/notifications.md) ---------------------------

async function alertsPage() {
  const { show, stale } = begin();
  if (!me) return show(h("p", {}, h("a", { href: "#/signin" }, t("Sign in")), " to get push notifications."));
  const [prefs, follows, config] = await Promise.all([api("push/preferences/"), api("push/follows/"), api("push/config/")]);
  if (stale()) return;
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
      out.textContent = t("Saved."); out.className = "";
      if (saved.delay !== conn.delay) conn.delay = saved.delay;
    } catch (err) { out.textContent = err.message; out.className = "err"; }
  };
  show(
    h("h2", {}, t("Alerts")),
    h("form", { class: "card", id: "prefs", on: { submit: save } },
      field(t("Time zone "), h("input", { name: "timezone", value: zone, required: true })),
      field(t("Quiet from "), h("input", { name: "quiet_from", type: "time", value: prefs.quiet_from || "" })),
      field(t("Quiet until "), h("input", { name: "quiet_to", type: "time", value: prefs.quiet_to || "" })),
      field(t("Spoiler delay, seconds "), h("input", { name: "delay", type: "number", min: 0, max: 120, value: prefs.delay })),
      field(t("At most per match per minute "), h("input", { name: "cap", type: "number", min: 1, max: 20, value: prefs.cap })),
      h("button", {}, t("Save"))),
    out,
    h("h2", {}, t("Following")),
    h("div", { class: "card", id: "follows" }, follows.length
      ? follows.map((f) => followRow(f, config.kinds, out))
      : h("p", { class: "muted" }, t("Nothing yet: follow your team when you sign up, or a match from its page."))),
  );
}

// One follow: its name, a switch per kind (saved as it changes), and Unfollow.
function followRow(f, labels, out) {
  const kinds = new Set(f.kinds);
  const row = h("fieldset", { class: "follow-row", "data-follow": f.id },
    h("legend", {}, f.team ? flag(f.team) : "", " ", f.name || f.team || f.match),
    Object.entries(labels).map(([kind, label]) => h("label", { class: "toggle" },
      h("input", { type: "checkbox", name: kind, checked: kinds.has(kind), on: { change: async (e) => {
        e.target.checked ? kinds.add(kind) : kinds.delete(kind);
        try { await api(`push/follows/${f.id}/`, { method: "PATCH", body: { kinds: [...kinds] } }); out.textContent = t("Saved."); out.className = ""; }
        catch (err) { e.target.checked = !e.target.checked; out.textContent = err.message; out.className = "err"; }
      } } }), ` ${label}`)),
    h("button", { class: "unfollow", on: { click: async () => {
      try { await api(`push/follows/${f.id}/`, { method: "DELETE" }); row.remove(); out.textContent = `Unfollowed ${f.name}.`; out.className = ""; }
      catch (err) { out.textContent = err.message; out.className = "err"; }
    } } }, t("Unfollow")));
  return row;
}

function signIn() {
  const out = h("p", { class: "err" });
  show(h("h2", {}, t("Sign in")), h("form", { class: "card", id: "signin-form", on: { submit: async (e) => {
    e.preventDefault();
    try {
      const who = await api("auth/token/", { method: "POST", body: Object.fromEntries(new FormData(e.target)) });
      localStorage.setItem("me", JSON.stringify(who));
      const join = sessionStorage.getItem("join");
      location.hash = join ? `#/join/${encodeURIComponent(join)}` : "#/"; location.reload();
    } catch (err) { out.textContent = err.message; }
  } } }, h("input", { name: "username", autocomplete: "username", required: true, placeholder: t("Username"), "aria-label": t("Username") }), h("input", { name: "password", type: "password", autocomplete: "current-password", required: true, placeholder: t("Password"), "aria-label": t("Password") }), h("button", {}, t("Sign in")), out),
    h("p", {}, t("New here? "), h("a", { href: "#/signup", id: "to-signup" }, t("Create an account"))));
}

// ---- sign-up and the first run: your team, then notifications -------------------------------

function signUp() {
  const out = h("p", { class: "err", id: "signup-msg", role: "alert" });
  show(h("h2", {}, t("Create an account")), h("form", { class: "card", id: "signup-form", on: { submit: async (e) => {
    e.preventDefault();
    out.textContent = "";
    try {
      const who = await api("auth/signup/", { method: "POST", body: Object.fromEntries(new FormData(e.target)) });
      localStorage.setItem("me", JSON.stringify(who));
      location.hash = "#/welcome"; location.reload(); // a fresh page: its socket signs in
    } catch (err) { out.textContent = fieldErrors(err); }
  } } },
  h("input", { name: "username", autocomplete: "username", required: true, minlength: 3, maxlength: 30, placeholder: t("Username"), "aria-label": t("Username") }),
  h("input", { name: "password", type: "password", autocomplete: "new-password", required: true, minlength: 8, placeholder: t("Password (8 characters or more)"), "aria-label": t("Password") }),
  h("button", {}, t("Create account")), out),
  h("p", { class: "muted" }, t("No e-mail needed. Already have an account? "), h("a", { href: "#/signin" }, t("Sign in"))));
}

// A 400's field errors in plain words: "username: this username is taken".
function fieldErrors(err) {
  if (!err.data || typeof err.data !== "object" || err.data.detail) return err.message;
  return Object.entries(err.data).map(([k, v]) => `${k}: ${[].concat(v).join(" ")}`).join(" · ");
}

// Every page of a paginated list (a tournament's 104 matches, every team).
async function allPages(path) {
  let page = await api(path);
  const rows = [...results(page)];
  const base = path.split("?")[0];
  while (page.next) { page = await api(`${base}${new URL(page.next).search}`); rows.push(...results(page)); }
  return rows;
}
const allTeams = async () => (await allPages("teams/")).sort((a, b) => a.name.localeCompare(b.name));

async function welcome() {
  const { show, stale } = begin();
  if (!me) return show(h("p", {}, h("a", { href: "#/signup" }, t("Create an account")), " first."));
  const teams = await allTeams();
  if (stale()) return;
  const note = h("p", { class: "muted", id: "welcome-msg", role: "status" });
  const step2 = (team) => show(
    h("h2", {}, t("Notifications")),
    h("div", { class: "card", id: "welcome-push" },
      h("p", {}, `livescore can tell you when ${team ? team.name : "the matches you follow"} kick off, score, get a red card or a VAR decision, and the result at full time, even with the app closed.`),
      h("p", { class: "muted" }, t("Your browser asks you once. You can turn them off, or choose what you get, under Alerts at any time.")),
      h("button", { id: "allow-push", on: { click: async (e) => { e.target.disabled = true; note.textContent = await registerPush(); done.textContent = t("Done"); } } }, t("Allow notifications")),
      " ", note),
    done);
  const join = sessionStorage.getItem("join"); // signed up from a league's shared link
  const done = h("a", { href: join ? `#/join/${encodeURIComponent(join)}` : "#/", id: "welcome-done" }, t("Not now"));
  const pick = async (team) => {
    // Following again answers 200 (the API is idempotent): any error here is a real one.
    try { await api("push/follows/", { method: "POST", body: { team: team.code } }); }
    catch (err) { note.textContent = err.message; return; }
    localStorage.setItem("team", team.code);
    step2(team);
  };
  const list = h("div", { class: "card teams-pick", id: "team-pick" }, teams.map((t) =>
    h("button", { class: "team-choice", "data-team": t.code, on: { click: () => pick(t) } }, flag(t.code), " ", t.name)));
  const search = h("input", { type: "search", id: "team-search", placeholder: t("Search teams"), "aria-label": t("Search teams"), on: { input: (e) => {
    const q = e.target.value.trim().toLowerCase();
    for (const b of list.children) b.hidden = q && !b.textContent.toLowerCase().includes(q);
  } } });
  show(h("h2", {}, `Welcome, ${me.username}`), h("p", {}, t("Pick your team: its matches come first, and you can get its goals as notifications.")),
    search, list, note, h("p", {}, h("button", { id: "skip-team", on: { click: () => step2(null) } }, t("Skip"))));
}

async function signOut() {
  if (me) await api("auth/token/", { method: "DELETE" }).catch(() => null);
  localStorage.removeItem("me");
  if ("caches" in window) await caches.delete("livescore-v1").catch(() => false); // a fan's answers stay theirs
  location.hash = "#/"; location.reload();
}

// ---- routing -----------------------------------------------------------------------------------

async function route() {
  for (const done of leaving) done();
  leaving = [];
  routeToken += 1;
  const [, page, ...rest] = location.hash.replace(/^#/, "").split("/");
  try {
    if (page === "m") await matchPage(rest[0], Number(rest[1]) || 0);
    else if (page === "boards") await boards(rest.join("/"));
    else if (page === "leagues") await leagues();
    else if (page === "league") await leaguePage(rest[0]);
    else if (page === "join") await joinPage(rest[0]);
    else if (page === "alerts") await alertsPage();
    else if (page === "signin") signIn();
    else if (page === "signup") signUp();
    else if (page === "welcome") await welcome();
    else if (page === "rules") await rulesPage(rest[0]);
    else if (page === "t") await tournament(rest[0], rest[1], rest[2]);
    else if (page === "play") await play(rest[0], rest[1], rest[2]);
    else if (page === "team") await teamPage(rest[0]);
    else await liveList();
  } catch (err) {
    // Offline or a server restart: keep what is on screen, say so, and try again shortly.
    if (!view().firstChild || view().textContent === t("Loading…")) show(h("p", { class: "err" }, t("Could not load: {why}", { why: err.message })));
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
if (me) { signin.href = "#/"; signin.addEventListener("click", (e) => { e.preventDefault(); signOut(); }); }
window.addEventListener("hashchange", route);
window.addEventListener("offline", () => conn.state("offline"));
window.addEventListener("online", () => { if (!conn.ws) { conn.attempt = 0; conn.connect(); } else conn.watch(); });
setInterval(() => conn.watch(), 1000);
// The page's own words (header, navigation), and the switch between languages.
function translateShell() {
  for (const el of document.querySelectorAll("nav a, #signin, #view > p")) el.textContent = t(el.textContent);
  if (me) $("#signin").textContent = t("Sign out {name}", { name: me.username });
  const pick = h("select", { id: "lang", "aria-label": t("Language"), on: { change: (e) => { localStorage.setItem("lang", e.target.value); location.reload(); } } },
    Object.entries(LANGS).map(([code, name]) => h("option", { value: code, selected: code === lang, lang: code, title: name }, code.toUpperCase())));
  $("#signin").before(pick);
}
// A language other than English loads its dictionary before the first screen is drawn.
const DICTIONARIES = { es: () => import("./es.js") };
const ready = lang in DICTIONARIES ? DICTIONARIES[lang]().then((m) => { words = m.default; }).catch(() => {}) : Promise.resolve();
// A match's own link (/m/<slug>, which carries its data) opens the match page.
const linked = location.pathname.match(/^\/m\/([\w-]+)$/);
// A shared moment's link (/m/<slug>#<seq>, docs/social.md) opens the match at that moment.
const sharedAt = /^#(\d+)$/.exec(location.hash);
if (linked) history.replaceState(null, "", `/#/m/${linked[1]}${sharedAt ? `/${sharedAt[1]}` : ""}`);
ready.then(() => { translateShell(); conn.connect(); loadDelay().finally(route); });
// The service worker keeps the shell and the last answers for opening offline (sw.js).
if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
window.livescore = { conn, live, clock, minute, device, lang }; // for the browser tests and the curious
