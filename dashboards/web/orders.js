// Work orders in the operations view: the engineer's side of field work. The open orders
// (new, assigned, on site, fixed and waiting for telemetry), newest first, each with its
// site by name, its incident in words, its team and its state in words, and the buttons
// the API allows now (`actions`): "Assign" (to a team chosen by name) and "Cancel".
// Mounted by ops.js for a role with work-orders:manage; the count shown is the API's.
// ops.js makes orders from its incident list with `orderForm` (below), and shows each
// incident's open orders from this panel's list (`forIncident`).
//
// No button sets an order "verified": telemetry does (docs/fieldwork.md). Names, not ids.
// Text goes in as text only; no style attributes (CSP: style-src 'self').

import { html as h, duration } from "./dom.js";
import { ORDER_STATE, classWords } from "./words.js";

const ORDERS = "/api/v1/work-orders";
const TEAMS = "/api/v1/field-teams";
const REFRESH_MS = 10_000;
const PAGE = 50;
const MAX_NOTE = 1000; // inventory.work_orders.MAX_NOTE

const WHOSE = { noc: "city", operator: "operator", utility: "utility", sponsor: "sponsor" };

function ago(iso) {
  const ms = Date.now() - Date.parse(iso);
  if (!Number.isFinite(ms)) return "–";
  return duration(Math.max(0, ms / 1000));
}

function incidentWords(incident) {
  const what = classWords(incident.class);
  return incident.priority > 0 ? `${what} · priority ${incident.priority}` : what;
}

/** "North crew (city, North)": a team by name, whose it is and where. */
export function teamLabel(team, districtName) {
  const where = team.district_id ? districtName(team.district_id) || "one district" : "whole city";
  return `${team.name} (${WHOSE[team.responsible] || team.responsible}, ${where})`;
}

/** The team an incident's order goes to first: the incident's responsible party's team for
 * its district, else that party's city-wide team, else none. */
export function teamFor(teams, incident) {
  const party = teams.filter((t) => t.responsible === incident.responsible);
  const local = incident.district ? party.find((t) => t.district_id === incident.district) : null;
  return local || party.find((t) => t.district_id == null) || null;
}

/** A <select> of the teams by name, with a first "no team" choice when `none` is given. */
export function teamSelect(teams, districtName, chosen, none) {
  const select = h("select", "order-team");
  if (none) {
    const o = h("option", "", none);
    o.value = "";
    select.append(o);
  }
  for (const t of teams) {
    const o = h("option", "", teamLabel(t, districtName));
    o.value = t.id;
    select.append(o);
  }
  select.value = chosen || "";
  return select;
}

let fields = 0; // each control's own id, for its label (the page may hold several forms)

/** A label over its control; not wrapping it, so that the control's name is the label's
 * text alone (a wrapped select would be named by its choice too). */
function labelled(text, control) {
  fields += 1;
  control.id = `work-order-field-${fields}`;
  const label = h("label", "", text);
  label.htmlFor = control.id;
  const box = h("div", "order-field");
  box.append(label, control);
  return box;
}

/**
 * The form that makes a work order for one incident: { node, focus() }.
 * `sites` are [{id, name}] (the incident's sites), `teams` the field teams;
 * `submit({site_id, team_id, note})` sends it, `close()` closes it.
 */
export function orderForm({ incident, sites, teams, districtName, submit, close }) {
  const form = h("form", "order-form");
  form.setAttribute("aria-label", "New work order");
  const site = h("select", "order-site");
  site.required = true;
  if (sites.length !== 1) {
    const o = h("option", "", sites.length ? "Choose a site…" : "No site to send anyone to");
    o.value = "";
    site.append(o);
  }
  for (const s of sites) {
    const o = h("option", "", s.name);
    o.value = s.id;
    site.append(o);
  }
  site.value = sites.length === 1 ? sites[0].id : "";
  const chosen = teamFor(teams, incident);
  const team = teamSelect(teams, districtName, chosen ? chosen.id : "", "No team yet (new)");
  const note = h("input", "order-note");
  note.type = "text";
  note.maxLength = MAX_NOTE;
  note.placeholder = "What the team should know";
  const ok = h("button", "btn btn-primary", "Make work order");
  ok.type = "submit";
  ok.disabled = sites.length === 0;
  const back = h("button", "btn", "Close");
  back.type = "button";
  back.addEventListener("click", close);
  const buttons = h("div", "order-buttons");
  buttons.append(ok, back);
  const hint = h("p", "hint order-hint", chosen ? "" : "No team of this incident's party: choose one, or leave it new.");
  hint.hidden = Boolean(chosen);
  form.append(labelled("Site", site), labelled("Team", team), labelled("Note (optional)", note), buttons, hint);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!site.value) return;
    const body = { site_id: site.value };
    if (team.value) body.team_id = team.value;
    if (note.value.trim()) body.note = note.value.trim();
    ok.disabled = true;
    try {
      await submit(body);
    } finally {
      ok.disabled = false;
    }
  });
  return { node: form, focus: () => (sites.length === 1 ? team : site).focus() };
}

/** The work orders card: { node, destroy, refresh, teams, forIncident }. */
export function workOrders(ctx, { districtName = () => null, showIncident = () => {}, onChange = () => {} } = {}) {
  const view = {
    orders: [],
    count: null,
    teams: null, // loaded once, on first need
    drawn: "",
    alive: true,
    timer: 0,
    busy: new Set(),
    open: null, // { id, what: "assign" | "cancel", node } : the one form open
  };

  const node = h("section", "card ops-orders");
  node.id = "work-orders";
  node.setAttribute("aria-labelledby", "orders-title");
  const head = h("div", "card-head");
  const title = h("h3", "", "Work orders");
  title.id = "orders-title";
  const countLine = h("p", "hint", "loading…");
  countLine.id = "order-count";
  countLine.setAttribute("aria-live", "polite");
  head.append(title, countLine);
  const list = h("ul", "order-list");
  list.id = "order-list";
  const more = h("p", "hint order-more");
  more.hidden = true;
  node.append(head, list, more);

  async function teams() {
    if (!view.teams) {
      const body = await ctx.api(TEAMS);
      view.teams = body.data || [];
    }
    return view.teams;
  }

  function assignForm(o) {
    const form = h("form", "order-form order-form-inline");
    form.setAttribute("aria-label", `Assign the work order at ${o.site.name || "the site"}`);
    const others = view.teams.filter((t) => t.id !== o.team_id);
    const select = teamSelect(others, districtName, "", null);
    const ok = h("button", "btn btn-primary", "Assign to team");
    ok.type = "submit";
    ok.disabled = others.length === 0;
    const back = h("button", "btn", "Close");
    back.type = "button";
    back.addEventListener("click", () => closeForm());
    const buttons = h("div", "order-buttons");
    buttons.append(ok, back);
    form.append(labelled("Team", select), buttons);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      if (select.value) act(o, "assign", { team_id: select.value });
    });
    return form;
  }

  function cancelForm(o) {
    const form = h("form", "order-form order-form-inline");
    form.setAttribute("aria-label", `Cancel the work order at ${o.site.name || "the site"}`);
    const reason = h("input", "order-note");
    reason.type = "text";
    reason.maxLength = MAX_NOTE;
    reason.placeholder = "Why it is called off";
    const ok = h("button", "btn btn-danger", "Cancel the order");
    ok.type = "submit";
    const back = h("button", "btn", "Keep it");
    back.type = "button";
    back.addEventListener("click", () => closeForm());
    const buttons = h("div", "order-buttons");
    buttons.append(ok, back);
    form.append(labelled("Reason (optional)", reason), buttons);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const text = reason.value.trim();
      act(o, "cancel", text ? { reason: text } : {});
    });
    return form;
  }

  async function openForm(o, what) {
    try {
      if (what === "assign") await teams();
    } catch (err) {
      if (view.alive && err.status !== 401) ctx.onError(`Could not load the field teams: ${err.message}.`);
      return;
    }
    if (!view.alive) return;
    view.open = { id: o.id, what, node: what === "assign" ? assignForm(o) : cancelForm(o) };
    render(true);
    const first = view.open.node.querySelector("select, input");
    if (first) first.focus();
  }

  function closeForm() {
    view.open = null;
    render(true);
  }

  function item(o) {
    const li = h("li", `order order-${o.state}`);
    li.dataset.order = String(o.id);
    const top = h("div", "order-top");
    top.append(h("span", "order-site-name", o.site.name || "A site no longer in the inventory"));
    top.append(h("span", `order-state order-state-${o.state}`, ORDER_STATE[o.state] || o.state));
    const incident = h("a", "order-incident", incidentWords(o.incident));
    incident.href = "#incidents";
    incident.title = o.incident.explanation;
    incident.addEventListener("click", (e) => {
      e.preventDefault();
      showIncident(o.incident.id);
    });
    const meta = h("div", "order-meta");
    meta.append(h("span", "order-team-name", o.team_name || "No team yet"));
    const age = h("span", "order-age", ago(o.created_at));
    age.dataset.at = o.created_at;
    age.title = `made ${o.created_at} by ${o.created_by}`;
    meta.append(h("span", "", `WO-${o.id}`), age);
    li.append(top, incident, meta);
    if (o.note) li.append(h("div", "order-note-text", `“${o.note}”`));
    if (view.open && view.open.id === o.id) {
      li.append(view.open.node);
      return li;
    }
    const box = h("div", "order-actions");
    const busy = view.busy.has(o.id);
    if (o.actions.includes("assign")) {
      const b = h("button", "btn", "Assign");
      b.type = "button";
      b.disabled = busy;
      b.addEventListener("click", () => openForm(o, "assign"));
      box.append(b);
    }
    if (o.actions.includes("cancel")) {
      const b = h("button", "btn", "Cancel");
      b.type = "button";
      b.disabled = busy;
      b.addEventListener("click", () => openForm(o, "cancel"));
      box.append(b);
    }
    if (box.childNodes.length) li.append(box);
    return li;
  }

  function render(force) {
    const key = JSON.stringify([view.count, view.orders, [...view.busy], view.open && [view.open.id, view.open.what]]);
    if (!force && key === view.drawn) return;
    view.drawn = key;
    const active = document.activeElement;
    const items = document.createDocumentFragment();
    if (view.open && !view.orders.some((o) => o.id === view.open.id)) view.open = null;
    for (const o of view.orders) items.append(item(o));
    if (!view.orders.length) items.append(h("li", "hint", view.count == null ? "Loading work orders…" : "No open work orders."));
    list.replaceChildren(items);
    if (view.open && view.open.node.contains(active)) active.focus();
    if (view.count != null) {
      countLine.textContent = `${view.count} open work order${view.count === 1 ? "" : "s"}`;
      more.hidden = view.count <= view.orders.length;
      more.textContent = `Showing the ${view.orders.length} newest; the API lists all of them.`;
    }
  }

  function tick() {
    for (const t of list.querySelectorAll(".order-age")) t.textContent = ago(t.dataset.at);
  }

  async function refresh() {
    clearTimeout(view.timer);
    try {
      const body = await ctx.api(`${ORDERS}?open=true&limit=${PAGE}`);
      if (!view.alive) return;
      view.orders = body.data || [];
      view.count = body.count;
      render(false);
      tick();
      onChange();
    } catch (err) {
      if (!view.alive || err.status === 401 || err.message === "the session changed") return;
      countLine.textContent = `could not load the work orders: ${err.message}`;
    } finally {
      if (view.alive) {
        clearTimeout(view.timer);
        view.timer = setTimeout(refresh, REFRESH_MS);
      }
    }
  }

  async function act(o, what, body) {
    view.busy.add(o.id);
    render(true);
    try {
      await ctx.api(`${ORDERS}/${o.id}/${what}`, { method: "POST", body });
      if (!view.alive) return;
      view.open = null;
      ctx.onError("");
      await refresh();
    } catch (err) {
      if (view.alive && err.status !== 401) {
        ctx.onError(`Could not ${what} work order WO-${o.id}: ${err.message}.`);
      }
    } finally {
      view.busy.delete(o.id);
      if (view.alive) render(true);
    }
  }

  render(true);
  const ticker = setInterval(tick, 5000);
  refresh();

  return {
    node,
    refresh,
    teams,
    /** The loaded open orders of one incident (the newest page of them). */
    forIncident: (id) => view.orders.filter((o) => o.incident.id === id),
    destroy() {
      view.alive = false;
      clearTimeout(view.timer);
      clearInterval(ticker);
    },
  };
}
