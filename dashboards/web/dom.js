// Small DOM helpers shared by the dashboard's modules (one copy of each). Text goes in as
// text only (textContent), never as markup: the page runs under a strict CSP and shows
// names that came from an inventory file.

export const SVG_NS = "http://www.w3.org/2000/svg";

/** An HTML element with an optional class and text. */
export function html(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text != null) el.textContent = text;
  return el;
}

/** An SVG element with its attributes. */
export function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** "3 d 4 h", "2 h 5 min", "7 min 12 s", "40 s"; "–" for no value. */
export function duration(seconds) {
  if (seconds == null || !Number.isFinite(seconds)) return "–";
  let s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const hr = Math.floor(s / 3600);
  s -= hr * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d > 0) return `${d} d ${hr} h`;
  if (hr > 0) return `${hr} h ${m} min`;
  if (m > 0) return `${m} min ${s} s`;
  return `${s} s`;
}
