"""End-to-end encrypted frames through the real server (issue 14): what the router forwards
to a viewer is, payload for payload, what the sender sealed; the server, or anyone who
captures it there, cannot decode it without the call key (PyAV decodes none of it); with the
key every frame opens and decodes.

The sender is a bench peer sending a VP8 clip that the test sealed frame by frame (the
format of bench/e2ee_frame.py and client_web/e2ee_frame.js), packetized as browsers do
(RFC 7741, a one-byte payload descriptor). The viewer's raw payloads are captured."""

from __future__ import annotations

import os
from typing import Any

import aiohttp
import av
import pytest
from conftest import RunningServer
from test_call_aiortc import admitted_guest, invite_of, staff_in_call, wait_until

from bench import client
from bench.e2ee_frame import Opener, Sealer
from bench.encoded import Clip, vp8_clip
from bench.stamp import MAGIC, SIZE


def frames_of(payloads: list[bytes]) -> list[bytes]:
    """The whole frames in a run of VP8 payloads (the bench's send-time stamp taken off each):
    a descriptor with the S bit starts a frame. A frame cut at either end is left out."""
    frames: list[bytes] = []
    current: bytearray | None = None
    for payload in payloads:
        if payload[-SIZE:-8] == MAGIC:
            payload = payload[:-SIZE]
        if not payload:
            continue
        if payload[0] & 0x10:  # S: the first packet of a frame
            if current is not None:
                frames.append(bytes(current))
            current = bytearray()
        if current is not None:
            current += payload[1:]
    return frames


def decode(frames: list[bytes]) -> tuple[int, int]:
    """(pictures decoded, frames refused) by PyAV's VP8 decoder."""
    decoder = av.CodecContext.create("vp8", "r")
    pictures = refused = 0
    for frame in frames:
        try:
            pictures += len(decoder.decode(av.Packet(frame)))
        except av.error.FFmpegError:
            refused += 1
    return pictures, refused


async def test_the_router_forwards_sealed_frames_byte_for_byte_and_cannot_decode_them(
    server: RunningServer, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = os.urandom(32)
    plain = vp8_clip(320, 240, 30)
    sealer = Sealer(key, sender=0x5EA1ED01)
    sealed = tuple(sealer.seal("video", frame) for frame in plain.frames)
    clip = Clip(sealed, plain.clock_rate, plain.step, plain.seconds_per_frame)
    monkeypatch.setitem(client.CLIPS, "video", lambda: clip)

    _api, call, staff = await staff_in_call(http, server)
    survivor = await admitted_guest(http, server, staff, invite_of(call, "survivor"), "Sam")
    captured: list[bytes] = []  # the survivor's video, as the server forwarded it to staff
    count = staff._count

    def capture(mid: str, payload: bytes) -> None:
        if staff.kinds.get(mid) == "video" and staff.streams.get(mid) == survivor.participant:
            captured.append(payload)
        count(mid, payload)

    staff._count = capture  # type: ignore[method-assign]
    try:
        for person in (staff, survivor):
            await person.start_media(max_participants=4)
        await wait_until(lambda: len(frames_of(captured)) > 2 * len(sealed), timeout=30)
    finally:
        for person in (staff, survivor):
            await person.close()

    got = frames_of(captured)
    # Byte for byte what the sender sealed: the router read the headers and nothing more.
    assert all(frame in sealed for frame in got)
    assert set(got) == set(sealed)  # every frame of the clip came, keyframe included
    start = next(n for n, frame in enumerate(got) if not frame[0] & 0x01)  # a keyframe
    got = got[start:]
    # Without the call key, nothing of it decodes: every frame is refused.
    assert decode(got) == (0, len(got))
    # With it, every frame opens and decodes.
    opener = Opener()
    opener.hold(0, key)
    opened = [opener.open("video", frame) for frame in got]
    assert set(opened) <= set(plain.frames)
    assert decode(opened) == (len(got), 0)


async def test_python_peers_seal_what_they_send_and_open_what_they_receive(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    """Bench peers with the call key open each other's audio and video frames through the
    server, all of them; a peer with another key opens none of theirs, nor they its."""
    key = os.urandom(32)
    _api, call, staff = await staff_in_call(http, server)
    survivor = await admitted_guest(http, server, staff, invite_of(call, "survivor"), "Sam")
    stranger = await admitted_guest(http, server, staff, invite_of(call, "interpreter"), "Ivo")
    staff.e2ee_key, survivor.e2ee_key, stranger.e2ee_key = key, key, os.urandom(32)
    everyone = (staff, survivor, stranger)

    def frames(viewer: Any, source: Any, kind: str, counts: Any) -> int:
        return sum(
            n
            for mid, n in counts.items()
            if viewer.kinds.get(mid) == kind and viewer.streams.get(mid) == source.participant
        )

    def enough() -> bool:
        return all(
            frames(viewer, source, kind, viewer.opened if same else viewer.unopened) > 40
            for viewer in everyone
            for source in everyone
            if source is not viewer
            for same in [(viewer is stranger) == (source is stranger)]
            for kind in ("audio", "video")
        )

    try:
        for person in everyone:
            await person.start_media(max_participants=4)
        await wait_until(enough, timeout=30)
    finally:
        for person in everyone:
            await person.close()
    for viewer in everyone:
        for source in everyone:
            if source is viewer:
                continue
            same = (viewer is stranger) == (source is stranger)
            for kind in ("audio", "video"):
                # Under the same key every frame opens; under another, none does.
                counts = viewer.unopened if same else viewer.opened
                assert frames(viewer, source, kind, counts) == 0, (viewer.participant, kind)
