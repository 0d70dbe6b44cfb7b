"""End-to-end encrypted frames, for Python peers (the bench's and the tests'): the same format
as `client_web/e2ee_frame.js`, byte for byte (see docs/e2ee.md, "Frames").

A frame is an encoded audio or video frame, before RTP packetization. Sealed, it is

    clear | ciphertext | tag (16) | counter (4) | sender (4) | epoch (1) | version (1)

- `clear`: the bytes the forwarding path and the receiver's depacketizer read, left as they
  were: the Opus TOC byte (1), a VP8 delta frame's frame tag (3), or a VP8 keyframe's frame
  tag, start code and size (10). A shorter frame is clear whole.
- The rest is AES-128-GCM under the sender's frame key for that epoch, with the 12-byte IV
  made of 8 zero bytes and `counter`, and `clear` and the trailer as additional data.
- `counter`: the sender's frame number in this epoch (from 0; never reused with a key).
- `sender`: 4 random bytes the sender picked when it joined; with `epoch`, it names the key.
- `epoch`: which call key (0 to 255), as the key moves on when people join and leave.
- `version`: 0x51 for this format.

A sender's frame key is HKDF-SHA256 of the call key (32 bytes), no salt, info
"quietroom frame key" followed by `sender`: 16 bytes. Each sender has a key of its own, so
two senders counting from 0 never share an IV under one key.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = 0x51
TAG = 16
TRAILER = struct.Struct("!IIBB")  # counter, sender, epoch, version
OVERHEAD = TAG + TRAILER.size  # bytes a sealed frame has more than the frame
CALL_KEY_BYTES = 32
INFO = b"quietroom frame key"
KEYFRAME_CLEAR, DELTA_CLEAR, OPUS_CLEAR = 10, 3, 1
MAX_COUNTER = 0xFFFFFFFF


class FrameError(ValueError):
    """A sealed frame that cannot be opened: not this format, or not this key's."""


def clear_bytes(kind: str, frame: bytes) -> int:
    """How many of the frame's first bytes stay in the clear (`kind`: "audio" or "video")."""
    if kind == "audio":
        wanted = OPUS_CLEAR
    elif kind == "video":
        # VP8 frame tag, first bit: 0 for a keyframe (RFC 6386, 9.1)
        wanted = KEYFRAME_CLEAR if frame and not frame[0] & 0x01 else DELTA_CLEAR
    else:
        raise ValueError(f"frames are audio or video, not {kind!r}")
    return min(wanted, len(frame))


def frame_key(call_key: bytes, sender: int) -> AESGCM:
    """The AES-GCM key a sender seals its frames with, for one call key."""
    if len(call_key) != CALL_KEY_BYTES:
        raise ValueError(f"a call key is {CALL_KEY_BYTES} bytes")
    info = INFO + sender.to_bytes(4, "big")
    derived = HKDF(algorithm=hashes.SHA256(), length=16, salt=None, info=info).derive(call_key)
    return AESGCM(derived)


def _iv(counter: int) -> bytes:
    return bytes(8) + counter.to_bytes(4, "big")


@dataclass
class Sealer:
    """One sender's side: seals each frame it sends under the current call key."""

    call_key: bytes
    sender: int
    epoch: int = 0
    counter: int = 0
    _key: AESGCM = field(init=False)

    def __post_init__(self) -> None:
        if not 0 <= self.sender <= 0xFFFFFFFF or not 0 <= self.epoch <= 255:
            raise ValueError("a sender is 4 bytes, an epoch 1")
        self._key = frame_key(self.call_key, self.sender)

    def rekey(self, call_key: bytes, epoch: int) -> None:
        """A new call key: frames are counted from 0 again under it."""
        if not 0 <= epoch <= 255:
            raise ValueError("an epoch is 0 to 255")
        self.call_key, self.epoch, self.counter = call_key, epoch, 0
        self._key = frame_key(call_key, self.sender)

    def seal(self, kind: str, frame: bytes) -> bytes:
        if self.counter > MAX_COUNTER:
            raise OverflowError("this key has sealed all the frames it may: a new one is needed")
        counter, self.counter = self.counter, self.counter + 1
        clear = clear_bytes(kind, frame)
        trailer = TRAILER.pack(counter, self.sender, self.epoch, VERSION)
        head = frame[:clear]
        sealed = self._key.encrypt(_iv(counter), frame[clear:], head + trailer)
        return head + sealed + trailer


@dataclass
class Opener:
    """A receiver's side: opens frames from any sender of the call, under the call keys it
    holds (the current one and, for frames still on their way, earlier ones)."""

    call_keys: dict[int, bytes] = field(default_factory=dict)  # by epoch
    _keys: dict[tuple[int, int], AESGCM] = field(default_factory=dict)  # by (epoch, sender)

    def hold(self, epoch: int, call_key: bytes) -> None:
        if not 0 <= epoch <= 255 or len(call_key) != CALL_KEY_BYTES:
            raise ValueError("an epoch is 0 to 255, a call key 32 bytes")
        self.drop(epoch)
        self.call_keys[epoch] = call_key

    def drop(self, epoch: int) -> None:
        """Forget a call key, and the senders' keys made from it."""
        self.call_keys.pop(epoch, None)
        self._keys = {k: v for k, v in self._keys.items() if k[0] != epoch}

    def open(self, kind: str, sealed: bytes) -> bytes:
        """The frame, or FrameError. An empty frame (no media: browsers send some as
        padding) is returned as it is."""
        if not sealed:
            return b""
        if len(sealed) < OVERHEAD or sealed[-1] != VERSION:
            raise FrameError("not an end-to-end encrypted frame")
        body, trailer = sealed[: -TRAILER.size], sealed[-TRAILER.size :]
        counter, sender, epoch, _ = TRAILER.unpack(trailer)
        call_key = self.call_keys.get(epoch)
        if call_key is None:
            raise FrameError("a frame under a call key this peer does not hold")
        key = self._keys.get((epoch, sender))
        if key is None:
            key = self._keys[(epoch, sender)] = frame_key(call_key, sender)
        # The clear bytes are as many as the sealer left: the frame's own first byte says.
        clear = min(clear_bytes(kind, body), len(body) - TAG)
        head = body[:clear]
        try:
            return head + key.decrypt(_iv(counter), body[clear:], head + trailer)
        except InvalidTag:
            raise FrameError("the frame does not open with this call key") from None
