// The prediction game: a whole matchday in one form with one save (each match locking at
// its own kick-off by the server's clock), the jokers of its rounds, the tournament picks
// (champion, finalists, top scorer) and the fan's history with the points of each pick.
// Loaded the first time the Play page opens.

const KIND_NAMES = { score: "Exact score", winner: "Winner", first_scorer: "First scorer", possession: "Possession" };

export async function playPage(ctx, comp, tab, day) {
  const { h, t, show } = ctx;
  const tabs = h("div", { class: "tabs", role: "tablist" }, [["day", t("Matchday")], ["picks", t("Tournament picks")], ["history", t("History")]].map(([key, label]) =>
    h("a", { href: `#/play/${comp.slug}/${key}`, class: key === tab ? "on" : "", role: "tab", "aria-selected": String(key === tab) }, label)));
  const head = [h("h2", {}, `${t("Predict")}: ${comp.name}`), tabs, h("p", { class: "muted" }, h("a", { href: "#/rules" }, t("How points are scored")))];
  if (tab === "picks") return show(...head, await outrightsCard(ctx, comp));
  if (tab === "history") return show(...head, await historyCard(ctx));
  return matchday(ctx, comp, head, day);
}

const isOpen = (m, now) => (m.status === "scheduled" && Date.parse(m.kickoff) > now) || m.status === "postponed";

async function matchday(ctx, comp, head, day) {
  const { h, t, api, clock, show, every, allPages, dayKey, dayLabel, rememberTeam } = ctx;
  const [matches, mineAll, jokers] = await Promise.all([allPages(`matches/?competition=${comp.slug}`), allPages("me/predictions/"), api("me/jokers/")]);
  for (const m of matches) { rememberTeam(m.home); rememberTeam(m.away); }
  const now = clock.now();
  const byDay = new Map();
  for (const m of matches) { const k = dayKey(m.kickoff); if (!byDay.has(k)) byDay.set(k, []); byDay.get(k).push(m); }
  const days = [...byDay.keys()].sort();
  const chosen = byDay.has(day) ? day : days.find((d) => byDay.get(d).some((m) => isOpen(m, now))) || days[days.length - 1];
  const strip = h("div", { class: "days", id: "play-days", role: "tablist", "aria-label": t("Match days") }, days.map((d) =>
    h("a", { href: `#/play/${comp.slug}/day/${d}`, class: [d === chosen ? "on" : "", byDay.get(d).some((m) => isOpen(m, now)) ? "open" : ""].join(" "), role: "tab", "aria-selected": String(d === chosen) }, dayLabel(d))));
  const mine = new Map(mineAll.map((p) => [`${p.match}/${p.kind}`, p]));
  const jokerOn = new Map(jokers.map((j) => [j.stage, j.match]));
  const list = byDay.get(chosen) || [];
  const msg = h("p", { id: "day-msg", role: "status" });
  const rows = list.map((m) => matchFieldset(ctx, m, mine, jokerOn));
  const save = h("button", { id: "save-day" }, t("Save matchday"));
  const form = h("form", { id: "matchday", on: { submit: async (e) => {
    e.preventDefault();
    const picks = [], chosenJokers = [];
    for (const row of rows) {
      if (row.locked()) continue;
      picks.push(...row.picks());
      const joker = row.joker();
      if (joker && jokerOn.get(row.match.stage) !== row.match.slug) chosenJokers.push(row.match.slug);
    }
    if (!picks.length && !chosenJokers.length) { msg.textContent = t("Nothing to save: fill in a score or a winner."); msg.className = "muted"; return; }
    save.disabled = true;
    try {
      const answer = await api("me/matchday/", { method: "POST", body: { picks, jokers: chosenJokers } });
      for (const p of answer.saved) mine.set(`${p.match}/${p.kind}`, p);
      for (const j of answer.jokers) jokerOn.set(j.stage, j.match);
      const refused = answer.refused.map((r) => `${label(ctx, list.find((m) => m.slug === r.match))}: ${r.code === "locked" ? t("locked, it has kicked off") : r.detail}`);
      msg.replaceChildren(t("{n} saved.", { n: answer.saved.length + answer.jokers.length }), ...refused.map((r) => h("span", { class: "err" }, ` ${r}`)));
      msg.className = refused.length ? "" : "ok";
      for (const row of rows) row.refresh();
    } catch (err) { msg.textContent = err.message; msg.className = "err"; }
    save.disabled = false;
    tick();
  } } }, rows.map((r) => r.node), list.length ? [save, msg] : h("p", { class: "muted" }, t("No matches this day.")));
  const tick = () => {
    for (const r of rows) r.tick();
    save.disabled = rows.every((r) => r.locked());
  };
  every(1000, tick);
  show(...head, strip, h("div", { class: "card" }, form));
  strip.querySelector(".on")?.scrollIntoView({ inline: "center", block: "nearest" });
  tick();
}

const label = ({ teamName }, m) => (m ? `${teamName(m.home.code, m.home.name)} v ${teamName(m.away.code, m.away.name)}` : "");

function matchFieldset(ctx, m, mine, jokerOn) {
  const { h, t, clock, flag, lang, countdownText, teamName } = ctx;
  const pick = (kind) => mine.get(`${m.slug}/${kind}`) || {};
  const kickoff = () => Date.parse(m.kickoff);
  const locked = () => (m.status === "scheduled" ? clock.now() >= kickoff() : m.status !== "postponed");
  const num = (name, value, who) => h("input", { name, type: "number", min: 0, max: 30, value: value ?? "", inputmode: "numeric", "aria-label": t("{team} goals", { team: who }) });
  const home = teamName(m.home.code, m.home.name), away = teamName(m.away.code, m.away.name);
  const score = pick("score"), winner = pick("winner");
  const hg = num("home_goals", score.home_goals, home), ag = num("away_goals", score.away_goals, away);
  const outcome = h("select", { name: "outcome", "aria-label": t("Winner") }, h("option", { value: "" }, t("Winner…")),
    [["H", home], ["D", t("Draw")], ["A", away]].map(([v, text]) => h("option", { value: v, selected: winner.outcome === v }, text)));
  const joker = h("input", { type: "radio", name: `joker-${m.stage}`, value: m.slug, checked: jokerOn.get(m.stage) === m.slug, "aria-label": t("Joker on {match}", { match: label(ctx, m) }) });
  const state = h("span", { class: "muted lock" });
  const points = h("span", { class: "pts-line" });
  const when = new Date(m.kickoff).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
  const node = h("fieldset", { class: "md", "data-slug": m.slug },
    h("legend", {}, flag(m.home.code), ` ${label(ctx, m)} `, flag(m.away.code), h("span", { class: "muted" }, ` · ${when}`)),
    h("div", { class: "md-row" }, hg, h("span", {}, "–"), ag, outcome, h("label", { class: "toggle" }, joker, t("Joker"))),
    state, points);
  const refresh = () => {
    const done = ["score", "winner"].map((k) => pick(k)).filter((p) => p.status === "settled" || p.status === "void");
    points.textContent = done.length ? t("{n} pts on this match", { n: done.reduce((a, p) => a + p.points, 0) }) : "";
  };
  const row = {
    match: m, node, locked, refresh,
    tick() {
      const shut = locked();
      node.disabled = shut;
      node.classList.toggle("locked", shut);
      state.textContent = shut ? t("Locked") : countdownText(kickoff() - clock.now());
    },
    picks() {
      const out = [];
      if (hg.value !== "" && ag.value !== "") out.push({ match: m.slug, kind: "score", home_goals: Number(hg.value), away_goals: Number(ag.value) });
      if (outcome.value) out.push({ match: m.slug, kind: "winner", outcome: outcome.value });
      return out;
    },
    joker: () => joker.checked,
  };
  refresh();
  return row;
}

async function outrightsCard(ctx, comp) {
  const { h, t, api, allPages, clock, teamName, rememberTeam } = ctx;
  const [matches, mine, teams] = await Promise.all([allPages(`matches/?competition=${comp.slug}`), api("me/outrights/"), ctx.allTeams()]);
  const playing = new Set(matches.flatMap((m) => [m.home.code, m.away.code]));
  const field = teams.filter((tm) => playing.has(tm.code)).map(rememberTeam);
  const first = Math.min(...matches.map((m) => Date.parse(m.kickoff)));
  const locked = matches.some((m) => !["scheduled", "postponed"].includes(m.status)) || clock.now() >= first;
  const own = mine.filter((o) => o.competition === comp.slug);
  const ofKind = (k) => own.filter((o) => o.kind === k);
  const teamSelect = (name, value, aria) => h("select", { name, "aria-label": aria }, h("option", { value: "" }, t("Choose…")),
    field.map((tm) => h("option", { value: tm.code, selected: tm.code === value }, teamName(tm.code, tm.name))));
  const champion = teamSelect("champion", ofKind("champion")[0]?.team, t("Champion"));
  const [f1, f2] = [0, 1].map((n) => teamSelect(`finalist${n}`, ofKind("finalist")[n]?.team, t("Finalist {n}", { n: n + 1 })));
  const scorerTeam = teamSelect("scorer_team", "", t("Top scorer's team"));
  const scorer = h("select", { name: "top_scorer", "aria-label": t("Top scorer") }, h("option", { value: ofKind("top_scorer")[0]?.player ?? "" }, ofKind("top_scorer")[0] ? t("Your pick (#{id})", { id: ofKind("top_scorer")[0].player }) : t("Choose a team first")));
  scorerTeam.addEventListener("change", async () => {
    const players = scorerTeam.value ? await api(`teams/${scorerTeam.value}/players/`) : [];
    scorer.replaceChildren(h("option", { value: "" }, t("Choose…")), ...players.map((p) => h("option", { value: p.id }, p.name)));
  });
  const msg = h("p", { id: "outright-msg", role: "status" });
  const points = own.reduce((a, o) => a + o.points, 0);
  const form = h("form", { id: "outrights", on: { submit: async (e) => {
    e.preventDefault();
    const puts = [];
    if (champion.value) puts.push(["champion", { teams: [champion.value] }]);
    if (f1.value && f2.value) puts.push(["finalist", { teams: [f1.value, f2.value] }]);
    if (scorer.value) puts.push(["top_scorer", { player: Number(scorer.value) }]);
    try {
      for (const [kind, body] of puts) await api(`competitions/${comp.slug}/outrights/${kind}/`, { method: "PUT", body });
      msg.textContent = t("Tournament picks saved."); msg.className = "ok";
    } catch (err) { msg.textContent = err.status === 409 ? t("Locked: the tournament has kicked off.") : err.message; msg.className = "err"; }
  } } },
  h("label", {}, t("Champion"), champion), h("label", {}, t("Finalists"), h("div", { class: "md-row" }, f1, f2)),
  h("label", {}, t("Top scorer"), h("div", { class: "md-row" }, scorerTeam, scorer)),
  h("button", { disabled: locked }, t("Save tournament picks")), msg);
  if (locked) for (const el of form.querySelectorAll("select")) el.disabled = true;
  return h("div", { class: "card", id: "outrights-card" },
    h("p", { class: "muted", id: "outright-lock" }, locked ? t("Locked: the tournament has kicked off.") : t("Open until the tournament's first kick-off.")),
    own.length && locked ? h("p", {}, t("Your tournament picks: {n} pts so far", { n: points })) : "", form);
}

async function historyCard(ctx) {
  const { h, t, allPages, flag, teamName, lang, plural } = ctx;
  const mine = await allPages("me/predictions/");
  const byMatch = new Map();
  for (const p of mine) { if (!byMatch.has(p.match)) byMatch.set(p.match, []); byMatch.get(p.match).push(p); }
  const total = mine.reduce((a, p) => a + (p.points || 0), 0);
  const rows = [...byMatch.values()].sort((a, b) => Date.parse(b[0].fixture.kickoff) - Date.parse(a[0].fixture.kickoff)).map((picks) => {
    const f = picks[0].fixture;
    const settled = picks.filter((p) => p.status === "settled" || p.status === "void");
    const pts = settled.reduce((a, p) => a + p.points, 0);
    const result = f.status === "scheduled" ? new Date(f.kickoff).toLocaleDateString(lang, { day: "numeric", month: "short" }) : `${f.home_score}-${f.away_score}`;
    return h("a", { class: "row", href: `#/m/${picks[0].match}`, "data-match": picks[0].match },
      h("span", { class: "teams" }, h("span", { class: "team" }, flag(f.home), ` ${teamName(f.home)} v ${teamName(f.away)} `, flag(f.away)),
        h("span", { class: "muted small" }, picks.map((p) => `${t(KIND_NAMES[p.kind])}${p.status === "settled" ? ` ${p.points}` : ""}`).join(" · "))),
      h("span", { class: "muted" }, result), h("b", { class: "pts" }, settled.length ? plural(pts, "pt") : "–"));
  });
  return h("div", { class: "card", id: "history" }, h("p", {}, h("b", { id: "history-total" }, t("{n} points from {m} matches", { n: total, m: byMatch.size }))),
    rows.length ? rows : h("p", { class: "muted" }, t("No predictions yet.")));
}
