"""Audio-only fallback with real aiortc peers and a real narrow link.

The survivor's downlink (what loopback delivers to its UDP port) is shaped with tbf to less
than the video it gets. The survivor's peer reports its losses in receiver reports, as
browsers do, but no bandwidth estimate, so the server judges its link by loss alone: video
to the survivor pauses, everyone is told, staff are asked to stop sending video (nobody
else could watch it), and audio goes on. Once the cap is gone, padding shows the link takes
more again and video comes back.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
from conftest import RunningServer
from netlab import loopback_port_capped, require_netns
from test_call_aiortc import two_person_call, wait_until

from bench.client import Participant
from media import bandwidth
from media.bandwidth import remb
from signaling.protocol import SendVideo, VideoPaused

CAP_KBIT = 150  # the bench's video alone is about 450 kbit/s


def local_port(person: Participant) -> int:
    """The UDP port the person's peer connection receives on (its nominated ICE pair)."""
    assert person.pc is not None
    transport: Any = person.pc.getTransceivers()[0].receiver.transport.transport
    port: int = transport._connection._nominated[1].local_candidate.port
    return port


async def test_a_lossy_narrow_link_gets_audio_only_until_it_recovers(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    require_netns()
    staff, survivor = await two_person_call(http, server)

    def got(kind: str) -> int:
        return survivor.received(kind, staff.participant)

    try:
        await wait_until(lambda: got("video") > 50 and staff.received("video", "") == 0)
        weak = VideoPaused(survivor.participant, True, "weak-connection")
        with loopback_port_capped(local_port(survivor), CAP_KBIT):
            capped = time.monotonic()
            for person in (survivor, staff):
                assert await person.expect("video-paused", timeout=15) == weak
            fell_back = time.monotonic() - capped
            assert await staff.expect("send-video", timeout=2) == SendVideo(False)
            await asyncio.sleep(0.5)  # packets already on their way
            video, audio = got("video"), got("audio")
            await asyncio.sleep(2)
            assert got("video") == video  # no video to the survivor
            assert got("audio") > audio + 60  # audio goes on (50 packets a second)
        lifted = time.monotonic()
        back = VideoPaused(survivor.participant, False, "weak-connection")
        for person in (survivor, staff):
            assert await person.expect("video-paused", timeout=20) == back
        recovered = time.monotonic() - lifted
        assert await staff.expect("send-video", timeout=2) == SendVideo(True)
        await wait_until(lambda: got("video") > video + 20)
    finally:
        for person in (staff, survivor):
            await person.close()
    print(f"\naudio only {fell_back:.1f} s after the cap; video again {recovered:.1f} s after")


async def test_a_viewers_estimate_reaches_the_sender_once_it_shows_congestion(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    """The survivor's peer reports estimates (REMB) as a browser does: staff's peer is sent
    the survivor's limit, and a lifted one once that limit is stale."""
    staff, survivor = await two_person_call(http, server)
    try:
        await wait_until(lambda: survivor.received("video", staff.participant) > 20)
        assert survivor.wire is not None
        video_of_staff = next(
            ssrc
            for ssrc, mid in survivor.mid_of.items()
            if survivor.kinds.get(mid) == "video" and survivor.streams.get(mid) == staff.participant
        )
        reporter = 4242

        def estimate(bps: int) -> None:
            assert survivor.wire is not None
            survivor.wire.send_rtcp(remb(reporter, bps, [video_of_staff]))

        # Staff are asked for no more than the survivor's estimate (it shows one person).
        estimate(2_000_000)
        await wait_until(lambda: staff.asked_bps[-1:] == [2_000_000], timeout=5)
        # It falls: the new, lower limit reaches staff at once.
        estimate(100_000)
        await wait_until(lambda: staff.asked_bps[-1:] == [100_000], timeout=5)
        # Staff's peer ignores it and goes on at ~450 kbit/s, which the survivor's link
        # carries without loss: once the fall is 5 s old, the estimate is stale and staff
        # are told they may send again. (Nor did the survivor fall back meanwhile.)
        for _ in range(40):
            estimate(100_000)
            await asyncio.sleep(0.25)
            if staff.asked_bps[-1:] == [bandwidth.NO_LIMIT_BPS]:
                break
        assert staff.asked_bps[-1:] == [bandwidth.NO_LIMIT_BPS]
        assert not any(m.type == "video-paused" for m in survivor.seen)
    finally:
        for person in (staff, survivor):
            await person.close()
