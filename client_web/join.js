// The page a survivor or interpreter opens from their link: what is private and what is not,
// the way to talk, the connection test, the lobby, then the call. Nothing is stored.

import { localMedia } from "./call.js";
import { Chat } from "./chat.js";
import { chosenMode, setConsentText, wireConsent } from "./consent.js";
import { EchoTest } from "./echo_test.js";
import { setExitUrl, wireQuickExit } from "./exit.js";
import t, { errorText, format, onLanguage, startLanguage, text, when } from "./i18n/index.js";
import { transformSupport } from "./e2ee.js";
import { splitInvite } from "./e2ee_keys.js";
import { showE2ee } from "./e2ee_status.js";
import { PhoneHelp } from "./phone.js";
import { countdown, planText } from "./plan.js";
import { Signaling, socketUrl } from "./protocol.js";
import { CallSession } from "./session.js";
import { drawControls } from "./survivor_controls.js";
import { Talk } from "./talk.js";
import { announce, byId, nameOf, show } from "./ui.js";
import { loadWelcome } from "./welcome.js";

// The invite lives only in this page's memory: take it from the fragment, then clear the
// address bar so it is not left in the window's history entry. The fragment's link secret
// (end-to-end encryption) never leaves the page.
const { invite, secret } = splitInvite(location.hash.slice(1));
history.replaceState(null, "", location.pathname);
/** How this browser can seal frames end to end (null: it cannot). */
const transforms = transformSupport();

/** @type {CallSession | null} */
let session = null;
/** @type {Talk | null} */
let talk = null;
/** What happens if the call drops, as staff recorded it. @type {import("./plan.js").Plan | null} */
let plan = null;
/** Stops the countdown shown while reconnecting. @type {(() => void) | null} */
let stopCountdown = null;
/** @type {EchoTest | null} */
let echo = null;
/** A check-in that came while the plain "can't talk" screen was up: shown on the way back. */
let checkInWaiting = false;

const PREVIEW_MS = 1000; // how long the look-up listens after the plan

const chat = new Chat((words) => session?.signaling?.send("chat", { text: words }));
/** The number and code to join by phone with, and whether our phone carries our voice. */
const phone = new PhoneHelp([byId("lobby-phone"), byId("phone")]);

/** While the call is reconnecting: say so, with the plan and its countdown. */
function status(/** @type {boolean} */ reconnecting) {
  byId("call-status").hidden = !reconnecting;
  if (reconnecting && !stopCountdown) {
    text(byId("call-status-text"), () =>
      plan ? `${t.call.reconnecting} ${planText(plan)}` : t.call.reconnecting,
    );
    if (plan) stopCountdown = countdown(byId("call-countdown"), plan.minutes);
  } else if (!reconnecting && stopCountdown) {
    stopCountdown();
    stopCountdown = null;
  }
}

/** @param {() => string} words */
function finish(words) {
  if (session) session.hangUp();
  session = null;
  status(false);
  chat.clear();
  phone.clear();
  text(byId("notice"), words);
  show("done");
}

/** The connection went down without anyone hanging up: show the plan, counting down. */
function dropped() {
  finish(() => t.done.lost);
  if (!plan) return;
  const known = plan;
  text(byId("plan-after"), () => planText(known));
  countdown(byId("plan-countdown"), known.minutes);
}

function showPlan() {
  const known = plan;
  if (known) text(byId("plan"), () => planText(known));
}

/** Before joining: ask the server what the plan is (and whether the link is valid). */
async function lookUp() {
  const s = new Signaling(socketUrl());
  try {
    await s.open();
  } catch {
    return; // joining will say what is wrong
  }
  s.on("plan", (m) => {
    plan = m.plan;
    showPlan();
    // Outside the link's hours, `outside-hours` follows at once: listen a moment longer.
    setTimeout(() => s.close(), PREVIEW_MS);
  });
  s.on("outside-hours", (m) => {
    closed(m.opens_at);
    s.close();
  });
  s.on("error", (m) => {
    if (m.code === "invalid-invite") finish(() => t.done.badLink);
    s.close();
  });
  s.send("preview", { invite });
}

/** The link is outside its hours: say when it opens, instead of a lobby. @param {string} opensAt */
function closed(opensAt) {
  finish(() => (opensAt ? format(t.done.opensAt, { time: when(opensAt) }) : t.done.closed));
}

function startTest() {
  const mode = chosenMode();
  if (mode === "text") return;
  const video = /** @type {HTMLVideoElement} */ (byId("echo-video"));
  video.hidden = mode !== "video";
  echo = new EchoTest({ invite }, video, byId("echo-status"), mode);
  show("echo");
  echo.start();
}

function endTest() {
  if (echo) echo.stop();
  echo = null;
  show("consent");
  byId("test").focus();
}

/** @param {string} answer "ok", "text", "audio" or "go" */
function answerCheckIn(answer) {
  byId("check-in").hidden = true;
  // Focus goes on to the call's controls, not lost with the prompt.
  const next = /** @type {HTMLElement | null} */ (document.querySelector('#controls [data-action="chat"]'));
  if (next) next.focus();
  if (!session || !session.signaling || !talk) return;
  session.signaling.send("check-in-answer", { answer });
  if (answer === "text" || answer === "audio") talk.setMode(answer);
  if (answer === "go") session.leave();
}

function askCheckIn() {
  if (talk && talk.cantTalk) {
    checkInWaiting = true;
    return;
  }
  byId("check-in").hidden = false;
  announce(t.announce.checkIn);
}

/** The page's handlers on each socket of the call. @param {Signaling} s */
function wire(s) {
  s.on("error", (m) => {
    if (m.code === "invalid-invite") finish(() => t.done.badLink);
    else if (m.code === "e2ee-required") finish(() => t.e2ee.required);
    else if (m.code === "unsupported-codec" || m.code === "bad-sdp") {
      finish(() => t.done.cannotConnect);
    } else if (chat.handles(m.code)) chat.showError(m.code);
    else if (m.code !== "invalid-resume") announce(errorText(m.code));
  });
  s.on("denied", () => finish(() => t.done.denied));
  // Outside the call's hours: no lobby; the same link works once it opens.
  s.on("outside-hours", (m) => closed(m.opens_at));
  s.on("ended", (m) =>
    finish(() => (m.code === "server-restarting" ? t.done.restarting : t.done.ended)),
  );
  s.on("joined", (m) => {
    plan = m.plan;
    if (talk && talk.mode === "text" && !chat.open) setTimeout(() => chat.setOpen(true));
    /** @type {HTMLElement} */ (document.querySelector("#call .practice")).hidden = !m.practice;
    /** @type {HTMLVideoElement} */ (byId("preview")).srcObject = null;
    for (const peer of m.peers) announce(format(t.announce.joined, { name: nameOf(peer) }));
  });
  s.on("peer-joined", (m) => {
    // Our own phone is told of by the phone line (#phone) instead.
    if (m.peer.phone && m.peer.phone_of === session?.me) return;
    announce(format(t.announce.joined, { name: nameOf(m.peer) }));
  });
  s.on("peer-mode", (m) => session?.tiles?.update(m.participant, { mode: m.mode }));
  s.on("peer-left", (m) => {
    if (m.quick) chat.clear(); // someone left quickly: the chat is gone for everyone
    const peer = session?.tiles?.peers.get(m.participant);
    if (peer) announce(format(t.announce.left, { name: nameOf(peer) }));
  });
  s.on("video-paused", (m) => {
    if (m.participant !== session?.me || m.reason !== "weak-connection") return;
    announce(m.paused ? t.announce.weak : t.announce.videoBack);
  });
  s.on("chat", (m) => chat.add(/** @type {any} */ (m), session ? session.me : ""));
  s.on("check-in", () => askCheckIn());
  // Staff allow phone audio: the number and our code (in the lobby too), or no more.
  s.on("phone-code", (m) => {
    phone.code(m.number || "", m.digits || "");
    // A code is given only to someone whose phone is not in the call: if ours hung up
    // while this page was away, its "phone-voice" off was lost with the old socket.
    if (m.digits && session) session.setPhoneVoice(false);
  });
}

async function join() {
  const mode = chosenMode();
  show("lobby");
  const preview = /** @type {HTMLVideoElement} */ (byId("preview"));
  preview.hidden = mode !== "video";
  const local = await localMedia(mode);
  preview.srcObject = mode === "video" ? local : null;
  const s = new Signaling(socketUrl());
  try {
    await s.open();
  } catch {
    dropped();
    return;
  }
  const own = (session = new CallSession(local, {
    wire,
    left: () => finish(() => t.done.left),
    lost: () => dropped(),
    status,
    controls: (root, call, signaling) => {
      if (talk) drawControls(root, call, signaling, talk, chat.toggle(), () => own.leave());
    },
    tiles: (tiles) => talk && talk.applyTo(tiles),
    phoneVoice: (on) => phone.setVoice(on),
    e2ee: { mode: transforms, secret },
  }));
  showE2ee(own.keys, byId("e2ee"), (id) => {
    const peer = own.tiles?.peers.get(id);
    if (peer && peer.phone && peer.phone_of === own.me) return t.call.yourPhone;
    return peer ? nameOf(peer) : "";
  });
  talk = new Talk(mode, own);
  // Text only: the chat is how they talk, so it opens (now, and on a switch to text).
  talk.onMode = (now) => now === "text" && chat.setOpen(true);
  byId("call").dataset.mode = mode;
  own.audioOnly = mode !== "video";
  own.attach(s);
  const name = /** @type {HTMLInputElement} */ (byId("name")).value;
  s.send("join", { invite, name, mode, e2ee: own.keys.capable });
}

/**
 * Before joining, in plain words: whether the call will be end to end from this browser and
 * link; if the organization requires it and they cannot, joining is not offered.
 * @param {boolean} required
 */
function sayEndToEnd(required) {
  const can = transforms !== null && secret !== null;
  byId("e2ee-private").hidden = !can;
  const before = byId("e2ee-before");
  before.hidden = can;
  if (can) return;
  if (required) text(before, () => (transforms ? t.e2ee.requiredLink : t.e2ee.required));
  else text(before, () => (transforms ? t.e2ee.clear : t.e2ee.unsupported));
  /** @type {HTMLButtonElement} */ (byId("join")).disabled = required;
}

function wirePage() {
  wireQuickExit(() => {
    if (echo) echo.stop();
    if (session) session.hangUp(true);
    session = null;
    chat.clear();
    phone.clear();
  });
  document.addEventListener("keydown", (event) => {
    if (event.altKey && event.shiftKey && event.code === "KeyH" && talk && session) {
      event.preventDefault();
      talk.setCantTalk(true);
    }
  });
  wireConsent();
  byId("test").addEventListener("click", startTest);
  byId("echo-done").addEventListener("click", endTest);
  byId("join-form").addEventListener("submit", (event) => {
    event.preventDefault();
    join();
  });
  document.querySelector('[data-action="back"]')?.addEventListener("click", async () => {
    if (!talk) return;
    await talk.setCantTalk(false);
    if (checkInWaiting) {
      checkInWaiting = false;
      askCheckIn();
    }
  });
  for (const choice of document.querySelectorAll("[data-answer]")) {
    choice.addEventListener("click", () =>
      answerCheckIn(/** @type {HTMLElement} */ (choice).dataset.answer || "ok"),
    );
  }
  onLanguage(() => session && session.redraw());
}

startLanguage();
wirePage();
if (!invite) finish(() => t.done.noLink);
else {
  show("consent", false);
  sayEndToEnd(false);
  lookUp();
  loadWelcome().then((welcome) => {
    setConsentText(welcome.consent);
    setExitUrl(welcome.exit_url);
    sayEndToEnd(welcome.require_e2ee);
  });
}
