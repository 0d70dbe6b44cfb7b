// One RTCPeerConnection to the server: own media out, one receive slot per other person.

import { connectionOptions } from "./e2ee.js";

const VIDEO_CODEC = "video/vp8";
const AUDIO_CODEC = "audio/opus";

const CAMERA = { width: { ideal: 640 }, height: { ideal: 480 } };

/** Every stream this page got from getUserMedia, so that leaving can stop them all. */
const opened = new Set(/** @type {MediaStream[]} */ ([]));

/** @param {MediaStreamConstraints} constraints */
async function open(constraints) {
  const stream = await navigator.mediaDevices.getUserMedia(constraints);
  opened.add(stream);
  return stream;
}

/**
 * What the way to talk needs: camera and microphone for "video" (or whatever is available),
 * the microphone for "audio", and nothing at all for "text" (getUserMedia is not called).
 * @param {"video" | "audio" | "text"} [mode]
 */
export async function localMedia(mode = "video") {
  if (mode === "text") return new MediaStream();
  const tries =
    mode === "audio"
      ? [{ audio: true, video: false }]
      : [
          { audio: true, video: CAMERA },
          { audio: true, video: false },
          { audio: false, video: true },
        ];
  for (const constraints of tries) {
    try {
      return await open(constraints);
    } catch {
      // try the next, smaller set of devices
    }
  }
  return new MediaStream();
}

/** One new track of `kind` from the camera or microphone, or null if refused. @param {"audio" | "video"} kind */
export async function newTrack(kind) {
  try {
    const stream = await open(kind === "video" ? { video: CAMERA } : { audio: true });
    return stream.getTracks()[0] || null;
  } catch {
    return null;
  }
}

/** Stops every camera and microphone track this page ever opened (camera light off). */
export function stopAllMedia() {
  for (const stream of opened) for (const track of stream.getTracks()) track.stop();
  opened.clear();
}

/** @param {RTCRtpTransceiver} transceiver @param {string} kind */
function preferForwardedCodec(transceiver, kind) {
  const caps = RTCRtpReceiver.getCapabilities(kind);
  if (!caps || typeof transceiver.setCodecPreferences !== "function") return;
  const wanted = kind === "video" ? VIDEO_CODEC : AUDIO_CODEC;
  const codecs = caps.codecs.filter((c) => {
    const mime = c.mimeType.toLowerCase();
    return mime === wanted || (kind === "video" && mime === "video/rtx");
  });
  try {
    transceiver.setCodecPreferences(codecs);
  } catch {
    // the server keeps only the codec it forwards anyway
  }
}

export class Call extends EventTarget {
  /**
   * @param {import("./protocol.js").Signaling} signaling
   * @param {MediaStream} local
   * @param {number} maxParticipants
   * @param {RTCIceServer[]} [iceServers] TURN relays the server handed out (with `joined`)
   * @param {import("./e2ee.js").FrameCrypto | null} [frames] seals what is sent and opens
   *   what comes (end to end), on every stream of this connection
   */
  constructor(signaling, local, maxParticipants, iceServers = [], frames = null) {
    super();
    this.signaling = signaling;
    this.local = local;
    // Only the server's own TURN relays, never a third party's STUN or TURN server.
    this.pc = new RTCPeerConnection({
      bundlePolicy: "max-bundle",
      iceServers,
      ...(frames ? connectionOptions(frames.mode) : {}),
    });
    /** @type {Record<string, string>} mid -> participant shown in that slot */
    this.slots = {};
    /** @type {RTCRtpSender | null} */
    this.videoSender = null;
    /** @type {RTCRtpSender | null} */
    this.audioSender = null;
    /** Our phone carries our voice: the microphone's track is not sent (not a mute). */
    this.audioHeld = false;
    for (const kind of ["audio", "video"]) {
      const track = local.getTracks().find((t) => t.kind === kind);
      const t = this.pc.addTransceiver(track || kind, { direction: "sendonly" });
      preferForwardedCodec(t, kind);
      if (frames) frames.attachSender(t.sender, /** @type {"audio" | "video"} */ (kind));
      if (kind === "video") this.videoSender = t.sender;
      else this.audioSender = t.sender;
    }
    for (let i = 0; i < maxParticipants - 1; i++) {
      for (const kind of ["audio", "video"]) {
        const t = this.pc.addTransceiver(kind, { direction: "recvonly" });
        preferForwardedCodec(t, kind);
        if (frames) frames.attachReceiver(t.receiver, /** @type {"audio" | "video"} */ (kind));
      }
    }
    this.pc.addEventListener("icecandidate", (event) => {
      const c = event.candidate;
      signaling.send("candidate", {
        candidate: c ? c.candidate : "",
        sdp_mid: c && c.sdpMid ? c.sdpMid : "",
        sdp_mline_index: c && c.sdpMLineIndex !== null ? c.sdpMLineIndex : 0,
      });
    });
    this.pc.addEventListener("connectionstatechange", () => {
      this.dispatchEvent(new CustomEvent("state", { detail: this.pc.connectionState }));
    });
    signaling.on("answer", (m) => this.pc.setRemoteDescription({ type: "answer", sdp: m.sdp }));
    signaling.on("streams", (m) => {
      this.slots = m.slots;
      this.dispatchEvent(new CustomEvent("streams"));
    });
  }

  /** Offer; `restart` tells the server this connection replaces one that failed. */
  async start(restart = false) {
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    this.signaling.send("offer", restart ? { sdp: offer.sdp, restart } : { sdp: offer.sdp });
  }

  /**
   * How long nothing (media or RTCP) has come from the server, in ms; null if the browser
   * does not say. The server sends RTCP at least every 1.5 s while connected.
   */
  async silentMs() {
    const stats = await this.pc.getStats();
    /** @type {any} */
    let pair = null;
    stats.forEach((s) => {
      if (s.type === "transport" && s.selectedCandidatePairId) {
        pair = stats.get(s.selectedCandidatePairId);
      }
    });
    if (!pair) {
      // Browsers without transport stats mark the pair in use instead.
      stats.forEach((s) => {
        const inUse = s.selected || (s.nominated && s.state === "succeeded");
        if (s.type === "candidate-pair" && inUse) pair = s;
      });
    }
    if (!pair || !pair.lastPacketReceivedTimestamp) return null;
    return pair.timestamp - pair.lastPacketReceivedTimestamp;
  }

  /** The media of one participant, from the slot that shows them. */
  streamOf(participant) {
    const tracks = this.pc
      .getTransceivers()
      .filter((t) => t.mid !== null && this.slots[t.mid] === participant)
      .map((t) => t.receiver.track);
    return tracks.length ? new MediaStream(tracks) : null;
  }

  /** Participants currently shown in a slot. */
  shown() {
    return [...new Set(Object.values(this.slots).filter(Boolean))];
  }

  /** Send our video, or nothing at all on its stream (not even black frames). */
  async sendVideo(/** @type {boolean} */ on) {
    const sender = this.videoSender;
    if (!sender) return;
    const params = sender.getParameters();
    if (!params.encodings || !params.encodings.length) return;
    for (const encoding of params.encodings) encoding.active = on;
    try {
      await sender.setParameters(params);
    } catch {
      // the browser keeps sending: more uplink used, nothing lost
    }
  }

  /** @param {"audio" | "video"} kind @param {boolean} on */
  setEnabled(kind, on) {
    for (const track of this.local.getTracks()) {
      if (track.kind === kind) track.enabled = on;
    }
  }

  /** @param {"audio" | "video"} kind */
  enabled(kind) {
    const track = this.local.getTracks().find((t) => t.kind === kind);
    return Boolean(track && track.enabled);
  }

  /**
   * Stops sending our microphone (on), or sends it again (off), without touching the
   * track: its `enabled` stays the person's own choice (mute), which the others see.
   * @param {boolean} on
   */
  async holdAudio(on) {
    this.audioHeld = on;
    const track = on ? null : this.local.getAudioTracks()[0] || null;
    try {
      if (this.audioSender) await this.audioSender.replaceTrack(track);
    } catch {
      // this connection was closed meanwhile: its successor is told in turn
    }
  }

  /**
   * Sends `track` (or nothing) as our `kind` from now on; the old track of that kind stops.
   * @param {"audio" | "video"} kind @param {MediaStreamTrack | null} track
   */
  async useTrack(kind, track) {
    for (const old of this.local.getTracks()) {
      if (old.kind !== kind) continue;
      old.stop();
      this.local.removeTrack(old);
    }
    if (track) this.local.addTrack(track);
    const sender = kind === "video" ? this.videoSender : this.audioSender;
    const held = kind === "audio" && this.audioHeld; // kept for when the phone hangs up
    if (sender) await sender.replaceTrack(held ? null : track);
  }

  /** @param {"audio" | "video"} kind */
  hasLive(kind) {
    return this.local.getTracks().some((t) => t.kind === kind && t.readyState === "live");
  }

  /** @param {boolean} [stopTracks] also release the camera and microphone */
  close(stopTracks = true) {
    this.pc.close();
    if (stopTracks) for (const track of this.local.getTracks()) track.stop();
  }
}
