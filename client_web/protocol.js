// Signaling over /ws: JSON messages as documented in docs/protocol.md. No DOM code here.

/**
 * @typedef {{participant: string, name: string, role: string, audio: boolean, video: boolean,
 *   mode: "video" | "audio" | "text", cant_talk: boolean, e2ee?: boolean, phone?: boolean,
 *   phone_of?: string}} PeerInfo
 *   `phone`: a phone that dialed in (a voice, no video, never its number); `phone_of`: whose
 *   voice it is ("" when their page was gone when it dialed)
 * @typedef {{type: string, [key: string]: any}} Message
 */

export class Signaling extends EventTarget {
  /** @param {string} url */
  constructor(url) {
    super();
    this.url = url;
    /** @type {WebSocket | null} */
    this.ws = null;
  }

  /** Opens the socket; resolves once it is open. */
  open() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      ws.addEventListener("open", () => resolve(undefined), { once: true });
      ws.addEventListener("error", () => reject(new Error("connection failed")), { once: true });
      ws.addEventListener("message", (event) => {
        /** @type {Message} */
        let message;
        try {
          message = JSON.parse(String(event.data));
        } catch {
          return;
        }
        this.dispatchEvent(new CustomEvent(message.type, { detail: message }));
        this.dispatchEvent(new CustomEvent("message", { detail: message }));
      });
      ws.addEventListener("close", () => this.dispatchEvent(new CustomEvent("closed")));
    });
  }

  /** @param {string} type @param {Record<string, any>} [fields] */
  send(type, fields = {}) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ type, ...fields }));
    }
  }

  /** @param {string} type @param {(message: Message) => void} handler */
  on(type, handler) {
    this.addEventListener(type, (event) => handler(/** @type {CustomEvent} */ (event).detail));
  }

  close() {
    if (this.ws) this.ws.close();
  }
}

/** The /ws address on this page's own origin. */
export function socketUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws`;
}
