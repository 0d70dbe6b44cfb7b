// The consent step of the join page (#consent): what is private and what is not, the
// organization's own text, "Are you somewhere you can talk safely right now?", and the way
// to talk. Nothing here touches the camera or microphone.

import t, { onLanguage, text } from "./i18n/index.js";
import { byId, show } from "./ui.js";
import { inLanguage } from "./welcome.js";

/** @typedef {import("./talk.js").Mode} Mode */

/** The way to talk chosen on the page. @returns {Mode} */
export function chosenMode() {
  const checked = /** @type {HTMLInputElement | null} */ (
    document.querySelector('input[name="mode"]:checked')
  );
  const value = checked ? checked.value : "video";
  return value === "audio" || value === "text" ? value : "video";
}

/** The connection test fits the way to talk: none for text only. */
function modeChanged() {
  const mode = chosenMode();
  const test = /** @type {HTMLButtonElement} */ (byId("test"));
  test.hidden = mode === "text";
  test.disabled = mode === "text";
  text(test, () => (chosenMode() === "audio" ? t.consent.testAudio : t.consent.test));
}

/** "Yes": the way to talk, name and Join appear; "no": a calm page, with a way back. */
function wireQuestion() {
  for (const choice of document.querySelectorAll("[data-safe]")) {
    choice.addEventListener("click", () => {
      if (/** @type {HTMLElement} */ (choice).dataset.safe === "no") {
        show("not-safe");
        return;
      }
      const form = byId("join-form");
      form.hidden = false;
      const first = /** @type {HTMLElement} */ (form.querySelector("input:checked"));
      first.focus();
    });
  }
  document.querySelector('[data-action="safe-again"]')?.addEventListener("click", () => {
    show("consent");
  });
}

/** The organization's consent text, per language, shown as plain text in the page's language. */
let texts = /** @type {Record<string, string>} */ ({});

function showText() {
  const words = inLanguage(texts);
  byId("org-consent").textContent = words;
  byId("org-consent-box").hidden = !words;
}

/** @param {Record<string, string>} byLanguage from /api/welcome */
export function setConsentText(byLanguage) {
  texts = byLanguage;
  showText();
}

export function wireConsent() {
  wireQuestion();
  for (const radio of document.querySelectorAll('input[name="mode"]')) {
    radio.addEventListener("change", modeChanged);
  }
  modeChanged();
  onLanguage(showText);
}
