"""Transport-wide congestion control with real aiortc peers through the real server.

The peers offer the transport-cc header extension and send feedback on what arrives, as
browsers do (`Participant.transport_cc`). The server numbers every packet it sends to each
of them, reads the feedback into its own estimate of their downlink, and judges the fallback
by it: a survivor whose port on loopback is shaped to less than the video it gets falls back
to audio only, and once the cap is gone the server's probes show it and video comes back.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
from conftest import RunningServer
from netlab import loopback_port_capped, require_netns
from test_call_aiortc import admitted_guest, invite_of, staff_in_call, wait_until
from test_fallback_aiortc import local_port

from bench.client import Participant
from media.hub import MediaHub
from media.router import Router
from signaling.protocol import VideoPaused

CAP_KBIT = 150  # the bench's video alone is about 450 kbit/s


async def transport_cc_call(
    http: aiohttp.ClientSession, server: RunningServer
) -> tuple[Participant, Participant]:
    _api, call, staff = await staff_in_call(http, server)
    survivor = await admitted_guest(http, server, staff, invite_of(call, "survivor"), "Sam")
    for person in (staff, survivor):
        person.transport_cc = True
        await person.start_media(max_participants=4)
    return staff, survivor


def router_of(server: RunningServer) -> Router:
    hub = server.state.hub
    assert isinstance(hub, MediaHub)
    (router,) = hub.routers.values()
    return router


async def test_the_server_estimates_each_viewers_downlink_from_its_feedback(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    staff, survivor = await transport_cc_call(http, server)
    try:
        await wait_until(lambda: survivor.received("video", staff.participant) > 50)
        await wait_until(lambda: survivor.feedbacks > 20 and staff.feedbacks > 20)
        measured = router_of(server).members[survivor.participant].measured
        assert measured is not None
        await wait_until(lambda: measured.feedbacks > 20)
        # The link (loopback) is wide: the estimate grows from its start, nothing is lost.
        await asyncio.sleep(2)
        now = time.monotonic()
        assert measured.estimator.bitrate > 300_000
        assert measured.estimator.loss == 0.0
        assert measured.video(now) is not None
        # Staff are asked for no more than the survivor's video estimate, if it fell at all.
        target = router_of(server).target_for(staff.participant, now)
        assert target is None or target <= measured.estimator.bitrate
    finally:
        for person in (staff, survivor):
            await person.close()


async def test_a_capped_link_falls_back_and_probes_bring_video_back(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    require_netns()
    staff, survivor = await transport_cc_call(http, server)

    def got(kind: str) -> int:
        return survivor.received(kind, staff.participant)

    try:
        await wait_until(lambda: got("video") > 50 and survivor.feedbacks > 10)
        measured = router_of(server).members[survivor.participant].measured
        assert measured is not None
        weak = VideoPaused(survivor.participant, True, "weak-connection")
        with loopback_port_capped(local_port(survivor), CAP_KBIT):
            capped = time.monotonic()
            assert await survivor.expect("video-paused", timeout=10) == weak
            fell_back = time.monotonic() - capped
            await asyncio.sleep(0.5)
            video, audio = got("video"), got("audio")
            await asyncio.sleep(6)
            assert got("video") == video  # no video to the survivor
            assert got("audio") > audio + 200  # audio goes on (50 packets a second)
            assert measured.prober.probes >= 1 and measured.prober.succeeded == 0
        lifted = time.monotonic()
        back = VideoPaused(survivor.participant, False, "weak-connection")
        assert await survivor.expect("video-paused", timeout=10) == back
        recovered = time.monotonic() - lifted
        assert measured.prober.succeeded >= 1
        await wait_until(lambda: got("video") > video + 20)
    finally:
        for person in (staff, survivor):
            await person.close()
    print(f"\naudio only {fell_back:.1f} s after the cap; video again {recovered:.1f} s after")
