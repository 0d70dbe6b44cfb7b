// Staff's list of the people in the call (#people): each person's way to talk, and whether
// they can't talk now or are reconnecting, as text.

import t, { text } from "./i18n/index.js";
import { el, nameOf } from "./ui.js";

/**
 * @typedef {object} Person
 * @property {string} participant
 * @property {string} name
 * @property {string} role
 * @property {string} mode       "video", "audio" or "text"
 * @property {boolean} cant_talk
 * @property {boolean} [away]
 */

export class People {
  /** @param {HTMLElement} root */
  constructor(root) {
    this.root = root;
    /** @type {Map<string, Person>} */
    this.people = new Map();
  }

  /** @param {any} peer a PeerInfo */
  set(peer) {
    const known = this.people.get(peer.participant);
    this.people.set(peer.participant, {
      mode: "video",
      cant_talk: false,
      away: false,
      ...known,
      ...peer,
    });
    this.render();
  }

  /** @param {string} participant @param {Partial<Person>} patch */
  update(participant, patch) {
    const known = this.people.get(participant);
    if (known) this.set({ ...known, ...patch });
  }

  /** @param {string} participant */
  remove(participant) {
    this.people.delete(participant);
    this.render();
  }

  /** @param {string} participant */
  name(participant) {
    const person = this.people.get(participant);
    return person ? nameOf(person) : t.staff.noName;
  }

  /** Those who said they can't talk now. */
  cantTalk() {
    return [...this.people.values()].filter((p) => p.cant_talk);
  }

  clear() {
    this.people.clear();
    this.render();
  }

  render() {
    const items = [...this.people.values()].map((person) => {
      const item = el("li", { "data-person": person.participant });
      text(item, () => {
        const parts = [nameOf(person), t.staff.modes[person.mode] || person.mode];
        if (person.cant_talk) parts.push(t.staff.cantTalk);
        if (person.away) parts.push(t.staff.away);
        return parts.join(" · ");
      });
      return item;
    });
    this.root.replaceChildren(...items);
  }
}
