// Staff's list of the people in the call (#people): each person's way to talk, and whether
// they can't talk now or are reconnecting, as text.

import t, { format, language, text } from "./i18n/index.js";
import { el, nameOf, phoneOnly } from "./ui.js";

/**
 * @typedef {object} Person
 * @property {string} participant
 * @property {string} name
 * @property {string} role
 * @property {string} mode       "video", "audio" or "text"
 * @property {boolean} cant_talk
 * @property {boolean} [away]
 * @property {boolean} [phone]     a phone that dialed in (its number is never shown)
 * @property {string} [phone_of]   whose voice the phone is
 * @property {Quality} [quality]  their connection, as the server sees it
 */

/**
 * @typedef {object} Quality
 * @property {string} level          "good" or "weak"
 * @property {number} loss_permille  65535: not measured
 * @property {number} rtt_ms         65535: not measured
 * @property {number} kbps           65535: not measured
 * @property {boolean} audio_only
 */

const UNKNOWN = 65535;

/** Their connection in words: good or weak, audio only, and the figures behind it. @param {Quality} q */
function qualityText(q) {
  const words = [t.staff.quality[q.level] || q.level];
  if (q.audio_only) words.push(t.staff.qualityAudioOnly);
  const figures = [];
  if (q.loss_permille !== UNKNOWN) {
    const locale = language() === "fr" ? "fr-CA" : "en-CA";
    const percent = (q.loss_permille / 10).toLocaleString(locale, { maximumFractionDigits: 1 });
    figures.push(format(t.staff.qualityLoss, { n: percent }));
  }
  if (q.rtt_ms !== UNKNOWN) figures.push(format(t.staff.qualityRtt, { n: String(q.rtt_ms) }));
  if (q.kbps !== UNKNOWN) figures.push(format(t.staff.qualityKbps, { n: String(q.kbps) }));
  return figures.length ? `${words.join(", ")} (${figures.join(", ")})` : words.join(", ");
}

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
      if (person.quality) item.setAttribute("data-quality", person.quality.level);
      text(item, () => {
        // A phone is a voice: "on phone only" when its person's page is not in the call.
        const way = person.phone
          ? phoneOnly(person, this.people) && t.call.phoneOnly
          : t.staff.modes[person.mode] || person.mode;
        const parts = [nameOf(person), ...(way ? [way] : [])];
        if (person.cant_talk) parts.push(t.staff.cantTalk);
        if (person.away) parts.push(t.staff.away);
        if (person.quality) parts.push(qualityText(person.quality));
        return parts.join(" · ");
      });
      return item;
    });
    this.root.replaceChildren(...items);
  }
}
