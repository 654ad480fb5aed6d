// citywifi live status page: plain ES2020, no dependencies, no build step.
// Polls the status API, keeps the last good data when a poll fails, and renders
// with textContent only (AP and site names come from an import file, not from us).
// Runs under a strict content security policy (script-src 'self', style-src 'self'):
// no inline script, no inline handlers, no style attributes; behaviour is wired here.
"use strict";

(() => {
  const STATUS_URL = "/api/v1/status?limit=5000";
  const ME_URL = "/api/v1/auth/me";
  const LOGIN_URL = "/api/v1/auth/login";
  const LOGOUT_URL = "/api/v1/auth/logout";
  // The server sets this cookie (readable by script, unlike the session cookie) at login
  // and checks it against the header on every unsafe request: another site can make the
  // browser send the session cookie, but cannot read this one to copy it into a header.
  const CSRF_COOKIE = "citywifi_csrf";
  const CSRF_HEADER = "X-CSRF-Token";
  const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
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
    partnerColumn: true, // false for a user bound to one partner (see partnerColumnShown)
  };

  // Who is logged in. `generation` changes at every login and logout so that a poll
  // started for one session can never draw its data, or schedule the next poll, in another.
  const session = { me: null, generation: 0, pollTimer: null };

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
        ...(view.partnerColumn ? [refCell(r.partner_name, r.partner, "col-partner")] : []),
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
      td.colSpan = document.querySelectorAll("#aps thead th").length;
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

  // --- requests ----------------------------------------------------------------------

  // Thrown when the server answers 401 to a request made within a session: the session
  // expired or was ended elsewhere. The page has already gone back to the login form.
  class SessionEnded extends Error {}

  function cookie(name) {
    for (const part of document.cookie.split(";")) {
      const eq = part.indexOf("=");
      if (eq > 0 && part.slice(0, eq).trim() === name) {
        return decodeURIComponent(part.slice(eq + 1).trim());
      }
    }
    return "";
  }

  // Every request of the page goes through here, so every unsafe one carries the CSRF token.
  function request(url, { method = "GET", body, signal } = {}) {
    const headers = { Accept: "application/json" };
    if (!SAFE_METHODS.has(method)) {
      const token = cookie(CSRF_COOKIE);
      if (token) headers[CSRF_HEADER] = token;
    }
    const init = { method, headers, signal, credentials: "same-origin", cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(url, init);
  }

  // A request made as the logged-in user: a 401 means the session is over, whichever
  // request noticed it first.
  async function authed(url, options) {
    const resp = await request(url, options);
    if (resp.status === 401) {
      showLogin("Your session has ended. Log in again to go on where you were.");
      throw new SessionEnded();
    }
    return resp;
  }

  // "HTTP 503 — metric store unavailable": the status code, and the API's message if any.
  async function failure(resp) {
    let reason = `HTTP ${resp.status}`;
    try {
      const body = await resp.json();
      if (body && body.message) reason += ` — ${body.message}`;
    } catch (_) {
      // not JSON: the status code is all we can say
    }
    return reason;
  }

  // --- data ----------------------------------------------------------------------------

  function showError(message) {
    const banner = $("error");
    const kept = view.loadedAt ? ` Showing data from ${clockTime(view.loadedAt)}.` : "";
    banner.textContent = `Could not refresh status: ${message}.${kept} Retrying every ${REFRESH_MS / 1000} s.`;
    banner.hidden = false;
  }

  async function refresh() {
    const generation = session.generation;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), FETCH_TIMEOUT_MS);
    try {
      const resp = await authed(STATUS_URL, { signal: abort.signal });
      if (!resp.ok) throw new Error(await failure(resp));
      const payload = await resp.json();
      if (generation !== session.generation) return; // logged out while this was in flight
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
      if (err instanceof SessionEnded || generation !== session.generation) return;
      showError(err && err.name === "AbortError" ? "the server did not answer in time" : String(err.message || err));
    } finally {
      clearTimeout(timer);
      if (generation === session.generation) {
        tick();
        session.pollTimer = setTimeout(refresh, REFRESH_MS);
      }
    }
  }

  // --- session -------------------------------------------------------------------------

  // A user bound to one partner sees only that partner's APs: the column would repeat its
  // own name on every row, so it is not drawn at all (nor offered in the filter hint).
  function partnerColumnShown(me) {
    return me.role !== "partner" && !me.partner;
  }

  const partnerHeader = document.querySelector('th[data-key="partner"]');
  const partnerHeaderNext = partnerHeader.nextElementSibling;

  function setPartnerColumn(shown) {
    view.partnerColumn = shown;
    if (shown && !partnerHeader.isConnected) partnerHeaderNext.before(partnerHeader);
    if (!shown) partnerHeader.remove();
    $("filter").placeholder = shown ? "AP, site, district or partner" : "AP, site or district";
  }

  // Drops everything the last user was shown, so the next one never sees it, not even
  // for the moment before their own first poll answers.
  function forgetData() {
    view.rows = [];
    view.summary = null;
    view.loadedAt = null;
    $("error").hidden = true;
    $("updated").textContent = "";
    $("updated").classList.remove("stale");
    renderSummary();
    renderTable();
  }

  function showStatus(me) {
    session.generation += 1;
    clearTimeout(session.pollTimer);
    session.me = me;
    forgetData();
    setPartnerColumn(partnerColumnShown(me));
    $("who-name").textContent = me.name;
    $("who-role").textContent = me.partner_name ? `(${me.role} · ${me.partner_name})` : `(${me.role})`;
    $("who").hidden = false;
    $("login-view").hidden = true;
    $("status-view").hidden = false;
    $("updated").textContent = "loading…";
    readHash(); // the fragment may have been edited while the form was up
    renderSummary();
    renderTable();
    refresh();
  }

  // The URL fragment (the view) is left as it is: after logging in again the user is back
  // at the same filter and sort.
  function showLogin(note) {
    session.generation += 1;
    clearTimeout(session.pollTimer);
    session.me = null;
    forgetData();
    $("who").hidden = true;
    $("status-view").hidden = true;
    $("login-view").hidden = false;
    $("login-note").textContent = note || "";
    $("login-note").hidden = !note;
    $("login-error").hidden = true;
    $("login-password").value = "";
    ($("login-name").value ? $("login-password") : $("login-name")).focus();
  }

  function loginError(message) {
    const line = $("login-error");
    line.textContent = message;
    line.hidden = false;
  }

  // Retry-After in seconds, as a person reads a wait.
  function wait(seconds) {
    if (!Number.isFinite(seconds) || seconds <= 0) return "a little while";
    if (seconds < 90) return `${Math.ceil(seconds)} s`;
    return `${Math.ceil(seconds / 60)} min`;
  }

  async function logIn(event) {
    event.preventDefault();
    const name = $("login-name").value.trim();
    const password = $("login-password").value;
    if (!name || !password) {
      loginError("Enter your name and password.");
      return;
    }
    const button = $("login-submit");
    button.disabled = true;
    $("login-error").hidden = true;
    try {
      const resp = await request(LOGIN_URL, { method: "POST", body: { name, password } });
      $("login-password").value = ""; // not kept in the page a moment longer than needed
      if (resp.ok) {
        const body = await resp.json();
        showStatus(body.user);
        return;
      }
      $("login-password").focus();
      if (resp.status === 401) {
        loginError("Wrong name or password.");
      } else if (resp.status === 429) {
        const after = Number(resp.headers.get("Retry-After"));
        loginError(`Too many failed logins. Try again in ${wait(after)}.`);
      } else {
        loginError(`Could not log in: ${await failure(resp)}.`);
      }
    } catch (err) {
      loginError(`Could not log in: the server did not answer (${String(err.message || err)}).`);
    } finally {
      button.disabled = false;
    }
  }

  // Only a logout the server confirmed (or a session it no longer knows) shows the form:
  // saying "logged out" while the session still works would be a lie about the cookie.
  async function logOut() {
    const button = $("logout");
    button.disabled = true;
    try {
      const resp = await request(LOGOUT_URL, { method: "POST" });
      if (resp.ok || resp.status === 401) {
        showLogin("You have logged out.");
        return;
      }
      const banner = $("error");
      banner.textContent = `Could not log out: ${await failure(resp)}.`;
      banner.hidden = false;
    } catch (err) {
      const banner = $("error");
      banner.textContent = `Could not log out: the server did not answer (${String(err.message || err)}).`;
      banner.hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  // Who is this browser? 401: nobody yet, show the form. Anything else that is not an
  // answer (server restarting, proxy error): say so and ask again.
  async function start() {
    try {
      const resp = await request(ME_URL);
      if (resp.status === 401) {
        showLogin("");
        return;
      }
      if (!resp.ok) throw new Error(await failure(resp));
      showStatus(await resp.json());
    } catch (err) {
      const banner = $("error");
      banner.textContent = `Could not reach the server: ${String(err.message || err)}. Retrying every ${REFRESH_MS / 1000} s.`;
      banner.hidden = false;
      setTimeout(start, REFRESH_MS);
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
    $("login-form").addEventListener("submit", logIn);
    $("logout").addEventListener("click", logOut);
    // The filters apply as you type; Enter must not submit (and reload) the page.
    $("filters").addEventListener("submit", (e) => e.preventDefault());
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
    start();
  }

  init();
})();
