// The organization's own texts and exit address, from GET /api/welcome (no sign-in needed).

import { language } from "./i18n/index.js";

/** Where "leave quickly" goes when the server has not said: a common, harmless page. */
export const DEFAULT_EXIT_URL = "https://www.google.com/search?q=weather";

/**
 * @typedef {object} Welcome
 * @property {Record<string, string>} consent   the consent text, per language
 * @property {Record<string, string>} handout   the handout's text, per language
 * @property {string} exit_url                  where the quick exit goes
 * @property {boolean} require_e2ee             only browsers that encrypt end to end may join
 */

/** @returns {Promise<Welcome>} */
export async function loadWelcome() {
  /** @type {Welcome} */
  const fallback = { consent: {}, handout: {}, exit_url: DEFAULT_EXIT_URL, require_e2ee: false };
  try {
    const response = await fetch("/api/welcome", { credentials: "omit", cache: "no-store" });
    if (!response.ok) return fallback;
    const body = await response.json();
    return {
      consent: body.consent || {},
      handout: body.handout || {},
      exit_url: /^https:\/\//.test(body.exit_url || "") ? body.exit_url : DEFAULT_EXIT_URL,
      require_e2ee: body.require_e2ee === true,
    };
  } catch {
    return fallback;
  }
}

/** One of the organization's texts in the page's language ("" if it has none). @param {Record<string, string>} texts */
export function inLanguage(texts) {
  return texts[language()] || "";
}
