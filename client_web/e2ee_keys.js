// The keys of an end-to-end encrypted call (docs/e2ee.md, "Keys"): the link secret that
// proves who holds a link of the call, each page's X25519 key pair and the pairwise keys
// agreed from them, the call key staff's page makes and moves on, and the safety code.
// Everything here lives in page memory; the server only relays the `e2ee` messages.

import { FrameCrypto } from "./e2ee.js";
import { CALL_KEY_BYTES, join } from "./e2ee_frame.js";

const encoder = new TextEncoder();
export const SECRET_BYTES = 32;
const KEEP_OLD_MS = 5000; // frames sealed under the key before still open this long
// A new key is sealed under this long after it is given: everyone else gets it meanwhile
// (its message through the server may come after the first frames under it would).
const SEAL_AFTER_MS = 1000;
const ZERO_SALT = new Uint8Array(32);

/** @param {Uint8Array} bytes */
export function toBase64url(bytes) {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** @param {string} text @returns {Uint8Array} */
export function fromBase64url(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new RangeError("not base64url");
  const plain = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(plain, (c) => c.charCodeAt(0));
}

/** 32 random bytes. */
export function randomSecret() {
  return crypto.getRandomValues(new Uint8Array(SECRET_BYTES));
}

/**
 * A link's fragment, `<invite token>.<link secret>`: the token goes to the server, the
 * secret never does. `secret` is null when the link has none (not end to end); a secret
 * that is not 32 bytes of base64url is kept as it is, wrong, so the page says its link
 * does not match.
 * @param {string} fragment
 * @returns {{invite: string, secret: Uint8Array | null}}
 */
export function splitInvite(fragment) {
  const dot = fragment.indexOf(".");
  if (dot < 0) return { invite: fragment, secret: null };
  const invite = fragment.slice(0, dot);
  const text = fragment.slice(dot + 1);
  try {
    const secret = fromBase64url(text);
    if (secret.length === SECRET_BYTES) return { invite, secret };
  } catch {
    // below
  }
  return { invite, secret: encoder.encode(text || "-") };
}

/** HKDF-SHA256 of `input`, no salt (zeros), `info`: `bytes` bytes. @param {Uint8Array} input @param {string | Uint8Array} info */
async function hkdf(input, info, bytes = 32) {
  const base = await crypto.subtle.importKey("raw", input, "HKDF", false, ["deriveBits"]);
  const infoBytes = typeof info === "string" ? encoder.encode(info) : info;
  const params = { name: "HKDF", hash: "SHA-256", salt: ZERO_SALT, info: infoBytes };
  return new Uint8Array(await crypto.subtle.deriveBits(params, base, bytes * 8));
}

/** The call key after someone joins: one way, so a newcomer cannot work back. @param {Uint8Array} key */
export function nextKey(key) {
  return hkdf(key, "quietroom next key");
}

/** What a page's hello proves: it holds the link secret, for this participant and key. */
function helloBytes(/** @type {string} */ participant, /** @type {Uint8Array} */ pub) {
  return join(encoder.encode("quietroom hello"), encoder.encode(participant), new Uint8Array(1), pub);
}

/**
 * Additional data of a call key sent from one page to another: its epoch, the sender's
 * count of keys it made (a replayed older key is refused), who sent it and for whom.
 * @param {number} epoch @param {number} made @param {string} from @param {string} to
 */
function keyBytes(epoch, made, from, to) {
  const count = new Uint8Array(4);
  new DataView(count.buffer).setUint32(0, made);
  const parts = [encoder.encode("quietroom key"), Uint8Array.of(epoch), count];
  return join(...parts, encoder.encode(from), new Uint8Array(1), encoder.encode(to));
}

/**
 * Ten digits in five pairs from SHA-256 of the public keys, sorted: the same on every page
 * that holds the same keys.
 * @param {Uint8Array[]} keys
 */
export async function safetyCode(keys) {
  const sorted = [...keys].sort((a, b) => (toBase64url(a) < toBase64url(b) ? -1 : 1));
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", join(...sorted)));
  let value = 0n;
  for (const byte of hash.slice(0, 8)) value = (value << 8n) | BigInt(byte);
  const digits = (value % 10n ** 10n).toString().padStart(10, "0");
  return digits.match(/../g)?.join(" ") || digits;
}

/**
 * @typedef {object} Peer
 * @property {string} role
 * @property {boolean} e2ee     the server says their page seals
 * @property {Uint8Array | null} pub   their X25519 public key, once their hello checked
 * @property {boolean} mismatch  their hello did not check: their link is not this call's
 * @property {CryptoKey | null} pair  the key we agreed with them
 * @property {number} made  the count of the last call key taken from them (staff)
 */

/**
 * @typedef {"on" | "waiting" | "clear" | "bad-link"} E2eeState
 *   on: sealed with a key from staff's page; waiting: sealed, no key yet (nothing is sent);
 *   clear: someone in the call (maybe this page) cannot seal, so nobody does;
 *   bad-link: this page's link does not hold the call's secret: it cannot see or hear the call
 */

export class CallKeys extends EventTarget {
  /**
   * @param {"script" | "streams" | null} mode  how this browser transforms frames (null: it cannot)
   * @param {Uint8Array | null} secret  the link secret (null: the link has none)
   * @param {(to: string, data: string) => void} send  an `e2ee` message through the server
   */
  constructor(mode, secret, send) {
    super();
    /** Seals and opens frames; null when this page does not (its browser or link cannot). */
    this.frames = mode && secret ? new FrameCrypto(mode) : null;
    this.secret = secret;
    this.send = send;
    this.me = "";
    this.role = "";
    /** @type {Map<string, Peer>} */
    this.peers = new Map();
    /** @type {Uint8Array | null} */
    this.key = null;
    this.epoch = 0;
    this.made = 0; // call keys this page made and gave (staff's page)
    this.mismatch = false; // staff's hello did not check: our link is not this call's
    this.code = "";
    this.clearNow = false;
    /** @type {Promise<void>} */
    this.ready = this.makeKeys();
    /** @type {Promise<void>} one message at a time, in order */
    this.queue = Promise.resolve();
  }

  /** Whether this page seals: its browser can and its link holds a secret. */
  get capable() {
    return this.frames !== null && this.secret !== null;
  }

  async makeKeys() {
    if (!this.capable) return;
    this.pairKeys = /** @type {CryptoKeyPair} */ (
      await crypto.subtle.generateKey({ name: "X25519" }, false, ["deriveBits"])
    );
    this.pub = new Uint8Array(await crypto.subtle.exportKey("raw", this.pairKeys.publicKey));
    const auth = await hkdf(/** @type {Uint8Array} */ (this.secret), "quietroom link auth");
    this.auth = await crypto.subtle.importKey(
      "raw",
      auth,
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
  }

  /** @param {() => Promise<void>} step */
  serial(step) {
    this.queue = this.queue.then(step).catch(() => {});
    return this.queue;
  }

  /** `joined` (the first time or after a comeback). @param {import("./protocol.js").Message} joined */
  enter(joined) {
    return this.serial(async () => {
      await this.ready;
      this.me = joined.participant;
      this.role = joined.role;
      const known = new Set(joined.peers.map((/** @type {any} */ p) => p.participant));
      for (const id of [...this.peers.keys()]) if (!known.has(id)) this.peers.delete(id);
      for (const peer of joined.peers) this.setPeer(peer);
      // Staff's page makes a fresh key: at the start, and on coming back (who is in the call
      // may have changed meanwhile).
      if (this.capable && this.leads()) await this.newKey(false);
      if (this.capable) await this.hello("", false);
      this.update();
    });
  }

  /** @param {import("./protocol.js").PeerInfo & {e2ee?: boolean}} info */
  setPeer(info) {
    const peer = this.peers.get(info.participant);
    if (peer) {
      peer.e2ee = Boolean(info.e2ee);
      peer.role = info.role;
    } else {
      this.peers.set(info.participant, {
        role: info.role,
        e2ee: Boolean(info.e2ee),
        pub: null,
        mismatch: false,
        pair: null,
        made: 0,
      });
    }
  }

  /** @param {any} info */
  peerJoined(info) {
    return this.serial(async () => {
      this.setPeer(info);
      this.update();
    });
  }

  /** Someone left: staff's page makes a fresh key they cannot learn. @param {string} id */
  peerLeft(id) {
    return this.serial(async () => {
      const was = this.peers.get(id);
      this.peers.delete(id);
      if (was && was.pub && this.capable && this.leads()) await this.newKey(false);
      this.update();
    });
  }

  /** An `e2ee` message from someone in the call. @param {string} from @param {string} data */
  receive(from, data) {
    return this.serial(async () => {
      await this.ready;
      if (!this.capable) return;
      let message;
      try {
        message = JSON.parse(new TextDecoder().decode(fromBase64url(data)));
      } catch {
        return;
      }
      if (message && message.t === "hello") await this.onHello(from, message);
      else if (message && message.t === "key") await this.onKey(from, message);
      this.update();
    });
  }

  /** Whether this page makes the call's keys: the staff page with the first id in the call. */
  leads() {
    if (this.role !== "staff") return false;
    for (const [id, peer] of this.peers) if (peer.role === "staff" && id < this.me) return false;
    return true;
  }

  /** @param {string} to  "" for everyone else @param {boolean} reply */
  async hello(to, reply) {
    const pub = /** @type {Uint8Array} */ (this.pub);
    const auth = /** @type {CryptoKey} */ (this.auth);
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", auth, helloBytes(this.me, pub)));
    this.post(to, { t: "hello", pub: toBase64url(pub), mac: toBase64url(mac), re: reply });
  }

  /** @param {string} to @param {Record<string, any>} body */
  post(to, body) {
    this.send(to, toBase64url(encoder.encode(JSON.stringify(body))));
  }

  /** @param {string} from @param {any} message */
  async onHello(from, message) {
    const peer = this.peers.get(from);
    if (!peer || typeof message.pub !== "string" || typeof message.mac !== "string") return;
    let pub;
    let ok = false;
    try {
      pub = fromBase64url(message.pub);
      const mac = fromBase64url(message.mac);
      const auth = /** @type {CryptoKey} */ (this.auth);
      ok = pub.length === 32 && (await crypto.subtle.verify("HMAC", auth, mac, helloBytes(from, pub)));
    } catch {
      ok = false;
    }
    if ((!ok || !pub) && peer.pub) return; // they proved their link before: not theirs
    if (!ok || !pub) {
      peer.mismatch = true;
      // Staff's page makes the call's links: if its proof fails here, our link is not this call's.
      if (peer.role === "staff") this.mismatch = true;
      if (!message.re) await this.hello(from, true); // so their page learns it too
      return;
    }
    const fresh = !peer.pub || toBase64url(peer.pub) !== toBase64url(pub);
    if (fresh) {
      peer.pair = await this.agree(from, pub); // throws for a key that agrees nothing
      peer.pub = pub;
      peer.mismatch = false;
    }
    if (peer.role === "staff") this.mismatch = false;
    if (!message.re) await this.hello(from, true);
    if (!this.leads()) return;
    // Someone new: the key moves forward for everyone, so they cannot read what came before.
    if (fresh) await this.newKey(true);
    else if (this.key) await this.sendKey(from, peer);
  }

  /** The pairwise key with `other`: X25519, then HKDF over both ids. @param {string} other @param {Uint8Array} pub */
  async agree(other, pub) {
    const theirs = await crypto.subtle.importKey("raw", pub, { name: "X25519" }, false, []);
    const pair = /** @type {CryptoKeyPair} */ (this.pairKeys);
    const shared = new Uint8Array(
      await crypto.subtle.deriveBits({ name: "X25519", public: theirs }, pair.privateKey, 256),
    );
    const [a, b] = [this.me, other].sort();
    const info = join(encoder.encode("quietroom pair"), encoder.encode(a), new Uint8Array(1), encoder.encode(b));
    const raw = await hkdf(shared, info);
    return crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
  }

  /**
   * A new call key: moved forward from the one before (someone joined) or fresh (at the
   * start, and when someone left), given to everyone whose hello checked.
   * @param {boolean} forward
   */
  async newKey(forward) {
    const key = forward && this.key ? await nextKey(this.key) : randomSecret();
    this.epoch = this.key ? (this.epoch + 1) % 256 : crypto.getRandomValues(new Uint8Array(1))[0];
    this.made += 1;
    await this.use(this.epoch, key);
    for (const [id, peer] of this.peers) if (peer.pair) await this.sendKey(id, peer);
  }

  /** @param {string} to @param {Peer} peer */
  async sendKey(to, peer) {
    const key = /** @type {Uint8Array} */ (this.key);
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const additionalData = keyBytes(this.epoch, this.made, this.me, to);
    const params = { name: "AES-GCM", iv, additionalData };
    const box = new Uint8Array(await crypto.subtle.encrypt(params, /** @type {CryptoKey} */ (peer.pair), key));
    const body = { t: "key", epoch: this.epoch, made: this.made };
    this.post(to, { ...body, iv: toBase64url(iv), box: toBase64url(box) });
  }

  /** @param {string} from @param {any} message */
  async onKey(from, message) {
    const peer = this.peers.get(from);
    if (!peer || peer.role !== "staff" || !peer.pair) return;
    const { epoch, made } = message;
    if (!Number.isInteger(epoch) || epoch < 0 || epoch > 255) return;
    // Only a key newer than the last one from them: an older one, sent again by the server,
    // could be one that someone who has left still knows.
    if (!Number.isInteger(made) || made <= peer.made || made > 0xffffffff) return;
    try {
      const iv = fromBase64url(message.iv);
      const params = { name: "AES-GCM", iv, additionalData: keyBytes(epoch, made, from, this.me) };
      const key = new Uint8Array(await crypto.subtle.decrypt(params, peer.pair, fromBase64url(message.box)));
      if (key.length !== CALL_KEY_BYTES) return;
      peer.made = made;
      this.epoch = epoch;
      await this.use(epoch, key);
    } catch {
      // not sealed for us with the key we agreed: ignored
    }
  }

  /**
   * Open frames under `key` now, and seal under it in a moment (at once if it is the first);
   * the key before opens a few seconds more.
   * @param {number} epoch @param {Uint8Array} key
   */
  async use(epoch, key) {
    const frames = /** @type {import("./e2ee.js").FrameCrypto} */ (this.frames);
    const before = this.key ? this.heldEpoch : null;
    this.key = key;
    this.heldEpoch = epoch;
    await frames.key(epoch, key, before === null ? 0 : SEAL_AFTER_MS);
    if (before !== null && before !== undefined && before !== epoch) {
      setTimeout(() => {
        if (this.heldEpoch !== before) frames.drop(before);
      }, KEEP_OLD_MS);
    }
  }

  /** Whether everyone in the call (and this page) seals. */
  allSeal() {
    if (!this.capable) return false;
    for (const peer of this.peers.values()) if (!peer.e2ee) return false;
    return true;
  }

  /** @returns {E2eeState} */
  get state() {
    if (!this.allSeal()) return "clear";
    if (this.mismatch) return "bad-link";
    return this.key ? "on" : "waiting";
  }

  /** People whose link is not this call's (staff see them). */
  mismatched() {
    return [...this.peers].filter(([, p]) => p.mismatch).map(([id]) => id);
  }

  /** People in the call whose page cannot seal. */
  cannotSeal() {
    return [...this.peers].filter(([, p]) => !p.e2ee).map(([id]) => id);
  }

  /** Work out the state again: clear or sealed, the safety code; tell the page. */
  async update() {
    const clear = this.frames !== null && !this.allSeal();
    if (this.frames && clear !== this.clearNow) this.frames.clear(clear);
    this.clearNow = clear;
    if (this.state === "on" && this.pub) {
      const keys = [this.pub];
      for (const peer of this.peers.values()) if (peer.pub) keys.push(peer.pub);
      this.code = await safetyCode(keys);
    } else this.code = "";
    this.dispatchEvent(new Event("change"));
  }

  close() {
    if (this.frames) this.frames.close();
  }
}
