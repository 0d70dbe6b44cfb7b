// Staff's list of their calls (#calls): links to copy, the plan, when the links open,
// and the buttons to join, test, open anyway or end each call.

import { showAdmin } from "./admin.js";
import { keepOnly, withSecret } from "./call_secrets.js";
import t, { format, text, when } from "./i18n/index.js";
import { planSummary } from "./plan.js";
import { api } from "./staff_api.js";
import { button, byId, el, show } from "./ui.js";

/**
 * What the list's buttons do besides its own (end, open anyway).
 * @typedef {{join: (callId: string) => void, test: (callId: string) => void}} Actions
 */

/** @type {Actions} */
let actions = { join: () => {}, test: () => {} };

/** @param {Actions} wanted */
export function onCallActions(wanted) {
  actions = wanted;
}

/** Fetches the calls and shows them (or the sign-in form when signed out). */
export async function refreshCalls() {
  const { ok, body } = await api("/api/calls");
  if (!ok) {
    show("sign-in", false);
    return;
  }
  const list = byId("calls");
  list.replaceChildren();
  if (!body.calls.length) {
    const none = el("li");
    text(none, () => t.staff.noCalls);
    list.append(none);
  }
  keepOnly(body.calls.map((/** @type {any} */ c) => c.id));
  for (const c of body.calls) list.append(callItem(c));
  if (body.defaults) formDefaults(body.defaults);
  show("calls-view", false);
  showAdmin();
}

/**
 * The new-call form starts from the organization's defaults (the drop plan, the check-in
 * interval), once per page: what staff then type is theirs.
 * @param {{plan: {action: string, minutes: number, note: string}, check_in_minutes: number}} defaults
 */
function formDefaults(defaults) {
  const form = byId("new-call-form");
  if (form.dataset.defaults) return;
  form.dataset.defaults = "yes";
  const set = (/** @type {string} */ id, /** @type {string} */ value) => {
    /** @type {HTMLInputElement | HTMLSelectElement} */ (byId(id)).value = value;
  };
  set("plan-action", defaults.plan.action);
  set("plan-minutes", String(defaults.plan.minutes));
  set("plan-note", defaults.plan.note);
  set("check-in-minutes", String(defaults.check_in_minutes));
}

/** One call of the list, with its links, plan and buttons. @param {any} c */
function callItem(c) {
  const join = button("join-call", () => t.staff.joinCall);
  join.addEventListener("click", () => actions.join(c.id));
  const end = button("end-call", () => t.staff.endCall, { class: "danger" });
  end.addEventListener("click", async () => {
    await api(`/api/calls/${encodeURIComponent(c.id)}`, { method: "DELETE" });
    refreshCalls();
  });
  const links = ["survivor", "interpreter"].map((role) => {
    const id = `link-${role}-${c.id}`;
    const link = withSecret(c.links[role], c.id);
    const copy = button("copy", () => t.staff.copy);
    copy.addEventListener("click", async () => {
      await navigator.clipboard.writeText(link);
      text(copy, () => t.staff.copied);
    });
    const label = el("label", { for: id });
    text(label, () => (role === "survivor" ? t.staff.survivorLink : t.staff.interpreterLink));
    const input = el("input", { id, readonly: "", value: link, "data-link": role, size: "50" });
    return el("p", { class: "link" }, [label, input, copy]);
  });
  const info = el("p");
  text(info, () => {
    const status = [format(t.staff.expires, { minutes: Math.ceil(c.expires_in / 60) })];
    if (c.check_in_minutes) {
      status.push(format(t.staff.checkInEvery, { minutes: c.check_in_minutes }));
    }
    if (c.waiting) status.push(format(t.staff.waitingCount, { count: c.waiting }));
    if (c.practice) status.push(t.call.practice);
    else if (!c.open_now && c.opens_at) {
      status.push(format(t.staff.opensAt, { time: when(c.opens_at) }));
    } else if (!c.open_now) status.push(t.staff.linksClosed);
    return status.join(" · ");
  });
  const plan = el("p", { "data-plan": "" });
  text(plan, () => planSummary(c.plan));
  const test = button("test", () => t.consent.test);
  test.addEventListener("click", () => actions.test(c.id));
  const items = [...links, plan, info, join, test];
  if (!c.practice && (c.open_anyway || !c.open_now)) items.push(openAnyway(c));
  return el("li", { "data-call": c.id }, [...items, end]);
}

/** Open the links now whatever the hours say, or keep to the hours again. @param {any} c */
function openAnyway(c) {
  const open = !c.open_anyway;
  const toggle = button("open-anyway", () => (open ? t.staff.openAnyway : t.staff.closeAgain));
  toggle.addEventListener("click", async () => {
    await api(`/api/calls/${encodeURIComponent(c.id)}`, {
      method: "PATCH",
      body: JSON.stringify({ open_anyway: open }),
    });
    refreshCalls();
  });
  return toggle;
}
