// /guide: the printable handout for survivors, with the organization's own text.

import { setExitUrl, wireQuickExit } from "./exit.js";
import { onLanguage, startLanguage } from "./i18n/index.js";
import { byId } from "./ui.js";
import { inLanguage, loadWelcome } from "./welcome.js";

/** @type {Record<string, string>} */
let handout = {};

function showHandout() {
  const words = inLanguage(handout);
  byId("org-handout").textContent = words;
  byId("org-handout-box").hidden = !words;
}

startLanguage();
wireQuickExit(() => {});
onLanguage(showHandout);
document.querySelector('[data-action="print"]')?.addEventListener("click", () => window.print());
loadWelcome().then((welcome) => {
  handout = welcome.handout;
  setExitUrl(welcome.exit_url);
  showHandout();
});
