// The connection test before joining: the server sends your own camera and microphone back,
// so you can see that they and your connection work. Nobody else sees or hears it.

import { Call, localMedia } from "./call.js";
import t, { text } from "./i18n/index.js";
import { Signaling, socketUrl } from "./protocol.js";

const GIVE_UP_MS = 15000;

export class EchoTest {
  /**
   * @param {{invite: string} | {call: string}} who the link's invite, or staff's own call
   * @param {HTMLVideoElement} video where your looped-back video shows
   * @param {HTMLElement} status
   * @param {"video" | "audio"} mode what to test: camera and microphone, or the microphone
   */
  constructor(who, video, status, mode) {
    this.who = who;
    this.mode = mode;
    this.video = video;
    this.status = status;
    /** @type {Signaling | null} */
    this.signaling = null;
    /** @type {Call | null} */
    this.call = null;
    this.timer = 0;
    /** @type {MediaStream | null} */
    this.local = null;
  }

  async start() {
    const audioOnly = this.mode === "audio";
    this.say(() => (audioOnly ? t.echo.runningAudio : t.echo.running));
    this.video.muted = true; // hearing yourself with a delay is confusing: audio is counted
    const local = (this.local = await localMedia(this.mode));
    const s = (this.signaling = new Signaling(socketUrl()));
    try {
      await s.open();
    } catch {
      this.say(() => t.echo.failed);
      return;
    }
    s.on("error", () => this.say(() => t.echo.failed));
    s.on("joined", async (m) => {
      const call = (this.call = new Call(s, local, m.max_participants, m.ice_servers));
      call.addEventListener("streams", () => {
        const stream = call.streamOf(m.participant);
        if (stream) this.video.srcObject = stream;
      });
      await call.start();
    });
    this.video.addEventListener("loadeddata", () => this.report(), { once: true });
    this.timer = window.setTimeout(() => this.report(), GIVE_UP_MS);
    s.send("join", { ...this.who, echo: true });
  }

  /** Says what came back through the server: video, audio, or nothing. */
  async report() {
    window.clearTimeout(this.timer);
    let audio = 0;
    let video = 0;
    if (this.call) {
      (await this.call.pc.getStats()).forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "audio") audio += s.packetsReceived || 0;
        if (s.type === "inbound-rtp" && s.kind === "video") video += s.framesDecoded || 0;
      });
    }
    if (audio > 0 && (video > 0 || this.mode === "audio")) {
      this.say(() => (this.mode === "audio" ? t.echo.worksAudio : t.echo.works));
    } else if (audio > 0) this.say(() => t.echo.audioOnly);
    else this.say(() => t.echo.failed);
  }

  /** @param {() => string} words */
  say(words) {
    text(this.status, words);
  }

  stop() {
    window.clearTimeout(this.timer);
    if (this.signaling) this.signaling.send("leave");
    if (this.call) this.call.close();
    if (this.local) for (const track of this.local.getTracks()) track.stop();
    if (this.signaling) this.signaling.close();
    this.video.srcObject = null;
    this.signaling = null;
    this.call = null;
  }
}
