// The public report page (/report): a citizen says what is wrong at a hotspot, with no
// account. Mobile first: a map of the hotspots to tap (or the phone's location), five
// problems in plain words, optional text, photo and phone number.
//
// Before sending, the page solves a small proof of work the server hands out
// (/public/report-challenge): a nonce such that SHA-256("<token>:<nonce>") starts with
// `bits` zero bits. A person's phone does that in well under a second; a script that
// floods the form pays for every report. The form also carries a honeypot field
// ("website") people never see.
//
// Reads only /public/... routes, never sends the session cookie of a logged-in engineer
// (credentials: "omit"), and shows nothing a citizen sent back to anyone.
// CSP: no inline script or style; text goes in as text only.

import { STATE_COLORS, createMap } from "./map.js";
import { html as h } from "./dom.js";

const HOTSPOTS_URL = "/public/hotspots";
const CHALLENGE_URL = "/public/report-challenge";
const REPORTS_URL = "/public/reports";
const FETCH_TIMEOUT_MS = 10_000;
const SEND_TIMEOUT_MS = 60_000; // a photo from a phone on a weak signal
const BATCH = 128; // digests in flight at once while solving
const STATE_WORD = { up: "working", down: "not working", unknown: "not checked yet" };
const PICKED_COLOR = "#0969da";

const $ = (id) => document.getElementById(id);

// --- SHA-256 and the proof of work ----------------------------------------------------------

// crypto.subtle exists only in a secure context (HTTPS, or localhost). A city that serves the
// page over plain HTTP on its own network must still take reports: then the page hashes with
// this small implementation of FIPS 180-4 (the tests check it against crypto.subtle).
const K = (() => {
  const k = new Uint32Array(64);
  let n = 0;
  for (let p = 2; n < 64; p += 1) {
    let prime = true;
    for (let d = 2; d * d <= p; d += 1) if (p % d === 0) prime = false;
    if (!prime) continue;
    const root = Math.cbrt(p);
    k[n] = Math.floor((root - Math.floor(root)) * 2 ** 32);
    n += 1;
  }
  return k;
})();
const H0 = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

const rotr = (x, n) => (x >>> n) | (x << (32 - n));

/** SHA-256 of bytes, in plain JavaScript (the fallback where crypto.subtle is missing). */
export function sha256(bytes) {
  const length = bytes.length;
  const padded = new Uint8Array((((length + 8) >> 6) + 1) * 64);
  padded.set(bytes);
  padded[length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(length / 2 ** 29));
  view.setUint32(padded.length - 4, (length * 8) >>> 0);
  const hash = Uint32Array.from(H0);
  const w = new Uint32Array(64);
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i += 1) w[i] = view.getUint32(off + i * 4);
    for (let i = 16; i < 64; i += 1) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = hash;
    for (let i = 0; i < 64; i += 1) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) >>> 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) >>> 0;
    }
    hash[0] += a;
    hash[1] += b;
    hash[2] += c;
    hash[3] += d;
    hash[4] += e;
    hash[5] += f;
    hash[6] += g;
    hash[7] += hh;
  }
  const out = new Uint8Array(32);
  const outView = new DataView(out.buffer);
  hash.forEach((word, i) => outView.setUint32(i * 4, word));
  return out;
}

/** Leading zero bits of a digest. */
export function zeroBits(digest) {
  let n = 0;
  for (const byte of digest) {
    if (byte === 0) {
      n += 8;
      continue;
    }
    return n + Math.clz32(byte) - 24;
  }
  return n;
}

const encoder = new TextEncoder();
const subtle = globalThis.crypto && globalThis.crypto.subtle ? globalThis.crypto.subtle : null;

/**
 * The first nonce ("0", "1", ...) whose SHA-256("<token>:<nonce>") has `bits` leading zero
 * bits. Digests go in batches: crypto.subtle answers asynchronously, so a batch in flight at
 * once is many times faster than one at a time; the plain fallback yields to the page
 * between batches so that it stays responsive. `useFallback` forces the fallback (tests).
 */
export async function solve(token, bits, { useFallback = false } = {}) {
  if (!(bits > 0)) return "0";
  const limit = 2 ** Math.min(bits + 6, 40); // 64 times the expected work: give up past it
  const prefix = `${token}:`;
  const digest = !useFallback && subtle
    ? (text) => subtle.digest("SHA-256", encoder.encode(text)).then((b) => new Uint8Array(b))
    : (text) => sha256(encoder.encode(text));
  for (let base = 0; base < limit; base += BATCH) {
    const batch = [];
    for (let i = 0; i < BATCH; i += 1) batch.push(digest(prefix + (base + i)));
    const digests = await Promise.all(batch);
    for (let i = 0; i < BATCH; i += 1) if (zeroBits(digests[i]) >= bits) return String(base + i);
    if (useFallback || !subtle) await new Promise((resolve) => setTimeout(resolve, 0));
  }
  throw new Error("the check took too long");
}

// --- requests -----------------------------------------------------------------------------------

async function fetchJson(url, init = {}, timeoutMs = FETCH_TIMEOUT_MS) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    return await fetch(url, { credentials: "omit", cache: "no-store", ...init, signal: abort.signal });
  } finally {
    clearTimeout(timer);
  }
}

// The API's own words for a refusal, if it gave any: {message}, {detail: "..."} or a
// validation error's first {detail: [{msg}]}.
async function reason(resp) {
  try {
    const body = await resp.json();
    if (body && typeof body.message === "string") return body.message;
    if (body && typeof body.detail === "string") return body.detail;
    if (body && Array.isArray(body.detail) && body.detail[0] && body.detail[0].msg) return body.detail[0].msg;
  } catch (_) {
    // not JSON
  }
  return "";
}

function wait(seconds) {
  if (!Number.isFinite(seconds) || seconds <= 0) return "a little while";
  if (seconds < 90) return `${Math.ceil(seconds)} seconds`;
  if (seconds < 5400) return `${Math.ceil(seconds / 60)} minutes`;
  return `${Math.ceil(seconds / 3600)} hours`;
}

/** One readable line for a refused report. */
export async function refusal(resp) {
  const said = (await reason(resp)).replace(/\.$/, "");
  if (resp.status === 429) {
    const after = Number(resp.headers.get("Retry-After"));
    return `Too many reports have been sent from here or about this hotspot. Please try again in ${wait(after)}.`;
  }
  if (resp.status === 413) return "The photo or the text is too large to send. Please choose a smaller photo or shorten the text.";
  if (resp.status === 403) {
    // The proof of work was refused (expired, or used already): a new one is asked for at
    // every press of the button.
    return `The page's check did not go through${said ? ` (${said})` : ""}. Please press Send report again.`;
  }
  if (resp.status === 422 || resp.status === 400) {
    return said ? `The report was not accepted: ${said}.` : "The report was not accepted: please check what you entered.";
  }
  return `The report could not be sent (error ${resp.status}${said ? `: ${said}` : ""}). Please try again later.`;
}

// --- distances ------------------------------------------------------------------------------

function metres(lat1, lon1, lat2, lon2) {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6_371_000 * Math.asin(Math.min(1, Math.sqrt(a)));
}

function roughly(m) {
  if (m < 1000) return `about ${Math.max(10, Math.round(m / 10) * 10)} m`;
  return `about ${(m / 1000).toFixed(1)} km`;
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

// --- the page -------------------------------------------------------------------------------

const page = {
  hotspots: [], // GeoJSON features of /public/hotspots
  siteId: "", // the picked hotspot
  here: null, // {lat, lon, accuracy} from the browser
  sending: false,
  map: null,
};

function showError(message) {
  const line = $("report-error");
  line.textContent = message || "";
  line.hidden = !message;
  if (message) line.scrollIntoView({ block: "nearest" });
}

function progress(message) {
  const line = $("progress");
  line.textContent = message || "";
  line.hidden = !message;
}

function hotspot(id) {
  return page.hotspots.find((f) => f.properties.id === id) || null;
}

function drawMap() {
  if (!page.map) return;
  // The picked one last: drawn on top of its neighbours.
  const ordered = [...page.hotspots].sort((a, b) => (a.properties.id === page.siteId) - (b.properties.id === page.siteId));
  page.map.setLayer("hotspots", ordered, {
    fill: (f) => STATE_COLORS[f.properties.state] || STATE_COLORS.unknown,
    stroke: (f) => (f.properties.id === page.siteId ? PICKED_COLOR : "#ffffff"),
    radius: (f) => (f.properties.id === page.siteId ? 12 : 9),
    className: (f) => `hotspot${f.properties.id === page.siteId ? " hotspot-picked" : ""}`,
    label: (f) => (f.properties.id === page.siteId ? f.properties.name : ""),
    title: (f) => `${f.properties.name}: ${STATE_WORD[f.properties.state] || f.properties.state}`,
    ariaLabel: (f) => `${f.properties.name}, ${STATE_WORD[f.properties.state] || f.properties.state}`,
    onClick: (f) => pick(f.properties.id),
  });
  const here = page.here
    ? [{ type: "Feature", geometry: { type: "Point", coordinates: [page.here.lon, page.here.lat] }, properties: {} }]
    : [];
  page.map.setLayer("here", here, {
    fill: () => PICKED_COLOR,
    stroke: () => "#ffffff",
    radius: () => 7,
    className: () => "you-are-here",
    label: () => "You",
    title: () => "Your location",
  });
}

function describePick() {
  const note = $("where-note");
  const f = hotspot(page.siteId);
  if (f) {
    const p = f.properties;
    const district = p.district ? ` (${p.district})` : "";
    const fixing = p.fix_under_way ? "; a fix is under way" : "";
    note.textContent = `Reporting about ${p.name}${district}: ${STATE_WORD[p.state] || p.state} as far as we know${fixing}.`;
    return;
  }
  if (page.here) {
    let nearest = null;
    for (const g of page.hotspots) {
      const [lon, lat] = g.geometry.coordinates;
      const d = metres(page.here.lat, page.here.lon, lat, lon);
      if (!nearest || d < nearest.d) nearest = { d, name: g.properties.name };
    }
    const near = nearest ? ` The nearest hotspot is ${nearest.name}, ${roughly(nearest.d)} away.` : "";
    note.textContent = `Using your location.${near}`;
    return;
  }
  note.textContent = "";
}

function pick(siteId) {
  page.siteId = hotspot(siteId) ? siteId : "";
  if (page.siteId) page.here = null; // one place: the hotspot picked wins
  $("site").value = page.siteId;
  showError("");
  drawMap();
  describePick();
}

function locate() {
  if (!navigator.geolocation) {
    showError("This browser cannot give your location. Please choose the hotspot on the map or in the list.");
    return;
  }
  const button = $("locate");
  button.disabled = true;
  $("where-note").textContent = "Finding your location…";
  navigator.geolocation.getCurrentPosition(
    (pos) => {
      button.disabled = false;
      page.here = { lat: pos.coords.latitude, lon: pos.coords.longitude, accuracy: pos.coords.accuracy };
      page.siteId = "";
      $("site").value = "";
      showError("");
      drawMap();
      describePick();
      if (page.map) {
        const d = 0.004;
        page.map.fit([page.here.lon - d, page.here.lat - d, page.here.lon + d, page.here.lat + d]);
      }
    },
    (err) => {
      button.disabled = false;
      describePick();
      const why = err && err.code === 1 ? "permission was refused" : "the phone did not answer";
      showError(`Your location is not available (${why}). Please choose the hotspot on the map or in the list.`);
    },
    { enableHighAccuracy: true, timeout: 15_000, maximumAge: 60_000 },
  );
}

async function loadHotspots() {
  try {
    const resp = await fetchJson(HOTSPOTS_URL);
    if (!resp.ok) throw new Error(`error ${resp.status}`);
    const body = await resp.json();
    page.hotspots = (body.features || []).filter((f) => f.geometry && f.properties);
  } catch (err) {
    $("where-note").textContent = "The hotspots could not be loaded; you can still use your location.";
    return;
  }
  const select = $("site");
  const names = [...page.hotspots].sort((a, b) => a.properties.name.localeCompare(b.properties.name));
  for (const f of names) {
    const p = f.properties;
    const option = h("option", "", p.district ? `${p.name} — ${p.district}` : p.name);
    option.value = p.id;
    select.append(option);
  }
  const box = bboxOf(page.hotspots);
  if (page.map && box) page.map.fit(box);
  const wanted = new URLSearchParams(location.search).get("site");
  if (wanted && hotspot(wanted)) pick(wanted);
  else drawMap();
}

function formData(token, nonce) {
  const form = $("report-form");
  const data = new FormData();
  data.set("problem", form.elements.problem.value);
  if (page.siteId) data.set("site_id", page.siteId);
  else if (page.here) {
    data.set("lat", page.here.lat.toFixed(6));
    data.set("lon", page.here.lon.toFixed(6));
  }
  const text = $("text").value.trim();
  if (text) data.set("text", text);
  const phone = $("phone").value.trim();
  if (phone) data.set("phone", phone);
  const photo = $("photo").files[0];
  if (photo) data.set("photo", photo, photo.name);
  data.set("website", $("website").value);
  data.set("token", token);
  data.set("nonce", nonce);
  return data;
}

function answerText(body) {
  const ref = `R-${body.id}`;
  if (!body.site_name) {
    return `Report ${ref} is recorded. No hotspot is within reach of that place, so it was not matched to one; the WiFi team will look at it.`;
  }
  if (body.known) return `Report ${ref} for ${body.site_name}: the operation centre already knows about it.`;
  return `Report ${ref} for ${body.site_name}: the operation centre has been told. Yours is the first report of it.`;
}

async function send(event) {
  event.preventDefault();
  if (page.sending) return;
  const form = $("report-form");
  if (!page.siteId && !page.here) {
    showError("Please choose the hotspot on the map or in the list, or use your location.");
    return;
  }
  if (!form.elements.problem.value) {
    showError("Please choose what is wrong.");
    form.querySelector('input[name="problem"]').focus();
    return;
  }
  page.sending = true;
  const button = $("send");
  button.disabled = true;
  showError("");
  try {
    progress("Preparing your report…");
    const challengeResp = await fetchJson(CHALLENGE_URL);
    if (!challengeResp.ok) {
      showError(await refusal(challengeResp));
      return;
    }
    const challenge = await challengeResp.json();
    const nonce = await solve(challenge.token, challenge.bits);
    progress("Sending…");
    const resp = await fetchJson(REPORTS_URL, { method: "POST", body: formData(challenge.token, nonce) }, SEND_TIMEOUT_MS);
    if (!resp.ok) {
      showError(await refusal(resp));
      return;
    }
    const body = await resp.json();
    $("answer-text").textContent = answerText(body);
    form.hidden = true;
    $("answer").hidden = false;
    $("answer").dataset.report = String(body.id);
    $("answer").focus();
  } catch (err) {
    const why = err && err.name === "AbortError" ? "the server did not answer in time" : String((err && err.message) || err);
    showError(`The report could not be sent (${why}). Please check your connection and try again.`);
  } finally {
    progress("");
    page.sending = false;
    button.disabled = false;
  }
}

function another() {
  const form = $("report-form");
  form.reset();
  page.siteId = "";
  page.here = null;
  $("answer").hidden = true;
  form.hidden = false;
  drawMap();
  describePick();
  $("site").focus();
}

function init() {
  page.map = createMap($("report-map"));
  page.map.setLegend([
    { label: "Working", color: STATE_COLORS.up, shape: "circle" },
    { label: "Not working", color: STATE_COLORS.down, shape: "circle" },
    { label: "Not checked yet", color: STATE_COLORS.unknown, shape: "circle" },
  ]);
  $("report-form").addEventListener("submit", send);
  $("site").addEventListener("change", () => pick($("site").value));
  $("locate").addEventListener("click", locate);
  $("another").addEventListener("click", another);
  loadHotspots();
}

init();
