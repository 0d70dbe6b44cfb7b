"""Dropped connections with real aiortc peers: the place is kept, resume brings media back,
and after the grace period the others see the person leave."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from conftest import RunningServer, loopback_config, start_server
from test_call_aiortc import admitted_guest, invite_of, staff_in_call, two_person_call, wait_until

from bench.client import Participant
from bench.sender import Pacer
from signaling.protocol import Error, Joined, PeerAway, PeerBack, PeerLeft, Resume

GRACE = 3.0


@pytest.fixture
async def server(staff_path: Path) -> AsyncIterator[RunningServer]:
    runner, running = await start_server(loopback_config(staff_path, reconnect_grace=GRACE))
    yield running
    await runner.cleanup()


def flowing(viewer: Participant, source: Participant, at_least: int) -> bool:
    return all(viewer.received(kind, source.participant) >= at_least for kind in ("audio", "video"))


def secret_of(person: Participant) -> str:
    joined = [m for m in person.seen if isinstance(m, Joined)][-1]
    assert joined.resume
    return joined.resume


async def test_a_dropped_survivor_resumes_and_media_flows_again(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    staff, survivor = await two_person_call(http, server)
    back = Participant(http, server.base)
    try:
        await wait_until(lambda: flowing(staff, survivor, 20) and flowing(survivor, staff, 20))

        # The survivor's socket drops (no 'leave'): staff are told, the place is kept.
        assert survivor.ws is not None
        await survivor.ws.close()
        assert await staff.expect("peer-away") == PeerAway(survivor.participant)

        # Back on a new socket with the secret: the same participant, media anew.
        await back.connect()
        await back.send(Resume(secret_of(survivor)))
        joined = await back.expect("joined")
        assert isinstance(joined, Joined) and joined.resumed
        assert joined.participant == survivor.participant and joined.resume != secret_of(survivor)
        assert [p.participant for p in joined.peers] == [staff.participant]
        back.participant = joined.participant
        assert await staff.expect("peer-back") == PeerBack(survivor.participant)
        before = staff.received("video", survivor.participant)
        await back.start_media(max_participants=4)
        await wait_until(
            lambda: (
                staff.received("video", survivor.participant) > before + 20
                and flowing(back, staff, 20)
            )
        )
        assert not any(m.type == "peer-left" for m in staff.seen)
    finally:
        for person in (staff, survivor, back):
            await person.close()


async def test_after_the_grace_period_staff_see_the_survivor_leave(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    _api, call, staff = await staff_in_call(http, server)
    survivor = await admitted_guest(http, server, staff, invite_of(call, "survivor"), "Sam")
    late = Participant(http, server.base)
    try:
        assert survivor.ws is not None
        await survivor.ws.close()
        await staff.expect("peer-away")
        left = await staff.expect("peer-left", timeout=GRACE + 5)
        assert left == PeerLeft(survivor.participant, dropped=True)

        await late.connect()
        await late.send(Resume(secret_of(survivor)))
        error = await late.expect("error")
        assert isinstance(error, Error) and error.code == "invalid-resume"
    finally:
        for person in (staff, survivor, late):
            await person.close()


async def test_media_that_stops_is_reported_before_the_socket_notices(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    staff, survivor = await two_person_call(http, server)
    try:
        await wait_until(lambda: flowing(staff, survivor, 20))
        # The survivor's network goes quiet, but the socket stays open.
        pacer = Pacer.of_running_loop()
        for stream in survivor.outgoing:
            pacer.remove(stream)
        assert await staff.expect("peer-away", timeout=5) == PeerAway(survivor.participant)
        for stream in survivor.outgoing:
            stream.started, stream.index = time.monotonic(), 0
            pacer.add(stream)
        assert await staff.expect("peer-back", timeout=5) == PeerBack(survivor.participant)
        assert not any(m.type == "peer-left" for m in staff.seen)
    finally:
        for person in (staff, survivor):
            await person.close()
