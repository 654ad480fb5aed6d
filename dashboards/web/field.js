// A field technician's phone: the work orders of their team(s), and one order's page with
// the site on the map, its APs' last known state, a button per state change the API allows
// now (`actions`), a note, a photo of the fix and the order's timeline. Mounted by app.js
// for the `field` role at "#/field" (the list) and "#/field/<order id>" (one order).
//
// Phone first (one column at 390 px), two columns on a laptop. No button ever sets an order
// "verified": only telemetry does (docs/fieldwork.md), and the page says so. Names, not
// ids: a site by its name, an incident by its class in words, states in plain words.
// Text goes in as text only; no style attributes (CSP: style-src 'self'); the photo is
// shown as a data: URL (the CSP allows data: images, no blob: URLs).

import { createMap, STATE_COLORS } from "./map.js";
import { bboxOf, clock, duration, h, notice, stateBadge } from "./viewkit.js";
import { ORDER_STATE, classWords } from "./words.js";

const MINE = "/api/v1/work-orders/mine";
const ORDERS = "/api/v1/work-orders";
const LIST_REFRESH_MS = 30_000;
const ORDER_REFRESH_MS = 15_000; // "fixed" turns "verified" by itself, from telemetry
const PHOTO_TIMEOUT_MS = 60_000; // a photo from a phone on a weak signal
const MAX_NOTE = 1000; // inventory.work_orders.MAX_NOTE

const AP_RANK = { down: 0, degraded: 1, unknown: 2, up: 3 };
const VERIFY_HINT =
  "Telemetry marks the order verified once every access point of the site answers and " +
  "clients are back: no button does.";

// --- words -------------------------------------------------------------------------------

function ago(iso) {
  if (!iso) return "never";
  const ms = Date.now() - Date.parse(iso);
  if (!Number.isFinite(ms)) return "–";
  return `${duration(Math.max(0, ms / 1000))} ago`;
}

function incidentWords(incident) {
  return classWords(incident.class);
}

function priorityWords(incident) {
  return incident.priority > 0 ? `Priority ${incident.priority}` : "Normal priority";
}

function siteName(order) {
  return order.site.name || "A site no longer in the inventory";
}

/** The worst state of the site's APs (what its marker and the list show). */
function worstState(aps) {
  let worst = "unknown";
  let rank = Infinity;
  for (const ap of aps) {
    const r = AP_RANK[ap.state] ?? AP_RANK.unknown;
    if (r < rank) {
      rank = r;
      worst = ap.state in AP_RANK ? ap.state : "unknown";
    }
  }
  return worst;
}

function apSummary(aps) {
  if (!aps.length) return "No enabled access points";
  const down = aps.filter((a) => a.state === "down").length;
  const up = aps.filter((a) => a.state === "up").length;
  const noun = aps.length === 1 ? "access point" : "access points";
  if (down) return `${down} of ${aps.length} ${noun} down`;
  if (up === aps.length) return `${aps.length === 1 ? "The" : `All ${aps.length}`} ${noun} up`;
  return `${up} of ${aps.length} ${noun} up`;
}

function stateTag(state) {
  return h("span", { className: `field-state field-state-${state}`, dataset: { state } }, ORDER_STATE[state] || state);
}

// What a timeline entry says: in words, never an id.
function entryWords(entry, order) {
  const d = entry.detail || "";
  switch (entry.kind) {
    case "created":
      return "Work order made";
    case "assigned":
      return d && d === order.team_id && order.team_name ? `Given to ${order.team_name}` : "Given to a team";
    case "state":
      return ORDER_STATE[d] || d;
    case "note":
      return `Note: “${d}”`;
    case "photo": {
      const size = /(\d+)x(\d+)/.exec(d);
      return size ? `Photo of the fix (${size[1]}×${size[2]})` : "Photo of the fix";
    }
    case "verified":
      return d ? `Verified by telemetry: ${d}` : "Verified by telemetry";
    case "cancelled":
      return d ? `Cancelled: ${d}` : "Cancelled";
    default:
      return d || entry.kind;
  }
}

function readAsDataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.addEventListener("load", () => resolve(String(reader.result)));
    reader.addEventListener("error", () => reject(reader.error));
    reader.readAsDataURL(blob);
  });
}

function quiet(err) {
  return err && (err.status === 401 || err.message === "the session changed");
}

// --- the view ----------------------------------------------------------------------------

export function mount(el, ctx) {
  const root = h("div", { className: "field-page" });
  el.append(root);
  const id = Number(ctx.route.arg);
  const stop = ctx.route.arg && Number.isInteger(id) && id > 0 ? orderPage(root, ctx, id) : listPage(root, ctx);
  return () => {
    stop();
    root.remove();
  };
}

// --- my work orders ----------------------------------------------------------------------

function listPage(root, ctx) {
  const show = ctx.route.params.get("show") === "done" ? "done" : "open";
  const state = { alive: true, timer: 0, orders: null, count: null };

  const count = h("p", { className: "field-sub", id: "field-count", "aria-live": "polite" }, "Loading…");
  const toggle = h("div", { className: "field-toggle", role: "group", "aria-label": "Which orders" });
  for (const [value, label] of [["open", "To do"], ["done", "Done"]]) {
    const b = h("button", { type: "button", className: "btn", "aria-pressed": String(value === show) }, label);
    b.addEventListener("click", () => {
      if (value !== show) ctx.navigate(value === "open" ? "#/field" : "#/field?show=done");
    });
    toggle.append(b);
  }
  const list = h("ul", { className: "field-orders", id: "field-orders" });
  root.append(
    h("div", { className: "field-head" }, h("div", {}, h("h2", {}, "My work orders"), count), toggle),
    list,
  );

  function item(order) {
    const worst = worstState(order.aps);
    const link = h(
      "a",
      { className: "field-order-link", href: `#/field/${order.id}` },
      h("span", { className: "field-order-top" }, h("strong", { className: "field-site" }, siteName(order)), stateTag(order.state)),
      h(
        "span",
        { className: "field-order-what" },
        h("span", {}, incidentWords(order.incident)),
        h("span", { className: `field-priority${order.incident.priority > 0 ? " is-raised" : ""}` }, priorityWords(order.incident)),
      ),
      h("span", { className: `field-order-aps field-aps-${worst}` }, apSummary(order.aps)),
      h("span", { className: "field-order-meta" }, `${order.team_name || "Your team"} · updated ${ago(order.updated_at)}`),
    );
    return h("li", { className: `field-order field-order-${order.state}`, dataset: { order: String(order.id) } }, link);
  }

  function render() {
    if (state.orders == null) return;
    const noun = state.count === 1 ? "order" : "orders";
    count.textContent = show === "open" ? `${state.count} ${noun} to do` : `${state.count} ${noun} done or cancelled`;
    if (!state.orders.length) {
      list.replaceChildren(
        h("li", { className: "field-empty" }, show === "open" ? "Nothing to do: your team has no open work orders." : "No finished work orders yet."),
      );
      return;
    }
    list.replaceChildren(...state.orders.map(item));
  }

  async function refresh() {
    try {
      const body = await ctx.api(`${MINE}?open=${show === "open"}&limit=200`);
      if (!state.alive) return;
      state.orders = body.data || [];
      state.count = body.count;
      render();
    } catch (err) {
      if (!state.alive || quiet(err)) return;
      count.textContent = `Could not load your work orders: ${err.message}.`;
    } finally {
      if (state.alive) state.timer = setTimeout(refresh, LIST_REFRESH_MS);
    }
  }

  refresh();
  return () => {
    state.alive = false;
    clearTimeout(state.timer);
  };
}

// --- one work order ----------------------------------------------------------------------

function orderPage(root, ctx, id) {
  const state = { alive: true, timer: 0, order: null, busy: false, drawn: "", photoUrl: null, photoFor: "" };

  const back = h("a", { className: "field-back", href: "#/field" }, "← My work orders");
  const title = h("h2", { id: "field-title" }, "Work order");
  const status = h("div", { className: "field-status", id: "field-status" });
  const what = h("p", { className: "field-what", id: "field-incident" });
  const explain = h("p", { className: "field-explain" });
  const head = h("section", { className: "field-head field-order-head" }, h("div", {}, back, title, what, explain), status);

  // The map and the way there.
  const mapBox = h("div", { className: "field-map", id: "field-map" });
  const directions = h("a", { className: "field-directions", id: "field-directions", hidden: true }, "Open in a maps app");
  const mapCard = h("section", { className: "card field-map-card", "aria-label": "Where" }, mapBox, directions);

  // The APs.
  const apList = h("ul", { className: "field-aps", id: "field-aps" });
  const apCard = h("section", { className: "card field-aps-card", "aria-labelledby": "field-aps-title" }, h("h3", { id: "field-aps-title" }, "Access points"), apList);

  // What the technician does: the buttons, the note, the photo.
  const buttons = h("div", { className: "field-buttons", id: "field-actions" });
  const hint = h("p", { className: "hint field-hint", id: "field-hint" });
  const note = h("textarea", { id: "field-note", rows: "3", maxlength: String(MAX_NOTE), placeholder: "What you found, what you did" });
  const noteButton = h("button", { type: "button", className: "btn" }, "Add note");
  const noteBox = h(
    "div",
    { className: "field-note-box" },
    h("label", { for: "field-note" }, "Note"),
    note,
    h("div", { className: "field-note-foot" }, h("span", { className: "hint" }, "Sent with the next button you press, or on its own:"), noteButton),
  );
  const photoInput = h("input", { type: "file", id: "field-photo", accept: "image/jpeg,image/png,image/webp", capture: "environment" });
  const photoStatus = h("p", { className: "hint", id: "field-photo-status", "aria-live": "polite" });
  const photoShown = h("div", { className: "field-photo-shown" });
  const photoBox = h(
    "div",
    { className: "field-photo-box" },
    h("label", { for: "field-photo" }, "Photo of the fix"),
    photoInput,
    photoStatus,
    photoShown,
  );
  const workCard = h(
    "section",
    { className: "card field-work", "aria-labelledby": "field-work-title" },
    h("h3", { id: "field-work-title" }, "Your work"),
    buttons,
    hint,
    noteBox,
    photoBox,
  );

  // The timeline.
  const timeline = h("ol", { className: "field-timeline", id: "field-timeline" });
  const timeCard = h("section", { className: "card field-time-card", "aria-labelledby": "field-time-title" }, h("h3", { id: "field-time-title" }, "Timeline"), timeline);

  // Two columns on a laptop (where, then what to do); one on a phone, in the order the
  // technician needs them (map, buttons, APs, timeline: see style.css).
  const body = h(
    "div",
    { className: "field-order-body" },
    h("div", { className: "field-col field-col-where" }, mapCard, apCard),
    h("div", { className: "field-col field-col-work" }, workCard, timeCard),
  );
  const loading = notice("Loading the work order…");
  root.append(head, loading);

  let map = null;

  function drawMap(order) {
    const { lat, lon } = order.site;
    if (lat == null || lon == null) {
      mapCard.hidden = true;
      return;
    }
    mapCard.hidden = false;
    if (!map) map = createMap(mapBox, { tileUrl: ctx.config?.tile_url || null, attribution: ctx.config?.tile_attribution || "" });
    const worst = worstState(order.aps);
    const feature = {
      type: "Feature",
      id: order.site.id,
      geometry: { type: "Point", coordinates: [lon, lat] },
      properties: { name: siteName(order), state: worst },
    };
    map.setLayer("site", [feature], {
      className: () => `field-site-marker field-site-${worst}`,
      radius: () => 10,
      fill: () => STATE_COLORS[worst] || STATE_COLORS.unknown,
      stroke: () => "#ffffff",
      title: () => `${siteName(order)}: ${apSummary(order.aps)}`,
      label: () => siteName(order),
    });
    const box = bboxOf([feature]);
    if (box && state.drawn !== `${lat},${lon}`) {
      state.drawn = `${lat},${lon}`;
      map.fit(box);
    }
    directions.href = `geo:${lat},${lon}?q=${lat},${lon}(${encodeURIComponent(siteName(order))})`;
    directions.hidden = false;
  }

  function drawAps(order) {
    if (!order.aps.length) {
      apList.replaceChildren(h("li", { className: "hint" }, "The site has no enabled access points."));
      return;
    }
    apList.replaceChildren(
      ...order.aps.map((ap) => {
        const since = ap.since
          ? h("span", { className: "field-since", title: ap.since }, `since ${clock(ap.since)} (${ago(ap.since).replace(/ ago$/, "")})`)
          : h("span", { className: "field-since" }, "never polled");
        const seen = h("span", { className: "field-seen", title: ap.last_seen || "" }, ap.last_seen ? `last heard ${ago(ap.last_seen)}` : "never heard");
        return h(
          "li",
          { className: `field-ap field-ap-${ap.state}`, dataset: { ap: ap.id, state: ap.state } },
          h("span", { className: "field-ap-name" }, ap.name),
          stateBadge(ap.state),
          h("span", { className: "field-ap-when" }, since, seen),
        );
      }),
    );
  }

  function button(action, order) {
    let label;
    let primary = false;
    let title = "";
    if (action === "on_site") {
      label = order.state === "fixed" ? "Back on site" : "On site";
      title = order.state === "fixed" ? "The fix did not hold: work goes on" : "You are at the site";
      primary = order.state !== "fixed";
    } else {
      label = "Fixed";
      title = "You fixed it: telemetry will verify";
      primary = true;
    }
    const b = h("button", { type: "button", className: `btn field-button${primary ? " btn-primary" : ""}`, title, dataset: { action } }, label);
    b.disabled = state.busy;
    b.addEventListener("click", () => change(action));
    return b;
  }

  function drawWork(order) {
    const acts = order.actions || [];
    const states = acts.filter((a) => a === "on_site" || a === "fixed");
    buttons.replaceChildren(...states.map((a) => button(a, order)));
    buttons.hidden = !states.length;
    const hints = {
      new: "The order has no team yet.",
      assigned: "Press “On site” when you get there.",
      on_site: "Press “Fixed” once it works again.",
      fixed: VERIFY_HINT,
      verified: order.verified_at ? `Verified by telemetry on ${clock(order.verified_at)}: done.` : "Verified by telemetry: done.",
      cancelled: "This order was cancelled: nothing to do.",
    };
    hint.textContent = hints[order.state] || "";
    noteBox.hidden = !acts.includes("note");
    noteButton.disabled = state.busy;
    photoInput.hidden = !acts.includes("photo");
    photoInput.disabled = state.busy;
    photoBox.hidden = !acts.includes("photo") && !order.has_photo;
    photoBox.querySelector("label").hidden = photoInput.hidden;
  }

  function drawTimeline(order) {
    const entries = [...(order.timeline || [])].reverse(); // newest first
    timeline.replaceChildren(
      ...entries.map((e) =>
        h(
          "li",
          { className: `field-entry field-entry-${e.kind}`, dataset: { kind: e.kind } },
          h("span", { className: "field-entry-what" }, entryWords(e, order)),
          h("span", { className: "field-entry-meta", title: e.at }, `${clock(e.at)} · ${e.actor || "telemetry"}`),
        ),
      ),
    );
  }

  function draw(order) {
    document.title = `${siteName(order)} — work order`;
    title.textContent = siteName(order);
    status.replaceChildren(stateTag(order.state));
    status.dataset.state = order.state;
    what.replaceChildren(
      h("span", {}, incidentWords(order.incident)),
      h("span", { className: `field-priority${order.incident.priority > 0 ? " is-raised" : ""}` }, priorityWords(order.incident)),
    );
    explain.textContent = order.incident.explanation || "";
    if (loading.isConnected) loading.replaceWith(body);
    drawMap(order);
    drawAps(order);
    drawWork(order);
    drawTimeline(order);
    loadPhoto(order);
  }

  async function loadPhoto(order) {
    const key = order.has_photo ? `${order.id}:${order.updated_at}` : "";
    if (key === state.photoFor) return;
    state.photoFor = key;
    if (!order.has_photo) {
      photoShown.replaceChildren();
      return;
    }
    try {
      const resp = await fetch(`${MINE}/${order.id}/photo`, { credentials: "same-origin", cache: "no-store" });
      if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
      const url = await readAsDataUrl(await resp.blob());
      if (!state.alive || state.photoFor !== key) return;
      photoShown.replaceChildren(h("img", { className: "field-photo", src: url, alt: `Photo of the fix at ${siteName(order)}` }));
    } catch (err) {
      if (state.alive) photoStatus.textContent = `Could not show the photo: ${err.message}.`;
    }
  }

  async function load() {
    clearTimeout(state.timer);
    try {
      const order = await ctx.api(`${MINE}/${id}`);
      if (!state.alive) return;
      state.order = order;
      draw(order);
    } catch (err) {
      if (!state.alive || quiet(err)) return;
      if (err.status === 404) {
        loading.replaceWith(notice("No such work order for your team: it may have gone to another team.", "error"));
        title.textContent = "Work order not found";
        state.alive = false;
        return;
      }
      if (state.order) ctx.onError(`Could not refresh the work order: ${err.message}.`);
      else loading.textContent = `Could not load the work order: ${err.message}.`;
    } finally {
      if (state.alive) state.timer = setTimeout(load, ORDER_REFRESH_MS);
    }
  }

  function setBusy(busy) {
    state.busy = busy;
    for (const b of buttons.querySelectorAll("button")) b.disabled = busy;
    noteButton.disabled = busy;
    photoInput.disabled = busy;
  }

  async function act(path, method, payload, what, timeoutMs) {
    setBusy(true);
    try {
      await ctx.api(`${ORDERS}/${id}/${path}`, { method, body: payload, timeoutMs });
      if (!state.alive) return false;
      ctx.onError("");
      await load();
      return true;
    } catch (err) {
      if (state.alive && !quiet(err)) ctx.onError(`Could not ${what}: ${err.message}.`);
      return false;
    } finally {
      if (state.alive) setBusy(false);
    }
  }

  async function change(action) {
    const text = note.value.trim();
    const payload = text ? { state: action, note: text } : { state: action };
    const words = action === "fixed" ? "mark the order fixed" : "mark the order on site";
    if (await act("state", "POST", payload, words)) note.value = "";
  }

  noteButton.addEventListener("click", async () => {
    const text = note.value.trim();
    if (!text) {
      note.focus();
      ctx.onError("Write the note first.");
      return;
    }
    if (await act("notes", "POST", { note: text }, "add the note")) note.value = "";
  });

  photoInput.addEventListener("change", async () => {
    const file = photoInput.files && photoInput.files[0];
    if (!file) return;
    photoStatus.textContent = "Sending the photo…";
    let data;
    try {
      const url = await readAsDataUrl(file);
      data = url.slice(url.indexOf(",") + 1);
    } catch (err) {
      photoStatus.textContent = `Could not read the photo: ${String(err && err.message ? err.message : err)}.`;
      return;
    }
    const sent = await act("photo", "PUT", { data }, "send the photo", PHOTO_TIMEOUT_MS);
    if (!state.alive) return;
    photoStatus.textContent = sent ? "Photo sent." : "The photo was not sent.";
    photoInput.value = "";
  });

  load();
  return () => {
    state.alive = false;
    clearTimeout(state.timer);
    if (map) map.destroy();
  };
}
