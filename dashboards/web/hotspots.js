// The public hotspot status page (/hotspots): every hotspot on a map and in a list, with
// whether it works now and whether a fix is under way, so that a citizen can find one that
// works nearby. No login: it reads /public/hotspots only (names, places, up or down), which
// the server caches; the page asks again every minute.
// CSP: no inline script or style; names go in as text only.

import { STATE_COLORS, createMap } from "./map.js";
import { html as h } from "./dom.js";

const HOTSPOTS_URL = "/public/hotspots";
const REFRESH_MS = 60_000;
const FETCH_TIMEOUT_MS = 10_000;
const STATE_WORD = { up: "Working", down: "Not working", unknown: "Not checked yet" };
const STATE_MARK = { up: "▲", down: "▼", unknown: "?" };
const STATE_RANK = { down: 0, unknown: 1, up: 2 };
const FIXING_COLOR = "#d97706";

const $ = (id) => document.getElementById(id);

const page = { hotspots: [], asOf: null, picked: "", map: null, fitted: false, loaded: false };

function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

function bboxOf(features) {
  if (!features.length) return null;
  const lons = features.map((f) => f.geometry.coordinates[0]);
  const lats = features.map((f) => f.geometry.coordinates[1]);
  const box = [Math.min(...lons), Math.min(...lats), Math.max(...lons), Math.max(...lats)];
  const dx = Math.max((box[2] - box[0]) * 0.15, 0.002);
  const dy = Math.max((box[3] - box[1]) * 0.15, 0.002);
  return [box[0] - dx, box[1] - dy, box[2] + dx, box[3] + dy];
}

function describe(p) {
  return `${p.name}, ${STATE_WORD[p.state] || p.state}${p.fix_under_way ? ", fix under way" : ""}`;
}

function drawMap() {
  // Down last, so that it is drawn on top of its neighbours; the picked one above all.
  const ordered = [...page.hotspots].sort((a, b) => {
    const picked = (a.properties.id === page.picked) - (b.properties.id === page.picked);
    return picked || (STATE_RANK[b.properties.state] ?? 9) - (STATE_RANK[a.properties.state] ?? 9);
  });
  page.map.setLayer("hotspots", ordered, {
    fill: (f) => STATE_COLORS[f.properties.state] || STATE_COLORS.unknown,
    stroke: (f) => (f.properties.fix_under_way ? FIXING_COLOR : "#ffffff"),
    radius: (f) => (f.properties.id === page.picked ? 12 : 9),
    className: (f) => `hotspot${f.properties.fix_under_way ? " hotspot-fixing" : ""}${f.properties.id === page.picked ? " hotspot-picked" : ""}`,
    label: (f) => (f.properties.id === page.picked ? f.properties.name : ""),
    title: (f) => describe(f.properties),
    ariaLabel: (f) => describe(f.properties),
    onClick: (f) => pick(f.properties.id, true),
  });
  page.map.setLegend([
    { label: "Working", color: STATE_COLORS.up, shape: "circle" },
    { label: "Not working", color: STATE_COLORS.down, shape: "circle" },
    { label: "Not checked yet", color: STATE_COLORS.unknown, shape: "circle" },
    { label: "Fix under way (ring)", color: FIXING_COLOR, shape: "circle" },
  ]);
  if (!page.fitted) {
    const box = bboxOf(page.hotspots);
    if (box) {
      page.map.fit(box);
      page.fitted = true;
    }
  }
}

function visible() {
  const needle = $("find").value.trim().toLowerCase();
  return page.hotspots
    .filter((f) => !needle || [f.properties.name, f.properties.district].some((v) => v && v.toLowerCase().includes(needle)))
    .sort((a, b) => a.properties.name.localeCompare(b.properties.name));
}

function renderList() {
  const list = $("hotspot-list");
  const items = document.createDocumentFragment();
  for (const f of visible()) {
    const p = f.properties;
    const li = h("li", `hotspot-item${p.id === page.picked ? " is-picked" : ""}`);
    li.dataset.site = p.id;
    li.tabIndex = -1;
    const top = h("div", "hotspot-top");
    const name = h("button", "hotspot-name", p.name);
    name.type = "button";
    name.title = "Show on the map";
    name.addEventListener("click", () => pick(p.id, false));
    top.append(name, h("span", `state state-${p.state}`, `${STATE_MARK[p.state] || "?"} ${STATE_WORD[p.state] || p.state}`));
    const meta = h("div", "hotspot-meta");
    meta.append(h("span", "", p.district || "no district"));
    if (p.fix_under_way) meta.append(h("span", "fixing", "Fix under way"));
    const report = h("a", "pub-link", "Report a problem here");
    report.href = `/report?site=${encodeURIComponent(p.id)}`;
    meta.append(report);
    li.append(top, meta);
    items.append(li);
  }
  if (!items.childNodes.length) {
    items.append(h("li", "hint", page.loaded ? "No hotspot matches." : "Loading…"));
  }
  list.replaceChildren(items);
}

function renderSummary() {
  const all = page.hotspots;
  const n = (state) => all.filter((f) => f.properties.state === state).length;
  const fixing = all.filter((f) => f.properties.fix_under_way).length;
  const parts = [`${n("up")} working`, `${n("down")} not working`];
  if (n("unknown")) parts.push(`${n("unknown")} not checked yet`);
  if (fixing) parts.push(`a fix under way at ${fixing}`);
  $("summary").textContent = `${plural(all.length, "hotspot")}: ${parts.join(", ")}.`;
  if (page.asOf) {
    const t = new Date(page.asOf);
    $("as-of").textContent = `As of ${t.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}; this page updates every minute.`;
  }
}

function pick(id, fromMap) {
  page.picked = id;
  drawMap();
  renderList();
  const li = document.querySelector(`#hotspot-list li[data-site="${CSS.escape(id)}"]`);
  if (li && fromMap) {
    li.scrollIntoView({ block: "nearest", behavior: "smooth" });
    li.focus({ preventScroll: true });
  }
}

async function load() {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), FETCH_TIMEOUT_MS);
  try {
    const resp = await fetch(HOTSPOTS_URL, { credentials: "omit", signal: abort.signal });
    if (!resp.ok) throw new Error(`error ${resp.status}`);
    const body = await resp.json();
    page.hotspots = (body.features || []).filter((f) => f.geometry && f.properties);
    page.asOf = body.as_of || null;
    page.loaded = true;
    $("error").hidden = true;
    renderSummary();
    renderList();
    drawMap();
  } catch (err) {
    const why = err && err.name === "AbortError" ? "the server did not answer in time" : String((err && err.message) || err);
    const banner = $("error");
    banner.textContent = `The hotspots could not be loaded (${why}). Trying again in a minute.`;
    banner.hidden = false;
    if (!page.loaded) $("summary").textContent = "The hotspots are not available right now.";
  } finally {
    clearTimeout(timer);
    setTimeout(load, REFRESH_MS);
  }
}

function init() {
  page.map = createMap($("hotspots-map"));
  $("find").addEventListener("input", renderList);
  renderList();
  load();
}

init();
