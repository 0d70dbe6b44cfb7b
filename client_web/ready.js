// The readiness checklist staff confirm once per sign-in (POST /api/ready), as the guide asks:
// a quiet, secluded place, headphones, the organization's device and account.

import t from "./i18n/index.js";
import { api } from "./staff_api.js";
import { announce, byId } from "./ui.js";

let asking = 0; // the latest question: an earlier answer (from before a sign-in) is stale

/** Shows the checklist unless this sign-in has confirmed it already. */
export async function askReady() {
  const form = byId("ready-form");
  const question = ++asking;
  delete form.dataset.asked;
  const { ok, body } = await api("/api/me");
  if (question !== asking) return;
  form.hidden = !ok || Boolean(body.ready);
  form.dataset.asked = "yes"; // the answer for this sign-in is in: tests wait for it
}

/**
 * Whether this sign-in may join a call: the checklist is confirmed. If not, it is shown,
 * focused and said, and the join waits (the server refuses it too, with not-ready).
 */
export function readyFirst() {
  const form = byId("ready-form");
  if (form.hidden) return true;
  const first = /** @type {HTMLInputElement | null} */ (form.querySelector("input"));
  if (first) first.focus();
  announce(t.staff.readyFirst);
  return false;
}

export function wireReady() {
  const form = /** @type {HTMLFormElement} */ (byId("ready-form"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    /** @type {Record<string, boolean>} */
    const answers = {};
    for (const box of form.querySelectorAll('input[type="checkbox"]')) {
      const input = /** @type {HTMLInputElement} */ (box);
      answers[input.name] = input.checked;
    }
    const { ok } = await api("/api/ready", { method: "POST", body: JSON.stringify(answers) });
    if (!ok) return;
    form.hidden = true;
    announce(t.staff.readyThanks);
  });
}
