// A small SVG map of the city: GeoJSON layers in Web Mercator (EPSG:3857), so that the
// optional raster tiles (an XYZ template from the settings) line up with what is drawn.
// No map library: the page must work offline and without a build step, and the city
// draws a few hundred sites and a few dozen districts, which SVG handles well.
// CSP: no style attributes in markup; positions and colours are set through the DOM
// (element.style.x = ..., SVG presentation attributes), which the policy allows.
import { html, svg } from "./dom.js";

const TILE_PX = 256;
const MIN_ZOOM = 1;
const MAX_ZOOM = 19;
const MAX_LAT = 85.05112878;
// style.ariaLabel(f), optional: a short name for a clickable feature (default: its title).
// A press that moves less than this is a click, not a drag.
const CLICK_SLOP_PX = 4;

/** Colours of the four site states, shared by the views and their legends. */
export const STATE_COLORS = {
  up: "#1a7f37",
  degraded: "#d97706",
  down: "#cf222e",
  unknown: "#6e7781",
};

// World pixel coordinates at zoom 0 (a 256 px square); multiply by 2^z for zoom z.
function project(lon, lat) {
  const clamped = Math.max(-MAX_LAT, Math.min(MAX_LAT, lat));
  const s = Math.sin((clamped * Math.PI) / 180);
  return [
    ((lon + 180) / 360) * TILE_PX,
    (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * TILE_PX,
  ];
}

function rings(geometry) {
  if (!geometry) return [];
  if (geometry.type === "Polygon") return geometry.coordinates;
  if (geometry.type === "MultiPolygon") return geometry.coordinates.flat();
  if (geometry.type === "LineString") return [geometry.coordinates];
  if (geometry.type === "MultiLineString") return geometry.coordinates;
  return [];
}

function points(geometry) {
  if (!geometry) return [];
  if (geometry.type === "Point") return [geometry.coordinates];
  if (geometry.type === "MultiPoint") return geometry.coordinates;
  return [];
}

// Where a polygon's label goes: the centre of its largest ring's bounding box (good enough
// for districts, which are roughly convex).
function labelAnchor(geometry) {
  let best = null;
  let bestArea = -1;
  for (const ring of rings(geometry)) {
    const xs = ring.map((c) => c[0]);
    const ys = ring.map((c) => c[1]);
    const area = (Math.max(...xs) - Math.min(...xs)) * (Math.max(...ys) - Math.min(...ys));
    if (area > bestArea) {
      bestArea = area;
      best = [(Math.max(...xs) + Math.min(...xs)) / 2, (Math.max(...ys) + Math.min(...ys)) / 2];
    }
  }
  return best || points(geometry)[0] || null;
}

/**
 * createMap(container, { tileUrl, attribution }) -> map with setLayer(name, features, style),
 * fit(bbox), setLegend(items), destroy(). See SPEC14 "map.js".
 */
export function createMap(container, { tileUrl = null, attribution = "" } = {}) {
  const root = html("div", "cw-map");
  const tiles = html("div", "cw-map-tiles");
  const surface = svg("svg", { class: "cw-map-svg", role: "img", "aria-label": "Map" });
  const controls = html("div", "cw-map-controls");
  const legend = html("div", "cw-map-legend");
  legend.hidden = true;
  const credit = html("div", "cw-map-credit", attribution || (tileUrl ? "" : "No background map (offline)"));
  root.append(tiles, surface, controls, legend, credit);
  container.append(root);

  const view = { zoom: 12, cx: 0, cy: 0, width: 0, height: 0, lastBbox: null, userMoved: false };
  const layers = new Map(); // name -> { group, features, style }
  const tileImgs = new Map(); // "z/x/y" -> img
  let frame = 0;

  function button(label, text, onClick) {
    const b = html("button", "cw-map-button", text);
    b.type = "button";
    b.setAttribute("aria-label", label);
    b.title = label;
    b.addEventListener("click", onClick);
    controls.append(b);
  }
  button("Zoom in", "+", () => zoomAt(1, view.width / 2, view.height / 2));
  button("Zoom out", "−", () => zoomAt(-1, view.width / 2, view.height / 2));
  button("Show the whole city", "⤢", () => view.lastBbox && fit(view.lastBbox));

  // --- geometry on screen ---------------------------------------------------------------

  function scale() {
    return 2 ** view.zoom;
  }

  function toScreen(lon, lat) {
    const [x, y] = project(lon, lat);
    const k = scale();
    return [x * k - view.cx + view.width / 2, y * k - view.cy + view.height / 2];
  }

  function pathOf(geometry) {
    const closed = geometry.type === "Polygon" || geometry.type === "MultiPolygon";
    let d = "";
    for (const ring of rings(geometry)) {
      ring.forEach(([lon, lat], i) => {
        const [x, y] = toScreen(lon, lat);
        d += `${i ? "L" : "M"}${x.toFixed(1)} ${y.toFixed(1)}`;
      });
      if (closed && ring.length) d += "Z";
    }
    return d;
  }

  function labelTop(geometry, fallback) {
    let top = Infinity;
    for (const ring of rings(geometry)) for (const [lon, lat] of ring) top = Math.min(top, toScreen(lon, lat)[1]);
    return Number.isFinite(top) ? top + 16 : fallback;
  }

  function drawFeature(group, f, style) {
    const g = f.geometry;
    if (!g) return;
    const cls = style.className ? style.className(f) : "";
    const title = style.title ? style.title(f) : "";
    const label = style.label ? style.label(f) : "";
    const made = [];
    const pts = points(g);
    if (pts.length) {
      const r = style.radius ? style.radius(f) : 6;
      for (const [lon, lat] of pts) {
        const [x, y] = toScreen(lon, lat);
        made.push(svg("circle", { cx: x.toFixed(1), cy: y.toFixed(1), r }));
      }
    } else {
      const path = svg("path", { d: pathOf(g), "fill-rule": "evenodd" });
      if (g.type.includes("Line")) path.setAttribute("fill", "none");
      made.push(path);
    }
    for (const el of made) {
      el.setAttribute("class", `cw-feature ${cls}`.trim());
      if (style.fill && !g.type.includes("Line")) el.setAttribute("fill", style.fill(f));
      if (style.stroke) el.setAttribute("stroke", style.stroke(f));
      if (f.id != null) el.dataset.id = String(f.id);
      if (title) {
        const t = svg("title");
        t.textContent = title;
        el.append(t);
      }
      if (style.onClick) {
        el.classList.add("cw-clickable");
        el.setAttribute("tabindex", "0");
        el.setAttribute("role", "button");
        const name = style.ariaLabel ? style.ariaLabel(f) : title;
        if (name) el.setAttribute("aria-label", name);
        el.addEventListener("click", (ev) => {
          if (!dragged) style.onClick(f, ev);
        });
        el.addEventListener("keydown", (ev) => {
          if (ev.key === "Enter" || ev.key === " ") {
            ev.preventDefault();
            style.onClick(f, ev);
          }
        });
      }
      group.append(el);
    }
    if (label) {
      const at = labelAnchor(g);
      if (at) {
        const [x, y] = toScreen(at[0], at[1]);
        // A point's label sits above it; a polygon's just inside its top edge, where the
        // markers inside it are least likely to be.
        const dy = pts.length ? -((style.radius ? style.radius(f) : 6) + 4) : labelTop(g, y) - y;
        const text = svg("text", { x: x.toFixed(1), y: (y + dy).toFixed(1), class: "cw-map-label" });
        text.setAttribute("text-anchor", "middle");
        text.textContent = label;
        group.append(text);
      }
    }
  }

  function drawLayer(layer) {
    layer.group.replaceChildren();
    for (const f of layer.features) drawFeature(layer.group, f, layer.style);
  }

  function drawTiles() {
    if (!tileUrl) return;
    const z = Math.max(0, Math.min(MAX_ZOOM, Math.round(view.zoom)));
    const size = TILE_PX * 2 ** (view.zoom - z); // on-screen size of one tile of level z
    const left = view.cx - view.width / 2; // world px at view.zoom
    const top = view.cy - view.height / 2;
    const n = 2 ** z;
    const x0 = Math.floor(left / size);
    const y0 = Math.max(0, Math.floor(top / size));
    const x1 = Math.floor((left + view.width) / size);
    const y1 = Math.min(n - 1, Math.floor((top + view.height) / size));
    const wanted = new Set();
    for (let ty = y0; ty <= y1; ty += 1) {
      for (let tx = x0; tx <= x1; tx += 1) {
        const wx = ((tx % n) + n) % n;
        const key = `${z}/${tx}/${ty}`;
        wanted.add(key);
        let img = tileImgs.get(key);
        if (!img) {
          img = document.createElement("img");
          img.alt = "";
          img.className = "cw-tile";
          img.decoding = "async";
          img.referrerPolicy = "no-referrer";
          img.addEventListener("error", () => img.classList.add("cw-tile-failed"));
          img.src = tileUrl
            .replace("{z}", String(z))
            .replace("{x}", String(wx))
            .replace("{y}", String(ty))
            .replace("{s}", "abc"[Math.abs(tx + ty) % 3]);
          tileImgs.set(key, img);
          tiles.append(img);
        }
        img.style.left = `${(tx * size - left).toFixed(1)}px`;
        img.style.top = `${(ty * size - top).toFixed(1)}px`;
        img.style.width = `${size.toFixed(1)}px`;
        img.style.height = `${size.toFixed(1)}px`;
      }
    }
    for (const [key, img] of tileImgs) {
      if (!wanted.has(key)) {
        img.remove();
        tileImgs.delete(key);
      }
    }
  }

  function redraw() {
    frame = 0;
    surface.setAttribute("viewBox", `0 0 ${view.width} ${view.height}`);
    surface.setAttribute("width", String(view.width));
    surface.setAttribute("height", String(view.height));
    drawTiles();
    for (const layer of layers.values()) drawLayer(layer);
  }

  function schedule() {
    if (!frame) frame = requestAnimationFrame(redraw);
  }

  function measure() {
    const box = root.getBoundingClientRect();
    const w = Math.round(box.width);
    const h = Math.round(box.height);
    if (w === view.width && h === view.height) return false;
    view.width = w;
    view.height = h;
    return true;
  }

  // --- interaction ----------------------------------------------------------------------

  function zoomAt(delta, sx, sy) {
    const before = view.zoom;
    const after = Math.max(MIN_ZOOM, Math.min(MAX_ZOOM, before + delta));
    if (after === before) return;
    const k = 2 ** (after - before);
    // The world point under (sx, sy) stays under it.
    const wx = view.cx + sx - view.width / 2;
    const wy = view.cy + sy - view.height / 2;
    view.cx = wx * k - (sx - view.width / 2);
    view.cy = wy * k - (sy - view.height / 2);
    view.zoom = after;
    view.userMoved = true;
    schedule();
  }

  function onWheel(ev) {
    ev.preventDefault();
    const box = root.getBoundingClientRect();
    const step = Math.max(-1, Math.min(1, -ev.deltaY / 200));
    zoomAt(step, ev.clientX - box.left, ev.clientY - box.top);
  }

  let press = null;
  let dragged = false;

  function onDown(ev) {
    if (ev.button !== 0) return;
    press = { x: ev.clientX, y: ev.clientY, cx: view.cx, cy: view.cy, id: ev.pointerId };
    dragged = false;
  }

  function onMove(ev) {
    if (!press || ev.pointerId !== press.id) return;
    const dx = ev.clientX - press.x;
    const dy = ev.clientY - press.y;
    if (!dragged && Math.hypot(dx, dy) < CLICK_SLOP_PX) return;
    if (!dragged) {
      dragged = true;
      root.classList.add("cw-dragging");
      root.setPointerCapture(ev.pointerId);
    }
    view.userMoved = true;
    view.cx = press.cx - dx;
    view.cy = press.cy - dy;
    schedule();
  }

  function onUp(ev) {
    if (!press || ev.pointerId !== press.id) return;
    press = null;
    root.classList.remove("cw-dragging");
    // The click that follows a drag must not open a marker; clear after it has fired.
    setTimeout(() => {
      dragged = false;
    }, 0);
  }

  root.addEventListener("wheel", onWheel, { passive: false });
  root.addEventListener("pointerdown", onDown);
  root.addEventListener("pointermove", onMove);
  root.addEventListener("pointerup", onUp);
  root.addEventListener("pointercancel", onUp);

  const resize = new ResizeObserver(() => {
    if (!measure()) return;
    if (view.lastBbox && !view.userMoved) fit(view.lastBbox);
    else schedule();
  });
  resize.observe(root);
  measure();

  // --- the interface --------------------------------------------------------------------

  function setLayer(name, features, style = {}) {
    let layer = layers.get(name);
    if (!layer) {
      layer = { group: svg("g", { class: `cw-layer cw-layer-${name}` }) };
      layers.set(name, layer);
      surface.append(layer.group);
    }
    layer.features = (features || []).filter((f) => f && f.geometry);
    layer.style = style;
    drawLayer(layer);
  }

  function fit(bbox) {
    if (!bbox || bbox.length !== 4 || !bbox.every(Number.isFinite)) return;
    view.lastBbox = bbox;
    view.userMoved = false;
    measure();
    const [x0, y1] = project(bbox[0], bbox[1]);
    const [x1, y0] = project(bbox[2], bbox[3]);
    const pad = 24;
    const w = Math.max(1e-9, x1 - x0);
    const h = Math.max(1e-9, y1 - y0);
    const k = Math.min((view.width - 2 * pad) / w, (view.height - 2 * pad) / h);
    view.zoom = Math.max(MIN_ZOOM, Math.min(16, Math.log2(Math.max(k, 1e-9))));
    const s = scale();
    view.cx = ((x0 + x1) / 2) * s;
    view.cy = ((y0 + y1) / 2) * s;
    redraw();
  }

  function setLegend(items) {
    legend.replaceChildren();
    for (const item of items || []) {
      const row = html("div", "cw-legend-item");
      const swatch = html("span", `cw-swatch cw-swatch-${item.shape || "square"}`);
      if (item.shape === "hatch") {
        swatch.style.backgroundImage = `repeating-linear-gradient(45deg, ${item.color} 0 2px, transparent 2px 6px)`;
        swatch.style.borderColor = item.color;
      } else {
        swatch.style.backgroundColor = item.color;
      }
      row.append(swatch, html("span", "cw-legend-label", item.label));
      legend.append(row);
    }
    legend.hidden = !(items && items.length);
  }

  function destroy() {
    resize.disconnect();
    if (frame) cancelAnimationFrame(frame);
    root.remove();
    layers.clear();
    tileImgs.clear();
  }

  return { setLayer, fit, setLegend, destroy, element: root };
}
