"""The keys of an end-to-end encrypted call, for Python peers: the twin of `CallKeys` in
`client_web/e2ee_keys.js`, byte for byte (docs/e2ee.md, "Keys").

- The link secret (the part of the link's fragment after the dot) proves who holds a link
  of the call: HMAC-SHA256 under HKDF(secret, "quietroom link auth").
- Each peer makes an X25519 key pair and sends a hello, `{"t":"hello","pub","mac","re"}`;
  two peers whose hellos checked agree an AES-256-GCM pairwise key.
- Staff's peer (the staff with the first participant id) makes the call key and gives it to
  each peer whose hello checked, sealed under their pairwise key: `{"t":"key","epoch",
  "made","iv","box"}`. It moves forward (one way) when someone joins, and is made afresh
  when someone leaves.
- The safety code: ten digits from SHA-256 of the public keys held.

No I/O: each method takes what came through signaling and returns the `e2ee` messages to
send, as `(to, data)` (`to` "" for everyone else in the call); the caller relays them. A
new key opens at once and seals one second later (at once if it is the first); the key
before opens five seconds more: `sealing()` and `opening()` say which, by the clock given.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SECRET_BYTES = 32
CALL_KEY_BYTES = 32
KEEP_OLD_SECONDS = 5.0  # frames sealed under the key before still open this long
SEAL_AFTER_SECONDS = 1.0  # a new key is sealed under this long after it is given
ZERO_SALT = bytes(32)
MAX_MADE = 0xFFFFFFFF
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")

Outgoing = tuple[str, str]  # an `e2ee` message to send: to ("" for everyone else), data
State = Literal["on", "waiting", "clear", "bad-link"]


def to_base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def from_base64url(text: str) -> bytes:
    """Base64url without padding, as the pages read it; ValueError if it is not."""
    if not _BASE64URL.fullmatch(text):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as error:
        raise ValueError("not base64url") from error


def split_fragment(fragment: str) -> tuple[str, bytes | None]:
    """A link's fragment, `<invite token>.<link secret>`: (the token, for the server; the
    secret, never sent). The secret is None when the link has none; one that is not 32 bytes
    of base64url is kept as it is, wrong (its text), so the peer's hellos do not check."""
    token, dot, text = fragment.partition(".")
    if not dot:
        return fragment, None
    try:
        secret = from_base64url(text)
    except ValueError:
        pass
    else:
        if len(secret) == SECRET_BYTES:
            return token, secret
    return token, (text or "-").encode()


def hkdf(data: bytes, info: bytes, length: int = 32) -> bytes:
    """HKDF-SHA256 with a salt of 32 zero bytes."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=ZERO_SALT, info=info).derive(data)


def next_key(key: bytes) -> bytes:
    """The call key after someone joins: one way, so a newcomer cannot work back."""
    return hkdf(key, b"quietroom next key")


def hello_bytes(participant: str, pub: bytes) -> bytes:
    """What a hello's MAC proves: its sender holds the link secret, for this id and key."""
    return b"quietroom hello" + participant.encode() + b"\x00" + pub


def key_bytes(epoch: int, made: int, sender: str, reader: str) -> bytes:
    """Additional data of a call key sent from one peer to another."""
    head = b"quietroom key" + bytes([epoch]) + made.to_bytes(4, "big")
    return head + sender.encode() + b"\x00" + reader.encode()


def safety_code(keys: Iterable[bytes]) -> str:
    """Ten digits in five pairs from SHA-256 of the public keys, sorted by their base64url."""
    ordered: list[bytes] = sorted(keys, key=to_base64url)
    digest = hashlib.sha256(b"".join(ordered)).digest()
    digits = f"{int.from_bytes(digest[:8], 'big') % 10**10:010d}"
    return " ".join(digits[i : i + 2] for i in range(0, 10, 2))


def _js_truthy(value: Any) -> bool:
    """Whether JavaScript takes this JSON value as true."""
    if value is None or value is False or value == "":
        return False
    return not (isinstance(value, int | float) and value == 0)


def _js_integer(value: Any) -> int | None:
    """A JSON number that is an integer (`Number.isInteger`), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class PeerFacts(Protocol):
    """Who someone in the call is, as the server says (`signaling.protocol.PeerInfo`)."""

    @property
    def participant(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def e2ee(self) -> bool: ...


@dataclass
class Peer:
    role: str
    e2ee: bool  # the server says they seal
    pub: bytes | None = None  # their X25519 public key, once their hello checked
    mismatch: bool = False  # their hello did not check: their link is not this call's
    pair: AESGCM | None = None  # the key agreed with them
    made: int = 0  # the count of the last call key taken from them (staff)


class CallKeys:
    """One peer's keys of a call (it holds the link secret, so it seals)."""

    def __init__(self, secret: bytes, clock: Callable[[], float] = time.monotonic) -> None:
        self.secret, self.clock = secret, clock
        self._private = X25519PrivateKey.generate()
        self.pub = self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self._auth = hkdf(secret, b"quietroom link auth")
        self.me = ""
        self.role = ""
        self.peers: dict[str, Peer] = {}
        self.key: bytes | None = None  # the latest call key
        self.epoch = 0
        self.made = 0  # call keys this peer made and gave (staff's)
        self.mismatch = False  # staff's hello did not check: our link is not this call's
        # What the page's worker does with the keys: opens under these, seals under one.
        self._held_epoch = 0
        self._open: dict[int, bytes] = {}
        self._seal: tuple[int, bytes] | None = None
        self._timers: list[tuple[float, int, int, bytes | None]] = []  # at, n, epoch, seal key
        self._timer_count = 0

    # ------------------------------------------------------------ what signaling says

    def enter(self, me: str, role: str, peers: Iterable[PeerFacts]) -> list[Outgoing]:
        """`joined` (the first time or after a comeback)."""
        self.me, self.role = me, role
        peers = list(peers)
        known = {p.participant for p in peers}
        for gone in [id_ for id_ in self.peers if id_ not in known]:
            del self.peers[gone]
        for peer in peers:
            self.peer_joined(peer)
        out = self._new_key(forward=False) if self.leads() else []
        out.append(self.hello("", reply=False))
        return out

    def peer_joined(self, info: PeerFacts) -> list[Outgoing]:
        """`peer-joined`, or a peer as `joined` lists it."""
        peer = self.peers.get(info.participant)
        if peer is None:
            self.peers[info.participant] = Peer(info.role, bool(info.e2ee))
        else:
            peer.role, peer.e2ee = info.role, bool(info.e2ee)
        return []

    def peer_left(self, participant: str) -> list[Outgoing]:
        """Someone left: staff's peer makes a fresh key they cannot learn."""
        was = self.peers.pop(participant, None)
        if was is not None and was.pub is not None and self.leads():
            return self._new_key(forward=False)
        return []

    def receive(self, sender: str, data: str) -> list[Outgoing]:
        """An `e2ee` message from someone in the call; anything else than a hello or a call
        key as the pages write them is ignored."""
        try:
            text = from_base64url(data).decode("utf-8", errors="replace")
            message = json.loads(text, parse_constant=_no_constants)
        except (ValueError, RecursionError):
            return []
        if not isinstance(message, dict):
            return []
        if message.get("t") == "hello":
            return self._on_hello(sender, message)
        if message.get("t") == "key":
            self._on_key(sender, message)
        return []

    # ------------------------------------------------------------ what others see

    def leads(self) -> bool:
        """Whether this peer makes the call's keys: staff, with the first id among staff."""
        if self.role != "staff":
            return False
        return not any(p.role == "staff" and id_ < self.me for id_, p in self.peers.items())

    def all_seal(self) -> bool:
        return all(p.e2ee for p in self.peers.values())

    @property
    def clear(self) -> bool:
        """Someone in the call cannot seal: everyone sends in the clear."""
        return not self.all_seal()

    @property
    def state(self) -> State:
        if not self.all_seal():
            return "clear"
        if self.mismatch:
            return "bad-link"
        return "on" if self.key is not None else "waiting"

    @property
    def code(self) -> str:
        """The safety code, while the call is end to end ("" otherwise)."""
        if self.state != "on":
            return ""
        return safety_code([self.pub, *(p.pub for p in self.peers.values() if p.pub)])

    def mismatched(self) -> list[str]:
        """People whose link is not this call's."""
        return [id_ for id_, p in self.peers.items() if p.mismatch]

    def cannot_seal(self) -> list[str]:
        return [id_ for id_, p in self.peers.items() if not p.e2ee]

    def sealing(self) -> tuple[int, bytes] | None:
        """The call key to seal under now, with its epoch (None: none yet, send nothing)."""
        self._advance(self.clock())
        return self._seal

    def opening(self) -> dict[int, bytes]:
        """The call keys frames open under now, by epoch."""
        self._advance(self.clock())
        return dict(self._open)

    # ------------------------------------------------------------ messages

    def hello(self, to: str, reply: bool) -> Outgoing:
        mac = hmac.digest(self._auth, hello_bytes(self.me, self.pub), "sha256")
        body = {"t": "hello", "pub": to_base64url(self.pub), "mac": to_base64url(mac)}
        return self._post(to, {**body, "re": reply})

    @staticmethod
    def _post(to: str, body: dict[str, Any]) -> Outgoing:
        text = json.dumps(body, separators=(",", ":"))  # as JSON.stringify writes it
        return to, to_base64url(text.encode())

    def _on_hello(self, sender: str, message: dict[str, Any]) -> list[Outgoing]:
        peer = self.peers.get(sender)
        pub_text, mac_text = message.get("pub"), message.get("mac")
        if peer is None or not isinstance(pub_text, str) or not isinstance(mac_text, str):
            return []
        reply = _js_truthy(message.get("re"))
        try:
            pub, mac = from_base64url(pub_text), from_base64url(mac_text)
        except ValueError:
            pub = mac = b""
        expected = hmac.digest(self._auth, hello_bytes(sender, pub), "sha256")
        out: list[Outgoing] = []
        proved = len(pub) == 32 and hmac.compare_digest(mac, expected)
        if not proved and peer.pub is not None:
            return out  # they proved their link before: this hello is not theirs
        if not proved:
            peer.mismatch = True
            # Staff's peer makes the call's links: if its proof fails, our link is not this
            # call's.
            if peer.role == "staff":
                self.mismatch = True
            if not reply:
                out.append(self.hello(sender, reply=True))  # so they learn it too
            return out
        fresh = peer.pub != pub
        if fresh:
            try:
                peer.pair = self._agree(sender, pub)
            except ValueError:  # a key of low order: no shared secret (WebCrypto throws too)
                return out
            peer.pub, peer.mismatch = pub, False
        if peer.role == "staff":
            self.mismatch = False
        if not reply:
            out.append(self.hello(sender, reply=True))
        if not self.leads():
            return out
        # Someone new: the key moves forward for everyone, so they cannot read what came before.
        if fresh:
            out += self._new_key(forward=True)
        elif self.key is not None:
            out.append(self._send_key(sender, peer))
        return out

    def _agree(self, other: str, pub: bytes) -> AESGCM:
        """The pairwise key with `other`: X25519, then HKDF over both ids, sorted."""
        shared = self._private.exchange(X25519PublicKey.from_public_bytes(pub))
        a, b = sorted((self.me, other))
        return AESGCM(hkdf(shared, b"quietroom pair" + a.encode() + b"\x00" + b.encode()))

    def _new_key(self, forward: bool) -> list[Outgoing]:
        """A new call key, moved forward (someone joined) or fresh (at the start, and when
        someone left), given to everyone whose hello checked."""
        key = next_key(self.key) if forward and self.key else os.urandom(CALL_KEY_BYTES)
        self.epoch = (self.epoch + 1) % 256 if self.key is not None else os.urandom(1)[0]
        self.made += 1
        self._use(self.epoch, key)
        return [self._send_key(id_, p) for id_, p in self.peers.items() if p.pair is not None]

    def _send_key(self, to: str, peer: Peer) -> Outgoing:
        assert self.key is not None and peer.pair is not None
        iv = os.urandom(12)
        box = peer.pair.encrypt(iv, self.key, key_bytes(self.epoch, self.made, self.me, to))
        body = {"t": "key", "epoch": self.epoch, "made": self.made}
        return self._post(to, {**body, "iv": to_base64url(iv), "box": to_base64url(box)})

    def _on_key(self, sender: str, message: dict[str, Any]) -> None:
        peer = self.peers.get(sender)
        if peer is None or peer.role != "staff" or peer.pair is None:
            return
        epoch, made = _js_integer(message.get("epoch")), _js_integer(message.get("made"))
        if epoch is None or not 0 <= epoch <= 255:
            return
        # Only a key newer than the last one from them: an older one, sent again by the
        # server, could be one that someone who has left still knows.
        if made is None or made <= peer.made or made > MAX_MADE:
            return
        iv_text, box_text = message.get("iv"), message.get("box")
        if not isinstance(iv_text, str) or not isinstance(box_text, str):
            return
        try:
            iv, box = from_base64url(iv_text), from_base64url(box_text)
            key = peer.pair.decrypt(iv, box, key_bytes(epoch, made, sender, self.me))
        except (ValueError, InvalidTag):
            return  # not sealed for us with the key we agreed: ignored
        if len(key) != CALL_KEY_BYTES:
            return
        peer.made, self.epoch = made, epoch
        self._use(epoch, key)

    # ------------------------------------------------------------ the keys in use

    def _use(self, epoch: int, key: bytes) -> None:
        """Open under `key` now, seal under it in a moment (at once if it is the first);
        the key before opens a few seconds more."""
        now = self.clock()
        self._advance(now)
        before = self._held_epoch if self.key is not None else None
        self.key, self._held_epoch = key, epoch
        self._open[epoch] = key
        if self._seal is None:
            self._seal = (epoch, key)
        else:
            self._schedule(now + (0.0 if before is None else SEAL_AFTER_SECONDS), epoch, key)
        if before is not None and before != epoch:
            self._schedule(now + KEEP_OLD_SECONDS, before, None)

    def _schedule(self, at: float, epoch: int, seal: bytes | None) -> None:
        self._timer_count += 1
        self._timers.append((at, self._timer_count, epoch, seal))
        self._timers.sort(key=lambda t: (t[0], t[1]))

    def _advance(self, now: float) -> None:
        """Do what was due by `now`, in order: seal under a newer key, drop an older one."""
        while self._timers and self._timers[0][0] <= now:
            _, _, epoch, seal = self._timers.pop(0)
            if seal is not None:
                self._seal = (epoch, seal)
            elif epoch != self._held_epoch:
                self._open.pop(epoch, None)
