// Being in a call, and staying in it: the peer connection and tiles for each `joined`, a new
// peer connection when the old one fails, and a new socket that resumes our place when the
// old one drops. The resume secret lives only in this object, in page memory.

import { Call } from "./call.js";
import { CallKeys } from "./e2ee_keys.js";
import { Signaling, socketUrl } from "./protocol.js";
import t from "./i18n/index.js";
import { Tiles, button, byId, controls, show } from "./ui.js";

const RETRY_MS = 2000; // between attempts to get a socket back
const LISTEN_MS = 1000; // how often the page checks that the server is still heard
const SILENT_MS = 2500; // nothing from the server for this long: our own network is down
const GIVE_UP_MS = 60 * 60 * 1000; // the longest grace a server may give

/**
 * @typedef {object} Hooks
 * @property {(signaling: Signaling) => void} wire  the page's own handlers, on every socket
 * @property {() => void} left       we hung up
 * @property {() => void} lost       the connection is gone for good
 * @property {(reconnecting: boolean) => void} status   show or hide "reconnecting"
 * @property {(plan: import("./plan.js").Plan) => void} [peerDropped]  someone did not return
 * @property {(root: HTMLElement, signaling: Signaling) => void} [moreControls]  page buttons
 * @property {(root: HTMLElement, call: Call, signaling: Signaling) => void} [controls]  the
 *   page's own set of controls, instead of mute, camera, audio only and leave
 * @property {(tiles: Tiles) => void} [tiles]  new tiles (after each new connection)
 * @property {(on: boolean) => void} [phoneVoice]  our phone carries our voice now, or no more
 */

export class CallSession {
  /** @param {MediaStream} local @param {Hooks} hooks */
  constructor(local, hooks) {
    this.local = local;
    this.hooks = hooks;
    /** @type {Signaling | null} */
    this.signaling = null;
    /** @type {Call | null} */
    this.call = null;
    /** @type {Tiles | null} */
    this.tiles = null;
    this.resume = "";
    /** @type {import("./plan.js").Plan | null} */
    this.plan = null;
    this.over = false;
    this.reconnecting = false;
    this.me = "";
    this.audioOnly = false;
    this.sendVideo = true; // false while nobody in the call can receive our video
    this.hidden = false; // the page shows something else than the call ("can't talk now")
    this.phoneVoice = false; // our phone carries our voice: no sound sent or played here
    /** The last `joined`, to start media again from. @type {import("./protocol.js").Message | null} */
    this.joined = null;
    /** End-to-end encryption's keys, and the worker that seals and opens frames. */
    this.keys = new CallKeys(hooks.e2ee?.mode ?? null, hooks.e2ee?.secret ?? null, (to, data) =>
      this.signaling?.send("e2ee", { to, data }),
    );
  }

  /** Draws the controls again (after a change of state they show). */
  redraw() {
    if (this.call && this.signaling) this.renderControls(this.call, this.signaling);
  }

  /** Use `signaling` (open) from now on; the page sends `join` or `resume` on it. */
  attach(signaling) {
    this.signaling = signaling;
    const s = signaling;
    this.hooks.wire(s);
    s.on("joined", (m) => {
      if (this.signaling !== s) return;
      this.keys.enter(m);
      this.enter(m);
    });
    s.on("peer-joined", (m) => {
      this.keys.peerJoined(m.peer);
      if (this.tiles) this.tiles.setPeer(m.peer);
    });
    s.on("e2ee", (m) => {
      if (this.signaling === s) this.keys.receive(m.participant, m.data);
    });
    s.on("peer-muted", (m) => this.tiles && this.tiles.setMuted(m.participant, m.audio, m.video));
    s.on("video-paused", (m) => {
      if (!this.tiles) return;
      const why = m.paused ? m.reason : "";
      if (m.participant === this.me) this.tiles.setMineVideoPaused(why);
      else this.tiles.setVideoPaused(m.participant, why);
    });
    // Everyone else is on audio only: our video would reach nobody, so it stops (uplink).
    s.on("send-video", (m) => {
      this.sendVideo = m.on;
      if (this.call) this.call.sendVideo(m.on);
    });
    // A phone that dialed in with our code is our voice (on), or hung up (off).
    s.on("phone-voice", (m) => {
      if (this.signaling === s) this.setPhoneVoice(Boolean(m.on));
    });
    s.on("peer-away", (m) => this.tiles && this.tiles.setAway(m.participant, true));
    s.on("peer-back", (m) => this.tiles && this.tiles.setAway(m.participant, false));
    s.on("peer-left", (m) => {
      this.keys.peerLeft(m.participant);
      if (this.tiles) this.tiles.removePeer(m.participant);
      if (m.dropped && this.plan && this.hooks.peerDropped) this.hooks.peerDropped(this.plan);
    });
    // A media process of the server stopped: a new connection, offered with `restart`.
    s.on("media-restart", () => {
      if (this.signaling === s && this.joined && !this.over) this.startMedia(this.joined, true);
    });
    s.on("closed", () => {
      if (this.signaling === s && !this.over) this.dropped();
    });
  }

  /** `joined`, the first time or after a resume: media (again) from a new connection. */
  enter(joined) {
    this.reconnecting = false;
    this.me = joined.participant;
    this.resume = joined.resume || "";
    this.plan = joined.plan || null;
    this.joined = joined;
    this.hooks.status(false);
    // The server says again after `joined` if our phone still carries our voice.
    this.setPhoneVoice(false);
    this.startMedia(joined, false);
  }

  /**
   * Our phone carries our voice (on): the microphone is not sent and nothing plays, video
   * goes on both ways; the person's own mute and sound choices are kept for when it is off.
   * @param {boolean} on
   */
  setPhoneVoice(on) {
    if (on === this.phoneVoice) return;
    this.phoneVoice = on;
    if (this.call) this.call.holdAudio(on);
    if (this.tiles) this.tiles.setHeld(on);
    if (this.hooks.phoneVoice) this.hooks.phoneVoice(on);
  }

  /** @param {import("./protocol.js").Message} joined @param {boolean} restart */
  startMedia(joined, restart) {
    const s = /** @type {Signaling} */ (this.signaling);
    if (this.call) this.call.close(false);
    const ice = joined.ice_servers;
    const call = new Call(s, this.local, joined.max_participants, ice, this.keys.frames);
    this.call = call;
    if (this.phoneVoice) call.holdAudio(true);
    const root = byId("tiles");
    root.replaceChildren();
    const tiles = new Tiles(root, call);
    tiles.me = joined.participant;
    tiles.held = this.phoneVoice;
    if (this.tiles) for (const peer of this.tiles.peers.values()) tiles.setPeer(peer);
    for (const peer of joined.peers) tiles.setPeer(peer);
    this.tiles = tiles;
    if (this.hooks.tiles) this.hooks.tiles(tiles);
    this.renderControls(call, s);
    if (this.audioOnly) tiles.setMineVideoPaused("chosen");
    if (!this.sendVideo) call.sendVideo(false);

    // The server sends RTCP at least every 1.5 s: silence means our own network is down,
    // seconds before the connection state says so (Chromium takes 5 to 6 s). Someone
    // else's outage does not count: the server goes on reporting on our media.
    let unheard = false;
    const listen = setInterval(async () => {
      if (this.call !== call || this.over) {
        clearInterval(listen);
        return;
      }
      const silent = await call.silentMs();
      if (silent === null || this.call !== call || this.reconnecting) return;
      if (silent > SILENT_MS !== unheard) {
        unheard = !unheard;
        this.hooks.status(unheard);
      }
    }, LISTEN_MS);

    // A connection that fails for good (ICE gave up) is replaced; the socket stays.
    call.addEventListener("state", (event) => {
      const state = /** @type {CustomEvent} */ (event).detail;
      if (this.call !== call || this.over) return;
      if (state === "disconnected" || state === "failed") this.hooks.status(true);
      if (state === "connected") this.hooks.status(false);
      if (state === "failed") this.startMedia(joined, true);
    });
    if (!this.hidden) show("call");
    call.start(restart);
  }

  /** Mute, camera, audio only, leave, and the page's own buttons. */
  renderControls(/** @type {Call} */ call, /** @type {Signaling} */ s) {
    const root = byId("controls");
    if (this.hooks.controls) {
      this.hooks.controls(root, call, s);
      return;
    }
    controls(root, call, s, () => this.leave());
    const audioOnly = button("audio-only", () =>
      this.audioOnly ? t.call.videoBack : t.call.audioOnly,
    );
    // Audio only: no video to me, and none from me (the camera goes off too).
    audioOnly.addEventListener("click", () => {
      this.audioOnly = !this.audioOnly;
      call.setEnabled("video", !this.audioOnly);
      s.send("mute", { audio: call.enabled("audio"), video: call.enabled("video") });
      s.send("audio-only", { on: this.audioOnly });
      this.renderControls(call, s);
    });
    root.insertBefore(audioOnly, root.lastChild);
    if (this.hooks.moreControls) this.hooks.moreControls(root, s);
  }

  /** The socket closed without us hanging up: come back with the resume secret. */
  async dropped() {
    if (this.reconnecting) return; // a retry's socket closed: the loop below goes on
    if (!this.resume || !this.call) {
      this.finish();
      this.hooks.lost();
      return;
    }
    this.reconnecting = true;
    this.hooks.status(true);
    const until = Date.now() + GIVE_UP_MS;
    while (!this.over && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      const s = new Signaling(socketUrl());
      try {
        await s.open();
      } catch {
        continue; // still offline
      }
      const answer = new Promise((resolve) => {
        s.on("joined", () => resolve(true));
        s.on("error", (m) => resolve(m.code === "invalid-resume" ? false : null));
        s.on("closed", () => resolve(null));
      });
      this.attach(s);
      s.send("resume", { resume: this.resume });
      const ok = await answer;
      if (ok) return;
      if (ok === false) break; // the grace period is over, or the call ended
    }
    this.reconnecting = false;
    if (!this.finish()) this.hooks.lost();
  }

  /** Hang up on purpose (the leave button). */
  leave() {
    this.hangUp();
    this.hooks.left();
  }

  /** Tell the server we leave (`quick`: the quick exit), then close everything. */
  hangUp(quick = false) {
    if (this.signaling) this.signaling.send("leave", quick ? { quick: true } : {});
    this.finish();
  }

  /** Close everything without telling anyone; true if it was already over. */
  finish() {
    const wasOver = this.over;
    this.over = true;
    if (this.call) this.call.close(true);
    this.call = null;
    this.keys.close();
    if (this.signaling) this.signaling.close();
    this.signaling = null;
    return wasOver;
  }
}
