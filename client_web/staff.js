// The staff page: sign in, create calls and share their links, admit people, hold the call.

import { localMedia } from "./call.js";
import t from "./i18n/en.js";
import { planSummary } from "./plan.js";
import { Signaling, socketUrl } from "./protocol.js";
import { CallSession } from "./session.js";
import { byId, el, show } from "./ui.js";

/** @param {string} path @param {RequestInit} [init] */
async function api(path, init = {}) {
  const response = await fetch(path, {
    ...init,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
  });
  const body = await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, body };
}

/** @type {CallSession | null} */
let session = null;

async function refreshCalls() {
  const { ok, body } = await api("/api/calls");
  if (!ok) {
    show("sign-in");
    return;
  }
  const list = byId("calls");
  list.replaceChildren();
  if (!body.calls.length) list.append(el("li", {}, [t.noCalls]));
  for (const c of body.calls) {
    const join = el("button", { type: "button", "data-action": "join-call" }, [t.joinCall]);
    join.addEventListener("click", () => joinCall(c.id));
    const end = el("button", { type: "button", class: "danger", "data-action": "end-call" }, [t.endCall]);
    end.addEventListener("click", async () => {
      await api(`/api/calls/${encodeURIComponent(c.id)}`, { method: "DELETE" });
      refreshCalls();
    });
    const links = ["survivor", "interpreter"].map((role) => {
      const copy = el("button", { type: "button", "data-action": "copy" }, [t.copy]);
      copy.addEventListener("click", async () => {
        await navigator.clipboard.writeText(c.links[role]);
        copy.textContent = t.copied;
      });
      return el("p", {}, [
        `${role === "survivor" ? t.survivorLink : t.interpreterLink}: `,
        el("input", { readonly: "", value: c.links[role], "data-link": role, size: "60" }),
        copy,
      ]);
    });
    const status = [`${t.expiresIn} ${Math.ceil(c.expires_in / 60)} ${t.minutes}`];
    if (c.waiting) status.push(`${c.waiting} ${t.waitingCount}`);
    const info = el("p", {}, [status.join(" · ")]);
    const plan = el("p", { "data-plan": "" }, [planSummary(c.plan)]);
    list.append(el("li", { "data-call": c.id }, [...links, plan, info, join, end]));
  }
  show("calls-view");
}

/** @param {string} callId */
async function joinCall(callId) {
  const local = await localMedia();
  const s = new Signaling(socketUrl());
  await s.open();
  const lobby = byId("lobby");
  lobby.replaceChildren();
  byId("call-status").hidden = true;
  const current = (session = new CallSession(local, {
    wire: (signaling) => {
      signaling.on("lobby-waiting", (m) => {
        const admit = el("button", { type: "button", "data-action": "admit" }, [t.admit]);
        const deny = el("button", { type: "button", "data-action": "deny" }, [t.deny]);
        admit.addEventListener("click", () => signaling.send("admit", { participant: m.participant }));
        deny.addEventListener("click", () => signaling.send("deny", { participant: m.participant }));
        const who = `${t.someoneWaiting}: ${m.name || t.noName} (${t.roles[m.role] || ""})`;
        lobby.append(el("li", { "data-waiting": m.participant }, [who, " ", admit, deny]));
      });
      signaling.on("lobby-left", (m) => {
        const item = lobby.querySelector(`[data-waiting="${CSS.escape(m.participant)}"]`);
        if (item) item.remove();
      });
      signaling.on("error", (m) => {
        if (m.code === "unsupported-codec" || m.code === "bad-sdp") alert(t.cannotConnect);
        else if (m.code !== "invalid-resume") console.warn("server refused a message", m.code);
      });
      signaling.on("ended", () => leaveCall());
      signaling.on("joined", () => lobby.replaceChildren()); // sent again after a comeback
    },
    left: () => leaveCall(),
    lost: () => leaveCall(),
    status: (reconnecting) => {
      if (session !== current) return;
      byId("call-status").hidden = !reconnecting;
      byId("call-status").textContent = reconnecting ? t.reconnectingNow : "";
    },
    moreControls: (root, signaling) => {
      const end = el("button", { type: "button", class: "danger", "data-action": "end" }, [
        t.endCall,
      ]);
      end.addEventListener("click", () => signaling.send("end"));
      root.append(end);
    },
    peerDropped: (plan) => {
      byId("call-status").hidden = false;
      byId("call-status").textContent = `${t.peerDropped} ${planSummary(plan)}`;
    },
  }));
  current.attach(s);
  s.send("join", { call: callId });
}

function leaveCall() {
  if (session) session.hangUp();
  session = null;
  byId("tiles").replaceChildren();
  refreshCalls();
}

function texts() {
  byId("sign-in-title").textContent = t.signInTitle;
  byId("name-label").textContent = t.staffName;
  byId("password-label").textContent = t.password;
  byId("sign-in-button").textContent = t.signIn;
  byId("new-call").textContent = t.newCall;
  byId("plan-label").textContent = t.planTitle;
  byId("plan-minutes-label").textContent = t.planMinutes;
  byId("plan-note-label").textContent = t.planNoteLabel;
  const choices = byId("plan-action");
  for (const [value, label] of Object.entries(t.planChoices)) {
    choices.append(el("option", { value }, [label]));
  }
  byId("calls-title").textContent = t.yourCalls;
  byId("sign-out").textContent = t.signOut;
}

texts();
byId("sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = /** @type {HTMLInputElement} */ (byId("staff-name")).value;
  const passwordInput = /** @type {HTMLInputElement} */ (byId("password"));
  const { ok } = await api("/api/login", {
    method: "POST",
    body: JSON.stringify({ name, password: passwordInput.value }),
  });
  passwordInput.value = "";
  byId("sign-in-error").textContent = ok ? "" : t.badLogin;
  if (ok) refreshCalls();
});
byId("new-call-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const value = (/** @type {string} */ id) => /** @type {HTMLInputElement} */ (byId(id)).value;
  const plan = {
    action: value("plan-action"),
    minutes: Number(value("plan-minutes")),
    note: value("plan-note"),
  };
  const { ok, body } = await api("/api/calls", { method: "POST", body: JSON.stringify({ plan }) });
  byId("new-call-error").textContent = ok ? "" : body.reason || t.cannotCreate;
  if (ok) refreshCalls();
});
byId("sign-out").addEventListener("click", async () => {
  await api("/api/logout", { method: "POST", body: "{}" });
  show("sign-in");
});
refreshCalls();
// Keep the list (and who is waiting) fresh while it is on screen.
setInterval(() => {
  if (!byId("calls-view").hidden) refreshCalls();
}, 10000);
