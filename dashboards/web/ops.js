// The operations view: the city map (sites by state over district boundaries), the live
// counts, the open incidents with acknowledge/resolve, and the filterable status table.
// Polls every 5 s; a failed poll keeps the last good data on screen and says so.
// Text goes in as text only (names come from import files); no style attributes (CSP).

import { STATE_COLORS, createMap } from "./map.js";
import { html as h, duration } from "./dom.js";
import { citizenReports } from "./citizens.js";
import { orderForm, workOrders } from "./orders.js";
import { ORDER_STATE, classWords } from "./words.js";

const REFRESH_MS = 5000;
const DISTRICTS_EVERY = 6; // polls: boundaries barely change, their counts do slowly
const STATE_RANK = { down: 0, unknown: 1, degraded: 2, up: 3 };
const STATE_MARK = { up: "▲", down: "▼", unknown: "?", degraded: "◆" };
const STATE_WORD = { up: "Up", degraded: "Degraded", down: "Down", unknown: "Unknown" };
const MAINTENANCE_COLOR = "#8250df";
// Shown instead of a figure the API does not give as current (the AP is not up).
const NOT_CURRENT = "—";
const RESPONSIBLE = { noc: "network operations", operator: "uplink operator", utility: "power utility", sponsor: "site sponsor" };

// --- small helpers -----------------------------------------------------------------------

function ago(iso) {
  if (!iso) return "never";
  const ms = Date.now() - Date.parse(iso);
  if (!Number.isFinite(ms)) return "–";
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

function mbits(bps) {
  if (bps == null || !Number.isFinite(bps)) return "–";
  const v = bps / 1e6;
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function percent(ratio) {
  if (ratio == null || !Number.isFinite(ratio)) return "–";
  const p = ratio * 100;
  return (p >= 99.95 || p === 0 ? p.toFixed(0) : p.toFixed(1)) + " %";
}

function count(n) {
  return n == null || !Number.isFinite(n) ? "–" : String(Math.round(n));
}

function clockTime(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

// --- the view ------------------------------------------------------------------------------

export function mount(el, ctx) {
  const perms = new Set(ctx.me.permissions || []);
  const canReadIncidents = perms.has("incidents:read");
  const canAct = perms.has("incidents:act");
  const canOrder = canReadIncidents && perms.has("work-orders:manage");
  const partnerColumn = ctx.me.role !== "partner" && !ctx.me.partner;
  const params = ctx.route.params;

  const view = {
    rows: [],
    summary: null,
    sites: null,
    districts: null,
    incidents: [],
    loadedAt: null,
    sortKey: "state",
    sortDir: 1,
    text: params.get("q") || "",
    state: params.get("state") in STATE_RANK ? params.get("state") : "",
    polls: 0,
    alive: true,
    timer: 0,
    openSite: null, // the site whose panel is open
    busy: new Set(), // incident ids with a request in flight
    resolving: null, // the open resolve form: {id, node, input, ok}
    ordering: null, // { id, form } : the incident whose work-order form is open (kept across polls)
  };
  const sort = params.get("sort") || "";
  if (sort.replace(/^-/, "") in SORT_VALUE) {
    view.sortKey = sort.replace(/^-/, "");
    view.sortDir = sort.startsWith("-") ? -1 : 1;
  }

  // --- layout --------------------------------------------------------------------------

  const city = ctx.config.city_name || "the city";
  const head = h("section", "view-head");
  head.append(h("h2", "", `Operations — ${city}`));
  const updated = h("p", "updated", "loading…");
  updated.id = "updated";
  updated.setAttribute("aria-live", "polite");
  head.append(updated);

  const tiles = h("section", "tiles ops-tiles");
  tiles.setAttribute("aria-label", "Access point counts");
  const tileCount = {};
  for (const [state, mark, label] of [
    ["up", "▲", "APs up"],
    ["down", "▼", "APs down"],
    ["unknown", "?", "APs unknown"],
    ["", "", "APs in total"],
  ]) {
    const b = h("button", `tile tile-${state || "total"}`);
    b.type = "button";
    b.dataset.state = state;
    b.setAttribute("aria-pressed", "false");
    const n = h("span", "tile-count", "–");
    n.id = `count-${state || "total"}`;
    tileCount[state || "total"] = n;
    const l = h("span", "tile-label");
    if (mark) l.append(h("span", "", `${mark} `));
    l.append(label);
    b.append(n, l);
    b.addEventListener("click", () => setState(view.state === state ? "" : state));
    tiles.append(b);
  }
  let incidentCount = null;
  if (canReadIncidents) {
    const t = h("a", "tile tile-incidents");
    t.href = "#incidents";
    t.addEventListener("click", (e) => {
      e.preventDefault();
      incidentsCard.scrollIntoView({ behavior: "smooth", block: "start" });
    });
    incidentCount = h("span", "tile-count", "–");
    incidentCount.id = "count-incidents";
    t.append(incidentCount, h("span", "tile-label", "open incidents"));
    tiles.append(t);
  }

  const grid = h("div", `ops-grid${canReadIncidents ? "" : " ops-grid-wide"}`);
  const mapCard = h("section", "card ops-map-card");
  mapCard.setAttribute("aria-label", "Map of sites");
  const mapHead = h("div", "card-head");
  mapHead.append(h("h3", "", "Sites by state"));
  const siteLine = h("p", "hint", "");
  siteLine.id = "site-summary";
  mapHead.append(siteLine);
  const mapBox = h("div", "ops-map");
  const sitePanel = h("aside", "site-panel");
  sitePanel.hidden = true;
  sitePanel.setAttribute("aria-live", "polite");
  mapBox.append(sitePanel);
  const mapNote = h("p", "hint map-note");
  mapNote.hidden = true;
  mapCard.append(mapHead, mapBox, mapNote);
  grid.append(mapCard);

  const incidentsCard = h("section", "card ops-incidents");
  incidentsCard.id = "incidents";
  const incHead = h("h3", "", "Open incidents");
  const incList = h("ul", "incident-list");
  incList.id = "incident-list";
  const incNote = h("p", "hint", "Loading incidents…");
  incidentsCard.append(incHead, incNote, incList);
  if (canReadIncidents) grid.append(incidentsCard);

  const tableCard = h("section", "card ops-table");
  const filters = h("form", "filters");
  filters.id = "filters";
  filters.setAttribute("role", "search");
  const filterLabel = h("label");
  filterLabel.append(h("span", "", "Filter"));
  const filter = h("input");
  filter.type = "search";
  filter.id = "filter";
  filter.autocomplete = "off";
  filter.placeholder = partnerColumn ? "AP, site, district or partner" : "AP, site or district";
  filter.value = view.text;
  filterLabel.append(filter);
  const stateLabel = h("label");
  stateLabel.append(h("span", "", "State"));
  const stateSelect = h("select");
  stateSelect.id = "state";
  for (const [v, t] of [["", "all"], ["down", "down"], ["unknown", "unknown"], ["up", "up"]]) {
    const o = h("option", "", t);
    o.value = v;
    stateSelect.append(o);
  }
  stateSelect.value = view.state;
  stateLabel.append(stateSelect);
  const shown = h("p", "shown");
  shown.id = "shown";
  shown.setAttribute("aria-live", "polite");
  filters.append(filterLabel, stateLabel, shown);

  const wrap = h("div", "table-wrap");
  const table = h("table");
  table.id = "aps";
  const caption = h("caption", "visually-hidden", "Access points, one row each; click a column heading to sort.");
  const thead = h("thead");
  const hr = h("tr");
  const COLUMNS = [
    ["state", "State", ""],
    ["ap", "Access point", ""],
    ["site", "Site", ""],
    ["district", "District", ""],
    ...(partnerColumn ? [["partner", "Partner", "col-partner"]] : []),
    ["clients", "Clients", "num"],
    ["uptime", "Uptime", "num"],
    ["rx", "Rx Mbit/s", "num"],
    ["tx", "Tx Mbit/s", "num"],
    ["avail", "Avail.", "num"],
    ["seen", "Last seen", "num"],
  ];
  for (const [key, label, cls] of COLUMNS) {
    const th = h("th", cls);
    th.scope = "col";
    th.dataset.key = key;
    const b = h("button", "", label);
    b.type = "button";
    b.addEventListener("click", () => {
      view.sortDir = view.sortKey === key ? -view.sortDir : 1;
      view.sortKey = key;
      writeParams();
      renderTable();
    });
    th.append(b);
    hr.append(th);
  }
  thead.append(hr);
  const tbody = h("tbody");
  tbody.id = "rows";
  table.append(caption, thead, tbody);
  wrap.append(table);
  tableCard.append(h("h3", "", "Access points"), filters, wrap);

  // Citizens' reports (citizens.js) between the incidents and the table, for those who may read them.
  const citizens = perms.has("citizen-reports:read") ? citizenReports(ctx) : null;
  // Work orders (orders.js) after them, for those who send field teams.
  const orders = canOrder
    ? workOrders(ctx, { districtName, showIncident, onChange: () => renderIncidents() })
    : null;
  el.append(head, tiles, grid, ...(citizens ? [citizens.node] : []), ...(orders ? [orders.node] : []), tableCard);
  el.classList.add("ops-view");

  const map = createMap(mapBox, { tileUrl: ctx.config.tile_url, attribution: ctx.config.tile_attribution });
  let fitted = false;

  // --- table -----------------------------------------------------------------------------

  function visibleRows() {
    const needle = view.text.trim().toLowerCase();
    const pick = SORT_VALUE[view.sortKey];
    return view.rows
      .filter((r) => !view.state || r.state === view.state)
      .filter((r) => {
        if (!needle) return true;
        return [r.ap_id, r.name, r.site_id, r.site_name, r.district_name, r.district, r.partner_name, r.partner]
          .some((v) => v && String(v).toLowerCase().includes(needle));
      })
      .sort((a, b) => compare(pick(a), pick(b), view.sortDir) || a.ap_id.localeCompare(b.ap_id, undefined, { numeric: true }));
  }

  function cell(text, className, title) {
    const td = h("td", className || "", text);
    if (title) td.title = title;
    return td;
  }

  function stateCell(r) {
    const td = h("td");
    td.append(h("span", `state state-${r.state}`, `${STATE_MARK[r.state] || "?"} ${r.state}`));
    if (r.since) {
      const since = h("span", "sub", `for ${duration((Date.now() - Date.parse(r.since)) / 1000)}`);
      since.dataset.since = r.since;
      since.title = `${r.state} since ${r.since}`;
      td.append(since);
    }
    return td;
  }

  function apCell(r) {
    const td = h("td", "name");
    const a = h("a", "ap-link", r.name || r.ap_id);
    a.href = `#/ap/${encodeURIComponent(r.ap_id)}`;
    td.append(a);
    if (r.name && r.name !== r.ap_id) td.append(h("span", "sub", r.ap_id));
    return td;
  }

  function refCell(name, id, className) {
    if (!id) return cell("–", `${className || ""} na`.trim());
    return cell(name || id, className, name ? id : "");
  }

  function figureCell(r, text) {
    if (r.state === "up") return cell(text, "num");
    const when = r.last_sample_at ? `last data ${ago(r.last_sample_at)} (${r.last_sample_at})` : "no data yet";
    return cell(NOT_CURRENT, "num na", `not current: the AP is ${r.state}; ${when}`);
  }

  function renderTable() {
    const rows = visibleRows();
    const body = document.createDocumentFragment();
    for (const r of rows) {
      const tr = h("tr", `row-${r.state}`);
      tr.dataset.ap = r.ap_id;
      const seen = cell(ago(r.last_seen), "num seen", r.last_seen || "never answered");
      seen.dataset.seen = r.last_seen || "";
      const site = h("td", "", r.site_name || r.site_id);
      tr.append(
        stateCell(r),
        apCell(r),
        site,
        refCell(r.district_name, r.district, ""),
        ...(partnerColumn ? [refCell(r.partner_name, r.partner, "col-partner")] : []),
        figureCell(r, count(r.clients)),
        figureCell(r, duration(r.uptime_s)),
        figureCell(r, mbits(r.rx_bps)),
        figureCell(r, mbits(r.tx_bps)),
        cell(percent(r.availability), "num", "answered polls / attempted polls"),
        seen,
      );
      body.append(tr);
    }
    if (rows.length === 0) {
      const tr = h("tr", "placeholder");
      const td = cell(view.loadedAt ? "No access points match the filter." : "Loading status…");
      td.colSpan = COLUMNS.length;
      tr.append(td);
      body.append(tr);
    }
    tbody.replaceChildren(body);
    shown.textContent = view.loadedAt ? `showing ${rows.length} of ${view.rows.length} APs` : "";
    for (const th of thead.querySelectorAll("th[data-key]")) {
      const active = th.dataset.key === view.sortKey;
      th.setAttribute("aria-sort", active ? (view.sortDir > 0 ? "ascending" : "descending") : "none");
    }
  }

  function renderSummary() {
    const s = view.summary || {};
    for (const key of ["up", "down", "unknown", "total"]) {
      tileCount[key].textContent = s[key] == null ? "–" : String(s[key]);
    }
    for (const tile of tiles.querySelectorAll("button.tile")) {
      tile.setAttribute("aria-pressed", String(tile.dataset.state === view.state && view.state !== ""));
    }
  }

  function writeParams() {
    const p = {};
    if (view.text) p.q = view.text;
    if (view.state) p.state = view.state;
    if (view.sortKey !== "state" || view.sortDir !== 1) p.sort = `${view.sortDir < 0 ? "-" : ""}${view.sortKey}`;
    ctx.setParams(p);
  }

  function setState(value) {
    view.state = value;
    stateSelect.value = value;
    writeParams();
    renderSummary();
    renderTable();
  }

  filters.addEventListener("submit", (e) => e.preventDefault());
  filter.addEventListener("input", () => {
    view.text = filter.value;
    writeParams();
    renderTable();
  });
  stateSelect.addEventListener("change", () => setState(stateSelect.value));

  // --- map -------------------------------------------------------------------------------

  function siteTitle(p) {
    const parts = [`${p.name} — ${STATE_WORD[p.state] || p.state}`];
    parts.push(`${p.aps_up} of ${p.aps_total} access points up`);
    if (p.clients != null) parts.push(plural(Math.round(p.clients), "client"));
    if (p.open_incidents) parts.push(plural(p.open_incidents, "open incident"));
    if (p.in_maintenance) parts.push("in maintenance");
    if (p.district_name) parts.push(p.district_name);
    return parts.join(" · ");
  }

  function renderMap() {
    const districts = view.districts ? view.districts.features : [];
    map.setLayer("districts", districts, {
      fill: (f) => (f.properties.sites_down ? "#cf222e1f" : f.properties.sites_degraded ? "#d977061f" : "#0969da14"),
      stroke: () => "#0969da",
      className: () => "district",
      label: (f) => f.properties.name,
      title: (f) => {
        const p = f.properties;
        return `${p.name}: ${plural(p.sites, "site")}, ${p.sites_down} down, ${p.sites_degraded} degraded`;
      },
    });
    const sites = view.sites ? view.sites.features : [];
    // Down last, so that it is drawn on top of its healthy neighbours.
    const ordered = [...sites].sort((a, b) => (STATE_RANK[b.properties.state] ?? 9) - (STATE_RANK[a.properties.state] ?? 9));
    map.setLayer("sites", ordered, {
      fill: (f) => STATE_COLORS[f.properties.state] || STATE_COLORS.unknown,
      stroke: (f) => (f.properties.in_maintenance ? MAINTENANCE_COLOR : "#ffffff"),
      radius: (f) => (f.properties.state === "down" ? 9 : 7),
      className: (f) => `site site-${f.properties.state}${f.properties.in_maintenance ? " site-maintenance" : ""}`,
      title: (f) => siteTitle(f.properties),
      ariaLabel: (f) => `${f.properties.name}, ${STATE_WORD[f.properties.state] || f.properties.state}`,
      onClick: (f) => openSite(f.properties.id),
    });
    const s = view.sites ? view.sites.summary : null;
    const n = (k) => (s ? ` (${s[k]})` : "");
    const legend = [
      { label: `Up${n("up")}`, color: STATE_COLORS.up, shape: "circle" },
      { label: `Degraded${n("degraded")}`, color: STATE_COLORS.degraded, shape: "circle" },
      { label: `Down${n("down")}`, color: STATE_COLORS.down, shape: "circle" },
      { label: `Unknown${n("unknown")}`, color: STATE_COLORS.unknown, shape: "circle" },
    ];
    if (s && s.maintenance) legend.push({ label: `In maintenance (${s.maintenance})`, color: MAINTENANCE_COLOR, shape: "hatch" });
    legend.push({ label: "District", color: "#0969da33", shape: "square" });
    map.setLegend(legend);
    if (s) {
      siteLine.textContent =
        `${plural(s.total, "site")}: ${s.up} up, ${s.degraded} degraded, ${s.down} down, ${s.unknown} unknown` +
        (s.maintenance ? `, ${s.maintenance} in maintenance` : "");
    }
    if (!fitted && (view.sites || view.districts)) {
      const bbox = ctx.config.bbox || bboxOf([...districts, ...sites]);
      if (bbox) {
        map.fit(bbox);
        fitted = true;
      }
    }
    if (view.openSite) renderSitePanel();
  }

  function openSite(siteId) {
    view.openSite = siteId;
    renderSitePanel();
  }

  function renderSitePanel() {
    const f = view.sites && view.sites.features.find((x) => x.properties.id === view.openSite);
    if (!f) {
      sitePanel.hidden = true;
      return;
    }
    const p = f.properties;
    const close = h("button", "btn site-close", "×");
    close.type = "button";
    close.setAttribute("aria-label", "Close");
    close.addEventListener("click", () => {
      view.openSite = null;
      sitePanel.hidden = true;
    });
    const title = h("h4", "", p.name);
    const meta = h("p", "hint", [p.district_name, p.partner_name, p.kind].filter(Boolean).join(" · "));
    const st = h("p", "");
    st.append(h("span", `state state-${p.state}`, `${STATE_MARK[p.state] || "?"} ${p.state}`));
    st.append(` ${p.aps_up} of ${p.aps_total} APs up`);
    if (p.clients != null) st.append(` · ${plural(Math.round(p.clients), "client")}`);
    const list = h("ul", "site-aps");
    for (const r of view.rows.filter((x) => x.site_id === p.id)) {
      const li = h("li");
      const a = h("a", "", r.name || r.ap_id);
      a.href = `#/ap/${encodeURIComponent(r.ap_id)}`;
      li.append(h("span", `dot dot-${r.state}`), a, h("span", "sub-inline", r.state));
      list.append(li);
    }
    if (!list.children.length) list.append(h("li", "hint", "No access points listed."));
    sitePanel.replaceChildren(close, title, meta, st, list);
    if (p.in_maintenance) sitePanel.insertBefore(h("p", "maint", "In a maintenance window"), list);
    sitePanel.hidden = false;
  }

  // --- incidents -------------------------------------------------------------------------

  function subjectOf(inc) {
    const id = inc.scope_id;
    if (!id) return "outside your sites";
    if (inc.scope_kind === "ap") {
      const r = view.rows.find((x) => x.ap_id === id);
      return r ? `${r.name || id} at ${r.site_name}` : id;
    }
    if (inc.scope_kind === "site") {
      const r = view.rows.find((x) => x.site_id === id);
      const f = view.sites && view.sites.features.find((x) => x.properties.id === id);
      return (f && f.properties.name) || (r && r.site_name) || id;
    }
    if (inc.scope_kind === "district") {
      const d = view.districts && view.districts.features.find((x) => x.properties.id === id);
      return d ? d.properties.name : id;
    }
    return id;
  }

  function renderIncidents() {
    if (!canReadIncidents) return;
    const list = view.incidents;
    // Taken first: moving a kept form into the new list below takes its focus away.
    const active = document.activeElement;
    incHead.textContent = `Open incidents (${list.length})`;
    if (incidentCount) incidentCount.textContent = view.incidentsLoaded ? String(list.length) : "–";
    incNote.hidden = list.length > 0;
    incNote.textContent = view.incidentsLoaded ? "No open incidents. Every site is answering." : "Loading incidents…";
    const items = document.createDocumentFragment();
    for (const inc of list) {
      const li = h("li", `incident incident-${inc.state}`);
      li.dataset.incident = String(inc.id);
      const top = h("div", "incident-top");
      top.append(h("span", "incident-class", classWords(inc.class)));
      top.append(h("span", `incident-state incident-state-${inc.state}`, inc.state === "acknowledged" ? "acknowledged" : "open"));
      const subject = h("div", "incident-subject", subjectOf(inc));
      const meta = h("div", "incident-meta");
      const opened = `opened ${ago(inc.opened_at)}`;
      const who = inc.acknowledged_by ? ` · acknowledged by ${inc.acknowledged_by}` : "";
      const aps = inc.ap_count ? ` · ${plural(inc.ap_count, "AP")}` : "";
      // Priority: raised by each citizen's report the incident holds (0: none).
      const priority = inc.priority > 0 ? ` · priority ${inc.priority}` : "";
      meta.textContent = `${opened}${who}${aps}${priority} · for ${RESPONSIBLE[inc.responsible] || inc.responsible}`;
      meta.title = inc.priority > 0 ? `${inc.opened_at}; priority ${inc.priority}: ${plural(inc.citizen_reports || 0, "citizen report")}` : inc.opened_at;
      const explain = h("div", "incident-explain", inc.explanation);
      li.append(top, subject, meta, explain);
      for (const o of orders ? orders.forIncident(inc.id) : []) {
        const line = h("div", "incident-order", `Work order at ${o.site.name || "a former site"}: ${ORDER_STATE[o.state] || o.state}`);
        if (o.team_name) line.append(` · ${o.team_name}`);
        li.append(line);
      }
      if (canAct || canOrder) li.append(actions(inc));
      items.append(li);
    }
    // The work-order and resolve forms are kept (with what was typed, and the focus)
    // while the list is redrawn.
    if (view.ordering && !list.some((i) => i.id === view.ordering.id)) view.ordering = null;
    if (view.resolving && !list.some((i) => i.id === view.resolving.id)) view.resolving = null;
    incList.replaceChildren(items);
    const kept = [view.ordering && view.ordering.form && view.ordering.form.node, view.resolving && view.resolving.node];
    if (kept.some((node) => node && node.contains(active))) active.focus();
  }

  function districtName(id) {
    const d = view.districts && view.districts.features.find((x) => x.properties.id === id);
    return d ? d.properties.name : null;
  }

  function siteName(id) {
    const f = view.sites && view.sites.features.find((x) => x.properties.id === id);
    const r = view.rows.find((x) => x.site_id === id);
    return (f && f.properties.name) || (r && r.site_name) || id;
  }

  function showIncident(id) {
    const item = incList.querySelector(`li[data-incident="${id}"]`);
    const target = item || incidentsCard;
    target.scrollIntoView({ behavior: "smooth", block: "center" });
    if (item) {
      item.classList.add("is-flashed");
      setTimeout(() => item.classList.remove("is-flashed"), 2000);
    }
  }

  // The work-order form: the incident's sites (from its members) and the field teams.
  async function openOrder(inc) {
    view.ordering = { id: inc.id, form: null };
    view.resolving = null;
    renderIncidents();
    try {
      const [detail, teams] = await Promise.all([ctx.api(`/api/v1/incidents/${inc.id}`), orders.teams()]);
      if (!view.alive || !view.ordering || view.ordering.id !== inc.id) return;
      const ids = new Set((detail.aps || []).map((a) => a.site_id));
      if (detail.scope_kind === "site" && detail.scope_id) ids.add(detail.scope_id);
      const sites = [...ids].map((id) => ({ id, name: siteName(id) })).sort((a, b) => a.name.localeCompare(b.name));
      view.ordering.form = orderForm({
        incident: inc,
        sites,
        teams,
        districtName,
        submit: (body) => makeOrder(inc, body),
        close: () => {
          view.ordering = null;
          renderIncidents();
        },
      });
      renderIncidents();
      view.ordering.form.focus();
    } catch (err) {
      if (!view.alive || err.status === 401) return;
      view.ordering = null;
      renderIncidents();
      ctx.onError(`Could not open the work-order form: ${err.message}.`);
    }
  }

  async function makeOrder(inc, body) {
    try {
      await ctx.api("/api/v1/work-orders", { method: "POST", body: { incident_id: inc.id, ...body } });
      if (!view.alive) return;
      view.ordering = null;
      ctx.onError("");
      await orders.refresh(); // the panel, and the incidents with the new order under theirs
      renderIncidents();
    } catch (err) {
      if (!view.alive || err.status === 401) return;
      ctx.onError(`Could not make the work order: ${err.message}.`);
    }
  }

  function actions(inc) {
    const box = h("div", "incident-actions");
    const busy = view.busy.has(inc.id);
    if (view.resolving && view.resolving.id === inc.id) {
      // The same form on every redraw (like the work-order form), so a note being typed
      // survives the 5 s refresh.
      view.resolving.ok.disabled = busy;
      box.append(view.resolving.node);
      return box;
    }
    if (view.ordering && view.ordering.id === inc.id) {
      box.append(view.ordering.form ? view.ordering.form.node : h("p", "hint", "Loading the sites and teams…"));
      return box;
    }
    if (canOrder) {
      const order = h("button", "btn", "Work order");
      order.type = "button";
      order.title = "Send a field team";
      order.addEventListener("click", () => openOrder(inc));
      box.append(order);
    }
    if (!canAct) return box;
    if (inc.state === "open") {
      const ack = h("button", "btn btn-primary", "Acknowledge");
      ack.type = "button";
      ack.disabled = busy;
      ack.addEventListener("click", () => act(inc, "ack"));
      box.append(ack);
    }
    const res = h("button", "btn", "Resolve…");
    res.type = "button";
    res.disabled = busy;
    res.addEventListener("click", () => {
      view.resolving = resolveForm(inc);
      view.ordering = null;
      renderIncidents();
      view.resolving.input.focus();
    });
    box.append(res);
    return box;
  }

  function resolveForm(inc) {
    const node = h("form", "resolve-form");
    const label = h("label", "", "Note (optional)");
    const input = h("input");
    input.type = "text";
    input.maxLength = 500;
    input.placeholder = "What was done";
    label.append(input);
    const ok = h("button", "btn btn-primary", "Resolve incident");
    ok.type = "submit";
    const cancel = h("button", "btn", "Cancel");
    cancel.type = "button";
    cancel.addEventListener("click", () => {
      view.resolving = null;
      renderIncidents();
    });
    node.addEventListener("submit", (e) => {
      e.preventDefault();
      const note = input.value.trim();
      act(inc, "resolve", note ? { note } : undefined);
    });
    node.append(label, ok, cancel);
    return { id: inc.id, node, input, ok };
  }

  async function act(inc, what, body) {
    view.busy.add(inc.id);
    renderIncidents();
    try {
      await ctx.api(`/api/v1/incidents/${inc.id}/${what}`, { method: "POST", body: body || {} });
      if (!view.alive) return;
      if (what === "resolve") view.resolving = null;
      await loadIncidents();
      ctx.onError("");
    } catch (err) {
      if (!view.alive || err.status === 401) return;
      const verb = what === "ack" ? "acknowledge" : "resolve";
      ctx.onError(`Could not ${verb} the incident: ${err.message}.`);
    } finally {
      view.busy.delete(inc.id);
      if (view.alive) renderIncidents();
    }
  }

  async function loadIncidents() {
    const [open, acked] = await Promise.all([
      ctx.api("/api/v1/incidents?state=open&limit=200"),
      ctx.api("/api/v1/incidents?state=acknowledged&limit=200"),
    ]);
    if (!view.alive) return;
    // A merged incident lives on in the one it was merged into: listed once, there.
    view.incidents = [...open.data, ...acked.data]
      .filter((i) => i.merged_into == null)
      .sort((a, b) => Date.parse(b.opened_at) - Date.parse(a.opened_at));
    view.incidentsLoaded = true;
    renderIncidents();
  }

  // --- polling ---------------------------------------------------------------------------

  function tick() {
    for (const td of tbody.querySelectorAll("td.seen")) td.textContent = ago(td.dataset.seen || null);
    for (const s of tbody.querySelectorAll("[data-since]")) {
      s.textContent = `for ${duration((Date.now() - Date.parse(s.dataset.since)) / 1000)}`;
    }
    if (view.loadedAt) {
      const ageS = Math.round((Date.now() - view.loadedAt) / 1000);
      updated.textContent = `last updated ${clockTime(view.loadedAt)} (${ageS} s ago)`;
      updated.classList.toggle("stale", ageS > (3 * REFRESH_MS) / 1000);
    }
  }

  async function refresh() {
    const withDistricts = view.polls % DISTRICTS_EVERY === 0;
    view.polls += 1;
    try {
      const [status, sites, districts] = await Promise.all([
        ctx.api("/api/v1/status?limit=5000"),
        ctx.api("/api/v1/map/sites").catch((err) => mapFailed(err)),
        withDistricts ? ctx.api("/api/v1/map/districts").catch((err) => mapFailed(err)) : Promise.resolve(undefined),
        canReadIncidents ? loadIncidents() : Promise.resolve(),
      ]);
      if (!view.alive) return;
      view.rows = status.data || [];
      view.summary = status.summary || null;
      if (sites) view.sites = sites;
      if (districts) view.districts = districts;
      view.loadedAt = Date.now();
      ctx.onError("");
      renderSummary();
      renderTable();
      renderMap();
      renderIncidents(); // names of the incidents' subjects come from the rows
    } catch (err) {
      if (!view.alive || err.status === 401 || err.status === 0 && err.message === "the session changed") return;
      const kept = view.loadedAt ? ` Showing data from ${clockTime(view.loadedAt)}.` : "";
      ctx.onError(`Could not refresh status: ${err.message}.${kept} Retrying every ${REFRESH_MS / 1000} s.`);
    } finally {
      if (view.alive) {
        tick();
        view.timer = setTimeout(refresh, REFRESH_MS);
      }
    }
  }

  // The map is an addition to the table: without it the view still works.
  function mapFailed(err) {
    if (err.status === 401) throw err;
    mapNote.hidden = false;
    mapNote.textContent = `The map could not be loaded: ${err.message}.`;
    return null;
  }

  renderSummary();
  renderTable();
  renderMap();
  renderIncidents();
  const ticker = setInterval(tick, 1000);
  refresh();

  return () => {
    view.alive = false;
    clearTimeout(view.timer);
    clearInterval(ticker);
    map.destroy();
    if (citizens) citizens.destroy();
    if (orders) orders.destroy();
    el.classList.remove("ops-view");
  };
}

const SORT_VALUE = {
  state: (r) => STATE_RANK[r.state] ?? 9,
  ap: (r) => r.name || r.ap_id,
  site: (r) => r.site_name,
  district: (r) => r.district_name ?? r.district,
  partner: (r) => r.partner_name ?? r.partner,
  clients: (r) => r.clients,
  uptime: (r) => r.uptime_s,
  rx: (r) => r.rx_bps,
  tx: (r) => r.tx_bps,
  avail: (r) => r.availability,
  seen: (r) => (r.last_seen ? Date.parse(r.last_seen) : null),
};

function compare(a, b, dir) {
  // Missing values always sort last, whatever the direction: "no data" is not "zero".
  if (a == null && b == null) return 0;
  if (a == null) return 1;
  if (b == null) return -1;
  if (typeof a === "number" && typeof b === "number") return dir * (a - b);
  return dir * String(a).localeCompare(String(b), undefined, { numeric: true });
}

function bboxOf(features) {
  let box = null;
  const add = (c) => {
    if (!Array.isArray(c)) return;
    if (typeof c[0] === "number") {
      box = box
        ? [Math.min(box[0], c[0]), Math.min(box[1], c[1]), Math.max(box[2], c[0]), Math.max(box[3], c[1])]
        : [c[0], c[1], c[0], c[1]];
      return;
    }
    c.forEach(add);
  };
  for (const f of features) if (f.geometry) add(f.geometry.coordinates);
  if (box && box[0] === box[2]) {
    box = [box[0] - 0.01, box[1] - 0.01, box[2] + 0.01, box[3] + 0.01];
  }
  return box;
}
