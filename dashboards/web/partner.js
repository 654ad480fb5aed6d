// The partner view (#/partner): what a CSR partner's hotspots deliver. Its sites only (on
// the map and in the table: /map/sites is scoped by the server, a partner cannot ask for
// another's), their availability this month against the partner's SLA target, and its
// reports to download. Staff (admin, engineer) pick the partner. The figures are the
// usage report's (/api/v1/reports/usage?format=json), the same the CSV and PDF carry.
import { lineChart } from "./chart.js";
import { createMap } from "./map.js";
import {
  NO_DATA,
  STATE_COLOURS,
  STATE_LABELS,
  STATE_ORDER,
  bboxOf,
  count,
  duration,
  fill,
  gigabytes,
  h,
  legend,
  monthName,
  monthOf,
  notice,
  panel,
  pct,
  previousMonth,
  stateBadge,
  table,
  tile,
} from "./viewkit.js";

const SITES_REFRESH_MS = 30_000; // the live state of the sites
const REPORT_REFRESH_MS = 300_000; // the month's figures move slowly; the report reads the store
const REPORT_URL = "/api/v1/reports/usage";
// A report reads a month of hourly buckets from the store: seconds, not the shell's default.
const SLOW = { timeoutMs: 30_000 };

/** The query string of a report of `partner` for `month` ("YYYY-MM"). */
function reportQuery(partner, month, format) {
  return new URLSearchParams({ partner, month, format }).toString();
}

/** The partners staff can choose from: every partner that sponsors a site on the map. */
function partnersOf(features) {
  const found = new Map();
  for (const f of features) {
    const p = f.properties;
    if (p.partner) found.set(p.partner, p.partner_name || p.partner);
  }
  return [...found].sort((a, b) => a[1].localeCompare(b[1]));
}

export function mount(el, ctx) {
  const me = ctx.me || {};
  const isPartner = me.role === "partner";
  const city = ctx.config?.city_name || "the city";
  const state = {
    partner: isPartner ? me.partner : null,
    partnerName: isPartner ? me.partner_name || me.partner : null,
    partners: [],
    sites: [],
    districts: [],
    report: null,
    reportError: null,
    month: monthOf(Date.now()), // corrected to the city's calendar once a report tells its zone
    timeZone: null,
    fitted: false,
    generation: 0, // bumps when staff pick another partner: older polls stop
  };
  let alive = true;
  let sitesTimer = null;
  let reportTimer = null;
  let chart = null;

  // --- the frame -----------------------------------------------------------------------
  const title = h("h2", {}, isPartner ? state.partnerName : "Partner hotspots");
  const sub = h("p", { className: "view-sub" }, "Loading…");
  const picker = h("select", { id: "partner-pick", onchange: () => choose(picker.value) });
  const pickerField = isPartner
    ? null
    : h("label", { className: "inline-field", for: "partner-pick" }, "Partner", picker);
  const figures = h("div", { className: "figures", "aria-label": "This month at a glance" });
  const mapPanel = panel("Sites on the map", { className: "panel-map" });
  const mapBox = h("div", { className: "map-box", "aria-label": "Map of the partner's sites" });
  const legendBox = h("div", { className: "legend-box" });
  mapPanel.body.append(mapBox, legendBox);
  const slaPanel = panel("Availability by site this month", { className: "panel-sla" });
  const tablePanel = panel("Sites");
  const trendPanel = panel("Daily availability");
  const downloadsPanel = panel("Reports to download");

  fill(
    el,
    h(
      "div",
      { className: "views-page view-partner" },
      h("header", { className: "view-head" }, h("div", {}, title, sub), pickerField),
      figures,
      h("div", { className: "view-grid" }, mapPanel.node, slaPanel.node),
      tablePanel.node,
      h("div", { className: "view-pair" }, trendPanel.node, downloadsPanel.node),
    ),
  );
  for (const p of [slaPanel, tablePanel, trendPanel, downloadsPanel]) p.body.append(notice("Loading…"));

  let map = null;
  try {
    map = createMap(mapBox, { tileUrl: ctx.config?.tile_url || null, attribution: ctx.config?.tile_attribution || "" });
  } catch (err) {
    mapBox.append(notice(`The map could not be drawn: ${err.message || err}`, "error"));
  }

  // --- loading -------------------------------------------------------------------------
  async function loadSites() {
    if (!isPartner && !state.partners.length) {
      // Staff: the partners to choose from, then the first one's sites.
      const all = await ctx.api("/api/v1/map/sites");
      if (!alive) return;
      state.partners = partnersOf(all.features || []);
      fill(picker, state.partners.map(([id, name]) => h("option", { value: id }, name)));
      if (!state.partner && state.partners.length) {
        select(state.partners[0][0]);
        clearTimeout(reportTimer);
        pollReport();
      }
    }
    const partner = state.partner;
    const q = isPartner ? "" : `?partner=${encodeURIComponent(partner || "")}`;
    const [sites, districts] = await Promise.all([
      state.partner ? ctx.api(`/api/v1/map/sites${q}`) : Promise.resolve({ features: [] }),
      state.districts.length ? Promise.resolve(null) : ctx.api("/api/v1/map/districts"),
    ]);
    if (!alive || partner !== state.partner) return;
    if (districts) state.districts = districts.features || [];
    state.sites = sites.features || [];
    drawAll();
  }

  async function loadReport() {
    if (!state.partner) return;
    const partner = state.partner;
    try {
      let report = await ctx.api(`${REPORT_URL}?${reportQuery(partner, state.month, "json")}`, SLOW);
      const cityMonth = monthOf(Date.now(), report.timezone);
      state.timeZone = report.timezone;
      if (cityMonth !== state.month) {
        state.month = cityMonth;
        report = await ctx.api(`${REPORT_URL}?${reportQuery(partner, state.month, "json")}`, SLOW);
      }
      if (!alive || partner !== state.partner) return;
      state.report = report;
      state.reportError = null;
    } catch (err) {
      if (!alive || partner !== state.partner) return;
      state.report = null;
      state.reportError = err.message || String(err);
    }
    drawAll();
  }

  async function pollSites() {
    const generation = state.generation;
    try {
      await loadSites();
    } catch (err) {
      if (alive) ctx.onError?.(`The sites could not be loaded: ${err.message || err}`);
    }
    if (alive && generation === state.generation) sitesTimer = setTimeout(pollSites, SITES_REFRESH_MS);
  }

  async function pollReport() {
    const generation = state.generation;
    await loadReport();
    if (alive && generation === state.generation) reportTimer = setTimeout(pollReport, REPORT_REFRESH_MS);
  }

  // The partner shown (staff's choice); what was drawn for the one before is dropped.
  function select(partner) {
    state.partner = partner;
    state.partnerName = state.partners.find(([id]) => id === partner)?.[1] || partner;
    picker.value = partner;
    state.report = null;
    state.reportError = null;
    state.sites = [];
    state.fitted = false;
  }

  function choose(partner) {
    if (!partner || partner === state.partner) return;
    select(partner);
    state.generation += 1;
    clearTimeout(sitesTimer);
    clearTimeout(reportTimer);
    drawAll();
    pollSites();
    pollReport();
  }

  // --- figures -------------------------------------------------------------------------
  const reportSite = (id) => state.report?.sites.find((s) => s.site === id) || null;
  const target = () => state.report?.sla_target_pct ?? ctx.config?.sla_target_pct ?? null;

  function drawAll() {
    title.textContent = state.partnerName || state.report?.partner_name || "Partner hotspots";
    const r = state.report;
    const period = periodName(r ? r.period_label : state.month);
    sub.textContent = state.partner
      ? `${count(state.sites.length)} sponsored sites in ${city} · ${period} so far · SLA target ${pct(target())}`
      : "No partner sponsors a site yet.";
    drawFigures();
    drawMap();
    drawSla();
    drawTable();
    drawTrend();
    drawDownloads();
  }

  // "2026-11" reads "November 2026"; a range label ("2026-11-03 to ...") stays as it is.
  function periodName(label) {
    return /^\d{4}-\d{2}$/.test(label || "") ? monthName(label) : label || "";
  }

  function drawFigures() {
    const r = state.report;
    const t = r?.totals;
    const up = state.sites.filter((f) => f.properties.state === "up").length;
    const clients = state.sites.reduce((n, f) => n + (f.properties.clients || 0), 0);
    const anyClients = state.sites.some((f) => typeof f.properties.clients === "number");
    const met = t?.sla_met;
    const tiles = [
      tile({
        label: "Availability this month",
        value: t ? pct(t.availability_pct, 2) : state.reportError ? NO_DATA : "…",
        note: t
          ? met == null ? `target ${pct(target())}` : `${met ? "meets" : "below"} the ${pct(target())} target`
          : state.reportError || "loading the report",
        tone: met == null ? null : met ? "good" : "bad",
        figure: "availability",
      }),
      tile({
        label: "Sites up now",
        value: `${count(up)} / ${count(state.sites.length)}`,
        note: up === state.sites.length ? "all on air" : `${count(state.sites.length - up)} need attention`,
        tone: up === state.sites.length ? "good" : "warn",
        figure: "sites-up",
      }),
      tile({ label: "Devices online now", value: anyClients ? count(clients) : NO_DATA, note: "phones and laptops connected", figure: "clients" }),
      tile({ label: "Downtime this month", value: t ? duration(t.downtime_s) : NO_DATA, note: t ? `${duration(t.maintenance_s)} planned maintenance` : "", figure: "downtime" }),
      tile({
        label: "Data used this month",
        value: t ? gigabytes(t.down_gb + t.up_gb) : NO_DATA,
        note: t ? `${gigabytes(t.down_gb)} down · ${gigabytes(t.up_gb)} up` : "",
        figure: "data",
      }),
      t?.source === "radius"
        ? tile({ label: "Sessions this month", value: count(t.sessions), note: `${count(t.users)} unique users`, figure: "sessions" })
        : tile({ label: "Peak devices this month", value: t ? count(t.clients_peak) : NO_DATA, note: t ? `mean ${count(t.clients_mean)}` : "", figure: "peak" }),
    ];
    fill(figures, tiles);
  }

  function drawMap() {
    if (!map) return;
    map.setLayer("districts", state.districts.filter((f) => f.geometry), {
      fill: () => "#f1f3f5",
      stroke: () => "#868e96",
      className: () => "district-area district-plain",
      title: (f) => f.properties.name,
    });
    map.setLayer("sites", state.sites, {
      fill: (f) => STATE_COLOURS[f.properties.state] || STATE_COLOURS.unknown,
      stroke: () => "#ffffff",
      radius: () => 8,
      className: (f) => `site-marker state-${f.properties.state}`,
      title: (f) => {
        const p = f.properties;
        const avail = reportSite(p.id)?.figures.availability_pct;
        return `${p.name} (${p.district_name || p.district || "no district"}): ${STATE_LABELS[p.state] || p.state}, ${p.aps_up}/${p.aps_total} APs up, ${count(p.clients)} devices; ${pct(avail, 2)} this month`;
      },
      label: (f) => f.properties.name,
    });
    fill(
      legendBox,
      legend([
        {
          title: "Sites now",
          items: STATE_ORDER.map((s) => ({
            label: `${STATE_LABELS[s].toLowerCase()} (${state.sites.filter((f) => f.properties.state === s).length})`,
            color: STATE_COLOURS[s],
            shape: "circle",
          })),
        },
      ]),
    );
    if (!state.fitted && state.sites.length) {
      const box = bboxOf(state.sites);
      if (box) {
        map.fit(box);
        state.fitted = true;
      }
    }
  }

  // Horizontal bars from a floor just under the worst figure to 100 %, with the target
  // marked: availability lives between 95 and 100 %, where a 0-based axis shows nothing.
  function drawSla() {
    const r = state.report;
    if (!r) {
      fill(slaPanel.body, notice(state.reportError ? `No report: ${state.reportError}` : "Loading the month's report…", state.reportError ? "error" : "info"));
      return;
    }
    const goal = r.sla_target_pct;
    const values = r.sites.map((s) => s.figures.availability_pct).filter((v) => typeof v === "number");
    const low = Math.max(0, Math.floor(Math.min(goal, ...values) / 5) * 5 - 5);
    const at = (v) => ((Math.max(low, Math.min(100, v)) - low) / (100 - low)) * 100;
    const rows = r.sites.map((s) => {
      const v = s.figures.availability_pct;
      const bar = h("span", { className: "sla-bar" }, h("span", { className: `sla-fill ${s.figures.sla_met === false ? "is-bad" : "is-good"}` }), h("span", { className: "sla-target" }));
      if (typeof v === "number") bar.children[0].style.width = `${at(v)}%`;
      bar.children[1].style.left = `${at(goal)}%`;
      return h(
        "li",
        { dataset: { site: s.site } },
        h("span", { className: "sla-name" }, s.name),
        bar,
        h("span", { className: "sla-value" }, pct(v, 2)),
      );
    });
    fill(
      slaPanel.body,
      rows.length ? h("ul", { className: "sla-bars", "aria-label": "Availability of each site this month" }, rows) : notice("No sponsored sites."),
      h(
        "p",
        { className: "sla-legend" },
        h("span", { className: "key key-good" }), " meets the target ",
        h("span", { className: "key key-bad" }), " below it ",
        h("span", { className: "key key-target" }), ` target ${pct(goal)} · scale ${low} – 100 %`,
      ),
    );
  }

  function drawTable() {
    if (!state.partner) {
      fill(tablePanel.body, notice("No partner to show."));
      return;
    }
    const rows = [...state.sites].sort((a, b) => a.properties.name.localeCompare(b.properties.name, undefined, { numeric: true }));
    fill(
      tablePanel.body,
      table({
        columns: [
          { label: "Site", className: "name", value: (f) => f.properties.name },
          { label: "District", className: "opt", value: (f) => f.properties.district_name || f.properties.district || NO_DATA },
          { label: "Now", value: (f) => stateBadge(f.properties.state) },
          { label: "APs up", num: true, className: "opt", value: (f) => `${count(f.properties.aps_up)} / ${count(f.properties.aps_total)}` },
          { label: "Devices now", num: true, className: "opt", value: (f) => count(f.properties.clients) },
          { label: "Availability this month", num: true, value: (f) => slaCell(reportSite(f.properties.id)?.figures) },
          { label: "Downtime (month)", num: true, className: "opt", value: (f) => duration(reportSite(f.properties.id)?.figures.downtime_s) },
          { label: "Data (month)", num: true, className: "opt", value: (f) => { const x = reportSite(f.properties.id)?.figures; return x ? gigabytes(x.down_gb + x.up_gb) : NO_DATA; } },
          { label: "Incidents (month)", num: true, className: "opt", value: (f) => { const x = reportSite(f.properties.id); return x ? count(x.incidents.length) : NO_DATA; } },
        ],
        rows,
        rowData: (f) => ({ site: f.properties.id }),
        empty: "This partner sponsors no site yet.",
      }),
    );
  }

  function slaCell(figures) {
    if (!figures) return NO_DATA;
    const met = figures.sla_met;
    return h("span", { className: `sla-text ${met === false ? "is-bad" : met ? "is-good" : ""}`.trim() }, pct(figures.availability_pct, 2));
  }

  function drawTrend() {
    chart?.destroy();
    chart = null;
    const r = state.report;
    if (!r) {
      fill(trendPanel.body, notice(state.reportError ? "No report for this month." : "Loading…"));
      return;
    }
    trendPanel.body.replaceChildren();
    // Noon of each local day: the point sits in the middle of its day on the axis.
    const dayMs = (day) => Date.parse(`${day}T12:00:00Z`);
    const days = r.days.map((d) => [dayMs(d.day), d.availability_pct]);
    const series = [
      { label: "Availability", unit: "%", points: days },
      { label: "SLA target", unit: "%", points: days.map(([t]) => [t, r.sla_target_pct]) },
    ];
    try {
      chart = lineChart(trendPanel.body, { series, yLabel: "Availability per day (%)", height: 220 });
    } catch (err) {
      trendPanel.body.append(notice(`The chart could not be drawn: ${err.message || err}`, "error"));
    }
    if (r.previous) {
      trendPanel.body.append(
        h(
          "p",
          { className: "panel-note" },
          r.previous.availability_pct == null
            ? `${periodName(r.previous_label)}: no polls recorded.`
            : `${periodName(r.previous_label)}: ${pct(r.previous.availability_pct, 2)} availability, ${gigabytes(r.previous.down_gb + r.previous.up_gb)} used.`,
        ),
      );
    }
  }

  function drawDownloads() {
    if (!state.partner) {
      downloadsPanel.body.replaceChildren();
      return;
    }
    const months = [state.month, previousMonth(state.month)];
    const rows = months.map((month, i) =>
      h(
        "li",
        { dataset: { month } },
        h("span", { className: "download-month" }, `${monthName(month)}${i === 0 ? " (so far)" : ""}`),
        h("span", { className: "download-links" },
          h("a", { className: "button-link", href: `${REPORT_URL}?${reportQuery(state.partner, month, "pdf")}`, download: "", dataset: { format: "pdf" } }, "PDF report"),
          h("a", { className: "button-link secondary", href: `${REPORT_URL}?${reportQuery(state.partner, month, "csv")}`, download: "", dataset: { format: "csv" } }, "CSV data")),
      ),
    );
    fill(
      downloadsPanel.body,
      h("ul", { className: "downloads" }, rows),
      h("p", { className: "panel-note" }, "Availability, downtime, data and usage per site, ready for the board. No user is identified in any report."),
    );
  }

  if (state.partner) picker.append(h("option", { value: state.partner }, state.partnerName));
  drawAll();
  pollSites();
  pollReport();

  return () => {
    alive = false;
    clearTimeout(sitesTimer);
    clearTimeout(reportTimer);
    chart?.destroy();
    map?.destroy();
  };
}
