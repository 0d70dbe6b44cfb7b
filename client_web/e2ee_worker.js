// The encoded-transform worker: seals every frame this page sends and opens every frame it
// receives (see e2ee_frame.js and docs/e2ee.md). Frames come either through
// RTCRtpScriptTransform (`rtctransform` events) or as the streams of createEncodedStreams,
// posted by the page. The page gives the call keys; this worker tells it, about once a
// second while frames come, how many it opened and how many failed to open.

import { FrameError, Opener, Sealer } from "./e2ee_frame.js";

/** @type {Sealer | null} */
let sealer = null;
const opener = new Opener();
// failed: under a call key held here, yet it did not open (or it was not sealed at all);
// unkeyed: under a call key not held here (not given yet, or not to this page).
const counts = { sealed: 0, opened: 0, failed: 0, unkeyed: 0 };
// A call with someone who cannot seal is sent in the clear by everyone: frames go out as
// they are, and frames come in as they are unless they open (sealed ones still on the way).
let clear = false;
let reported = 0;

function report() {
  const now = Date.now();
  if (now - reported < 1000) return;
  reported = now;
  self.postMessage({ type: "counts", ...counts });
}

/**
 * @param {"send" | "receive"} side
 * @param {"audio" | "video"} kind
 */
function transformer(side, kind) {
  return new TransformStream({
    async transform(frame, controller) {
      if (side === "send" && clear) {
        controller.enqueue(frame);
        return;
      }
      if (side === "send") {
        if (!sealer) return; // not keyed yet: nothing leaves unsealed
        frame.data = await sealer.seal(kind, frame.data);
        counts.sealed++;
        controller.enqueue(frame);
      } else if (frame.data.byteLength === 0) {
        controller.enqueue(frame); // no media (a browser's padding): nothing to open
        return;
      } else {
        try {
          frame.data = await opener.open(kind, frame.data);
          counts.opened++;
          controller.enqueue(frame);
        } catch (error) {
          if (!(error instanceof FrameError)) throw error;
          if (clear) controller.enqueue(frame); // sent in the clear
          else if (error.unkeyed) counts.unkeyed++; // dropped, as every frame that fails:
          else counts.failed++; // the decoder asks for a keyframe
        }
      }
      report();
    },
  });
}

/**
 * @param {ReadableStream} readable
 * @param {WritableStream} writable
 * @param {{side: "send" | "receive", kind: "audio" | "video"}} options
 */
function pipe(readable, writable, options) {
  if (options.side !== "send" && options.side !== "receive") return;
  if (options.kind !== "audio" && options.kind !== "video") return;
  readable
    .pipeThrough(transformer(options.side, options.kind))
    .pipeTo(writable)
    .catch(() => {}); // the connection closed
}

// RTCRtpScriptTransform
if ("RTCTransformEvent" in self) {
  self.addEventListener("rtctransform", (event) => {
    const { readable, writable, options } = /** @type {any} */ (event).transformer;
    pipe(readable, writable, options);
  });
}

self.addEventListener("message", async (event) => {
  const message = event.data;
  if (message.type === "streams") {
    // createEncodedStreams: the page hands the streams over
    pipe(message.readable, message.writable, message);
  } else if (message.type === "key") {
    // {epoch, key: Uint8Array(32), sender, sealAfter}: frames under this key open from now
    // on, and are sealed under it after `sealAfter` ms (the others get it meanwhile)
    opener.hold(message.epoch, message.key);
    self.postMessage({ type: "keyed", epoch: message.epoch });
    if (!sealer) sealer = await Sealer.create(message.key, message.sender, message.epoch);
    else {
      const { key, epoch } = message;
      const now = sealer;
      setTimeout(() => now.rekey(key, epoch), Math.max(0, Number(message.sealAfter) || 0));
    }
  } else if (message.type === "clear") {
    clear = Boolean(message.on);
  } else if (message.type === "drop") {
    opener.drop(message.epoch);
  }
});
