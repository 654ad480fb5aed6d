// The access point view (#/ap/<id>): who and where it is, its state now, charts of its
// clients, traffic, availability, CPU and hotspot sessions over a chosen range, its state
// changes and its incident history. Text goes in as text only; no style attributes (CSP).

import { lineChart } from "./chart.js";
import { html as h, duration } from "./dom.js";
import { classWords } from "./words.js";

const REFRESH_MS = 5000;
const CHARTS_EVERY_MS = 60_000;
const RANGES = [
  ["1h", "1 h", 3600],
  ["24h", "24 h", 86400],
  ["7d", "7 d", 7 * 86400],
  ["30d", "30 d", 30 * 86400],
];
const STATE_MARK = { up: "▲", down: "▼", unknown: "?", degraded: "◆" };
const CAUSE = {
  answered: "answered",
  timeout: "no answer (timeout)",
  refused: "refused",
  auth_failure: "authentication failed",
  malformed: "unreadable answer",
};

// What each chart shows: the metrics it draws and how a stored value becomes a shown one.
const CHARTS = [
  { key: "clients", title: "Clients", yLabel: "clients", series: [{ metric: "clients", label: "Clients", unit: "clients" }] },
  {
    key: "traffic",
    title: "Uplink traffic",
    yLabel: "Mbit/s",
    series: [
      { metric: "rx_bps", label: "Received", unit: "Mbit/s", scale: 1e-6 },
      { metric: "tx_bps", label: "Sent", unit: "Mbit/s", scale: 1e-6 },
    ],
  },
  {
    key: "availability",
    title: "Availability",
    yLabel: "% of polls answered",
    series: [{ metric: "reachable", label: "Polls answered", unit: "%", scale: 100 }],
  },
  { key: "cpu", title: "CPU", yLabel: "% busy", series: [{ metric: "cpu_pct", label: "CPU busy", unit: "%" }] },
  {
    key: "sessions",
    title: "Hotspot sessions",
    yLabel: "sessions",
    series: [{ metric: "hotspot_sessions", label: "Active sessions", unit: "sessions" }],
  },
];

function ago(iso) {
  if (!iso) return "never";
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (!Number.isFinite(s)) return "–";
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

function when(iso) {
  return new Date(iso).toLocaleString([], { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}

function percent(ratio) {
  if (ratio == null || !Number.isFinite(ratio)) return "–";
  const p = ratio * 100;
  return (p >= 99.95 || p === 0 ? p.toFixed(0) : p.toFixed(1)) + " %";
}

function mbits(bps) {
  if (bps == null || !Number.isFinite(bps)) return "–";
  const v = bps / 1e6;
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} Mbit/s`;
}

export function mount(el, ctx) {
  const apId = ctx.route.arg;
  const perms = new Set(ctx.me.permissions || []);
  const canReadIncidents = perms.has("incidents:read");
  const wanted = ctx.route.params.get("range");
  const view = {
    row: null,
    range: RANGES.some((r) => r[0] === wanted) ? wanted : "24h",
    alive: true,
    timer: 0,
    chartsAt: 0,
    charts: [],
    loadedAt: null,
  };

  // --- layout ----------------------------------------------------------------------------

  el.classList.add("ap-view");
  const back = h("a", "back-link", "← Overview");
  back.href = "#/"; // the role's first view
  const head = h("section", "view-head ap-head");
  const title = h("h2", "", apId);
  title.id = "ap-name";
  const badge = h("span", "state state-unknown", "…");
  badge.id = "ap-state";
  const updated = h("p", "updated", "loading…");
  head.append(title, badge, updated);

  const facts = h("dl", "card facts");
  facts.id = "ap-facts";

  const rangeBar = h("div", "range-bar");
  rangeBar.setAttribute("role", "group");
  rangeBar.setAttribute("aria-label", "Time range");
  rangeBar.append(h("span", "range-label", "Range"));
  const rangeButtons = [];
  for (const [key, label] of RANGES) {
    const b = h("button", "btn range", label);
    b.type = "button";
    b.dataset.range = key;
    b.addEventListener("click", () => {
      if (view.range === key) return;
      view.range = key;
      ctx.setParams({ range: key });
      markRange();
      loadCharts();
    });
    rangeButtons.push(b);
    rangeBar.append(b);
  }

  const chartGrid = h("div", "chart-grid");
  const chartBoxes = new Map();
  for (const spec of CHARTS) {
    const card = h("section", "card chart-card");
    card.dataset.chart = spec.key;
    card.append(h("h3", "", spec.title));
    const box = h("div", "chart-box");
    card.append(box);
    chartGrid.append(card);
    chartBoxes.set(spec.key, box);
  }

  const lower = h("div", "ap-lower");
  const eventsCard = h("section", "card");
  eventsCard.append(h("h3", "", "State changes"));
  const eventsList = h("ul", "event-list");
  eventsList.id = "ap-events";
  eventsCard.append(eventsList);
  lower.append(eventsCard);
  const incCard = h("section", "card");
  const incList = h("ul", "event-list");
  incList.id = "ap-incidents";
  if (canReadIncidents) {
    incCard.append(h("h3", "", "Incident history"), incList);
    lower.append(incCard);
  }

  el.append(back, head, facts, rangeBar, chartGrid, lower);

  function markRange() {
    for (const b of rangeButtons) b.setAttribute("aria-pressed", String(b.dataset.range === view.range));
  }
  markRange();

  // --- rendering -------------------------------------------------------------------------

  function fact(label, value, sub) {
    const wrap = h("div", "fact");
    wrap.append(h("dt", "", label));
    const dd = h("dd", "", value);
    if (sub) dd.append(h("span", "sub", sub));
    wrap.append(dd);
    return wrap;
  }

  function renderFacts() {
    const r = view.row;
    if (!r) return;
    title.textContent = r.name || r.ap_id;
    document.title = `${r.name || r.ap_id} — ${ctx.config.city_name ? `${ctx.config.city_name} public Wi-Fi` : "citywifi"}`;
    badge.className = `state state-${r.state}`;
    badge.textContent = `${STATE_MARK[r.state] || "?"} ${r.state}`;
    const up = r.state === "up";
    facts.replaceChildren(
      fact("Site", r.site_name || r.site_id),
      fact("District", r.district_name || "–"),
      fact("Partner", r.partner_name || "the city"),
      fact("State", `${r.state}`, r.since ? `for ${duration((Date.now() - Date.parse(r.since)) / 1000)}` : ""),
      fact("Clients now", up && r.clients != null ? String(Math.round(r.clients)) : "—"),
      fact("Uplink now", up ? `↓ ${mbits(r.rx_bps)}` : "—", up ? `↑ ${mbits(r.tx_bps)}` : ""),
      fact("Uptime", up ? duration(r.uptime_s) : "—"),
      fact("Availability", percent(r.availability), "polls answered since first poll"),
      fact("Last seen", ago(r.last_seen), r.last_error ? `last error: ${r.last_error}` : ""),
      fact("Device id", r.ap_id),
    );
  }

  async function loadStatus() {
    const status = await ctx.api("/api/v1/status?limit=5000");
    if (!view.alive) return;
    view.row = (status.data || []).find((r) => r.ap_id === apId) || null;
    if (!view.row) throw Object.assign(new Error(`access point ${apId} is not known or not visible to you`), { status: 404 });
    view.loadedAt = Date.now();
    renderFacts();
  }

  async function loadCharts() {
    const span = RANGES.find((r) => r[0] === view.range)[2];
    const end = Date.now() / 1000;
    const start = end - span;
    const range = view.range;
    const metrics = [...new Set(CHARTS.flatMap((c) => c.series.map((s) => s.metric)))];
    const answers = await Promise.all(
      metrics.map((m) =>
        ctx
          .api(`/api/v1/aps/${encodeURIComponent(apId)}/series?metric=${m}&start=${start.toFixed(0)}&end=${end.toFixed(0)}`)
          .then((body) => [m, body])
          .catch((err) => {
            if (err.status === 401) throw err;
            return [m, null];
          }),
      ),
    );
    if (!view.alive || range !== view.range) return;
    const byMetric = new Map(answers);
    for (const c of view.charts) c.destroy();
    view.charts = [];
    for (const spec of CHARTS) {
      const box = chartBoxes.get(spec.key);
      box.replaceChildren();
      const series = spec.series.map((s) => {
        const body = byMetric.get(s.metric);
        const points = body
          ? body.points.map((p) => [Date.parse(p.ts), p.value == null ? null : p.value * (s.scale || 1)])
          : [];
        return { label: s.label, unit: s.unit, points };
      });
      view.charts.push(lineChart(box, { series, yLabel: spec.yLabel, height: 200 }));
    }
    view.chartsAt = Date.now();
  }

  function item(list, cls, main, sub, at) {
    const li = h("li", cls);
    const line = h("div", "event-main");
    line.append(main);
    li.append(line);
    if (sub) li.append(h("div", "event-sub", sub));
    const t = h("time", "event-time", when(at));
    t.dateTime = at;
    t.title = at;
    line.append(t);
    list.append(li);
  }

  async function loadEvents() {
    const [events, incidents] = await Promise.all([
      ctx.api(`/api/v1/aps/${encodeURIComponent(apId)}/events?limit=30`),
      canReadIncidents ? ctx.api(`/api/v1/aps/${encodeURIComponent(apId)}/incidents?limit=30`) : Promise.resolve(null),
    ]);
    if (!view.alive) return;
    eventsList.replaceChildren();
    for (const e of events.data) {
      const main = h("span", "");
      main.append(h("span", `state state-${e.from_state}`, e.from_state), " → ", h("span", `state state-${e.to_state}`, e.to_state));
      item(eventsList, "event", main, [CAUSE[e.cause] || e.cause, e.detail].filter(Boolean).join(" — "), e.at);
    }
    if (!events.data.length) eventsList.append(h("li", "hint", "No state changes recorded."));
    if (incidents) {
      incList.replaceChildren();
      for (const i of incidents.data) {
        const main = h("span", "");
        main.append(h("strong", "", classWords(i.class)), " ", h("span", `incident-state incident-state-${i.state}`, i.state));
        const took = i.resolved_at ? `resolved after ${duration((Date.parse(i.resolved_at) - Date.parse(i.opened_at)) / 1000)}` : "still open";
        item(incList, "event", main, `${i.explanation} · ${took}`, i.opened_at);
      }
      if (!incidents.data.length) incList.append(h("li", "hint", "No incidents involved this access point."));
    }
  }

  async function refresh() {
    try {
      const jobs = [loadStatus(), loadEvents()];
      if (Date.now() - view.chartsAt > CHARTS_EVERY_MS) jobs.push(loadCharts());
      await Promise.all(jobs);
      if (!view.alive) return;
      ctx.onError("");
      updated.textContent = `last updated ${new Date(view.loadedAt).toLocaleTimeString()}`;
    } catch (err) {
      if (!view.alive || err.status === 401) return;
      ctx.onError(`Could not load the access point: ${err.message}. Retrying every ${REFRESH_MS / 1000} s.`);
    } finally {
      if (view.alive) view.timer = setTimeout(refresh, REFRESH_MS);
    }
  }

  refresh();

  return () => {
    view.alive = false;
    clearTimeout(view.timer);
    for (const c of view.charts) c.destroy();
    el.classList.remove("ap-view");
  };
}
