// For an admin account: how many calls the server holds (not whose), and ending any of them
// (GET and DELETE /api/admin/calls). Ending takes two presses: a call may be going on.

import t, { format, text } from "./i18n/index.js";
import { api } from "./staff_api.js";
import { button, byId, el } from "./ui.js";

/** Shows the admin's view if this account is an admin. */
export async function showAdmin() {
  const root = byId("admin");
  const me = await api("/api/me");
  if (!me.ok || !me.body.admin) {
    root.hidden = true;
    return;
  }
  const { ok, body } = await api("/api/admin/calls");
  root.hidden = !ok;
  if (!ok) return;
  text(byId("admin-running"), () =>
    body.running === 1 ? t.staff.runningOne : format(t.staff.running, { count: body.running }),
  );
  byId("admin-calls").replaceChildren(...body.calls.map(item));
}

/** @param {{id: string, in_call: number, waiting: number, practice: boolean, expires_in: number}} c */
function item(c) {
  const words = el("span");
  text(words, () => {
    const line = format(t.staff.adminCall, {
      inCall: c.in_call,
      waiting: c.waiting,
      minutes: Math.ceil(c.expires_in / 60),
    });
    return c.practice ? `${line} · ${t.call.practice}` : line;
  });
  let sure = false;
  const end = button("admin-end", () => (sure ? t.staff.adminEndSure : t.staff.adminEnd), {
    class: "danger",
  });
  end.addEventListener("click", async () => {
    if (!sure) {
      sure = true;
      text(end, () => t.staff.adminEndSure);
      return;
    }
    await api(`/api/admin/calls/${encodeURIComponent(c.id)}`, { method: "DELETE" });
    showAdmin();
  });
  return el("li", { "data-admin-call": c.id }, [words, " ", end]);
}
