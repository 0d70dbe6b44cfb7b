// The survivor's way to talk during a call: video, audio only or text only (switchable),
// sound on or off in text mode, and "I can't talk now" with its way back.

import { newTrack } from "./call.js";
import { show } from "./ui.js";

/** @typedef {"video" | "audio" | "text"} Mode */

export class Talk {
  /**
   * @param {Mode} mode chosen before joining
   * @param {import("./session.js").CallSession} session
   */
  constructor(mode, session) {
    this.mode = mode;
    this.session = session;
    /** Text only starts silent: nothing plays out loud until the person turns sound on. */
    this.sound = mode !== "text";
    this.cantTalk = false;
    /** What was on before "can't talk now": restored on the way back. */
    this.before = { audio: true, video: true };
    /** Called after each switch of the way to talk. @type {(mode: Mode) => void} */
    this.onMode = () => {};
  }

  /** The others' sound plays only when chosen and not while "can't talk now". */
  get audible() {
    return this.sound && !this.cantTalk;
  }

  /** Apply our state to new tiles (after each new connection). @param {import("./ui.js").Tiles} tiles */
  applyTo(tiles) {
    tiles.setAudible(this.audible);
    tiles.mine.hidden = this.mode !== "video";
  }

  /** @param {Mode} mode */
  async setMode(mode) {
    const { call, signaling } = this.session;
    if (mode === this.mode || !call || !signaling) return;
    this.mode = mode;
    this.session.audioOnly = mode !== "video";
    if (mode === "text") {
      await call.useTrack("audio", null);
      await call.useTrack("video", null);
      this.sound = false;
    } else {
      if (!call.hasLive("audio")) await call.useTrack("audio", await newTrack("audio"));
      if (mode === "video" && !call.hasLive("video")) {
        await call.useTrack("video", await newTrack("video"));
      }
      if (mode === "audio") await call.useTrack("video", null);
      this.sound = true;
    }
    signaling.send("mode", { mode });
    this.report();
    this.refresh();
    this.onMode(mode);
  }

  /** @param {boolean} on */
  setSound(on) {
    this.sound = on;
    this.refresh();
  }

  /**
   * "I can't talk now": the microphone muted, the camera stopped (its light goes off), the
   * page silent, a plain screen shown. Off: back to what was on.
   * @param {boolean} on
   */
  async setCantTalk(on) {
    const { call, signaling } = this.session;
    if (on === this.cantTalk || !call) return;
    this.cantTalk = on;
    this.session.hidden = on;
    // Nothing is read aloud meanwhile: no announcement, and the chat log is no live region.
    document.body.dataset.quiet = on ? "yes" : "";
    const log = document.getElementById("chat-log");
    if (log) log.setAttribute("aria-live", on ? "off" : "polite");
    if (on) {
      this.before = { audio: call.enabled("audio"), video: call.enabled("video") };
      call.setEnabled("audio", false);
      show("cant-talk");
      this.refresh();
      if (signaling) signaling.send("cant-talk", { on: true });
      await call.useTrack("video", null);
      this.report();
      return;
    }
    if (signaling) signaling.send("cant-talk", { on: false });
    call.setEnabled("audio", this.before.audio);
    show("call");
    this.refresh();
    if (this.before.video && this.mode === "video") {
      await call.useTrack("video", await newTrack("video"));
    }
    this.report();
  }

  /** Tell the others whether our microphone and camera are on. */
  report() {
    const { call, signaling } = this.session;
    if (!call || !signaling) return;
    signaling.send("mute", { audio: call.enabled("audio"), video: call.enabled("video") });
  }

  refresh() {
    const call = document.getElementById("call");
    if (call) call.dataset.mode = this.mode; // the layout: text only gives the chat the room
    if (this.session.tiles) this.applyTo(this.session.tiles);
    this.session.redraw();
  }
}
