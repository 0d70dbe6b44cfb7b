// The connection test before joining: the server sends your own camera and microphone back,
// so you can see that they and your connection work. Nobody else sees or hears it. Where the
// browser can, the media goes sealed end to end under a key made for the test and is opened
// on its way back, so the test also says whether end-to-end encryption works here.

import { Call, localMedia } from "./call.js";
import { FrameCrypto, transformSupport } from "./e2ee.js";
import { randomSecret } from "./e2ee_keys.js";
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
    /** @type {FrameCrypto | null} */
    this.frames = null;
  }

  async start() {
    const audioOnly = this.mode === "audio";
    this.say(() => (audioOnly ? t.echo.runningAudio : t.echo.running));
    this.video.muted = true; // hearing yourself with a delay is confusing: audio is counted
    const local = (this.local = await localMedia(this.mode));
    const transforms = transformSupport();
    if (transforms) {
      this.frames = new FrameCrypto(transforms);
      await this.frames.key(0, randomSecret());
    }
    const s = (this.signaling = new Signaling(socketUrl()));
    try {
      await s.open();
    } catch {
      this.say(() => t.echo.failed);
      return;
    }
    s.on("error", () => this.say(() => t.echo.failed));
    s.on("joined", async (m) => {
      const frames = this.frames;
      const call = (this.call = new Call(s, local, m.max_participants, m.ice_servers, frames));
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
    const sealed = await this.sealedBack();
    const e2ee = () => (sealed ? t.e2ee.echoWorks : t.e2ee.echoFails);
    if (audio > 0 && (video > 0 || this.mode === "audio")) {
      this.say(() => `${this.mode === "audio" ? t.echo.worksAudio : t.echo.works} ${e2ee()}`);
    } else if (audio > 0) this.say(() => `${t.echo.audioOnly} ${e2ee()}`);
    else this.say(() => t.echo.failed);
    this.status.dataset.e2ee = sealed ? "works" : "fails";
  }

  /** Whether frames came back sealed and opened, none failing (the worker counts each second). */
  async sealedBack() {
    const frames = this.frames;
    if (!frames) return false;
    if (!frames.counts.opened) await new Promise((resolve) => setTimeout(resolve, 1500));
    return frames.counts.opened > 0 && frames.counts.failed === 0;
  }

  /** @param {() => string} words */
  say(words) {
    text(this.status, words);
  }

  stop() {
    window.clearTimeout(this.timer);
    if (this.signaling) this.signaling.send("leave");
    if (this.call) this.call.close();
    if (this.frames) this.frames.close();
    this.frames = null;
    if (this.local) for (const track of this.local.getTracks()) track.stop();
    if (this.signaling) this.signaling.close();
    this.video.srcObject = null;
    this.signaling = null;
    this.call = null;
  }
}
