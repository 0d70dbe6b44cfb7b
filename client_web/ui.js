// DOM helpers shared by the staff and join pages: elements, video tiles, call controls.

import t from "./i18n/en.js";

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

/** Shows one section of the page and hides the others. @param {string} id */
export function show(id) {
  for (const section of document.querySelectorAll("main > section")) {
    /** @type {HTMLElement} */ (section).hidden = section.id !== id;
  }
}

/** Video tiles: mine, and one per person the server shows me. */
export class Tiles {
  /** @param {HTMLElement} root @param {import("./call.js").Call} call */
  constructor(root, call) {
    this.root = root;
    this.call = call;
    /** @type {Map<string, {tile: HTMLElement, video: HTMLVideoElement, label: HTMLElement}>} */
    this.tiles = new Map();
    /** @type {Map<string, import("./protocol.js").PeerInfo>} */
    this.peers = new Map();
    const mine = el("video", { class: "mine", autoplay: "", playsinline: "" });
    const mineVideo = /** @type {HTMLVideoElement} */ (mine);
    mineVideo.muted = true;
    mineVideo.srcObject = call.local;
    this.mineLabel = el("figcaption", {}, [t.you]);
    root.append(el("figure", { class: "tile" }, [mine, this.mineLabel]));
    call.addEventListener("streams", () => this.render());
  }

  /** @param {import("./protocol.js").PeerInfo} peer */
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
    const note = reason === "weak-connection" ? t.weakNote : t.audioOnlyNote;
    this.mineLabel.textContent = reason ? `${t.you} (${note})` : t.you;
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
    const shown = new Set(this.call.shown());
    for (const [id, entry] of this.tiles) {
      if (!shown.has(id)) {
        entry.tile.remove();
        this.tiles.delete(id);
      }
    }
    for (const id of shown) {
      let entry = this.tiles.get(id);
      if (!entry) {
        const video = /** @type {HTMLVideoElement} */ (
          el("video", { class: "remote", autoplay: "", playsinline: "" })
        );
        const label = el("figcaption");
        const tile = el("figure", { class: "tile", "data-participant": id }, [video, label]);
        this.root.append(tile);
        entry = { tile, video, label };
        this.tiles.set(id, entry);
        video.srcObject = this.call.streamOf(id);
      }
      const peer = this.peers.get(id);
      const parts = [peer ? peer.name || t.roles[peer.role] || "" : ""];
      if (peer && !peer.audio) parts.push(`(${t.micIsOff})`);
      if (peer && !peer.video) parts.push(`(${t.cameraIsOff})`);
      if (peer && peer.away) parts.push(`(${t.peerReconnecting})`);
      if (peer && peer.videoPaused === "weak-connection") parts.push(`(${t.peerWeak})`);
      else if (peer && peer.videoPaused) parts.push(`(${t.peerAudioOnly})`);
      entry.label.textContent = parts.join(" ");
    }
  }
}

/**
 * Mute, camera and leave buttons.
 * @param {HTMLElement} root
 * @param {import("./call.js").Call} call
 * @param {import("./protocol.js").Signaling} signaling
 * @param {() => void} onLeave
 */
export function controls(root, call, signaling, onLeave) {
  const mute = el("button", { type: "button", "data-action": "mute" }, [
    call.enabled("audio") ? t.mute : t.unmute,
  ]);
  const camera = el("button", { type: "button", "data-action": "camera" }, [
    call.enabled("video") ? t.cameraOff : t.cameraOn,
  ]);
  const leave = el("button", { type: "button", "data-action": "leave", class: "danger" }, [t.hangUp]);
  const report = () => {
    const audio = call.enabled("audio");
    const video = call.enabled("video");
    mute.textContent = audio ? t.mute : t.unmute;
    camera.textContent = video ? t.cameraOff : t.cameraOn;
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
}
