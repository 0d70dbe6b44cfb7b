// The survivor's call controls: microphone, camera, the way to talk, sound (text only),
// "I can't talk now" (with its shortcut), chat and leave.

import t, { text } from "./i18n/index.js";
import { button, controls, el } from "./ui.js";

/** @typedef {import("./talk.js").Mode} Mode */

/** @type {[Mode, string, () => string][]} */
const MODES = [
  ["video", "mode-video", () => t.call.modeVideo],
  ["audio", "mode-audio", () => t.call.modeAudio],
  ["text", "mode-text", () => t.call.modeText],
];

/**
 * Draws the controls into `root` for the way to talk now.
 * @param {HTMLElement} root
 * @param {import("./call.js").Call} call
 * @param {import("./protocol.js").Signaling} signaling
 * @param {import("./talk.js").Talk} talk
 * @param {HTMLElement} chatToggle
 * @param {() => void} onLeave
 */
export function drawControls(root, call, signaling, talk, chatToggle, onLeave) {
  const { mute, camera, leave } = controls(root, call, signaling, onLeave);
  mute.hidden = talk.mode === "text";
  camera.hidden = talk.mode !== "video";
  const modeButtons = MODES.map(([mode, action, label]) => {
    const node = button(action, label, { "aria-pressed": String(talk.mode === mode) });
    node.addEventListener("click", () => talk.setMode(mode));
    return node;
  });
  const ways = el(
    "div",
    { class: "ways-switch", role: "group", "aria-label": t.consent.waysTitle },
    modeButtons,
  );
  const sound = button("sound", () => (talk.sound ? t.call.soundOff : t.call.soundOn));
  sound.hidden = talk.mode !== "text";
  sound.addEventListener("click", () => talk.setSound(!talk.sound));
  const cantTalk = el("button", {
    type: "button",
    "data-action": "cant-talk",
    "aria-keyshortcuts": "Alt+Shift+H",
  });
  const label = el("span");
  const keys = el("kbd", { class: "keys" });
  text(label, () => t.call.cantTalk);
  text(keys, () => t.call.cantTalkKeys);
  cantTalk.append(label, " ", keys);
  cantTalk.addEventListener("click", () => talk.setCantTalk(true));
  root.replaceChildren(mute, camera, ways, sound, cantTalk, chatToggle, leave);
}
