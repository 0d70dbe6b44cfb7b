// DOM helpers shared by the staff and join pages: elements, video tiles, call controls.

import t, { format, text } from "./i18n/index.js";

/**
 * @param {string} tag
 * @param {Record<string, string>} [attrs]
 * @param {(Node | string)[]} [children]
 */
export function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

/** @param {string} id */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing #${id}`);
  return node;
}

/**
 * Shows one section of the page and hides the others; moves keyboard and screen-reader focus
 * to its heading, so the new step is read from its start.
 * @param {string} id @param {boolean} [focus]
 */
export function show(id, focus = true) {
  for (const section of document.querySelectorAll("main > section")) {
    const node = /** @type {HTMLElement} */ (section);
    const was = node.hidden;
    node.hidden = section.id !== id;
    const heading = /** @type {HTMLElement | null} */ (node.querySelector("h1"));
    if (focus && was && !node.hidden && heading) {
      heading.tabIndex = -1;
      heading.focus();
    }
  }
}

/** Says `message` to screen readers through the page's live region. @param {string} message */
export function announce(message) {
  const region = document.getElementById("announce");
  // "I can't talk now": a screen reader must not speak up in the room either.
  if (!region || document.body.dataset.quiet === "yes") return;
  // A new node each time, so the same words said twice are read twice.
  region.replaceChildren(el("p", {}, [message]));
}

/**
 * The name to show for a person: the one they gave, or their role. A phone that dialed in
 * is "<name> (phone)", or "Phone caller" when it has no name (its number is never shown).
 * @param {{name?: string, role?: string, phone?: boolean}} peer
 */
export function nameOf(peer) {
  if (peer.phone) return peer.name ? format(t.call.phoneOf, { name: peer.name }) : t.call.phoneCaller;
  return peer.name || t.roles[peer.role || ""] || "";
}

/**
 * Whether `peer` is a phone whose person has no page in the call (it left, dropped, or is
 * reconnecting): the voice is there, on the phone only.
 * @param {{phone?: boolean, phone_of?: string}} peer
 * @param {Map<string, {away?: boolean}>} others  the others in the call, by participant
 */
export function phoneOnly(peer, others) {
  if (!peer.phone) return false;
  const person = peer.phone_of ? others.get(peer.phone_of) : undefined;
  return !person || Boolean(person.away);
}

/**
 * Someone as a tile shows them: who they are, and whether their video is paused to me (the
 * reason) or they are reconnecting.
 * @typedef {import("./protocol.js").PeerInfo & {videoPaused?: string, away?: boolean}} Shown
 */

/** Video tiles: mine, and one per person the server shows me. */
export class Tiles {
  /** @param {HTMLElement} root @param {import("./call.js").Call} call */
  constructor(root, call) {
    this.root = root;
    this.call = call;
    /** @type {Map<string, {tile: HTMLElement, video: HTMLVideoElement, audio: HTMLAudioElement, label: HTMLElement}>} */
    this.tiles = new Map();
    /** @type {Map<string, Shown>} */
    this.peers = new Map();
    /** Whether what the others say plays out loud (text only and "can't talk": no). */
    this.audible = true;
    /** Our phone carries our voice: this page plays no sound, whatever it would otherwise. */
    this.held = false;
    /** This page's own participant (its phone's tile never plays). */
    this.me = "";
    const mine = el("video", { class: "mine", autoplay: "", playsinline: "" });
    const mineVideo = /** @type {HTMLVideoElement} */ (mine);
    mineVideo.muted = true;
    mineVideo.srcObject = call.local;
    this.mineLabel = el("figcaption");
    this.mineNote = "";
    this.mine = el("figure", { class: "tile mine-tile" }, [mine, this.mineLabel]);
    text(this.mineLabel, () => (this.mineNote ? `${t.call.you} (${this.mineNote})` : t.call.you));
    root.append(this.mine);
    call.addEventListener("streams", () => this.render());
  }

  /** Plays the others' sound, or keeps every media element silent. @param {boolean} on */
  setAudible(on) {
    this.audible = on;
    this.applySound();
  }

  /** Our phone carries our voice (on): no sound plays here until it hangs up. @param {boolean} on */
  setHeld(on) {
    this.held = on;
    this.applySound();
  }

  /** Whether `participant` is our own phone: it has no tile here, and never plays. @param {string} participant */
  ownPhone(participant) {
    const peer = this.peers.get(participant);
    return Boolean(peer && peer.phone && this.me && peer.phone_of === this.me);
  }

  /** Whether a tile's sound plays. @param {string} participant */
  plays(participant) {
    return this.audible && !this.held && !this.ownPhone(participant);
  }

  applySound() {
    for (const [id, entry] of this.tiles) entry.audio.muted = !this.plays(id);
  }

  /** @param {string} note shown after "You", or "" */
  setMineNote(note) {
    this.mineNote = note;
    this.mineLabel.textContent = note ? `${t.call.you} (${note})` : t.call.you;
  }

  /** @param {string} participant @param {Partial<Shown>} patch */
  update(participant, patch) {
    const peer = this.peers.get(participant);
    if (peer) this.setPeer({ ...peer, ...patch });
  }

  /** @param {Shown} peer */
  setPeer(peer) {
    this.peers.set(peer.participant, peer);
    this.render();
  }

  /** @param {string} participant */
  removePeer(participant) {
    this.peers.delete(participant);
    this.render();
  }

  /** @param {string} reason why video to me is paused ("chosen", "weak-connection"), or "" */
  setMineVideoPaused(reason) {
    const note = reason === "weak-connection" ? t.call.weakNote : t.call.audioOnlyNote;
    this.setMineNote(reason ? note : "");
  }

  /** @param {string} participant @param {string} reason why video to them is paused, or "" */
  setVideoPaused(participant, reason) {
    const peer = this.peers.get(participant);
    if (peer) this.setPeer({ ...peer, videoPaused: reason });
  }

  /** @param {string} participant @param {boolean} away their connection dropped */
  setAway(participant, away) {
    const peer = this.peers.get(participant);
    if (peer) this.setPeer({ ...peer, away });
  }

  /** @param {string} participant @param {boolean} audio @param {boolean} video */
  setMuted(participant, audio, video) {
    const peer = this.peers.get(participant);
    if (peer) this.setPeer({ ...peer, audio, video });
  }

  render() {
    const shown = new Set(this.call.shown().filter((id) => !this.ownPhone(id)));
    for (const [id, entry] of this.tiles) {
      if (!shown.has(id)) {
        entry.tile.remove();
        this.tiles.delete(id);
      }
    }
    for (const id of shown) {
      let entry = this.tiles.get(id);
      if (!entry) {
        // Sound and picture in elements of their own: an element given both does not play
        // the sound until a video frame comes, and none ever comes from someone on audio
        // only, or to someone on audio only.
        const video = /** @type {HTMLVideoElement} */ (
          el("video", { class: "remote", autoplay: "", playsinline: "" })
        );
        video.muted = true;
        const audio = /** @type {HTMLAudioElement} */ (el("audio", { class: "remote", autoplay: "" }));
        audio.muted = !this.plays(id);
        const label = el("figcaption");
        const tile = el("figure", { class: "tile", "data-participant": id }, [video, audio, label]);
        this.root.insertBefore(tile, this.mine);
        entry = { tile, video, audio, label };
        this.tiles.set(id, entry);
        const stream = this.call.streamOf(id);
        video.srcObject = stream && new MediaStream(stream.getVideoTracks());
        audio.srcObject = stream && new MediaStream(stream.getAudioTracks());
      }
      const peer = this.peers.get(id);
      entry.audio.muted = !this.plays(id);
      text(entry.label, () => caption(peer, this.peers));
    }
  }
}

/**
 * What a tile says about someone.
 * @param {any} peer @param {Map<string, Shown>} others
 */
function caption(peer, others) {
  if (!peer) return "";
  const c = t.call;
  if (peer.phone) {
    // A phone: whose voice it is, and whether that person's page is gone; never a number.
    return phoneOnly(peer, others) ? `${nameOf(peer)} (${c.phoneOnly})` : nameOf(peer);
  }
  const parts = [nameOf(peer)];
  if (peer.mode === "text") parts.push(`(${c.peerTextOnly})`);
  else if (!peer.audio) parts.push(`(${c.micIsOff})`);
  if (peer.mode === "video" && !peer.video) parts.push(`(${c.cameraIsOff})`);
  if (peer.away) parts.push(`(${c.peerReconnecting})`);
  if (peer.videoPaused === "weak-connection") parts.push(`(${c.peerWeak})`);
  else if (peer.mode !== "text" && (peer.videoPaused || peer.mode === "audio")) {
    parts.push(`(${c.peerAudioOnly})`);
  }
  return parts.join(" ");
}

/**
 * A button whose label follows the page's language. @param {string} action
 * @param {() => string} label @param {Record<string, string>} [attrs]
 */
export function button(action, label, attrs = {}) {
  const node = el("button", { type: "button", "data-action": action, ...attrs });
  text(node, label);
  return node;
}

/**
 * Mute, camera and leave buttons.
 * @param {HTMLElement} root
 * @param {import("./call.js").Call} call
 * @param {import("./protocol.js").Signaling} signaling
 * @param {() => void} onLeave
 */
export function controls(root, call, signaling, onLeave) {
  const mute = button("mute", () => (call.enabled("audio") ? t.call.mute : t.call.unmute));
  const camera = button("camera", () => (call.enabled("video") ? t.call.cameraOff : t.call.cameraOn));
  const leave = button("leave", () => t.call.leave, { class: "danger" });
  const report = () => {
    const audio = call.enabled("audio");
    const video = call.enabled("video");
    mute.textContent = audio ? t.call.mute : t.call.unmute;
    camera.textContent = video ? t.call.cameraOff : t.call.cameraOn;
    signaling.send("mute", { audio, video });
  };
  mute.addEventListener("click", () => {
    call.setEnabled("audio", !call.enabled("audio"));
    report();
  });
  camera.addEventListener("click", () => {
    call.setEnabled("video", !call.enabled("video"));
    report();
  });
  leave.addEventListener("click", onLeave);
  root.replaceChildren(mute, camera, leave);
  return { mute, camera, leave };
}
