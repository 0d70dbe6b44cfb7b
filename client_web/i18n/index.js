// The page's language: English or French (Canada), picked from the browser's languages and
// switched by a button on every page. Nothing is stored: the choice lasts as long as the page.

import en from "./en.js";
import fr from "./fr.js";

/** @typedef {"en" | "fr"} Language */

/** @type {Record<Language, any>} */
export const LANGUAGES = { en, fr };

/** The strings of the current language; the same object stays valid after a switch. */
const t = structuredClone(en);
export default t;

/** @type {Language} */
let current = "en";

/** Nodes whose text comes from code, with how to write it again in another language. */
const rendered = new Map(/** @type {[Node, () => string][]} */ ([]));

/** @type {(() => void)[]} */
const listeners = [];

/** fr* in the browser's list before any en* gives French; anything else, English. */
export function pick(/** @type {readonly string[]} */ preferred) {
  for (const tag of preferred) {
    const base = tag.toLowerCase().split("-")[0];
    if (base === "fr" || base === "en") return /** @type {Language} */ (base);
  }
  return "en";
}

export function language() {
  return current;
}

/** A string by its dotted path ("call.mute"), "" if there is none. @param {string} path */
export function lookup(path) {
  /** @type {any} */
  let node = t;
  for (const part of path.split(".")) node = node == null ? undefined : node[part];
  return typeof node === "string" ? node : "";
}

/**
 * `text` with each {name} replaced from `values`.
 * @param {string} text @param {Record<string, string | number>} [values]
 */
export function format(text, values = {}) {
  return text.replace(/\{(\w+)\}/g, (all, name) => (name in values ? String(values[name]) : all));
}

/**
 * A moment (ISO 8601) in the page's language and the device's own time zone.
 * @param {string} iso @param {Intl.DateTimeFormatOptions} [style]
 */
export function when(iso, style = { dateStyle: "full", timeStyle: "short" }) {
  return new Date(iso).toLocaleString(t.language.code, style);
}

/** The message for a server error code, in the page's language. @param {string} code */
export function errorText(code) {
  return t.errors[code] || t.errors.generic;
}

/**
 * Writes `render()` into `node` now and again after every language switch.
 * @param {Node} node @param {() => string} render
 */
export function text(node, render) {
  rendered.set(node, render);
  node.textContent = render();
}

/** Fills every [data-i18n] (text), [data-i18n-label] (aria-label) element under `root`. */
export function fill(root = document.documentElement) {
  for (const node of root.querySelectorAll("[data-i18n]")) {
    node.textContent = lookup(/** @type {HTMLElement} */ (node).dataset.i18n || "");
  }
  for (const node of root.querySelectorAll("[data-i18n-label]")) {
    node.setAttribute("aria-label", lookup(/** @type {HTMLElement} */ (node).dataset.i18nLabel || ""));
  }
}

/** Runs `listener` after every switch of language. @param {() => void} listener */
export function onLanguage(listener) {
  listeners.push(listener);
}

/** @param {Language} code */
export function setLanguage(code) {
  current = code;
  Object.assign(t, structuredClone(LANGUAGES[code]));
  document.documentElement.lang = t.language.code;
  if (t.page[document.body.dataset.title || ""]) {
    document.title = t.page[document.body.dataset.title || ""];
  }
  fill();
  for (const [node, render] of rendered) {
    if (node.isConnected) node.textContent = render();
    else rendered.delete(node);
  }
  for (const button of document.querySelectorAll('[data-action="language"]')) {
    const other = LANGUAGES[code === "en" ? "fr" : "en"].language;
    button.textContent = other.name;
    button.setAttribute("lang", other.code);
  }
  for (const listener of listeners) listener();
}

/** Picks the language from the browser and wires the switch buttons. */
export function startLanguage() {
  for (const button of document.querySelectorAll('[data-action="language"]')) {
    button.addEventListener("click", () => setLanguage(current === "en" ? "fr" : "en"));
  }
  setLanguage(pick(navigator.languages || [navigator.language || "en"]));
}
