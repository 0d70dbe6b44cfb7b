// End-to-end encryption in the page: which way this browser can transform encoded frames,
// and the worker that seals and opens them (e2ee_worker.js), attached to a connection's
// senders and receivers. The frame format is in e2ee_frame.js; docs/e2ee.md has the design.

/**
 * How this browser lets a page transform encoded frames: "script" (RTCRtpScriptTransform:
 * Firefox, recent Chromium), "streams" (createEncodedStreams: older Chromium), or null
 * (it cannot: a call from it is protected on the way, not end to end).
 * @returns {"script" | "streams" | null}
 */
export function transformSupport() {
  if (typeof RTCRtpScriptTransform === "function") return "script";
  if (typeof RTCRtpSender !== "undefined" && "createEncodedStreams" in RTCRtpSender.prototype) {
    return "streams";
  }
  return null;
}

/**
 * What an RTCPeerConnection needs to be made with for `mode`.
 * @param {"script" | "streams"} mode
 */
export function connectionOptions(mode) {
  return mode === "streams" ? { encodedInsertableStreams: true } : {};
}

/** A random 4-byte sender id: names this page's frame key (see docs/e2ee.md). */
function randomSender() {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

export class FrameCrypto extends EventTarget {
  /** @param {"script" | "streams"} mode */
  constructor(mode) {
    super();
    this.mode = mode;
    this.sender = randomSender();
    this.counts = { sealed: 0, opened: 0, failed: 0, unkeyed: 0 };
    /** @type {Map<number, () => void>} */
    this.waiting = new Map();
    this.worker = new Worker(new URL("./e2ee_worker.js", import.meta.url), { type: "module" });
    this.worker.addEventListener("message", (event) => {
      const message = event.data;
      if (message.type === "counts") {
        const { sealed, opened, failed, unkeyed } = message;
        this.counts = { sealed, opened, failed, unkeyed };
        this.dispatchEvent(new Event("counts"));
      } else if (message.type === "keyed") {
        this.waiting.get(message.epoch)?.();
        this.waiting.delete(message.epoch);
      }
    });
  }

  /**
   * Open frames under this call key from now on, and seal under it after `sealAfter` ms
   * (at once if this is the first); resolves once the worker holds it.
   * @param {number} epoch
   * @param {Uint8Array} key
   * @param {number} [sealAfter]
   */
  key(epoch, key, sealAfter = 0) {
    return new Promise((resolve) => {
      this.waiting.set(epoch, () => resolve(undefined));
      this.worker.postMessage({ type: "key", epoch, key, sender: this.sender, sealAfter });
    });
  }

  /** Send in the clear (someone in the call cannot open sealed frames), or seal again. @param {boolean} on */
  clear(on) {
    this.worker.postMessage({ type: "clear", on });
  }

  /** Frames under this call key no longer open. @param {number} epoch */
  drop(epoch) {
    this.worker.postMessage({ type: "drop", epoch });
  }

  /** @param {RTCRtpSender} sender @param {"audio" | "video"} kind */
  attachSender(sender, kind) {
    this.attach(sender, "send", kind);
  }

  /** @param {RTCRtpReceiver} receiver @param {"audio" | "video"} kind */
  attachReceiver(receiver, kind) {
    this.attach(receiver, "receive", kind);
  }

  /**
   * @param {RTCRtpSender | RTCRtpReceiver} endpoint
   * @param {"send" | "receive"} side
   * @param {"audio" | "video"} kind
   */
  attach(endpoint, side, kind) {
    if (this.mode === "script") {
      endpoint.transform = new RTCRtpScriptTransform(this.worker, { side, kind });
      return;
    }
    const { readable, writable } = /** @type {any} */ (endpoint).createEncodedStreams();
    this.worker.postMessage({ type: "streams", readable, writable, side, kind }, [
      readable,
      writable,
    ]);
  }

  close() {
    this.worker.terminate();
  }
}
