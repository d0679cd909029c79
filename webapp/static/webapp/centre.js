// The match centre: line-ups, statistics by period and the momentum strip
// (docs/protocol.md, "The match centre"). Loaded the first time a match page opens, so the
// first screen does not pay for it. Drawn from the match's live state (`lu`, `sx`, `mo`,
// `sim`), which the snapshot and the `lineup` / `stats` frames keep current.

const STATS = [["pos", "Possession"], ["sh", "Shots"], ["ot", "On target"], ["co", "Corners"], ["fo", "Fouls"], ["y", "Yellow cards"], ["r", "Red cards"], ["of", "Offsides"]];
const PERIOD_NAMES = { 1: "1st half", 2: "2nd half", 3: "Extra time" };

// The match's figures for a period, or for the whole match: the sum of its periods
// (possession: their average).
export function figures(sx, period) {
  const periods = period === "all" ? Object.values(sx || {}) : [sx?.[period]].filter(Boolean);
  const total = { h: {}, a: {} };
  for (const side of ["h", "a"]) for (const [key] of STATS) {
    const values = periods.map((p) => p[side]?.[key]).filter((v) => v !== undefined);
    if (values.length) total[side][key] = key === "pos" ? Math.round(values.reduce((a, b) => a + b, 0) / values.length) : values.reduce((a, b) => a + b, 0);
  }
  return total;
}

export function momentum({ h, t }, m) {
  if (!m.mo || !m.mo.length) return "";
  const last = m.mo.slice(-3).reduce((a, b) => a + b, 0);
  const leader = last > 0 ? m.h : last < 0 ? m.a : null;
  const summary = leader ? t("{team} on top", { team: leader }) : t("Even");
  return h("div", { class: "momentum", id: "momentum", role: "img", "aria-label": `${t("Momentum")}: ${summary}` },
    m.mo.map((v, i) => h("span", { class: v >= 0 ? "up" : "down", title: `${i * 5}-${i * 5 + 5}'`, style: `--v:${Math.abs(v) / 9}` })));
}

// Who left and who came on, from the timeline's substitutions. A frame may carry a long
// name shortened to its initial and surname, and then cut (docs/protocol.md): a line-up's
// full name is matched in those forms too.
function changes(ev) {
  const off = [], on = [];
  for (const e of ev || []) if (e.t === "sub") { on.push([e.p, e.m]); off.push([e.po, e.m]); }
  const short = (name) => { const parts = name.split(" "); return parts.length > 1 ? `${parts[0][0]}. ${parts.slice(1).join(" ")}` : name; };
  const find = (list, name) => list.find(([n]) => n && (n === name || short(name).startsWith(n)))?.[1];
  return { off: (name) => find(off, name), on: (name) => find(on, name) };
}

function player({ h, t }, [number, name, position], subs) {
  const left = subs.off(name), came = subs.on(name);
  const mark = left !== undefined ? h("span", { class: "subbed", title: t("Substituted") }, `↓${left}'`)
    : came !== undefined ? h("span", { class: "came-on", title: t("Came on") }, `↑${came}'`) : "";
  return h("li", {}, h("span", { class: "num" }, number || ""), h("span", { class: "who" }, name), h("span", { class: "muted" }, position), mark);
}

// The XI on a pitch by the formation's lines (a provider lists the goalkeeper first, then
// each line from the right), and the list with the bench.
function side(ctx, code, lineup, subs) {
  const { h, flag, t } = ctx;
  const lines = [1, ...lineup.f.split("-").map(Number)];
  let at = 0;
  const rows = lines.map((n) => { const row = lineup.xi.slice(at, at + n); at += n; return row; });
  const pitch = h("div", { class: "pitch", "aria-hidden": "true" }, rows.map((row) =>
    h("div", {}, row.map(([number, name]) => h("span", { class: subs.off(name) !== undefined ? "off" : "" }, h("b", {}, number || ""), surname(name))))));
  return h("section", { class: "lineup", "data-team": code },
    h("h3", {}, flag(code), ` ${code} · ${lineup.f}`), pitch,
    h("ol", { class: "xi", "aria-label": t("{team} starting XI", { team: code }) }, lineup.xi.map((p) => player(ctx, p, subs))),
    lineup.b.length ? [h("h4", {}, t("Bench")), h("ol", { class: "xi bench" }, lineup.b.map((p) => player(ctx, p, subs)))] : "");
}

// A name on the pitch: without the first given name ("Di María", "Mac Allister").
const surname = (name) => { const parts = name.split(" "); return parts.length > 1 ? parts.slice(1).join(" ") : name; };

export function lineups(ctx, m) {
  const { h, t } = ctx;
  const lu = m.lu || {};
  if (!lu[m.h] && !lu[m.a]) return h("p", { class: "muted" }, t("Line-ups are not in yet."));
  const subs = changes(m.ev);
  const credit = Object.values(lu).map((l) => l.cr).find(Boolean);
  return h("div", { id: "lineups" }, h("div", { class: "lineups" }, [m.h, m.a].filter((c) => lu[c]).map((c) => side(ctx, c, lu[c], subs))),
    credit ? h("p", { class: "muted small" }, t("Line-ups: {source}", { source: credit })) : "");
}

export function stats(ctx, m, period, choose) {
  const { h, t } = ctx;
  if (!m.sx || !Object.keys(m.sx).length) return h("p", { class: "muted" }, t("No statistics yet."));
  const periods = [["all", t("Match")], ...Object.keys(m.sx).sort().map((p) => [p, t(PERIOD_NAMES[p])])];
  const pick = h("div", { class: "tabs", role: "group", "aria-label": t("Period") }, periods.map(([p, label]) =>
    h("button", { type: "button", class: p === period ? "on" : "", "aria-pressed": String(p === period), on: { click: () => choose(p) } }, label)));
  const f = figures(m.sx, period);
  const rows = STATS.filter(([key]) => f.h[key] !== undefined || f.a[key] !== undefined).map(([key, name]) => {
    const home = f.h[key] ?? 0, away = f.a[key] ?? 0, share = home + away ? home / (home + away) : 0.5;
    const unit = key === "pos" ? "%" : "";
    return h("tr", { "data-stat": key }, h("td", {}, `${home}${unit}`), h("th", { scope: "row" }, t(name), h("div", { class: "share", style: `--h:${share}`, "aria-hidden": "true" })), h("td", {}, `${away}${unit}`));
  });
  return h("div", { id: "stats" }, pick,
    h("table", { class: "stats" }, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, m.h), h("th", {}, ""), h("th", { scope: "col" }, m.a))), h("tbody", {}, rows)),
    m.sim ? h("p", { class: "muted small", id: "simulated" }, t("Simulated statistics: the real match's figures by period are not public.")) : "");
}
