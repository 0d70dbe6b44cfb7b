// End-to-end encrypted frames: sealing an encoded frame before it is packetized and opening
// it after it is received, with WebCrypto. No DOM code here: the page and the encoded
// transform's worker both use it. The format, byte by byte, is in docs/e2ee.md ("Frames"),
// and bench/e2ee_frame.py writes the same bytes for Python peers.
//
//   clear | ciphertext | tag (16) | counter (4) | sender (4) | epoch (1) | version (1)

export const VERSION = 0x51;
export const TAG = 16;
export const TRAILER = 10;
export const OVERHEAD = TAG + TRAILER;
export const CALL_KEY_BYTES = 32;
const INFO = new TextEncoder().encode("quietroom frame key");
const KEYFRAME_CLEAR = 10;
const DELTA_CLEAR = 3;
const OPUS_CLEAR = 1;
const MAX_COUNTER = 0xffffffff;

export class FrameError extends Error {
  /** @param {string} message @param {boolean} [unkeyed] under a call key not held */
  constructor(message, unkeyed = false) {
    super(message);
    this.unkeyed = unkeyed;
  }
}

/**
 * How many of the frame's first bytes stay in the clear: the Opus TOC byte; a VP8 frame
 * tag (3), with the start code and size for a keyframe (10).
 * @param {"audio" | "video"} kind
 * @param {Uint8Array} frame
 */
export function clearBytes(kind, frame) {
  let wanted;
  if (kind === "audio") wanted = OPUS_CLEAR;
  else if (kind === "video") {
    // VP8 frame tag, first bit: 0 for a keyframe (RFC 6386, 9.1)
    wanted = frame.length && !(frame[0] & 0x01) ? KEYFRAME_CLEAR : DELTA_CLEAR;
  } else throw new TypeError(`frames are audio or video, not ${kind}`);
  return Math.min(wanted, frame.length);
}

/**
 * The AES-GCM key a sender seals its frames with, for one call key: HKDF-SHA256, no salt,
 * info "quietroom frame key" and the sender's 4 bytes.
 * @param {Uint8Array} callKey
 * @param {number} sender
 */
export async function frameKey(callKey, sender) {
  if (callKey.length !== CALL_KEY_BYTES) throw new RangeError("a call key is 32 bytes");
  const info = new Uint8Array(INFO.length + 4);
  info.set(INFO);
  new DataView(info.buffer).setUint32(INFO.length, sender);
  const base = await crypto.subtle.importKey("raw", callKey, "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info },
    base,
    { name: "AES-GCM", length: 128 },
    false,
    ["encrypt", "decrypt"],
  );
}

/** @param {number} counter */
function iv(counter) {
  const bytes = new Uint8Array(12);
  new DataView(bytes.buffer).setUint32(8, counter);
  return bytes;
}

/** @param {number} counter @param {number} sender @param {number} epoch */
function trailer(counter, sender, epoch) {
  const bytes = new Uint8Array(TRAILER);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, counter);
  view.setUint32(4, sender);
  bytes[8] = epoch;
  bytes[9] = VERSION;
  return bytes;
}

/** @param {Uint8Array[]} parts */
export function join(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** One sender's side: seals each frame it sends under the current call key. */
export class Sealer {
  /** @param {number} sender @param {number} epoch @param {CryptoKey} key */
  constructor(sender, epoch, key) {
    this.sender = sender;
    this.epoch = epoch;
    this.key = key;
    this.counter = 0;
  }

  /** @param {Uint8Array} callKey @param {number} sender @param {number} [epoch] */
  static async create(callKey, sender, epoch = 0) {
    checkIds(sender, epoch);
    return new Sealer(sender, epoch, await frameKey(callKey, sender));
  }

  /** A new call key: frames are counted from 0 again under it. */
  async rekey(/** @type {Uint8Array} */ callKey, /** @type {number} */ epoch) {
    checkIds(this.sender, epoch);
    const key = await frameKey(callKey, this.sender);
    this.key = key;
    this.epoch = epoch;
    this.counter = 0;
  }

  /**
   * @param {"audio" | "video"} kind
   * @param {ArrayBuffer | Uint8Array} data
   * @returns {Promise<ArrayBuffer>}
   */
  async seal(kind, data) {
    if (this.counter > MAX_COUNTER) throw new RangeError("this key has sealed all it may");
    const counter = this.counter++;
    const frame = data instanceof Uint8Array ? data : new Uint8Array(data);
    const head = frame.subarray(0, clearBytes(kind, frame));
    const tail = trailer(counter, this.sender, this.epoch);
    const sealed = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: iv(counter), additionalData: join(head, tail), tagLength: 128 },
      this.key,
      frame.subarray(head.length),
    );
    return join(head, new Uint8Array(sealed), tail).buffer;
  }
}

/** @param {number} sender @param {number} epoch */
function checkIds(sender, epoch) {
  if (!Number.isInteger(sender) || sender < 0 || sender > 0xffffffff) {
    throw new RangeError("a sender is 4 bytes");
  }
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > 255) {
    throw new RangeError("an epoch is 0 to 255");
  }
}

/**
 * A receiver's side: opens frames from any sender of the call, under the call keys it holds
 * (the current one and, for frames still on their way, earlier ones).
 */
export class Opener {
  constructor() {
    /** @type {Map<number, Uint8Array>} */
    this.callKeys = new Map();
    /** @type {Map<string, Promise<CryptoKey>>} */
    this.keys = new Map();
  }

  /** @param {number} epoch @param {Uint8Array} callKey */
  hold(epoch, callKey) {
    checkIds(0, epoch);
    if (callKey.length !== CALL_KEY_BYTES) throw new RangeError("a call key is 32 bytes");
    this.drop(epoch);
    this.callKeys.set(epoch, callKey);
  }

  /** Forget a call key, and the senders' keys made from it. @param {number} epoch */
  drop(epoch) {
    this.callKeys.delete(epoch);
    for (const name of [...this.keys.keys()]) {
      if (name.startsWith(`${epoch}/`)) this.keys.delete(name);
    }
  }

  /**
   * The frame; FrameError if it is not this format or does not open with the keys held. An
   * empty frame (no media: browsers send some as padding) is returned as it is.
   * @param {"audio" | "video"} kind
   * @param {ArrayBuffer | Uint8Array} data
   * @returns {Promise<ArrayBuffer>}
   */
  async open(kind, data) {
    const sealed = data instanceof Uint8Array ? data : new Uint8Array(data);
    if (sealed.length === 0) return new ArrayBuffer(0); // no media: nothing was sealed
    if (sealed.length < OVERHEAD || sealed[sealed.length - 1] !== VERSION) {
      throw new FrameError("not an end-to-end encrypted frame");
    }
    const body = sealed.subarray(0, sealed.length - TRAILER);
    const tail = sealed.subarray(sealed.length - TRAILER);
    const view = new DataView(tail.buffer, tail.byteOffset, TRAILER);
    const counter = view.getUint32(0);
    const sender = view.getUint32(4);
    const epoch = tail[8];
    const callKey = this.callKeys.get(epoch);
    if (!callKey) throw new FrameError("a frame under a call key this peer does not hold", true);
    const name = `${epoch}/${sender}`;
    let key = this.keys.get(name);
    if (!key) {
      key = frameKey(callKey, sender);
      this.keys.set(name, key);
    }
    // The clear bytes are as many as the sealer left: the frame's own first byte says.
    const clear = Math.min(clearBytes(kind, body), body.length - TAG);
    const head = body.subarray(0, clear);
    let opened;
    try {
      opened = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: iv(counter), additionalData: join(head, tail), tagLength: 128 },
        await key,
        body.subarray(clear),
      );
    } catch {
      throw new FrameError("the frame does not open with this call key");
    }
    return join(head, new Uint8Array(opened)).buffer;
  }
}
