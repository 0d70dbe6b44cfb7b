// What a page says about its call's end-to-end encryption (see e2ee_keys.js): on, with the
// safety code to compare aloud; being set up; not end to end, and whose browser or link is
// the reason; or this page's own link does not match the call.

import t, { format, text } from "./i18n/index.js";
import { el } from "./ui.js";

/**
 * Keeps `root` showing the state of `keys`.
 * @param {import("./e2ee_keys.js").CallKeys} keys
 * @param {HTMLElement} root
 * @param {(participant: string) => string} nameOf  a person's name as the page shows it
 */
export function showE2ee(keys, root, nameOf) {
  let drawn = "";
  const draw = () => {
    const state = keys.state;
    // Drawn again only when what it says changes: it is a live region, read out each time.
    const now = JSON.stringify([state, keys.code, keys.mismatched(), keys.cannotSeal()]);
    if (now === drawn) return;
    drawn = now;
    root.dataset.e2ee = state;
    const main = el("p", { "data-e2ee-line": state });
    /** @type {Record<string, () => string>} */
    const words = {
      on: () => t.e2ee.on,
      waiting: () => t.e2ee.waiting,
      clear: () => t.e2ee.clear,
      "bad-link": () => t.e2ee.badLink,
    };
    text(main, words[state]);
    const lines = [main];
    if (state === "on" && keys.code) {
      // The code on one line; how to use it one tap away (a phone's screen is small).
      const digits = el("summary", { "data-safety-code": keys.code });
      text(digits, () => format(t.e2ee.code, { code: keys.code }));
      const hint = el("p", { class: "hint" });
      text(hint, () => t.e2ee.codeHint);
      const open = root.querySelector(".safety-code")?.hasAttribute("open");
      lines.push(el("details", { class: "safety-code", ...(open ? { open: "" } : {}) }, [digits, hint]));
    }
    const about = (/** @type {string} */ id, /** @type {string} */ why) => {
      const line = el("p", { "data-e2ee-person": id, "data-e2ee-why": why });
      text(line, () => format(why === "mismatch" ? t.e2ee.mismatch : t.e2ee.cannot, { name: nameOf(id) }));
      lines.push(line);
    };
    for (const id of keys.mismatched()) about(id, "mismatch");
    if (state === "clear") for (const id of keys.cannotSeal()) about(id, "cannot");
    root.replaceChildren(...lines);
  };
  keys.addEventListener("change", draw);
  // How many frames this page sealed, opened and failed to open, for whoever looks closer.
  keys.frames?.addEventListener("counts", () => {
    const counts = keys.frames?.counts;
    if (counts) Object.assign(root.dataset, counts);
  });
  draw();
}
