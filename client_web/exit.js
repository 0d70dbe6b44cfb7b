// The quick exit: one button (always on screen) or Esc. It hangs up, stops every camera and
// microphone track, empties the page (chat and names with it) and replaces this page's
// history entry with an ordinary website, so Back does not come back here.

import { stopAllMedia } from "./call.js";
import { DEFAULT_EXIT_URL } from "./welcome.js";

let exitUrl = DEFAULT_EXIT_URL;

/** @param {string} url an https address (from /api/welcome) */
export function setExitUrl(url) {
  exitUrl = url;
}

/**
 * Wires #quick-exit and Esc. `hangUp` tells the server (leave {quick:true}) and closes
 * the page's connections; it runs first, then the page is emptied and replaced.
 * @param {() => void} hangUp
 */
export function wireQuickExit(hangUp) {
  const leave = () => {
    try {
      hangUp();
    } finally {
      stopAllMedia();
      for (const media of document.querySelectorAll("video, audio")) {
        const element = /** @type {HTMLMediaElement} */ (media);
        const stream = element.srcObject;
        if (stream instanceof MediaStream) for (const track of stream.getTracks()) track.stop();
        element.srcObject = null;
      }
      document.body.replaceChildren();
      location.replace(exitUrl);
    }
  };
  const button = document.getElementById("quick-exit");
  if (button) button.addEventListener("click", leave);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") leave();
  });
}
