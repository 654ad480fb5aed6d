// citywifi dashboard shell: plain ES modules, no dependencies, no build step.
// The login, the role-aware navigation and a hash router that mounts one view module at a
// time (ops.js, ap.js, coverage.js, partner.js, field.js). Each view exports
//   mount(el, ctx) -> unmount()
// with ctx = { me, api, navigate, config, onError, route, setParams }.
// Runs under a strict content security policy (script-src 'self', style-src 'self'):
// no inline script, no inline handlers, no style attributes; text goes in as text only.

const ME_URL = "/api/v1/auth/me";
const LOGIN_URL = "/api/v1/auth/login";
const LOGOUT_URL = "/api/v1/auth/logout";
const CONFIG_URL = "/api/v1/map/config";
// The server sets this cookie (readable by script, unlike the session cookie) at login
// and checks it against the header on every unsafe request: another site can make the
// browser send the session cookie, but cannot read this one to copy it into a header.
const CSRF_COOKIE = "citywifi_csrf";
const CSRF_HEADER = "X-CSRF-Token";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const RETRY_MS = 5000;
const FETCH_TIMEOUT_MS = 8000;

// The views, in the order a role's navigation lists them. `nav: false`: reached by a link
// (an AP page needs an id), never listed.
const VIEWS = {
  ops: { label: "Operations", module: "./ops.js", roles: ["admin", "engineer", "planner"] },
  coverage: { label: "Coverage", module: "./coverage.js", roles: ["admin", "engineer", "planner"] },
  partner: { label: "Partner", module: "./partner.js", roles: ["admin", "engineer", "partner"] },
  ap: { label: "Access point", module: "./ap.js", roles: ["admin", "engineer", "planner", "partner"], nav: false },
  // A technician's phone (work-orders:work without :manage): their team's work orders.
  field: { label: "Work orders", module: "./field.js", roles: ["field"] },
};
// Where each role lands: its own work first (a planner plans, a partner sees its sites).
const ROLE_ORDER = {
  admin: ["ops", "coverage", "partner"],
  engineer: ["ops", "coverage", "partner"],
  planner: ["coverage", "ops"],
  partner: ["partner"],
  field: ["field"],
};
const FALLBACK_CONFIG = { city_name: "", tile_url: null, tile_attribution: "", sla_target_pct: 95, bbox: null };

/** An API answer that is not 2xx: the status code and the API's message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

const $ = (id) => document.getElementById(id);

// Who is logged in. `generation` changes at every login and logout so that a request
// started for one session can never draw its answer in another.
const session = { me: null, config: FALLBACK_CONFIG, generation: 0, unmount: null, mounted: "" };

// --- requests --------------------------------------------------------------------------

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

// "HTTP 503 — metric store unavailable": the status code, and the API's message if any.
async function failure(resp) {
  let reason = `HTTP ${resp.status}`;
  try {
    const body = await resp.json();
    const message = body && (body.message || (typeof body.detail === "string" ? body.detail : ""));
    if (message) reason += ` — ${message}`;
  } catch (_) {
    // not JSON: the status code is all we can say
  }
  return reason;
}

/**
 * A request made as the logged-in user; resolves to the JSON body (null for 204).
 * A 401 means the session is over, whichever request noticed it first: back to the form.
 * Paths may be given with or without the "/api/v1" prefix.
 */
async function api(path, { method = "GET", body, timeoutMs = FETCH_TIMEOUT_MS } = {}) {
  const url = path.startsWith("/api/") ? path : `/api/v1${path.startsWith("/") ? "" : "/"}${path}`;
  const generation = session.generation;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  let resp;
  try {
    resp = await request(url, { method, body, signal: abort.signal });
  } catch (err) {
    const why = err && err.name === "AbortError" ? "the server did not answer in time" : "the server did not answer";
    throw new ApiError(0, why);
  } finally {
    clearTimeout(timer);
  }
  if (generation !== session.generation) throw new ApiError(0, "the session changed");
  if (resp.status === 401) {
    showLogin("Your session has ended. Log in again to go on where you were.");
    throw new ApiError(401, "the session has ended");
  }
  if (!resp.ok) throw new ApiError(resp.status, await failure(resp));
  if (resp.status === 204) return null;
  const type = resp.headers.get("Content-Type") || "";
  return type.includes("json") ? resp.json() : resp.text();
}

// --- the banner --------------------------------------------------------------------------

/** Shows a message in the banner; an empty message hides it. */
function onError(message) {
  const banner = $("error");
  banner.textContent = message || "";
  banner.hidden = !message;
}

// --- routing -----------------------------------------------------------------------------

/**
 * "#/ap/ap-01?range=24h" -> { name: "ap", arg: "ap-01", params }. A fragment without "#/"
 * is the old status page's bookmark ("#state=down&q=park"): the operations view's filters.
 */
function parseHash(hash) {
  const raw = hash.replace(/^#/, "");
  if (!raw.startsWith("/")) return { name: "", arg: "", params: new URLSearchParams(raw), legacy: raw !== "" };
  const q = raw.indexOf("?");
  const path = q >= 0 ? raw.slice(1, q) : raw.slice(1);
  const params = new URLSearchParams(q >= 0 ? raw.slice(q + 1) : "");
  const [name, ...rest] = path.split("/");
  return { name, arg: rest.map(decodeURIComponent).join("/"), params, legacy: false };
}

function viewsOf(me) {
  return (ROLE_ORDER[me.role] || []).filter((v) => VIEWS[v].roles.includes(me.role));
}

function allowed(name, me) {
  return Boolean(VIEWS[name]) && VIEWS[name].roles.includes(me.role);
}

function navigate(hash) {
  const target = hash.startsWith("#") ? hash : `#${hash}`;
  if (location.hash === target) route();
  else location.hash = target; // hashchange routes
}

/** Rewrites the current view's query (filters, range) without adding history or remounting. */
function setParams(params) {
  const r = parseHash(location.hash);
  const name = r.name || session.mounted.split("|")[0];
  const base = `#/${name}${r.arg ? `/${encodeURIComponent(r.arg)}` : ""}`;
  const query = new URLSearchParams(params).toString();
  history.replaceState(null, "", query ? `${base}?${query}` : base);
}

function renderNav(current) {
  const nav = $("nav");
  nav.replaceChildren();
  const names = viewsOf(session.me);
  for (const name of names) {
    const a = document.createElement("a");
    a.href = `#/${name}`;
    a.textContent = VIEWS[name].label;
    a.className = "nav-link";
    if (name === current || (current === "ap" && name === names[0])) a.setAttribute("aria-current", "page");
    nav.append(a);
  }
  nav.hidden = names.length < 2 && current !== "ap";
}

function unmountView() {
  if (session.unmount) {
    try {
      session.unmount();
    } catch (err) {
      console.warn("view unmount failed", err);
    }
  }
  session.unmount = null;
  session.mounted = "";
  $("status-view").replaceChildren();
}

async function route() {
  const me = session.me;
  if (!me) return;
  const parsed = parseHash(location.hash);
  let { name } = parsed;
  const landing = viewsOf(me)[0];
  if (!name) name = parsed.legacy && allowed("ops", me) ? "ops" : landing;
  if (!allowed(name, me) || (name === "ap" && !parsed.arg)) {
    history.replaceState(null, "", `#/${landing}`);
    name = landing;
    parsed.arg = "";
    parsed.params = new URLSearchParams();
  }
  if (!name) {
    onError(`No view is available to the role "${me.role}".`);
    return;
  }
  const key = `${name}|${parsed.arg}|${parsed.params.toString()}`;
  if (key === session.mounted) return;
  unmountView();
  session.mounted = key;
  onError("");
  renderNav(name);
  const city = session.config.city_name;
  document.title = `${VIEWS[name].label} — ${city ? `${city} public Wi-Fi` : "citywifi"}`;
  const generation = session.generation;
  const el = $("status-view");
  el.dataset.view = name;
  let mod;
  try {
    mod = await import(VIEWS[name].module);
  } catch (err) {
    if (generation !== session.generation || session.mounted !== key) return;
    onError(`The ${VIEWS[name].label} view could not be loaded (${String(err.message || err)}).`);
    return;
  }
  if (generation !== session.generation || session.mounted !== key) return; // moved on meanwhile
  const ctx = {
    me,
    api,
    navigate,
    config: session.config,
    onError,
    route: { name, arg: parsed.arg, params: parsed.params },
    setParams,
    ApiError,
  };
  try {
    session.unmount = mod.mount(el, ctx) || null;
  } catch (err) {
    onError(`The ${VIEWS[name].label} view failed: ${String(err.message || err)}.`);
  }
}

// --- session -----------------------------------------------------------------------------

async function loadConfig() {
  try {
    const body = await api(CONFIG_URL);
    return { ...FALLBACK_CONFIG, ...(body || {}) };
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) throw err;
    return FALLBACK_CONFIG; // the map draws without tiles; the views still work
  }
}

async function showViews(me) {
  session.generation += 1;
  unmountView();
  session.me = me;
  onError("");
  $("who-name").textContent = me.name;
  $("who-role").textContent = me.partner_name ? `(${me.role} · ${me.partner_name})` : `(${me.role})`;
  $("who").hidden = false;
  $("login-view").hidden = true;
  $("status-view").hidden = false;
  const generation = session.generation;
  let config;
  try {
    config = await loadConfig();
  } catch (_) {
    return; // the session ended already: the form is up
  }
  if (generation !== session.generation) return;
  session.config = config;
  if (config.city_name) $("title").textContent = `${config.city_name} public Wi-Fi`;
  await route();
}

// The URL fragment (the view) is left as it is: after logging in again the user is back
// at the same view, filter and range.
function showLogin(note) {
  session.generation += 1;
  unmountView();
  session.me = null;
  onError("");
  $("nav").hidden = true;
  $("nav").replaceChildren();
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
      showViews(body.user);
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
    onError(`Could not log out: ${await failure(resp)}.`);
  } catch (err) {
    onError(`Could not log out: the server did not answer (${String(err.message || err)}).`);
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
    showViews(await resp.json());
  } catch (err) {
    onError(`Could not reach the server: ${String(err.message || err)}. Retrying every ${RETRY_MS / 1000} s.`);
    setTimeout(start, RETRY_MS);
  }
}

function init() {
  $("login-form").addEventListener("submit", logIn);
  $("logout").addEventListener("click", logOut);
  window.addEventListener("hashchange", () => route());
  start();
}

init();
