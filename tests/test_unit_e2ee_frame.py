"""The end-to-end encrypted frame format as Python peers write it (bench/e2ee_frame.py),
byte by byte as docs/e2ee.md describes it; tests/test_browser_e2ee_frame.py checks that
browsers write the same bytes."""

from __future__ import annotations

import os

import pytest
from cryptography.exceptions import InvalidTag

from bench.e2ee_frame import (
    OVERHEAD,
    TAG,
    TRAILER,
    VERSION,
    FrameError,
    Opener,
    Sealer,
    clear_bytes,
    frame_key,
)

KEY = bytes(range(32))
KEYFRAME = bytes([0x50, 0x42, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0xE0, 0x01]) + os.urandom(900)
DELTA = bytes([0x31, 0x07, 0x00]) + os.urandom(300)
OPUS = bytes([0x78]) + os.urandom(60)


def opener(epoch: int = 0, key: bytes = KEY) -> Opener:
    held = Opener()
    held.hold(epoch, key)
    return held


def test_the_bytes_the_router_and_the_depacketizer_read_stay_in_the_clear() -> None:
    sealer = Sealer(KEY, sender=0x0A0B0C0D, epoch=3)
    counters = []
    for kind, frame, clear in (("video", KEYFRAME, 10), ("video", DELTA, 3), ("audio", OPUS, 1)):
        sealed = sealer.seal(kind, frame)
        assert clear_bytes(kind, frame) == clear
        assert sealed[:clear] == frame[:clear]  # as they were
        assert sealed[clear : len(frame)] != frame[clear:]  # the rest is not
        assert len(sealed) == len(frame) + OVERHEAD == len(frame) + TAG + TRAILER.size
        counter, sender, epoch, version = TRAILER.unpack(sealed[-TRAILER.size :])
        assert (sender, epoch, version) == (0x0A0B0C0D, 3, VERSION)
        counters.append(counter)
    assert counters == [0, 1, 2]


def test_sealed_frames_are_aes_gcm_under_the_senders_own_key_with_a_counter_iv() -> None:
    sealer = Sealer(KEY, sender=7, epoch=1)
    sealed = [sealer.seal("audio", OPUS) for _ in range(3)]
    assert len(set(sealed)) == 3  # the same frame, three IVs
    key = frame_key(KEY, 7)
    for counter, frame in enumerate(sealed):
        head, body, trailer = frame[:1], frame[1:-10], frame[-10:]
        iv = bytes(8) + counter.to_bytes(4, "big")
        assert head + key.decrypt(iv, body, head + trailer) == OPUS
    # Another sender's frames are under another key: the same counters, other bytes.
    other = Sealer(KEY, sender=8, epoch=1).seal("audio", OPUS)
    assert other[1:-10] != sealed[0][1:-10]
    with pytest.raises(InvalidTag):
        key.decrypt(bytes(12), other[1:-10], other[:1] + other[-10:])


def test_frames_open_for_the_holder_of_the_call_key_and_for_no_one_else() -> None:
    sealer = Sealer(KEY, sender=0xFFFFFFFF, epoch=255)
    frames = [("video", KEYFRAME), ("video", DELTA), ("audio", OPUS)]
    sealed = [(kind, sealer.seal(kind, frame)) for kind, frame in frames]
    right = opener(255)
    assert [right.open(kind, s) for kind, s in sealed] == [f for _, f in frames]
    for wrong in (opener(255, bytes(32)), opener(254)):
        for kind, s in sealed:
            with pytest.raises(FrameError):
                wrong.open(kind, s)


def test_a_changed_byte_anywhere_including_the_clear_ones_is_refused() -> None:
    sealed = Sealer(KEY, sender=1).seal("video", KEYFRAME)
    right = opener()
    for at in (0, 5, 9, 10, len(sealed) // 2, len(sealed) - 20, len(sealed) - 10, -3):
        changed = bytearray(sealed)
        changed[at] ^= 0x04
        with pytest.raises(FrameError):
            right.open("video", bytes(changed))


def test_short_and_empty_frames_and_junk() -> None:
    sealer, right = Sealer(KEY, sender=2), opener()
    for kind in ("audio", "video"):
        for size in (0, 1, 2, 3, 9, 10, 11):
            frame = bytes([0x00]) * size  # a keyframe's first byte: 10 clear if long enough
            sealed = sealer.seal(kind, frame)
            clear = clear_bytes(kind, frame)
            assert clear == min(size, 1 if kind == "audio" else 10)  # a short one: all clear
            assert sealed[:clear] == frame[:clear] and len(sealed) == size + OVERHEAD
            assert right.open(kind, sealed) == frame
    assert right.open("audio", b"") == b""  # no media, as browsers pad: nothing to open
    for junk in (b"x", bytes(OVERHEAD - 1), bytes(40), os.urandom(100) + bytes([VERSION])):
        with pytest.raises(FrameError):
            right.open("video", junk)
    with pytest.raises(ValueError):
        clear_bytes("text", b"x")


def test_a_new_call_key_counts_from_zero_and_old_frames_open_while_their_key_is_held() -> None:
    sealer = Sealer(KEY, sender=9)
    before = sealer.seal("audio", OPUS)
    new_key = os.urandom(32)
    sealer.rekey(new_key, epoch=1)
    after = sealer.seal("audio", OPUS)
    assert TRAILER.unpack(after[-10:])[:3] == (0, 9, 1)
    held = opener()
    held.hold(1, new_key)
    assert held.open("audio", before) == held.open("audio", after) == OPUS
    held.drop(0)  # the key before is forgotten: its frames no longer open
    with pytest.raises(FrameError):
        held.open("audio", before)
    assert held.open("audio", after) == OPUS


def test_bad_keys_and_ids_are_refused_with_a_reason() -> None:
    for call_key, sender, epoch in (
        (bytes(31), 1, 0),
        (KEY, -1, 0),
        (KEY, 1 << 32, 0),
        (KEY, 1, 256),
    ):
        with pytest.raises(ValueError):
            Sealer(call_key, sender, epoch)
    with pytest.raises(ValueError):
        Opener().hold(0, bytes(16))
    sealer = Sealer(KEY, sender=1)
    sealer.counter = 1 << 32  # every counter of this key used: no IV may come again
    with pytest.raises(OverflowError):
        sealer.seal("audio", OPUS)


def test_python_peers_reassemble_the_frames_they_open_and_skip_one_with_a_packet_missing() -> None:
    from bench.sender import Reassembler, packetize
    from bench.stamp import stamped

    sealer, right = Sealer(KEY, sender=3), opener()
    big = bytes([0x50]) + os.urandom(3000)  # a keyframe of three packets
    frames = [sealer.seal("video", frame) for frame in (big, DELTA, big)]
    video = Reassembler("video")
    got, sequence = [], 100
    for number, frame in enumerate(frames):
        payloads = packetize(frame, "video")
        for n, payload in enumerate(payloads):
            sequence += 1
            if number == 0 and n == 1:
                continue  # lost: that frame cannot open, and is not given
            done = video.add(stamped(payload), n == len(payloads) - 1, sequence)
            if done is not None:
                got.append(done)
    assert got == frames[1:]
    assert [right.open("video", frame) for frame in got] == [DELTA, big]
    audio = Reassembler("audio")
    sealed = sealer.seal("audio", OPUS)
    assert audio.add(stamped(sealed), True, 1) == sealed and audio.add(b"", True, 2) is None
