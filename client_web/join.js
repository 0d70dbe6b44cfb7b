// The page a survivor or interpreter opens from their link: lobby, then the call.

import { localMedia } from "./call.js";
import { EchoTest } from "./echo_test.js";
import t from "./i18n/en.js";
import { countdown, planText } from "./plan.js";
import { Signaling, socketUrl } from "./protocol.js";
import { CallSession } from "./session.js";
import { byId, show } from "./ui.js";

// Where "leave quickly" goes: a common, harmless page. The call page is replaced in history.
const EXIT_URL = "https://www.google.com/search?q=weather";

// The invite lives only in this page's memory: take it from the fragment, then clear the
// address bar so it is not left in the window's history entry.
const invite = location.hash.slice(1);
history.replaceState(null, "", location.pathname);

/** @type {CallSession | null} */
let session = null;
/** What happens if the call drops, as staff recorded it. @type {import("./plan.js").Plan | null} */
let plan = null;
/** Stops the countdown shown while reconnecting. @type {(() => void) | null} */
let stopCountdown = null;

function leave() {
  if (session) session.hangUp();
  session = null;
}

/** While the call is reconnecting: say so, with the plan and its countdown. */
function status(/** @type {boolean} */ reconnecting) {
  byId("call-status").hidden = !reconnecting;
  if (reconnecting && !stopCountdown) {
    byId("call-status-text").textContent = plan
      ? `${t.reconnectingNow} ${planText(plan)}`
      : t.reconnectingNow;
    if (plan) stopCountdown = countdown(byId("call-countdown"), plan.minutes);
  } else if (!reconnecting && stopCountdown) {
    stopCountdown();
    stopCountdown = null;
  }
}

function quickExit() {
  if (echo) echo.stop();
  leave();
  document.body.replaceChildren();
  location.replace(EXIT_URL);
}

/** @param {string} text */
function finish(text) {
  leave();
  status(false);
  byId("notice").textContent = text;
  show("done");
}

/** The connection went down without anyone hanging up: show the plan, counting down. */
function dropped() {
  finish(t.reconnecting);
  if (!plan) return;
  byId("plan-after").textContent = planText(plan);
  countdown(byId("plan-countdown"), plan.minutes);
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
    byId("plan").textContent = planText(m.plan);
    s.close();
  });
  s.on("error", (m) => {
    if (m.code === "invalid-invite") finish(t.badLink);
    s.close();
  });
  s.send("preview", { invite });
}

function texts() {
  document.title = t.joinTitle;
  byId("intro").textContent = t.joinIntro;
  byId("name-label").textContent = t.nameLabel;
  byId("join").textContent = t.joinButton;
  byId("waiting-text").textContent = t.waiting;
  byId("quick-exit").textContent = t.quickExit;
  byId("test").textContent = t.testButton;
  byId("echo-done").textContent = t.testDone;
}

/** @type {EchoTest | null} */
let echo = null;

function startTest() {
  const video = /** @type {HTMLVideoElement} */ (byId("echo-video"));
  echo = new EchoTest(invite, video, byId("echo-status"));
  show("echo");
  echo.start();
}

function endTest() {
  if (echo) echo.stop();
  echo = null;
  show("welcome");
}

async function join() {
  show("lobby");
  const local = await localMedia();
  const preview = /** @type {HTMLVideoElement} */ (byId("preview"));
  preview.muted = true;
  preview.srcObject = local;
  const s = new Signaling(socketUrl());
  try {
    await s.open();
  } catch {
    dropped();
    return;
  }
  session = new CallSession(local, {
    wire: (signaling) => {
      signaling.on("error", (m) => {
        if (m.code === "invalid-invite") finish(t.badLink);
        else if (m.code === "unsupported-codec" || m.code === "bad-sdp") finish(t.cannotConnect);
        else if (m.code !== "invalid-resume") console.warn("server refused a message", m.code);
      });
      signaling.on("denied", () => finish(t.denied));
      signaling.on("ended", () => finish(t.ended));
      signaling.on("joined", (m) => {
        plan = m.plan;
        preview.srcObject = null;
      });
    },
    left: () => finish(t.left),
    lost: () => dropped(),
    status,
  });
  session.attach(s);
  const name = /** @type {HTMLInputElement} */ (byId("name")).value;
  s.send("join", { invite, name });
}

texts();
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") quickExit();
});
byId("quick-exit").addEventListener("click", quickExit);
byId("test").addEventListener("click", startTest);
byId("echo-done").addEventListener("click", endTest);
byId("join-form").addEventListener("submit", (event) => {
  event.preventDefault();
  join();
});
if (!invite) finish(t.noLink);
else {
  show("welcome");
  lookUp();
}
