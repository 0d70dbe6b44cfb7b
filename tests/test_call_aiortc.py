"""Integration: the real server and real aiortc peers holding 2- and 3-person calls."""

from __future__ import annotations

import asyncio
import threading
import time

import aiohttp
import pytest
from conftest import STAFF_NAME, STAFF_PASSWORD, RunningServer

from bench.client import Participant, StaffApi
from signaling.protocol import (
    Admit,
    Answer,
    Join,
    Joined,
    LobbyWaiting,
    Offer,
    PeerJoined,
    PeerLeft,
)


async def staff_in_call(
    http: aiohttp.ClientSession, server: RunningServer
) -> tuple[StaffApi, dict[str, object], Participant]:
    api = StaffApi(http, server.base)
    await api.sign_in(STAFF_NAME, STAFF_PASSWORD)
    call = await api.create_call()
    staff = Participant(http, server.base, headers=api.headers)
    await staff.connect()
    await staff.send(Join(call=str(call["id"])))
    await staff.expect("joined")
    return api, call, staff


def invite_of(call: dict[str, object], role: str) -> str:
    links = call["links"]
    assert isinstance(links, dict)
    return str(links[role]).split("#", 1)[1]


async def admitted_guest(
    http: aiohttp.ClientSession, server: RunningServer, staff: Participant, invite: str, name: str
) -> Participant:
    guest = Participant(http, server.base)
    await guest.connect()
    await guest.send(Join(invite=invite, name=name))
    await guest.expect("waiting")
    waiting = await staff.expect("lobby-waiting")
    assert isinstance(waiting, LobbyWaiting)
    assert waiting.name == name
    await staff.send(Admit(waiting.participant))
    joined = await guest.expect("joined")
    assert isinstance(joined, Joined)
    return guest


async def two_person_call(http: aiohttp.ClientSession, server: RunningServer) -> list[Participant]:
    """Staff and an admitted survivor, both with media started."""
    _api, call, staff = await staff_in_call(http, server)
    survivor = await admitted_guest(http, server, staff, invite_of(call, "survivor"), "Sam")
    for person in (staff, survivor):
        await person.start_media(max_participants=4)
    return [staff, survivor]


def media_counts(call: list[Participant]) -> dict[tuple[str, str], int]:
    """Packets each person of a 2-person call has received from the other, by kind."""
    a, b = call
    return {
        (x.participant, kind): x.received(kind, y.participant)
        for x, y in ((a, b), (b, a))
        for kind in ("audio", "video")
    }


def more_media(call: list[Participant], since: dict[tuple[str, str], int], by: int = 20) -> bool:
    """Whether each person received `by` more packets of each kind than in `since`."""
    return all(n > since.get(key, 0) + by for key, n in media_counts(call).items())


async def wait_until(check: object, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met in time")


def decoder_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.endswith("-decoder")]


@pytest.mark.parametrize("people", [2, 3])
async def test_everyone_receives_everyone(
    server: RunningServer, http: aiohttp.ClientSession, people: int
) -> None:
    _api, call, staff = await staff_in_call(http, server)
    guests = [await admitted_guest(http, server, staff, invite_of(call, "survivor"), "Sam")]
    if people == 3:
        guests.append(
            await admitted_guest(http, server, staff, invite_of(call, "interpreter"), "Ines")
        )
    everyone = [staff, *guests]
    try:
        for person in everyone:
            await person.start_media(max_participants=4)

        def all_flowing() -> bool:
            return all(
                viewer.received(kind, source.participant) >= 20
                for viewer in everyone
                for source in everyone
                if source is not viewer
                for kind in ("audio", "video")
            )

        await wait_until(all_flowing)
        # Nobody is told to reach a STUN or TURN server elsewhere (aiortc's default is one).
        peers = [p.pc for p in everyone] + [peer.pc for peer in server.state.hub.peers.values()]
        assert all(
            pc is not None and pc._RTCPeerConnection__configuration.iceServers == [] for pc in peers
        )
        # The server forwarded packets and never started a decoder or an encoder.
        assert not decoder_threads()
        for peer in server.state.hub.peers.values():
            for sender in peer.pc.getSenders():
                assert sender._RTCRtpSender__encoder is None
        # Everything the peers received came through the router.
        received = sum(sum(p.packets.values()) for p in everyone)
        assert sum(r.forwarded for r in server.state.hub.routers.values()) >= received >= 80
    finally:
        for person in everyone:
            await person.close()


async def test_leaving_frees_the_slot_and_others_hear_it(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    _api, call, staff = await staff_in_call(http, server)
    survivor = await admitted_guest(http, server, staff, invite_of(call, "survivor"), "")
    interpreter = await admitted_guest(http, server, staff, invite_of(call, "interpreter"), "I")
    try:
        for person in (staff, survivor, interpreter):
            await person.start_media(max_participants=4)
        await wait_until(lambda: staff.received("video", interpreter.participant) > 10)
        await interpreter.close()
        left = await staff.expect("peer-left")
        assert isinstance(left, PeerLeft) and left.participant == interpreter.participant
        await wait_until(lambda: interpreter.participant not in staff.streams.values())
        # The call goes on between the two who stayed.
        before = staff.received("video", survivor.participant)
        await wait_until(lambda: staff.received("video", survivor.participant) > before + 20)
        assert any(isinstance(m, PeerJoined) for m in survivor.seen)
    finally:
        for person in (staff, survivor):
            await person.close()


async def test_a_second_offer_still_negotiates_only_forwarded_codecs(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    _api, _call, staff = await staff_in_call(http, server)
    try:
        await staff.start_media(max_participants=4)
        assert staff.pc is not None
        await staff.pc.setLocalDescription(await staff.pc.createOffer())
        await staff.send(Offer(staff.pc.localDescription.sdp))
        answer = await staff.expect("answer")
        assert isinstance(answer, Answer)
        codecs = {
            line.split()[1].split("/")[0].lower()
            for line in answer.sdp.splitlines()
            if line.startswith("a=rtpmap:")
        }
        assert codecs <= {"opus", "vp8", "rtx"}
        assert {"opus", "vp8"} <= codecs
    finally:
        await staff.close()
