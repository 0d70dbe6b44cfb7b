// The disruption plan of a call: how it reads to the survivor, and the countdown after a drop.

import t, { format, text } from "./i18n/index.js";

/**
 * @typedef {{action: string, minutes: number, note: string}} Plan
 */

/** The plan in the survivor's words. @param {Plan} plan */
export function planText(plan) {
  const words = format(t.plan.for[plan.action] || t.plan.for.wait, { minutes: plan.minutes });
  return plan.note ? `${words} ${t.plan.note}${plan.note}` : words;
}

/** Staff's short summary. @param {Plan} plan */
export function planSummary(plan) {
  const choice = t.plan.choices[plan.action] || plan.action;
  return format(t.plan.summary, { title: t.plan.title, choice, minutes: plan.minutes });
}

/**
 * Counts down the plan's minutes in `target` from now; returns a function that stops it.
 * @param {HTMLElement} target @param {number} minutes
 */
export function countdown(target, minutes) {
  const end = Date.now() + minutes * 60000;
  const words = () => {
    const left = Math.max(0, Math.round((end - Date.now()) / 1000));
    const time = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    return left > 0 ? format(t.plan.timeLeft, { time }) : t.plan.timeUp;
  };
  const tick = () => {
    text(target, words);
    if (end <= Date.now()) clearInterval(timer);
  };
  const timer = setInterval(tick, 1000);
  tick();
  return () => clearInterval(timer);
}
