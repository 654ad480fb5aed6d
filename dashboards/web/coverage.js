// The coverage view (#/coverage): for a planner, where the city has working WiFi, where it
// has none and where to build next. Districts shaded by live coverage, gaps where sites are
// down (fault) apart from gaps no site reaches (design), the suggested new sites with the
// people each adds, the per-district table, and what-if: click sites off (and suggested
// sites on) and see what the city would gain or lose. Every figure is the API's
// (/api/v1/coverage, /gaps, /suggestions, /what-if): this module only draws.
import { createMap } from "./map.js";
import {
  NO_DATA,
  STATE_COLOURS,
  STATE_LABELS,
  area,
  bboxOf,
  clock,
  count,
  debounce,
  fill,
  h,
  km2,
  legend,
  notice,
  panel,
  pct,
  points,
  stateBadge,
  table,
  tile,
} from "./viewkit.js";

const REFRESH_MS = 30_000; // live coverage follows the APs' state; the analysis is cached
const SUGGEST_K = 5;
const SUGGEST_TIME_LIMIT_S = 10;
const WHATIF_DELAY_MS = 250; // one request for a burst of clicks
const GAPS_SHOWN = 10;
// The analysis is CPU work on the server (a solver for the suggestions): more time than the
// shell's default for a status read.
const SLOW = { timeoutMs: 30_000 };

// Districts: light to dark blue as coverage grows; the legend names each bin.
const SHADES = [
  { upTo: 20, colour: "#eff3ff", label: "under 20 %" },
  { upTo: 40, colour: "#c6dbef", label: "20–40 %" },
  { upTo: 60, colour: "#9ecae1", label: "40–60 %" },
  { upTo: 80, colour: "#4292c6", label: "60–80 %" },
  { upTo: Infinity, colour: "#08519c", label: "80 % and more" },
];
const NO_DATA_SHADE = "#e5e7eb";
const FAULT_COLOUR = "#e8590c";
const DESIGN_COLOUR = "#495057";
const SUGGESTION_COLOUR = "#7048e8";
const LOST_COLOUR = "#c92a2a";

// What the districts can be shaded by: a planner reads people served; area is the other view.
const MEASURES = {
  live_demand_pct: "People served now",
  live_pct: "Area covered now",
  demand_pct: "People within reach (as built)",
};

const GAP_KINDS = {
  fault: { label: "Fault gap", long: "Lost now: its sites are down" },
  design: { label: "Design gap", long: "No site reaches it" },
};

function shade(value) {
  if (typeof value !== "number") return NO_DATA_SHADE;
  return SHADES.find((s) => value < s.upTo).colour;
}

export function mount(el, ctx) {
  const state = {
    coverage: null,
    gaps: null,
    suggestions: null,
    districts: [], // GeoJSON features with boundaries
    sites: [], // /map/sites features
    active: new Set(), // ids of active sites: only these can be switched off
    off: new Set(), // sites switched off in the what-if
    on: new Set(), // suggested candidates switched on
    mode: "fail",
    measure: "live_demand_pct",
    whatif: null,
    whatifError: null,
    generation: 0, // bumps at every what-if request: a late answer to an old one is dropped
    fitted: false,
  };
  let alive = true;
  let timer = null;
  const city = ctx.config?.city_name || "the city";
  const canPlan = (ctx.me?.permissions || []).includes("coverage:plan");

  // --- the page's frame ----------------------------------------------------------------
  const sub = h("p", { className: "view-sub" }, "Loading coverage…");
  const figures = h("div", { className: "figures", "aria-label": "City coverage" });
  const measureSelect = h(
    "select",
    { id: "cov-measure", onchange: () => { state.measure = measureSelect.value; drawMap(); } },
    Object.entries(MEASURES).map(([key, label]) => h("option", { value: key }, label)),
  );
  const mapPanel = panel("Coverage map", {
    className: "panel-map",
    controls: [h("label", { className: "inline-field", for: "cov-measure" }, "Shade districts by"), measureSelect],
  });
  const mapBox = h("div", { className: "map-box", "aria-label": `Map of ${city}: coverage, gaps and sites` });
  const mapHint = h(
    "p",
    { className: "panel-note" },
    canPlan
      ? "Click a site to switch it off (and again to switch it back on), or a suggested site to build it: the what-if panel shows the result."
      : "Sites, their coverage gaps and suggestions.",
  );
  const legendBox = h("div", { className: "legend-box" });
  mapPanel.body.append(mapBox, legendBox, mapHint);

  const whatifPanel = panel("What if…", { className: "panel-whatif" });
  const tablePanel = panel("Coverage by district");
  const suggestPanel = panel("Where to build next");
  const gapsPanel = panel("Largest gaps");

  fill(
    el,
    h(
      "div",
      { className: "views-page view-coverage" },
      h("header", { className: "view-head" }, h("h2", {}, `Coverage — ${city}`), sub),
      figures,
      h("div", { className: "view-grid" }, mapPanel.node, whatifPanel.node),
      tablePanel.node,
      h("div", { className: "view-pair" }, suggestPanel.node, gapsPanel.node),
    ),
  );
  whatifPanel.body.append(notice("Loading sites…"));
  tablePanel.body.append(notice("Loading…"));
  suggestPanel.body.append(notice(canPlan ? "Finding the best new sites…" : "Needs the coverage:plan right."));
  gapsPanel.body.append(notice(canPlan ? "Loading…" : "Needs the coverage:plan right."));

  let map = null;
  try {
    map = createMap(mapBox, { tileUrl: ctx.config?.tile_url || null, attribution: ctx.config?.tile_attribution || "" });
  } catch (err) {
    mapBox.append(notice(`The map could not be drawn: ${err.message || err}`, "error"));
  }

  // --- names ---------------------------------------------------------------------------
  const districtName = (id) => {
    if (id == null) return "Outside any district";
    const row = state.coverage?.data.find((r) => r.district === id);
    const feature = state.districts.find((f) => f.id === id || f.properties?.id === id);
    return row?.name || feature?.properties?.name || id;
  };
  const siteName = (id) => state.sites.find((f) => f.properties.id === id)?.properties.name || id;

  // --- loading -------------------------------------------------------------------------
  async function load() {
    const wanted = [
      ctx.api("/api/v1/coverage", SLOW),
      ctx.api("/api/v1/map/districts"),
      ctx.api("/api/v1/map/sites"),
      canPlan ? ctx.api("/api/v1/coverage/gaps", SLOW) : Promise.resolve(null),
      canPlan ? ctx.api("/api/v1/sites?limit=5000") : Promise.resolve(null),
    ];
    const [coverage, districts, sites, gaps, inventory] = await Promise.all(wanted);
    if (!alive) return;
    state.coverage = coverage;
    state.districts = districts.features || [];
    state.sites = sites.features || [];
    state.gaps = gaps;
    if (inventory) {
      state.active = new Set(inventory.data.filter((s) => s.status === "active").map((s) => s.id));
      for (const id of [...state.off]) if (!state.active.has(id)) state.off.delete(id);
    }
    drawAll();
  }

  async function loadSuggestions() {
    if (!canPlan) return;
    try {
      const q = `k=${SUGGEST_K}&method=optimal&time_limit_s=${SUGGEST_TIME_LIMIT_S}`;
      state.suggestions = await ctx.api(`/api/v1/coverage/suggestions?${q}`, { timeoutMs: (SUGGEST_TIME_LIMIT_S + 20) * 1000 });
    } catch (err) {
      state.suggestions = { error: err.message || String(err) };
    }
    if (!alive) return;
    drawSuggestions();
    drawMap();
  }

  async function refresh() {
    try {
      await load();
    } catch (err) {
      if (!alive) return;
      ctx.onError?.(`Coverage could not be loaded: ${err.message || err}`);
      if (!state.coverage) fill(tablePanel.body, notice(`Could not load coverage: ${err.message || err}`, "error"));
    }
    if (alive) timer = setTimeout(refresh, REFRESH_MS);
  }

  // --- drawing -------------------------------------------------------------------------
  function drawAll() {
    drawHeader();
    drawFigures();
    drawTable();
    drawGaps();
    drawSuggestions();
    drawWhatIf();
    drawMap();
  }

  function drawHeader() {
    const c = state.coverage;
    const scope = c.scope === "partner" ? "Your sites only · " : "";
    const asOf = c.live_as_of ? `Live as of ${clock(c.live_as_of)}` : "Live: no poll recorded yet";
    sub.textContent = `${scope}${asOf} · areas in km², demand in people`;
  }

  function drawFigures() {
    const c = state.coverage.city;
    const g = state.gaps;
    const tiles = [
      tile({
        label: "People served now",
        value: pct(c.live_demand_pct),
        note: `${count(c.demand_live)} of ${count(c.demand)} people`,
        tone: "accent",
        figure: "city-live-demand",
      }),
      tile({ label: "People within reach as built", value: pct(c.demand_pct), note: `${count(c.demand_designed)} people`, figure: "city-demand" }),
      tile({ label: "Area covered now", value: pct(c.live_pct), note: `${km2(c.live_km2)} of ${km2(c.area_km2)}`, figure: "city-live-area" }),
      tile({
        label: "Sites live",
        value: `${count(c.sites_live)} / ${count(c.sites)}`,
        note: c.sites - c.sites_live > 0 ? `${count(c.sites - c.sites_live)} with no AP up` : "all sites on air",
        tone: c.sites - c.sites_live > 0 ? "warn" : "good",
        figure: "city-sites",
      }),
    ];
    if (g) {
      tiles.push(
        tile({ label: "People in fault gaps", value: count(g.fault_demand), note: `${area(g.fault_area_m2)} lost to sites down`, tone: g.fault_demand > 0 ? "bad" : "good", figure: "fault-demand" }),
        tile({ label: "People in design gaps", value: count(g.design_demand), note: `${area(g.design_area_m2)} no site reaches`, figure: "design-demand" }),
      );
    }
    fill(figures, tiles);
  }

  function drawTable() {
    const c = state.coverage;
    const columns = [
      { label: "District", value: (r) => r.name, className: "name" },
      { label: "Area", num: true, className: "opt", value: (r) => km2(r.area_km2) },
      { label: "Area covered (built)", num: true, className: "opt", value: (r) => pct(r.designed_pct) },
      { label: "Area covered now", num: true, className: "opt", value: (r) => pct(r.live_pct) },
      { label: "People", num: true, value: (r) => count(r.demand) },
      { label: "People in reach (built)", num: true, className: "opt", value: (r) => pct(r.demand_pct) },
      { label: "People served now", num: true, value: (r) => coverageBar(r.live_demand_pct) },
      { label: "Sites live", num: true, value: (r) => `${count(r.sites_live)} / ${count(r.sites)}` },
    ];
    fill(
      tablePanel.body,
      table({
        caption: "Designed coverage counts every active site; “now” counts only sites with an AP up.",
        columns,
        rows: c.data,
        foot: { ...c.city, name: `${city} (whole city)` },
        rowData: (r) => ({ district: r.district ?? "" }),
        empty: "No districts imported yet.",
      }),
    );
  }

  function coverageBar(value) {
    const bar = h("span", { className: "meter", "aria-hidden": "true" }, h("span", { className: "meter-fill" }));
    if (typeof value === "number") bar.firstChild.style.width = `${Math.max(0, Math.min(100, value))}%`;
    return h("span", { className: "meter-cell" }, bar, h("span", { className: "meter-text" }, pct(value)));
  }

  function drawGaps() {
    if (!canPlan) return;
    const g = state.gaps;
    if (!g) return;
    // Most people first (the API's order); an empty field without anyone to serve is not news.
    const peopled = g.features.filter((f) => f.properties.demand > 0);
    const rows = (peopled.length ? peopled : g.features).slice(0, GAPS_SHOWN).map((f) => f.properties);
    const unpeopled = g.features.length - peopled.length;
    fill(
      gapsPanel.body,
      h(
        "p",
        { className: "panel-note" },
        `Uncovered areas, most people without service first: ${count(rows.length)} shown of ${count(g.count)}` +
          (peopled.length && unpeopled ? ` (${count(unpeopled)} more where nobody lives).` : "."),
      ),
      table({
        columns: [
          { label: "#", num: true, value: (p) => String(p.rank) },
          { label: "Kind", value: (p) => h("span", { className: `gap-badge gap-${p.kind}`, title: GAP_KINDS[p.kind]?.long }, GAP_KINDS[p.kind]?.label || p.kind) },
          { label: "District", value: (p) => districtName(p.district) },
          { label: "People", num: true, value: (p) => count(p.demand) },
          { label: "Area", num: true, className: "opt", value: (p) => area(p.area_m2) },
          { label: "Sites down", className: "opt", value: (p) => (p.sites.length ? p.sites.map(siteName).join(", ") : NO_DATA) },
        ],
        rows,
        rowData: (p) => ({ gap: String(p.rank), kind: p.kind }),
        empty: "No gaps: every person in the city is within reach of a working site.",
      }),
    );
  }

  function drawSuggestions() {
    const s = state.suggestions;
    if (!s) return;
    if (s.error) {
      fill(suggestPanel.body, notice(`No suggestions: ${s.error}`, "error"));
      return;
    }
    const status = s.status === "time_limit" ? " (best found within the time limit)" : "";
    const items = s.sites.map((site, i) => {
      const on = state.on.has(site.candidate);
      const where = `${Math.abs(site.lat).toFixed(4)}° ${site.lat < 0 ? "S" : "N"}, ${Math.abs(site.lon).toFixed(4)}° ${site.lon < 0 ? "W" : "E"}`;
      return h(
        "li",
        { className: `suggestion${on ? " is-on" : ""}`, dataset: { candidate: site.candidate } },
        h("span", { className: "suggestion-rank", "aria-hidden": "true" }, String(i + 1)),
        h(
          "span",
          { className: "suggestion-text" },
          h("strong", {}, suggestionName(site, i)),
          h("span", { className: "muted" }, ` · ${where} · ${Math.round(site.radius_m)} m radius`),
        ),
        h("span", { className: "suggestion-gain", title: `${count(site.alone_demand)} people on its own` }, `+${count(site.added_demand)} people`),
        canPlan
          ? h(
              "button",
              { type: "button", className: "toggle", "aria-pressed": String(on), onclick: () => toggleCandidate(site.candidate) },
              on ? "Remove from what-if" : "Try it",
            )
          : null,
      );
    });
    fill(
      suggestPanel.body,
      h(
        "p",
        { className: "panel-note" },
        `${s.sites.length === 1 ? "One new site" : `${count(s.sites.length)} new sites`}${status} would serve ${count(s.added_demand)} more people: `,
        h("strong", {}, `${pct(s.covered_before_pct)} → ${pct(s.covered_after_pct)}`),
        ` of the city's demand (chosen among ${count(s.candidates)} candidate places).`,
      ),
      s.sites.length ? h("ol", { className: "suggestions" }, items) : notice("No candidate adds anyone: the demand is covered."),
    );
  }

  // A candidate from the regular grid has only a generated id for a name: say where it is.
  function suggestionName(site, i) {
    if (site.name && site.name !== site.candidate) return site.name;
    return `New site ${i + 1} in ${districtName(site.district)}`;
  }

  // --- what-if -------------------------------------------------------------------------
  function toggleSite(id) {
    if (!canPlan) return;
    if (!state.active.has(id)) {
      ctx.onError?.(`${siteName(id)} is not an active site: only built sites can be switched off.`);
      return;
    }
    // The panel is drawn anew: a keyboard user who switched in the list stays on the switch.
    const fromList = whatifPanel.body.contains(document.activeElement);
    if (state.off.has(id)) state.off.delete(id);
    else state.off.add(id);
    changed();
    if (fromList) whatifPanel.body.querySelector(`li[data-site="${CSS.escape(id)}"] button`)?.focus();
  }

  function toggleCandidate(id) {
    if (state.on.has(id)) state.on.delete(id);
    else state.on.add(id);
    changed();
  }

  function changed() {
    drawWhatIf();
    drawSuggestions();
    drawMap();
    askWhatIf();
  }

  const askWhatIf = debounce(async () => {
    const generation = ++state.generation;
    if (!state.off.size && !state.on.size) {
      state.whatif = null;
      state.whatifError = null;
      drawWhatIf();
      drawMap();
      return;
    }
    const body = { remove: [], fail: [], add: [] };
    body[state.mode === "remove" ? "remove" : "fail"] = [...state.off].sort();
    for (const site of state.suggestions?.sites || []) {
      if (state.on.has(site.candidate)) {
        body.add.push({ id: site.candidate, lat: site.lat, lon: site.lon, radius_m: site.radius_m });
      }
    }
    whatifPanel.node.classList.add("is-busy");
    try {
      const result = await ctx.api("/api/v1/coverage/what-if", { method: "POST", body, ...SLOW });
      if (!alive || generation !== state.generation) return;
      state.whatif = result;
      state.whatifError = null;
    } catch (err) {
      if (!alive || generation !== state.generation) return;
      state.whatif = null;
      state.whatifError = err.message || String(err);
    }
    whatifPanel.node.classList.remove("is-busy");
    drawWhatIf();
    drawMap();
  }, WHATIF_DELAY_MS);

  function drawWhatIf() {
    const body = whatifPanel.body;
    if (!canPlan) {
      fill(body, notice("What-if needs the coverage:plan right."));
      return;
    }
    const c = state.coverage?.city;
    const modeField = h(
      "fieldset",
      { className: "segmented" },
      h("legend", {}, "A switched-off site is"),
      ["fail", "remove"].map((mode) =>
        h(
          "label",
          {},
          h("input", {
            type: "radio", name: "cov-mode", value: mode, checked: state.mode === mode,
            onchange: () => { state.mode = mode; askWhatIf(); },
          }),
          mode === "fail" ? " down (built, not working)" : " removed (taken away)",
        ),
      ),
    );
    const result = h("div", { className: "whatif-result", "aria-live": "polite" });
    const w = state.whatif;
    if (state.whatifError) {
      result.append(notice(`The what-if could not be computed: ${state.whatifError}`, "error"));
    } else if (!w) {
      result.append(
        h("div", { className: "whatif-figure" },
          h("span", { className: "whatif-label" }, "People served now"),
          h("span", { className: "whatif-value", dataset: { figure: "whatif-city" } }, pct(c?.live_demand_pct))),
        h("p", { className: "panel-note" }, "Switch sites off on the map or in the list below, or try a suggested site, to see what the city would lose or gain."),
      );
    } else {
      const before = w.city.live_demand_pct_before;
      const after = w.city.live_demand_pct_after;
      const delta = typeof before === "number" && typeof after === "number" ? after - before : null;
      result.append(
        h("div", { className: `whatif-figure ${delta < 0 ? "is-worse" : delta > 0 ? "is-better" : ""}` },
          h("span", { className: "whatif-label" }, "People served"),
          h("span", { className: "whatif-value", dataset: { figure: "whatif-city" } }, pct(after)),
          h("span", { className: "whatif-delta" }, `${points(delta)} from ${pct(before)}`)),
        h("p", { className: "whatif-people" },
          w.demand_lost > 0 ? h("span", { className: "lost" }, `−${count(w.demand_lost)} people lose service`) : null,
          w.demand_gained > 0 ? h("span", { className: "gained" }, `+${count(w.demand_gained)} people gain service`) : null,
          !(w.demand_lost > 0) && !(w.demand_gained > 0) ? "Nobody gains or loses service." : null),
        table({
          columns: [
            { label: "District", value: (d) => d.name },
            { label: "Served", num: true, value: (d) => `${pct(d.live_demand_pct_before)} → ${pct(d.live_demand_pct_after)}` },
            { label: "People ±", num: true, value: (d) => signedPeople(d.demand_gained - d.demand_lost) },
          ],
          rows: w.districts.filter((d) => d.demand_lost > 0 || d.demand_gained > 0),
          rowData: (d) => ({ district: d.district ?? "" }),
          empty: "No district changes.",
        }),
      );
    }
    const reset = h("button", {
      type: "button", className: "secondary", disabled: !state.off.size && !state.on.size,
      onclick: () => { state.off.clear(); state.on.clear(); changed(); },
    }, "Reset");
    fill(body, result, modeField, siteList(), h("div", { className: "panel-actions" }, reset));
  }

  function signedPeople(n) {
    if (typeof n !== "number" || Math.abs(n) < 0.5) return "0";
    return `${n > 0 ? "+" : "−"}${count(Math.abs(n))}`;
  }

  function siteList() {
    const sites = state.sites
      .filter((f) => state.active.has(f.properties.id))
      .sort((a, b) => a.properties.name.localeCompare(b.properties.name, undefined, { numeric: true }));
    if (!sites.length) return notice("No active sites.");
    const items = sites.map((f) => {
      const p = f.properties;
      const off = state.off.has(p.id);
      return h(
        "li",
        { className: off ? "is-off" : "", dataset: { site: p.id } },
        h("button", {
          type: "button", className: "site-switch", role: "switch", "aria-checked": String(!off),
          "aria-label": `${p.name}: ${off ? "switched off" : "on"}`, onclick: () => toggleSite(p.id),
        }, h("span", { className: "switch-knob", "aria-hidden": "true" })),
        h("span", { className: "site-name" }, p.name),
        h("span", { className: "muted" }, p.district_name || districtName(p.district)),
        stateBadge(p.state),
      );
    });
    return h("div", { className: "site-list-wrap" }, h("h4", {}, "Sites"), h("ul", { className: "site-list" }, items));
  }

  // --- the map -------------------------------------------------------------------------
  function drawMap() {
    if (!map || !state.coverage) return;
    const rows = new Map(state.coverage.data.map((r) => [r.district, r]));
    const after = new Map((state.whatif?.districts || []).map((d) => [d.district, d]));
    const measureOf = (id) => {
      const changedRow = after.get(id);
      if (changedRow && state.measure === "live_demand_pct") return changedRow.live_demand_pct_after;
      if (changedRow && state.measure === "live_pct") return changedRow.live_pct_after;
      if (changedRow && state.measure === "demand_pct") return changedRow.demand_pct_after;
      return rows.get(id)?.[state.measure];
    };
    const label = MEASURES[state.measure];
    map.setLayer("districts", state.districts.filter((f) => f.geometry), {
      fill: (f) => shade(measureOf(f.properties.id)),
      stroke: () => "#1c3d5a",
      className: () => "district-area",
      label: (f) => f.properties.name,
      title: (f) => `${f.properties.name}: ${label.toLowerCase()} ${pct(measureOf(f.properties.id))}`,
    });
    const gaps = state.gaps?.features || [];
    map.setLayer("design-gaps", gaps.filter((f) => f.properties.kind === "design"), {
      fill: () => DESIGN_COLOUR,
      stroke: () => DESIGN_COLOUR,
      className: () => "gap-area gap-design",
      title: (f) => `Design gap in ${districtName(f.properties.district)}: ${count(f.properties.demand)} people, ${area(f.properties.area_m2)}; no site reaches it`,
    });
    map.setLayer("fault-gaps", gaps.filter((f) => f.properties.kind === "fault"), {
      fill: () => FAULT_COLOUR,
      stroke: () => FAULT_COLOUR,
      className: () => "gap-area gap-fault",
      title: (f) => `Fault gap in ${districtName(f.properties.district)}: ${count(f.properties.demand)} people without service while ${f.properties.sites.map(siteName).join(", ") || "its sites"} are down`,
    });
    map.setLayer("whatif-lost", state.whatif?.lost?.features || [], {
      fill: () => LOST_COLOUR,
      stroke: () => "#ffffff",
      radius: () => 3,
      className: () => "lost-point",
      title: () => "Would lose service",
    });
    map.setLayer("sites", state.sites, {
      fill: (f) => (state.off.has(f.properties.id) ? "#ffffff" : STATE_COLOURS[f.properties.state] || STATE_COLOURS.unknown),
      stroke: (f) => (state.off.has(f.properties.id) ? "#1c2128" : "#ffffff"),
      radius: () => 7,
      className: (f) => `site-marker state-${f.properties.state}${state.off.has(f.properties.id) ? " site-off" : ""}`,
      title: (f) => {
        const p = f.properties;
        const off = state.off.has(p.id) ? " — switched off in the what-if" : "";
        return `${p.name} (${p.district_name || districtName(p.district)}): ${STATE_LABELS[p.state] || p.state}, ${p.aps_up}/${p.aps_total} APs up${off}`;
      },
      onClick: (f) => toggleSite(f.properties.id),
    });
    const suggested = (state.suggestions?.sites || []).map((s) => ({
      type: "Feature",
      id: s.candidate,
      geometry: { type: "Point", coordinates: [s.lon, s.lat] },
      properties: s,
    }));
    map.setLayer("suggestions", suggested, {
      fill: (f) => (state.on.has(f.properties.candidate) ? SUGGESTION_COLOUR : "#ffffff"),
      stroke: () => SUGGESTION_COLOUR,
      radius: () => 8,
      className: (f) => `suggestion-marker${state.on.has(f.properties.candidate) ? " is-on" : ""}`,
      title: (f) => `Suggested: ${suggestionName(f.properties, state.suggestions.sites.indexOf(f.properties))}, +${count(f.properties.added_demand)} people${state.on.has(f.properties.candidate) ? " (built in the what-if)" : ""}`,
      onClick: (f) => toggleCandidate(f.properties.candidate),
    });
    fill(
      legendBox,
      legend([
        { title: `Districts — ${label.toLowerCase()}`, items: [...SHADES.map((s) => ({ label: s.label, color: s.colour })), { label: "no data", color: NO_DATA_SHADE }] },
        { title: "Gaps", items: [{ label: "fault: sites down", color: FAULT_COLOUR, shape: "hatch" }, { label: "design: no site reaches", color: DESIGN_COLOUR, shape: "hatch" }] },
        {
          title: "Sites",
          items: [
            ...["up", "degraded", "down", "unknown"].map((s) => ({ label: STATE_LABELS[s].toLowerCase(), color: STATE_COLOURS[s], shape: "circle" })),
            { label: "switched off", color: "#1c2128", shape: "ring" },
            { label: "suggested new site", color: SUGGESTION_COLOUR, shape: "ring" },
            ...(state.whatif?.lost_points ? [{ label: "would lose service", color: LOST_COLOUR, shape: "circle" }] : []),
          ],
        },
      ]),
    );
    if (!state.fitted) {
      const bbox = ctx.config?.bbox || bboxOf([...state.districts, ...state.sites]);
      if (bbox) {
        map.fit(bbox);
        state.fitted = true;
      }
    }
  }

  refresh();
  loadSuggestions();

  return () => {
    alive = false;
    clearTimeout(timer);
    askWhatIf.cancel();
    map?.destroy();
  };
}
