// Words the views share, one place each: what an incident's class and a work order's
// state read as on every page (the API sends core.incidents / inventory.work_orders
// values).

/** An incident's class (core.incidents.IncidentClass) in words. */
export const INCIDENT_CLASS = {
  ap_down: "Access point down",
  site_down: "Site down",
  uplink_down: "Uplink down",
  area_outage: "Area outage",
  silent_failure: "Silent failure",
  overload: "Overloaded",
  backhaul_saturated: "Backhaul saturated",
  flapping: "Flapping",
  unexpected_reboot: "Unexpected reboot",
  citizen_reported: "Reported by citizens",
};

/** A class in words; an unknown one (a newer server) as its own words. */
export function classWords(kind) {
  return INCIDENT_CLASS[kind] || String(kind).replaceAll("_", " ");
}

/** A work order's state (inventory.work_orders.OrderState) in words. */
export const ORDER_STATE = {
  new: "New",
  assigned: "Assigned",
  on_site: "On site",
  fixed: "Fixed — waiting for telemetry",
  verified: "Verified",
  cancelled: "Cancelled",
};
