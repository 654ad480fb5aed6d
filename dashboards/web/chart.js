// SVG line charts for the dashboard: time on x, one unit on y, gaps where a sample is
// null (an AP that did not answer has no value, and a line drawn across the gap would
// claim one), a legend, and a hover read-out. No chart library: see map.js for why.
import { html, svg } from "./dom.js";

/** Series colours, in order; distinguishable for the common colour-vision deficiencies. */
export const PALETTE = ["#0969da", "#d97706", "#1a7f37", "#8250df", "#cf222e", "#57606a"];
const MARGIN = { top: 24, right: 16, bottom: 28, left: 56 };

// 1, 2 or 5 times a power of ten: ticks a person reads at a glance.
function niceStep(span, count) {
  const raw = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const TIME_STEPS = [
  MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE,
  HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY,
];

function timeTicks(t0, t1, count) {
  const step = TIME_STEPS.find((s) => (t1 - t0) / s <= count) || 14 * DAY;
  // Align to local midnight/hours: ticks at 00:00, 06:00, not at 00:07.
  const offset = new Date(t0).getTimezoneOffset() * MINUTE;
  const ticks = [];
  for (let t = Math.ceil((t0 - offset) / step) * step + offset; t <= t1; t += step) ticks.push(t);
  return { ticks, step };
}

function timeLabel(ms, step) {
  const d = new Date(ms);
  if (step >= DAY) return d.toLocaleDateString([], { day: "numeric", month: "short" });
  const hm = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  if (d.getHours() === 0 && d.getMinutes() === 0 && step >= HOUR) {
    return d.toLocaleDateString([], { day: "numeric", month: "short" });
  }
  return hm;
}

/** A value as a person reads it: 3 significant digits at most, no "0.30000004". */
export function formatValue(v, unit) {
  if (v == null || !Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  const text = a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toFixed(a === 0 ? 0 : 3);
  return unit ? `${text} ${unit}` : text;
}

/**
 * lineChart(container, { series: [{label, unit, points: [[ms, value|null], ...]}], yLabel, height })
 * -> { destroy() }
 */
export function lineChart(container, { series = [], yLabel = "", height = 220 } = {}) {
  const root = html("figure", "cw-chart");
  const plot = html("div", "cw-chart-plot");
  const surface = svg("svg", { class: "cw-chart-svg", role: "img" });
  surface.setAttribute("aria-label", yLabel || series.map((s) => s.label).join(", "));
  const readout = html("div", "cw-chart-readout");
  readout.hidden = true;
  plot.append(surface, readout);
  const legend = html("figcaption", "cw-chart-legend");
  series.forEach((s, i) => {
    const item = html("span", "cw-legend-item");
    const swatch = html("span", "cw-swatch cw-swatch-line");
    swatch.style.backgroundColor = PALETTE[i % PALETTE.length];
    item.append(swatch, html("span", "cw-legend-label", s.unit ? `${s.label} (${s.unit})` : s.label));
    legend.append(item);
  });
  root.append(plot, legend);
  container.append(root);

  const all = series.flatMap((s) => s.points || []);
  const times = all.map((p) => p[0]);
  const values = all.map((p) => p[1]).filter((v) => v != null && Number.isFinite(v));
  const empty = values.length === 0;
  let geometry = null;

  function draw() {
    const width = Math.max(200, Math.round(plot.getBoundingClientRect().width));
    surface.setAttribute("viewBox", `0 0 ${width} ${height}`);
    surface.setAttribute("width", String(width));
    surface.setAttribute("height", String(height));
    surface.replaceChildren();
    const innerW = width - MARGIN.left - MARGIN.right;
    const innerH = height - MARGIN.top - MARGIN.bottom;
    if (empty) {
      const t = svg("text", { x: width / 2, y: height / 2, class: "cw-chart-empty" });
      t.setAttribute("text-anchor", "middle");
      t.textContent = "No data in this period";
      surface.append(t);
      geometry = null;
      return;
    }
    const t0 = Math.min(...times);
    const t1 = Math.max(t0 + 1, Math.max(...times));
    let lo = Math.min(0, ...values);
    let hi = Math.max(...values);
    if (hi === lo) hi = lo + 1;
    const yStep = niceStep(hi - lo, innerH < 150 ? 4 : 5);
    lo = Math.floor(lo / yStep) * yStep;
    hi = Math.ceil(hi / yStep) * yStep;
    const decimals = Math.max(0, -Math.floor(Math.log10(yStep) + 1e-9));
    const x = (t) => MARGIN.left + ((t - t0) / (t1 - t0)) * innerW;
    const y = (v) => MARGIN.top + innerH - ((v - lo) / (hi - lo)) * innerH;
    const unit = series[0] ? series[0].unit : "";

    const axes = svg("g", { class: "cw-chart-axes" });
    for (let v = lo; v <= hi + yStep / 2; v += yStep) {
      const yy = y(v).toFixed(1);
      axes.append(svg("line", { x1: MARGIN.left, x2: width - MARGIN.right, y1: yy, y2: yy, class: "cw-grid" }));
      const label = svg("text", { x: MARGIN.left - 6, y: Number(yy) + 4, class: "cw-tick" });
      label.setAttribute("text-anchor", "end");
      label.textContent = v.toFixed(decimals);
      axes.append(label);
    }
    const { ticks, step } = timeTicks(t0, t1, Math.max(2, Math.floor(innerW / 90)));
    for (const t of ticks) {
      const xx = x(t).toFixed(1);
      axes.append(svg("line", { x1: xx, x2: xx, y1: MARGIN.top + innerH, y2: MARGIN.top + innerH + 4, class: "cw-axis" }));
      const label = svg("text", { x: xx, y: height - 8, class: "cw-tick" });
      label.setAttribute("text-anchor", "middle");
      label.textContent = timeLabel(t, step);
      axes.append(label);
    }
    axes.append(svg("line", { x1: MARGIN.left, x2: width - MARGIN.right, y1: MARGIN.top + innerH, y2: MARGIN.top + innerH, class: "cw-axis" }));
    const title = svg("text", { x: 4, y: 12, class: "cw-chart-unit" });
    title.textContent = unit || "";
    axes.append(title);
    surface.append(axes);

    series.forEach((s, i) => {
      const color = PALETTE[i % PALETTE.length];
      const g = svg("g", { class: "cw-series" });
      let d = "";
      let run = 0;
      const pts = s.points || [];
      pts.forEach(([t, v], j) => {
        if (v == null || !Number.isFinite(v)) {
          run = 0;
          return;
        }
        d += `${run ? "L" : "M"}${x(t).toFixed(1)} ${y(v).toFixed(1)}`;
        run += 1;
        const next = pts[j + 1];
        const prev = pts[j - 1];
        const alone = (!prev || prev[1] == null) && (!next || next[1] == null);
        if (alone) g.append(svg("circle", { cx: x(t).toFixed(1), cy: y(v).toFixed(1), r: 2.5, fill: color }));
      });
      const path = svg("path", { d, fill: "none", stroke: color, "stroke-width": 2, "stroke-linejoin": "round" });
      g.prepend(path);
      surface.append(g);
    });
    const cursor = svg("line", { y1: MARGIN.top, y2: MARGIN.top + innerH, class: "cw-cursor" });
    cursor.setAttribute("visibility", "hidden");
    surface.append(cursor);
    geometry = { x, t0, t1, innerW, cursor };
  }

  function nearest(points, t) {
    let best = null;
    for (const p of points) if (!best || Math.abs(p[0] - t) < Math.abs(best[0] - t)) best = p;
    return best;
  }

  function onMove(ev) {
    if (!geometry) return;
    const box = surface.getBoundingClientRect();
    const px = ev.clientX - box.left;
    const t = geometry.t0 + ((px - MARGIN.left) / geometry.innerW) * (geometry.t1 - geometry.t0);
    if (t < geometry.t0 || t > geometry.t1) return onLeave();
    const ref = nearest(series[0]?.points || [], t) || [t, null];
    const xx = geometry.x(ref[0]).toFixed(1);
    geometry.cursor.setAttribute("x1", xx);
    geometry.cursor.setAttribute("x2", xx);
    geometry.cursor.setAttribute("visibility", "visible");
    const when = new Date(ref[0]).toLocaleString([], { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
    readout.replaceChildren(html("div", "cw-readout-time", when));
    series.forEach((s, i) => {
      const p = nearest(s.points || [], ref[0]);
      const line = html("div", "cw-readout-line");
      const swatch = html("span", "cw-swatch cw-swatch-line");
      swatch.style.backgroundColor = PALETTE[i % PALETTE.length];
      line.append(swatch, html("span", "", `${s.label}: ${formatValue(p ? p[1] : null, s.unit)}`));
      readout.append(line);
    });
    readout.hidden = false;
    const left = Number(xx) + 12;
    readout.style.left = `${Math.min(left, box.width - 180)}px`;
  }

  function onLeave() {
    readout.hidden = true;
    if (geometry) geometry.cursor.setAttribute("visibility", "hidden");
  }

  surface.addEventListener("pointermove", onMove);
  surface.addEventListener("pointerleave", onLeave);
  let lastWidth = 0;
  const resize = new ResizeObserver(() => {
    const w = Math.round(plot.getBoundingClientRect().width);
    if (w !== lastWidth) {
      lastWidth = w;
      draw();
    }
  });
  resize.observe(plot);
  draw();

  return {
    element: root,
    destroy() {
      resize.disconnect();
      root.remove();
    },
  };
}
