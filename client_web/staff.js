// The staff page: sign in, create calls and share their links, admit people, hold the call:
// who is there and how they talk, chat, check-ins, and what to do when someone leaves quickly.

import { localMedia } from "./call.js";
import { secretFor } from "./call_secrets.js";
import { Chat } from "./chat.js";
import { onCallActions, refreshCalls } from "./calls_list.js";
import { Reminder } from "./check_in.js";
import { transformSupport } from "./e2ee.js";
import { showE2ee } from "./e2ee_status.js";
import { EchoTest } from "./echo_test.js";
import t, { errorText, format, startLanguage, text, when } from "./i18n/index.js";
import { People } from "./people.js";
import { planSummary } from "./plan.js";
import { Signaling, socketUrl } from "./protocol.js";
import { askReady, readyFirst, wireReady } from "./ready.js";
import { CallSession } from "./session.js";
import { api } from "./staff_api.js";
import { announce, byId, button, el, nameOf, show } from "./ui.js";

/** @type {CallSession | null} */
let session = null;
const people = new People(byId("people"));
const chat = new Chat((words) => session?.signaling?.send("chat", { text: words }));
const reminder = new Reminder(byId("reminder"));
/** Names of the people in the lobby, to say who left it quickly (in the page's language at
 * the time: a phone's is a word of it). @type {Map<string, () => string>} */
const waitingNames = new Map();
/** Our microphone is held off while someone can't talk: whether it was on before. */
let micHeld = /** @type {{was: boolean} | null} */ (null);
/** Phone audio is allowed in our call: the others are given a number and a code. */
let phoneAllowed = false;

const NOTICES = 3; // the latest notices staff see, newest first

/** A line at the top of the call (and read out): answers, who left and how, the plan. @param {() => string} words */
function notice(words) {
  const status = byId("call-status");
  const line = el("p");
  text(line, words);
  status.prepend(line);
  while (status.children.length > NOTICES) status.lastElementChild?.remove();
  status.hidden = false;
  announce(words());
  return line;
}

/** "Reconnecting…" while our own connection is down. @type {HTMLElement | null} */
let reconnectingLine = null;

/** @type {EchoTest | null} */
let echo = null;

/** Staff's own connection test for a call of theirs, before joining it. @param {string} callId */
function startTest(callId) {
  const video = /** @type {HTMLVideoElement} */ (byId("echo-video"));
  echo = new EchoTest({ call: callId }, video, byId("echo-status"), "video");
  show("echo");
  echo.start();
}

/** Someone waits in the lobby: admit or deny, seeing the way to talk they chose. @param {any} m @param {Signaling} signaling */
function waiting(m, signaling) {
  const admit = button("admit", () => t.staff.admit);
  const deny = button("deny", () => t.staff.deny);
  admit.addEventListener("click", () => signaling.send("admit", { participant: m.participant }));
  deny.addEventListener("click", () => signaling.send("deny", { participant: m.participant }));
  const who = el("span");
  // In a call that is end to end, say before admitting that this person would end it.
  const ends = !m.e2ee && Boolean(session?.keys.capable);
  text(who, () => {
    // A phone: whose voice it is ("<name> (phone)" or "Phone caller"), never its number.
    const line = m.phone
      ? format(t.staff.waitingPhone, { name: nameOf(m) })
      : format(t.staff.waitingLine, {
          name: m.name || t.staff.noName,
          role: t.roles[m.role] || "",
          mode: t.staff.modes[m.mode || "video"] || "",
        });
    return ends ? `${line} ${t.e2ee.lobbyCannot}` : line;
  });
  waitingNames.set(m.participant, () => (m.phone ? nameOf(m) : m.name || t.staff.noName));
  announce(who.textContent || "");
  byId("lobby").append(el("li", { "data-waiting": m.participant }, [who, " ", admit, deny]));
}

/** Our microphone stays off while anyone can't talk: no voice from their speaker. */
function holdMic() {
  const call = session && session.call;
  if (!call || !session) return;
  const silent = people.cantTalk().length > 0;
  if (silent && !micHeld) {
    micHeld = { was: call.enabled("audio") };
    call.setEnabled("audio", false);
  } else if (!silent && micHeld) {
    call.setEnabled("audio", micHeld.was);
    micHeld = null;
  } else return;
  session.signaling?.send("mute", { audio: call.enabled("audio"), video: call.enabled("video") });
  session.redraw();
}

/** @param {Signaling} signaling */
function wire(signaling) {
  const current = session;
  const plan = () => (current && current.plan ? planSummary(current.plan) : "");
  signaling.on("lobby-waiting", (m) => waiting(m, signaling));
  signaling.on("lobby-left", (m) => {
    const item = byId("lobby").querySelector(`[data-waiting="${CSS.escape(m.participant)}"]`);
    if (item) item.remove();
    const name = waitingNames.get(m.participant) || (() => t.staff.noName);
    waitingNames.delete(m.participant);
    if (m.quick) notice(() => `${format(t.staff.leftQuickly, { name: name() })} ${plan()}`);
  });
  signaling.on("error", (m) => {
    if (m.code === "phone-e2ee" || m.code === "no-dial-in") {
      notice(() => (m.code === "phone-e2ee" ? t.staff.phoneE2ee : errorText(m.code)));
      return;
    }
    if (m.code === "e2ee-required") {
      leaveCall();
      text(byId("new-call-error"), () => t.e2ee.required);
    } else if (chat.handles(m.code)) chat.showError(m.code);
    else if (m.code !== "invalid-resume") notice(() => errorText(m.code));
  });
  signaling.on("ended", () => leaveCall());
  signaling.on("joined", (m) => {
    phoneAllowed = Boolean(m.phone); // as it stands (after a comeback too)
    byId("lobby").replaceChildren(); // sent again after a comeback
    people.clear();
    for (const peer of m.peers) people.set(peer);
    reminder.start(m.check_in_minutes || 0);
    /** @type {HTMLElement} */ (document.querySelector("#call .practice")).hidden = !m.practice;
    holdMic();
  });
  signaling.on("peer-joined", (m) => {
    people.set(m.peer);
    announce(format(t.announce.joined, { name: nameOf(m.peer) }));
    holdMic();
  });
  signaling.on("peer-left", (m) => {
    // Named as the page's language is when the notice is drawn (a phone's name is a word of it).
    const gone = people.people.get(m.participant);
    const name = () => (gone ? nameOf(gone) : t.staff.noName);
    people.remove(m.participant);
    if (m.quick) {
      chat.clear();
      notice(() => `${format(t.staff.leftQuickly, { name: name() })} ${plan()}`);
    } else if (!m.dropped) notice(() => format(t.announce.left, { name: name() }));
    holdMic();
  });
  // Every few seconds: how each other person's connection looks to the server.
  signaling.on("quality", (m) => {
    for (const q of m.people) people.update(q.participant, { quality: q });
  });
  signaling.on("peer-mode", (m) => {
    people.update(m.participant, { mode: m.mode });
    session?.tiles?.update(m.participant, { mode: m.mode });
    const mode = t.staff.modes[m.mode] || m.mode;
    announce(format(t.announce.mode, { name: people.name(m.participant), mode }));
  });
  signaling.on("peer-cant-talk", (m) => {
    people.update(m.participant, { cant_talk: m.on });
    const name = people.name(m.participant);
    if (m.on) notice(() => `${format(t.staff.cantTalkNotice, { name })} ${plan()}`);
    else notice(() => format(t.staff.backNotice, { name }));
    holdMic();
  });
  signaling.on("video-paused", (m) => {
    if (m.reason !== "weak-connection") return;
    if (m.participant === session?.me) announce(m.paused ? t.announce.weak : t.announce.videoBack);
  });
  signaling.on("peer-away", (m) => people.update(m.participant, { away: true }));
  signaling.on("peer-back", (m) => people.update(m.participant, { away: false }));
  signaling.on("check-in-answer", (m) => {
    const name = people.name(m.participant);
    notice(() => format(t.staff.answers[m.answer] || t.staff.answers.ok, { name }));
  });
  signaling.on("chat", (m) => chat.add(/** @type {any} */ (m), session ? session.me : ""));
  signaling.on("phone-allowed", (m) => {
    phoneAllowed = Boolean(m.on);
    notice(() => (phoneAllowed ? t.staff.phoneOn : t.staff.phoneOff));
    session?.redraw();
  });
  signaling.on("hours-ending", (m) => {
    notice(() => format(t.staff.hoursEnding, { time: when(m.at, { timeStyle: "short" }) }));
  });
}

/**
 * "Allow phone audio" / "Stop phone audio", shown when the server takes phones: the others
 * are given a number and a code of their own (or their codes stop working; phones already
 * in the call stay).
 * @param {Signaling} signaling
 */
function phoneButton(signaling) {
  const toggle = button("phone", () => (phoneAllowed ? t.staff.phoneStop : t.staff.phoneAllow));
  // The switch follows the server's `phone-allowed`, which every staff page in the call gets.
  toggle.addEventListener("click", () => signaling.send("phone", { on: !phoneAllowed }));
  return toggle;
}

/** @param {string} callId */
async function joinCall(callId) {
  if (!readyFirst()) return;
  const local = await localMedia();
  const s = new Signaling(socketUrl());
  await s.open();
  byId("lobby").replaceChildren();
  byId("call-status").hidden = true;
  byId("call-status").replaceChildren();
  chat.clear();
  const current = (session = new CallSession(local, {
    wire,
    left: () => leaveCall(),
    lost: () => leaveCall(),
    status: (reconnecting) => {
      if (session !== current) return;
      if (reconnecting && !reconnectingLine) reconnectingLine = notice(() => t.call.reconnecting);
      if (!reconnecting && reconnectingLine) {
        reconnectingLine.remove();
        reconnectingLine = null;
        byId("call-status").hidden = !byId("call-status").children.length;
      }
    },
    moreControls: (root, signaling) => {
      const end = button("end", () => t.staff.endCall, { class: "danger" });
      end.addEventListener("click", () => signaling.send("end"));
      const mute = /** @type {HTMLButtonElement | null} */ (root.querySelector('[data-action="mute"]'));
      if (mute) mute.disabled = micHeld !== null;
      if (current.joined?.dial_in) root.insertBefore(phoneButton(signaling), root.lastChild);
      root.insertBefore(chat.toggle(), root.lastChild);
      root.append(end);
    },
    peerDropped: (plan) => notice(() => `${t.staff.peerDropped} ${planSummary(plan)}`),
    e2ee: { mode: transformSupport(), secret: secretFor(callId) },
  }));
  showE2ee(current.keys, byId("e2ee"), (id) => people.name(id));
  current.attach(s);
  s.send("join", { call: callId, e2ee: current.keys.capable });
}

function leaveCall() {
  if (session) session.hangUp();
  session = null;
  micHeld = null;
  phoneAllowed = false;
  reconnectingLine = null;
  byId("call-status").hidden = true;
  byId("call-status").replaceChildren();
  reminder.stop();
  chat.clear();
  people.clear();
  byId("tiles").replaceChildren();
  refreshCalls();
}

function planChoices() {
  const choices = byId("plan-action");
  for (const value of Object.keys(t.plan.choices)) {
    const option = el("option", { value });
    text(option, () => t.plan.choices[value]);
    choices.append(option);
  }
}

startLanguage();
planChoices();
onCallActions({ join: joinCall, test: startTest });
wireReady();
byId("sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = /** @type {HTMLInputElement} */ (byId("staff-name")).value;
  const passwordInput = /** @type {HTMLInputElement} */ (byId("password"));
  const codeInput = /** @type {HTMLInputElement} */ (byId("code"));
  const code = codeInput.value.trim();
  const { ok, body } = await api("/api/login", {
    method: "POST",
    body: JSON.stringify({ name, password: passwordInput.value, ...(code ? { code } : {}) }),
  });
  codeInput.value = "";
  // An account with a second factor: the password stays while the code is asked for.
  const codeAsked = body.error === "code-needed" || body.error === "bad-code";
  if (!codeAsked) passwordInput.value = "";
  codeInput.hidden = byId("code-label").hidden = !codeAsked;
  if (codeAsked) codeInput.focus();
  if (ok) byId("sign-in-error").textContent = "";
  else text(byId("sign-in-error"), () => t.errors[body.error] || t.staff.badLogin);
  if (ok) {
    refreshCalls();
    askReady();
  }
});
byId("new-call-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const value = (/** @type {string} */ id) => /** @type {HTMLInputElement} */ (byId(id)).value;
  const plan = {
    action: value("plan-action"),
    minutes: Number(value("plan-minutes")),
    note: value("plan-note"),
  };
  /** @type {Record<string, any>} */
  const fields = { plan, check_in_minutes: Number(value("check-in-minutes")) };
  if (/** @type {HTMLInputElement} */ (byId("practice")).checked) fields.practice = true;
  const [start, end] = [value("window-start"), value("window-end")];
  if (start && end) {
    fields.window = { start: new Date(start).toISOString(), end: new Date(end).toISOString() };
  }
  const body = JSON.stringify(fields);
  const answer = await api("/api/calls", { method: "POST", body });
  if (answer.ok) byId("new-call-error").textContent = "";
  else text(byId("new-call-error"), () => t.errors[answer.body.error] || t.staff.cannotCreate);
  if (answer.ok) refreshCalls();
});
byId("sign-out").addEventListener("click", async () => {
  await api("/api/logout", { method: "POST", body: "{}" });
  show("sign-in");
});
document.querySelector('[data-action="copy-handout"]')?.addEventListener("click", async (event) => {
  await navigator.clipboard.writeText(`${location.origin}/guide`);
  text(/** @type {HTMLElement} */ (event.currentTarget), () => t.staff.copied);
});
document.querySelector('[data-action="check-in"]')?.addEventListener("click", () => {
  if (!session || !session.signaling) return;
  session.signaling.send("check-in");
  reminder.restart();
  notice(() => t.staff.checkInSent);
});
byId("echo-done").addEventListener("click", () => {
  if (echo) echo.stop();
  echo = null;
  refreshCalls();
});
refreshCalls();
askReady();
// A reload or a closed tab cannot come back to its place (its resume secret was in page
// memory): it leaves at once, so the reloaded page is the one that holds the call's keys.
window.addEventListener("pagehide", () => {
  if (session) session.hangUp();
  session = null;
});
// Keep the list (and who is waiting) fresh while it is on screen.
setInterval(() => {
  if (!byId("calls-view").hidden) refreshCalls();
}, 10000);
