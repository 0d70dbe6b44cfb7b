// The disruption plan of a call: how it reads to the survivor, and the countdown after a drop.

import t from "./i18n/en.js";

/**
 * @typedef {{action: string, minutes: number, note: string}} Plan
 */

/** The plan in the survivor's words. @param {Plan} plan */
export function planText(plan) {
  const text = (t.planFor[plan.action] || t.planFor.wait).replace("{minutes}", String(plan.minutes));
  return plan.note ? `${text} ${t.planNote}${plan.note}` : text;
}

/** Staff's short summary. @param {Plan} plan */
export function planSummary(plan) {
  const choice = t.planChoices[plan.action] || plan.action;
  return `${t.planTitle}: ${choice} (${plan.minutes} ${t.minutes})`;
}

/**
 * Counts down the plan's minutes in `target` from now; returns a function that stops it.
 * @param {HTMLElement} target @param {number} minutes
 */
export function countdown(target, minutes) {
  const end = Date.now() + minutes * 60000;
  const tick = () => {
    const left = Math.max(0, Math.round((end - Date.now()) / 1000));
    const time = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    target.textContent = left > 0 ? t.planTimeLeft.replace("{time}", time) : t.planTimeUp;
    if (left === 0) clearInterval(timer);
  };
  const timer = setInterval(tick, 1000);
  tick();
  return () => clearInterval(timer);
}
