// The chat panel of a call (#chat): lines shown as text only, kept in page memory while the
// call lasts, cleared for everyone when it ends or someone leaves quickly. Nothing is stored.

import t, { errorText, format, text } from "./i18n/index.js";
import { announce, byId, el, nameOf } from "./ui.js";

const CHAT_ERRORS = new Set(["chat-empty", "chat-too-long", "chat-rate", "not-in-call"]);

export class Chat {
  /** @param {(text: string) => void} send sends a `chat` message on the current socket */
  constructor(send) {
    this.send = send;
    this.panel = byId("chat");
    this.log = byId("chat-log");
    this.input = /** @type {HTMLTextAreaElement} */ (byId("chat-text"));
    this.error = byId("chat-error");
    /** @type {HTMLElement | null} the button that opens and closes the panel */
    this.toggleButton = null;
    byId("chat-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    // Enter sends, Shift+Enter starts a new line.
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        this.submit();
      }
    });
  }

  get open() {
    return !this.panel.hidden;
  }

  /** @param {boolean} open */
  setOpen(open) {
    const inside = this.panel.contains(document.activeElement);
    this.panel.hidden = !open;
    if (this.toggleButton) this.toggleButton.setAttribute("aria-expanded", String(open));
    if (open) this.input.focus();
    else if (inside && this.toggleButton) this.toggleButton.focus();
  }

  /** The button that shows and hides the panel (a new one on each redraw of the controls). */
  toggle() {
    const node = el("button", {
      type: "button",
      "data-action": "chat",
      "aria-controls": "chat",
      "aria-expanded": String(this.open),
    });
    text(node, () => t.call.chat);
    node.addEventListener("click", () => this.setOpen(!this.open));
    this.toggleButton = node;
    return node;
  }

  submit() {
    const words = this.input.value.trim();
    if (!words) {
      this.showError("chat-empty");
      return;
    }
    this.send(words);
    this.input.value = "";
    this.error.textContent = "";
  }

  /**
   * A chat line from the server (ours included).
   * @param {{participant: string, name: string, role: string, text: string, id: number}} m
   * @param {string} me our own participant id
   */
  add(m, me) {
    const mine = m.participant === me;
    const who = el("span", { class: "who" });
    text(who, () => (mine ? t.chat.you : nameOf(m)));
    const line = el("li", { "data-chat": String(m.id), class: mine ? "mine" : "" }, [
      who,
      el("span", { class: "words" }, [m.text]),
    ]);
    this.log.append(line);
    line.scrollIntoView({ block: "nearest" });
    // The open log is a live region itself; a closed one is not read, so say it here.
    if (!mine && !this.open) announce(format(t.announce.message, { name: nameOf(m), text: m.text }));
  }

  /** Is this error about chat? Then it is shown under the message box. @param {string} code */
  handles(code) {
    return CHAT_ERRORS.has(code);
  }

  /** @param {string} code */
  showError(code) {
    text(this.error, () => errorText(code));
  }

  /** Everything typed or received goes from the page. */
  clear() {
    this.log.replaceChildren();
    this.input.value = "";
    this.error.textContent = "";
  }
}
