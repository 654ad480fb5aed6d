// citywifi live status page: plain ES2020, no dependencies, no build step.
// Polls the status API, keeps the last good data when a poll fails, and renders
// with textContent only (AP and site names come from an import file, not from us).
"use strict";

(() => {
  const STATUS_URL = "/api/v1/status?limit=5000";
  const REFRESH_MS = 5000;
  const FETCH_TIMEOUT_MS = 4000;
  // Down first: the rows an engineer must act on should not need scrolling.
  const STATE_RANK = { down: 0, unknown: 1, up: 2 };
  const STATE_MARK = { up: "▲", down: "▼", unknown: "?" };
  // Shown instead of a figure the API does not give as current (the AP is not up).
  const NOT_CURRENT = "—";

  const view = {
    rows: [],
    summary: null,
    loadedAt: null, // browser time of the last successful fetch
    clockSkewMs: 0, // server clock minus browser clock, so "ago" is right on a kiosk with a wrong clock
    sortKey: "state",
    sortDir: 1,
    text: "",
    state: "",
  };

  const $ = (id) => document.getElementById(id);

  // --- formatting ----------------------------------------------------------------------

  function nowMs() {
    return Date.now() + view.clockSkewMs;
  }

  function duration(seconds) {
    if (seconds == null || !Number.isFinite(seconds)) return "–";
    let s = Math.max(0, Math.floor(seconds));
    const d = Math.floor(s / 86400);
    s -= d * 86400;
    const h = Math.floor(s / 3600);
    s -= h * 3600;
    const m = Math.floor(s / 60);
    s -= m * 60;
    if (d > 0) return `${d} d ${h} h`;
    if (h > 0) return `${h} h ${m} min`;
    if (m > 0) return `${m} min ${s} s`;
    return `${s} s`;
  }

  function ago(iso) {
    if (!iso) return "never";
    const ms = nowMs() - Date.parse(iso);
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

  // --- sorting and filtering -----------------------------------------------------------

  const SORT_VALUE = {
    state: (r) => STATE_RANK[r.state] ?? 9,
    ap: (r) => r.ap_id,
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

  function compare(a, b) {
    // Missing values always sort last, whatever the direction: "no data" is not "zero".
    if (a == null && b == null) return 0;
    if (a == null) return 1;
    if (b == null) return -1;
    if (typeof a === "number" && typeof b === "number") return view.sortDir * (a - b);
    return view.sortDir * String(a).localeCompare(String(b), undefined, { numeric: true });
  }

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
      .sort((a, b) => compare(pick(a), pick(b)) || a.ap_id.localeCompare(b.ap_id, undefined, { numeric: true }));
  }

  // --- rendering -----------------------------------------------------------------------

  function cell(text, className, title) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    if (title) td.title = title;
    return td;
  }

  function stateCell(r) {
    const td = document.createElement("td");
    const badge = document.createElement("span");
    badge.className = `state state-${r.state}`;
    badge.textContent = `${STATE_MARK[r.state] || "?"} ${r.state}`;
    td.append(badge);
    if (r.since) {
      const since = document.createElement("span");
      since.className = "sub";
      since.dataset.since = r.since;
      since.title = `${r.state} since ${r.since}`;
      since.textContent = `for ${duration((nowMs() - Date.parse(r.since)) / 1000)}`;
      td.append(since);
    }
    return td;
  }

  function nameCell(primary, secondary) {
    const td = document.createElement("td");
    td.textContent = primary;
    if (secondary && secondary !== primary) {
      const sub = document.createElement("span");
      sub.className = "sub";
      sub.textContent = secondary;
      td.append(sub);
    }
    return td;
  }

  // A name with its id as a tooltip; the id alone when the name is missing.
  function refCell(name, id, className) {
    if (!id) return cell("–", `${className} na`.trim());
    return cell(name || id, className, name ? id : "");
  }

  // The live figures of an up AP; a dash for any other, because its last values are not
  // current (the tooltip says when the AP last reported data).
  function figureCell(r, text) {
    if (r.state === "up") return cell(text, "num");
    const when = r.last_sample_at ? `last data ${ago(r.last_sample_at)} (${r.last_sample_at})` : "no data yet";
    return cell(NOT_CURRENT, "num na", `not current: the AP is ${r.state}; ${when}`);
  }

  function renderTable() {
    const rows = visibleRows();
    const body = document.createDocumentFragment();
    for (const r of rows) {
      const tr = document.createElement("tr");
      tr.className = `row-${r.state}`;
      tr.dataset.ap = r.ap_id;
      const seen = cell(ago(r.last_seen), "num seen", r.last_seen || "never answered");
      seen.dataset.seen = r.last_seen || "";
      tr.append(
        stateCell(r),
        nameCell(r.ap_id, r.name),
        nameCell(r.site_name, r.site_id),
        refCell(r.district_name, r.district, ""),
        refCell(r.partner_name, r.partner, "col-partner"),
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
      const tr = document.createElement("tr");
      tr.className = "placeholder";
      const td = cell(view.loadedAt ? "No access points match the filter." : "Loading status…");
      td.colSpan = 11;
      tr.append(td);
      body.append(tr);
    }
    $("rows").replaceChildren(body);
    $("shown").textContent = view.loadedAt ? `showing ${rows.length} of ${view.rows.length} APs` : "";
    for (const th of document.querySelectorAll("th[data-key]")) {
      const active = th.dataset.key === view.sortKey;
      th.setAttribute("aria-sort", active ? (view.sortDir > 0 ? "ascending" : "descending") : "none");
    }
  }

  function renderSummary() {
    const s = view.summary || {};
    for (const key of ["up", "down", "unknown", "total"]) {
      $(`count-${key}`).textContent = s[key] == null ? "–" : String(s[key]);
    }
    for (const tile of document.querySelectorAll(".tile")) {
      tile.setAttribute("aria-pressed", String(tile.dataset.state === view.state && view.state !== ""));
    }
  }

  // Relative times tick every second without rebuilding the table.
  function tick() {
    for (const td of document.querySelectorAll("td.seen")) {
      td.textContent = ago(td.dataset.seen || null);
    }
    for (const el of document.querySelectorAll("[data-since]")) {
      el.textContent = `for ${duration((nowMs() - Date.parse(el.dataset.since)) / 1000)}`;
    }
    const updated = $("updated");
    if (view.loadedAt) {
      const ageS = Math.round((Date.now() - view.loadedAt) / 1000);
      updated.textContent = `last updated ${clockTime(view.loadedAt)} (${ageS} s ago)`;
      updated.classList.toggle("stale", ageS > (3 * REFRESH_MS) / 1000);
    }
  }

  // --- data ----------------------------------------------------------------------------

  function showError(message) {
    const banner = $("error");
    const kept = view.loadedAt ? ` Showing data from ${clockTime(view.loadedAt)}.` : "";
    banner.textContent = `Could not refresh status: ${message}.${kept} Retrying every ${REFRESH_MS / 1000} s.`;
    banner.hidden = false;
  }

  async function refresh() {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), FETCH_TIMEOUT_MS);
    try {
      const resp = await fetch(STATUS_URL, { signal: abort.signal, headers: { Accept: "application/json" } });
      if (!resp.ok) {
        let reason = `HTTP ${resp.status}`;
        try {
          const body = await resp.json();
          if (body && body.message) reason += ` — ${body.message}`;
        } catch (_) {
          // not JSON: the status code is all we can say
        }
        throw new Error(reason);
      }
      const payload = await resp.json();
      const serverDate = Date.parse(resp.headers.get("Date") || "");
      // The Date header has 1 s resolution: only correct clearly wrong clocks.
      const skew = Number.isFinite(serverDate) ? serverDate - Date.now() : 0;
      view.clockSkewMs = Math.abs(skew) > 2000 ? skew : 0;
      view.rows = payload.data || [];
      view.summary = payload.summary || null;
      view.loadedAt = Date.now();
      $("error").hidden = true;
      renderSummary();
      renderTable();
    } catch (err) {
      showError(err && err.name === "AbortError" ? "the server did not answer in time" : String(err.message || err));
    } finally {
      clearTimeout(timer);
      tick();
      setTimeout(refresh, REFRESH_MS);
    }
  }

  // --- controls ------------------------------------------------------------------------

  // The view lives in the URL fragment (#q=park&state=down&sort=-clients) so that an
  // engineer can bookmark or paste "down APs in the north, busiest first".
  function readHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    view.text = params.get("q") || "";
    const state = params.get("state") || "";
    view.state = state in STATE_RANK ? state : "";
    const sort = params.get("sort") || "";
    const key = sort.replace(/^-/, "");
    if (key in SORT_VALUE) {
      view.sortKey = key;
      view.sortDir = sort.startsWith("-") ? -1 : 1;
    }
    $("filter").value = view.text;
    $("state").value = view.state;
  }

  function writeHash() {
    const params = new URLSearchParams();
    if (view.text) params.set("q", view.text);
    if (view.state) params.set("state", view.state);
    if (view.sortKey !== "state" || view.sortDir !== 1) {
      params.set("sort", `${view.sortDir < 0 ? "-" : ""}${view.sortKey}`);
    }
    const hash = params.toString();
    history.replaceState(null, "", hash ? `#${hash}` : location.pathname + location.search);
  }

  function setState(value) {
    view.state = value;
    $("state").value = value;
    writeHash();
    renderSummary();
    renderTable();
  }

  function init() {
    readHash();
    renderSummary();
    renderTable();
    $("filter").addEventListener("input", (e) => {
      view.text = e.target.value;
      writeHash();
      renderTable();
    });
    $("state").addEventListener("change", (e) => setState(e.target.value));
    for (const tile of document.querySelectorAll(".tile")) {
      tile.addEventListener("click", () => setState(view.state === tile.dataset.state ? "" : tile.dataset.state));
    }
    for (const th of document.querySelectorAll("th[data-key]")) {
      th.querySelector("button").addEventListener("click", () => {
        const key = th.dataset.key;
        view.sortDir = view.sortKey === key ? -view.sortDir : 1;
        view.sortKey = key;
        writeHash();
        renderTable();
      });
    }
    window.addEventListener("hashchange", () => {
      readHash();
      renderSummary();
      renderTable();
    });
    setInterval(tick, 1000);
    refresh();
  }

  init();
})();
