// Small building blocks the coverage and partner views share: elements, number formats,
// tables, figure tiles and the state colours. Plain ES module, no dependencies. Text goes in
// through textContent only (site and district names come from import files, not from us),
// and no element gets a style attribute (the page's CSP blocks them): look is views.css's.

import { STATE_COLORS } from "./map.js";

// The colours a site's state is drawn in: map.js's, so every view and legend agrees.
export const STATE_COLOURS = STATE_COLORS;
export const STATE_LABELS = {
  up: "Up",
  degraded: "Degraded",
  down: "Down",
  unknown: "Unknown",
};
export const STATE_ORDER = ["down", "degraded", "unknown", "up"];

// Shown for a figure the API cannot give (null): "no data" is never printed as 0.
export const NO_DATA = "—";

/** An element: h("td", {className: "num", title: "..."}, "text", child, ...). Attributes
 * starting with "on" are listeners; "dataset" is an object; booleans toggle attributes. */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (key === "className") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

// --- numbers ---------------------------------------------------------------------------

const isNum = (v) => typeof v === "number" && Number.isFinite(v);

/** A percentage 0..100 with one decimal ("97.3 %"); 100 and 0 without. */
export function pct(value, digits = 1) {
  if (!isNum(value)) return NO_DATA;
  if (value === 100 || value === 0) return `${value} %`;
  return `${value.toFixed(digits)} %`;
}

/** A count of things or people, grouped ("12,480"). */
export function count(value) {
  if (!isNum(value)) return NO_DATA;
  return Math.round(value).toLocaleString("en-US");
}

/** A signed change in percentage points ("+2.4 pts", "−11.0 pts"). */
export function points(delta) {
  if (!isNum(delta)) return NO_DATA;
  if (Math.abs(delta) < 0.05) return "±0 pts";
  return `${delta > 0 ? "+" : "−"}${Math.abs(delta).toFixed(1)} pts`;
}

export function km2(value) {
  if (!isNum(value)) return NO_DATA;
  return `${value >= 10 ? value.toFixed(1) : value.toFixed(2)} km²`;
}

/** An area in m², switched to hectares and km² when it grows. */
export function area(m2) {
  if (!isNum(m2)) return NO_DATA;
  if (m2 >= 1e6) return `${(m2 / 1e6).toFixed(2)} km²`;
  if (m2 >= 1e4) return `${(m2 / 1e4).toFixed(1)} ha`;
  return `${Math.round(m2).toLocaleString("en-US")} m²`;
}

export function gigabytes(value) {
  if (!isNum(value)) return NO_DATA;
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(value >= 10 ? 1 : 2)} GB`;
}

/** A duration in words: "2 h 5 min", "3 d 4 h", "45 s". */
export function duration(seconds) {
  if (!isNum(seconds)) return NO_DATA;
  let s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const hours = Math.floor(s / 3600);
  s -= hours * 3600;
  const m = Math.floor(s / 60);
  if (d > 0) return `${d} d ${hours} h`;
  if (hours > 0) return `${hours} h ${m} min`;
  if (m > 0) return `${m} min`;
  return `${s} s`;
}

/** "14:05" for an ISO time, in the browser's zone. */
export function clock(iso) {
  if (!iso) return NO_DATA;
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return NO_DATA;
  return t.toLocaleString("en-GB", { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}

// --- months ----------------------------------------------------------------------------

/** "YYYY-MM" of an instant in a time zone (the city's: reports are by its calendar). */
export function monthOf(ms, timeZone) {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: timeZone || undefined, year: "numeric", month: "2-digit",
  }).formatToParts(new Date(ms));
  const get = (type) => parts.find((p) => p.type === type)?.value;
  return `${get("year")}-${get("month")}`;
}

/** The month before "YYYY-MM". */
export function previousMonth(month) {
  const [y, m] = month.split("-").map(Number);
  return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, "0")}`;
}

/** "November 2026" for "2026-11". */
export function monthName(month) {
  const [y, m] = month.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, 15)).toLocaleString("en-GB", { month: "long", year: "numeric", timeZone: "UTC" });
}

// --- blocks ----------------------------------------------------------------------------

/** A figure tile: a big value, its label, and an optional note line. */
export function tile({ label, value, note, tone, figure }) {
  return h(
    "div",
    { className: `figure${tone ? ` figure-${tone}` : ""}`, dataset: figure ? { figure } : undefined },
    h("span", { className: "figure-value" }, value),
    h("span", { className: "figure-label" }, label),
    note ? h("span", { className: "figure-note" }, note) : null,
  );
}

/** A section card with a heading (and optional controls beside it). */
export function panel(title, { className = "", controls = [], id } = {}) {
  const body = h("div", { className: "panel-body" });
  const node = h(
    "section",
    { className: `panel ${className}`.trim(), "aria-label": title, id },
    h("div", { className: "panel-head" }, h("h3", {}, title), h("div", { className: "panel-tools" }, controls)),
    body,
  );
  return { node, body };
}

/** A table: columns [{label, num, className, value(row) -> text|Node, title(row)}]; rows get
 * `rowData(row)` as data attributes. The wrapper scrolls sideways on a phone. */
export function table({ caption, columns, rows, foot, rowData, rowClass, empty }) {
  const classOf = (c) => [c.num ? "num" : "", c.className || ""].join(" ").trim() || null;
  const head = h("tr", {}, columns.map((c) => h("th", { scope: "col", className: classOf(c) }, c.label)));
  const body = h("tbody");
  for (const row of rows) {
    const cells = columns.map((c) => h("td", { className: classOf(c), title: c.title?.(row) }, c.value(row)));
    body.append(h("tr", { dataset: rowData?.(row), className: rowClass?.(row) }, cells));
  }
  if (!rows.length) {
    body.append(h("tr", { className: "placeholder" }, h("td", { colspan: columns.length }, empty || "Nothing to show.")));
  }
  const tfoot = foot
    ? h("tfoot", {}, h("tr", {}, columns.map((c) => h("td", { className: classOf(c) }, c.value(foot)))))
    : null;
  return h(
    "div",
    { className: "table-wrap" },
    h("table", { className: "data" }, caption ? h("caption", {}, caption) : null, h("thead", {}, head), body, tfoot),
  );
}

/** A coloured state badge: "▼ Down". */
export function stateBadge(state) {
  const mark = { up: "▲", down: "▼", degraded: "◆", unknown: "?" }[state] || "?";
  return h("span", { className: `state state-${state}` }, `${mark} ${STATE_LABELS[state] || state}`);
}

/** A message in place of a view's content (loading, an error, nothing to show). */
export function notice(text, kind = "info") {
  return h("p", { className: `view-notice view-notice-${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

/** Runs `fn` at most once per `ms` after the last call. */
export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

/** [minlon, minlat, maxlon, maxlat] of GeoJSON features' coordinates; null when none. A
 * margin around, and a lone point a small box, so a map fitted to it still shows its street. */
export function bboxOf(features) {
  let box = null;
  const visit = (c) => {
    if (typeof c[0] === "number") {
      box = box ? [Math.min(box[0], c[0]), Math.min(box[1], c[1]), Math.max(box[2], c[0]), Math.max(box[3], c[1])] : [c[0], c[1], c[0], c[1]];
    } else c.forEach(visit);
  };
  for (const f of features || []) if (f?.geometry?.coordinates) visit(f.geometry.coordinates);
  if (!box) return null;
  // A margin, so a marker and its label at the edge stay inside the map.
  const dx = Math.max((box[2] - box[0]) * 0.15, 0.001);
  const dy = Math.max((box[3] - box[1]) * 0.15, 0.001);
  return [box[0] - dx, box[1] - dy, box[2] + dx, box[3] + dy];
}

/** A map's legend drawn beside the map rather than over it (a long legend would hide a
 * phone's whole map): groups [{title, items: [{label, color, shape}]}], the swatches of
 * map.js's own legend (circle, square, hatch). */
export function legend(groups) {
  return h(
    "div",
    { className: "view-legend", "aria-label": "Legend" },
    groups.map((group) =>
      h(
        "div",
        { className: "view-legend-group" },
        h("span", { className: "view-legend-title" }, group.title),
        group.items.map((item) => {
          const swatch = h("span", { className: `cw-swatch cw-swatch-${item.shape || "square"}`, "aria-hidden": "true" });
          if (item.shape === "hatch") {
            swatch.style.backgroundImage = `repeating-linear-gradient(45deg, ${item.color} 0 2px, transparent 2px 5px)`;
            swatch.style.borderColor = item.color;
          } else if (item.shape === "ring") {
            swatch.classList.add("cw-swatch-circle");
            swatch.style.borderColor = item.color;
            swatch.style.borderWidth = "2px";
            swatch.style.backgroundColor = "#ffffff";
          } else {
            swatch.style.backgroundColor = item.color;
          }
          return h("span", { className: "cw-legend-item" }, swatch, h("span", {}, item.label));
        }),
      ),
    ),
  );
}
