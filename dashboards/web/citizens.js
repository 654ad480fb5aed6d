// Citizens' reports in the operations view: what people reported from the street (the
// public page, the call centre, imports), newest first, with the hotspot each was matched
// to, the incident it joined or opened, and what the citizen left to follow up (text, phone
// number while the report is open, a photo). Mounted by ops.js for a role with
// citizen-reports:read; the count shown is the API's.
//
// A photo is fetched only when the engineer asks for it ("Show photo"): every fetch of one
// is audited as a person viewing a citizen's photo, which would mean nothing if opening the
// dashboard fetched them all. It is shown as a data: URL (the page's CSP allows data: images
// and no blob: URLs). Text goes in as text only; no style attributes (CSP).

import { html as h } from "./dom.js";

const REFRESH_MS = 10_000;
const PAGE = 50;
const PROBLEM = {
  no_signal: "No WiFi signal",
  no_internet: "Connects but no internet",
  slow: "Very slow",
  login_broken: "Login page broken",
  damaged: "Equipment damaged",
};
const MATCH = {
  joined: "joined incident",
  opened: "opened incident",
  reopened: "reopened incident",
  unmatched: "no hotspot in reach",
};
const CHANNEL = { web: "report page", call_centre: "call centre", import: "import" };
const CLASS = { citizen_reported: "citizens' reports" };
const FILTERS = [
  ["open", "Open"],
  ["all", "All"],
  ["unmatched", "Unmatched"],
];

function ago(iso) {
  const ms = Date.now() - Date.parse(iso);
  if (!Number.isFinite(ms)) return "–";
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

function query(filter) {
  const q = new URLSearchParams({ limit: String(PAGE) });
  if (filter === "open") q.set("open", "true");
  if (filter === "unmatched") q.set("match", "unmatched");
  return `/api/v1/citizen-reports?${q}`;
}

function readAsDataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.addEventListener("load", () => resolve(reader.result));
    reader.addEventListener("error", () => reject(reader.error));
    reader.readAsDataURL(blob);
  });
}

/** The citizens' reports card: { node, destroy }. */
export function citizenReports(ctx) {
  const perms = new Set(ctx.me.permissions || []);
  const canClose = perms.has("citizen-reports:file");
  const view = {
    filter: "open",
    reports: [],
    count: null,
    drawn: "",
    alive: true,
    timer: 0,
    photos: new Map(), // report id -> data: URL, for this view's life only
    large: new Set(),
    busy: new Set(),
  };

  const node = h("section", "card ops-citizens");
  node.id = "citizens";
  node.setAttribute("aria-labelledby", "citizens-title");
  const head = h("div", "card-head");
  const title = h("h3", "", "Citizens' reports");
  title.id = "citizens-title";
  const countLine = h("p", "hint", "loading…");
  countLine.id = "citizen-count";
  countLine.setAttribute("aria-live", "polite");
  const label = h("label", "", "Show reports");
  label.htmlFor = "citizen-filter";
  const select = h("select");
  select.id = "citizen-filter";
  for (const [value, text] of FILTERS) {
    const o = h("option", "", text);
    o.value = value;
    select.append(o);
  }
  const filterBox = h("span", "citizen-filter");
  filterBox.append(label, select);
  head.append(title, countLine, filterBox);
  const list = h("ul", "citizen-list");
  list.id = "citizen-list";
  const more = h("p", "hint citizen-more");
  more.hidden = true;
  node.append(head, list, more);

  select.addEventListener("change", () => {
    view.filter = select.value;
    view.count = null;
    view.drawn = "";
    clearTimeout(view.timer);
    refresh();
  });

  function incidentLink(r) {
    const inc = r.incident;
    if (!inc) return null;
    const a = h("a", "citizen-incident", `Incident #${inc.id} · ${CLASS[inc.class] || inc.class.replaceAll("_", " ")} · ${inc.state} · priority ${inc.priority}`);
    a.href = "#incidents";
    a.dataset.incident = String(inc.id);
    a.addEventListener("click", (e) => {
      e.preventDefault();
      const item = document.querySelector(`#incident-list li[data-incident="${inc.id}"]`);
      const target = item || document.getElementById("incidents");
      if (!target) return;
      target.scrollIntoView({ behavior: "smooth", block: "center" });
      if (item) {
        item.classList.add("is-flashed");
        setTimeout(() => item.classList.remove("is-flashed"), 2000);
      }
    });
    return a;
  }

  function photoBox(r) {
    if (!r.has_photo) return null;
    const box = h("div", "citizen-photo");
    const url = view.photos.get(r.id);
    if (url) {
      const img = h("img", `citizen-thumb${view.large.has(r.id) ? " is-large" : ""}`);
      img.src = url;
      img.alt = `Photo sent with report R-${r.id}`;
      img.title = "Click to enlarge or shrink";
      img.addEventListener("click", () => {
        if (view.large.has(r.id)) view.large.delete(r.id);
        else view.large.add(r.id);
        img.classList.toggle("is-large", view.large.has(r.id));
      });
      box.append(img);
      return box;
    }
    const b = h("button", "btn", view.busy.has(`photo-${r.id}`) ? "Loading…" : "Show photo");
    b.type = "button";
    b.disabled = view.busy.has(`photo-${r.id}`);
    b.addEventListener("click", () => loadPhoto(r.id));
    box.append(b);
    return box;
  }

  function item(r) {
    const li = h("li", `citizen citizen-${r.match}${r.closed_at ? " citizen-closed" : ""}`);
    li.dataset.report = String(r.id);
    const main = h("div", "citizen-main");
    const top = h("div", "citizen-top");
    top.append(h("span", "citizen-problem", PROBLEM[r.problem] || r.problem));
    top.append(h("span", `citizen-match citizen-match-${r.match}`, MATCH[r.match] || r.match));
    main.append(top);
    let where;
    if (r.site_name || r.site_id) {
      where = r.site_name || r.site_id;
      if (r.distance_m != null) where += ` (${Math.round(r.distance_m)} m away)`;
    } else if (r.lat != null && r.lon != null) {
      where = `at ${r.lat.toFixed(5)}, ${r.lon.toFixed(5)}: no hotspot in reach`;
    } else where = "no place given";
    main.append(h("div", "citizen-site", where));
    const meta = h("div", "citizen-meta");
    const when = h("span", "citizen-time", ago(r.received_at));
    when.title = r.received_at;
    when.dataset.at = r.received_at;
    meta.append(h("span", "", `R-${r.id}`), when, h("span", "", `via ${CHANNEL[r.channel] || r.channel}${r.filed_by ? ` (${r.filed_by})` : ""}`));
    if (r.external_ref) meta.append(h("span", "", `ref ${r.external_ref}`));
    main.append(meta);
    const link = incidentLink(r);
    if (link) main.append(link);
    if (r.text) main.append(h("div", "citizen-text", `“${r.text}”`));
    const contact = h("div", "citizen-contact");
    if (r.phone) {
      const tel = h("a", "citizen-phone", r.phone);
      tel.href = `tel:${r.phone}`;
      contact.append(h("span", "", "Phone:"), tel);
    }
    if (r.closed_at) {
      const closed = h("span", "", `closed ${ago(r.closed_at)}`);
      closed.title = r.closed_at;
      contact.append(closed);
    }
    if (contact.childNodes.length) main.append(contact);
    if (canClose && !r.closed_at) {
      const b = h("button", "btn", "Close report");
      b.type = "button";
      b.disabled = view.busy.has(r.id);
      b.title = "Closing wipes the phone number";
      b.addEventListener("click", () => close(r));
      const actions = h("div", "incident-actions");
      actions.append(b);
      main.append(actions);
    }
    li.append(main);
    const photo = photoBox(r);
    if (photo) li.append(photo);
    return li;
  }

  function render(force) {
    const key = JSON.stringify([view.filter, view.count, view.reports, [...view.photos.keys()], [...view.busy]]);
    if (!force && key === view.drawn) return;
    view.drawn = key;
    const items = document.createDocumentFragment();
    for (const r of view.reports) items.append(item(r));
    if (!view.reports.length) {
      const what = { open: "No open reports.", all: "No reports yet.", unmatched: "No unmatched reports." }[view.filter];
      items.append(h("li", "hint", view.count == null ? "Loading reports…" : what));
    }
    list.replaceChildren(items);
    if (view.count != null) {
      const noun = view.count === 1 ? "report" : "reports";
      const adjective = { open: "open ", all: "", unmatched: "unmatched " }[view.filter];
      countLine.textContent = `${view.count} ${adjective}${noun}`;
      more.hidden = view.count <= view.reports.length;
      more.textContent = `Showing the ${view.reports.length} newest; the API lists all of them.`;
    }
  }

  function tick() {
    for (const t of list.querySelectorAll(".citizen-time")) t.textContent = ago(t.dataset.at);
  }

  async function refresh() {
    const filter = view.filter;
    try {
      const body = await ctx.api(query(filter));
      if (!view.alive || filter !== view.filter) return;
      view.reports = body.data || [];
      view.count = body.count;
      render(false);
      tick();
    } catch (err) {
      if (!view.alive || err.status === 401 || err.message === "the session changed") return;
      countLine.textContent = `could not load the reports: ${err.message}`;
    } finally {
      if (view.alive && filter === view.filter) view.timer = setTimeout(refresh, REFRESH_MS);
    }
  }

  async function loadPhoto(id) {
    const key = `photo-${id}`;
    view.busy.add(key);
    render(true);
    try {
      const resp = await fetch(`/api/v1/citizen-reports/${id}/photo`, { credentials: "same-origin", cache: "no-store" });
      if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
      const url = await readAsDataUrl(await resp.blob());
      if (!view.alive) return;
      view.photos.set(id, url);
    } catch (err) {
      if (view.alive) ctx.onError(`Could not load the photo of report R-${id}: ${err.message}.`);
    } finally {
      view.busy.delete(key);
      if (view.alive) render(true);
    }
  }

  async function close(r) {
    view.busy.add(r.id);
    render(true);
    try {
      await ctx.api(`/api/v1/citizen-reports/${r.id}/close`, { method: "POST", body: {} });
      if (!view.alive) return;
      clearTimeout(view.timer);
      await refresh();
    } catch (err) {
      if (view.alive && err.status !== 401) ctx.onError(`Could not close report R-${r.id}: ${err.message}.`);
    } finally {
      view.busy.delete(r.id);
      if (view.alive) render(true);
    }
  }

  render(true);
  const ticker = setInterval(tick, 5000);
  refresh();

  return {
    node,
    destroy() {
      view.alive = false;
      clearTimeout(view.timer);
      clearInterval(ticker);
      view.photos.clear();
    },
  };
}
