// Phone audio on the survivor's and interpreter's pages (docs/phone.md): while staff allow
// it, the organization's number and this person's own code; while their phone carries their
// voice, that this page sends and plays no sound. Nothing of it is stored.

import t, { onLanguage } from "./i18n/index.js";
import { el } from "./ui.js";

/** A code as it is read aloud or typed: groups of four digits. @param {string} digits */
export function grouped(digits) {
  return (digits.match(/.{1,4}/g) || []).join(" ");
}

/**
 * `template` with each {name} replaced by `values[name]` in bold, kept on one line.
 * @param {string} template @param {Record<string, string>} values
 */
function emphasized(template, values) {
  return template
    .split(/\{(\w+)\}/)
    .map((part, i) => (i % 2 ? el("strong", { class: "nowrap" }, [values[part] ?? ""]) : part));
}

export class PhoneHelp {
  /** @param {HTMLElement[]} roots  where it shows: live regions in the lobby and the call */
  constructor(roots) {
    this.roots = roots;
    this.number = "";
    this.digits = "";
    this.voice = false;
    onLanguage(() => this.draw());
  }

  /** A new code (empty digits: phone audio is not, or no longer, allowed). @param {string} number @param {string} digits */
  code(number, digits) {
    if (number === this.number && digits === this.digits) return;
    this.number = number;
    this.digits = digits;
    this.draw();
  }

  /** Our phone carries our voice now (on), or hung up (off). @param {boolean} on */
  setVoice(on) {
    if (on === this.voice) return;
    this.voice = on;
    this.draw();
  }

  clear() {
    this.number = this.digits = "";
    this.voice = false;
    this.draw();
  }

  /** Drawn only on a change: the regions are read out each time. */
  draw() {
    for (const root of this.roots) {
      /** @type {HTMLElement[]} */
      const lines = [];
      if (this.voice) {
        lines.push(el("p", { "data-phone": "voice" }, [t.call.phoneVoice]));
      } else if (this.digits) {
        const values = { number: this.number, code: grouped(this.digits) };
        lines.push(el("p", { "data-phone": "code" }, emphasized(t.call.phoneCode, values)));
      }
      root.replaceChildren(...lines);
    }
  }
}
