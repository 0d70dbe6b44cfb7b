"""Integration: bad signaling messages and bad API requests get clear errors and harm nothing.

A real 2-person call (staff and survivor, media flowing both ways) runs while other
connections send everything a confused browser or a hostile script could send.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender
from aiortc.rtcconfiguration import RTCBundlePolicy
from conftest import STAFF_NAME, STAFF_PASSWORD, RunningServer, loopback_config, start_server
from test_call_aiortc import admitted_guest, invite_of, staff_in_call, wait_until

from bench.client import Participant, StaffApi
from signaling.participant import Place
from signaling.protocol import (
    Admit,
    Candidate,
    Error,
    Join,
    LobbyWaiting,
    Message,
    Offer,
)

# A bad message sent after each case: the socket must still answer it.
PROBE = '{"type":"no-such-type"}'
KINDS = ("audio", "video")
# Offers the server must refuse with "bad-sdp" (aiortc raises on them).
BAD_SDP = {
    "no-ice": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\n",
    "bare-m-line": "v=0\r\nm=audio\r\n",
}
# Text with no media section at all: aiortc takes it as an empty offer.
NOT_SDP = ["this is not SDP", "", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"]


async def refused(person: Participant, payload: str | bytes, code: str) -> Error:
    """Send `payload`: the reply is an `error` with `code` and a reason, and the socket lives on."""
    assert person.ws is not None
    if isinstance(payload, bytes):
        await person.ws.send_bytes(payload)
    else:
        await person.send(payload)
    reply = await person.expect("error")
    assert isinstance(reply, Error)
    assert reply.code == code, f"expected {code!r}, got {reply.code!r} ({reply.reason})"
    assert isinstance(reply.reason, str) and reply.reason.strip(), "the reason is empty"
    assert not person.ws.closed
    await person.send(PROBE)
    probe = await person.expect("error")
    assert isinstance(probe, Error) and probe.code == "unknown-type", probe
    assert probe.reason.strip()
    return reply


def snapshot(viewer: Participant, source: Participant) -> dict[str, int]:
    return {kind: viewer.received(kind, source.participant) for kind in KINDS}


async def both_ways(
    staff: Participant,
    survivor: Participant,
    before: tuple[dict[str, int], dict[str, int]] | None = None,
    more: int = 25,
    timeout: float = 15.0,
) -> None:
    """Wait until each of the two received `more` packets of each kind from the other."""
    zero = {kind: 0 for kind in KINDS}
    seen_by_staff, seen_by_survivor = before or (zero, zero)
    try:
        await wait_until(
            lambda: (
                flowing_past(staff, survivor, seen_by_staff, more)
                and flowing_past(survivor, staff, seen_by_survivor, more)
            ),
            timeout=timeout,
        )
    except AssertionError:
        raise AssertionError(
            f"media did not flow: staff got {snapshot(staff, survivor)} "
            f"(before {seen_by_staff}), survivor got {snapshot(survivor, staff)} "
            f"(before {seen_by_survivor}), needed {more} more of each"
        ) from None


def flowing_past(
    viewer: Participant, source: Participant, before: dict[str, int], more: int = 25
) -> bool:
    return all(viewer.received(kind, source.participant) >= before[kind] + more for kind in KINDS)


@pytest.fixture
async def people() -> AsyncIterator[list[Participant]]:
    """Everyone a test connects; all are closed at the end, whatever happened."""
    everyone: list[Participant] = []
    try:
        yield everyone
    finally:
        for person in everyone:
            await person.close()


async def test_bad_messages_get_errors_and_leave_the_call_alone(
    server: RunningServer, http: aiohttp.ClientSession, people: list[Participant]
) -> None:
    # The call that must not notice anything.
    api, call, staff = await staff_in_call(http, server)
    people.append(staff)
    survivor = await admitted_guest(http, server, staff, invite_of(call, "survivor"), "Sam")
    people.append(survivor)
    for person in (staff, survivor):
        await person.start_media(max_participants=4)
    await both_ways(staff, survivor, more=20)
    before = (snapshot(staff, survivor), snapshot(survivor, staff))
    seen_before = {"staff": len(staff.seen), "survivor": len(survivor.seen)}

    # A stranger's connection: not signed in, not joined.
    stranger = Participant(http, server.base)
    people.append(stranger)
    await stranger.connect()
    await refused(stranger, '{"type": "join", "invite": ', "bad-json")
    await refused(stranger, "not json at all", "bad-json")
    await refused(stranger, '[{"type": "leave"}]', "bad-message")
    await refused(stranger, '"join"', "bad-message")
    await refused(stranger, '{"invite": "x"}', "bad-message")
    await refused(stranger, '{"type": "dance"}', "unknown-type")
    await refused(stranger, '{"type": "mute", "audio": "yes", "video": true}', "bad-field")
    await refused(stranger, '{"type": "join", "invite": 12}', "bad-field")
    await refused(stranger, '{"type": "join", "invite": "x", "color": "red"}', "bad-field")
    await refused(stranger, '{"type": "admit"}', "bad-field")
    await refused(
        stranger, json.dumps({"type": "offer", "sdp": "v=0\r\n" + "a" * 70_000}), "too-large"
    )
    await refused(
        stranger, Candidate("candidate:1 1 udp 1 127.0.0.1 9 typ host").to_json(), "not-joined"
    )
    await refused(stranger, Offer("v=0\r\n").to_json(), "not-joined")
    await refused(stranger, Admit(staff.participant).to_json(), "not-joined")
    await refused(stranger, Join(invite="not-a-real-invite-token").to_json(), "invalid-invite")
    await refused(stranger, Join(invite="").to_json(), "bad-field")
    await refused(stranger, b"\x00\x01 binary frame", "bad-message")
    # Knowing the call id is not enough to join it: that needs a staff sign-in.
    await refused(stranger, Join(call=str(call["id"])).to_json(), "unauthorized")

    # An invite whose call has expired (time moved on by editing the call).
    expired = await api.create_call()
    expiring = server.state.store.get(str(expired["id"]))
    assert expiring is not None
    expiring.expires_at = time.time() - 1
    await refused(stranger, Join(invite=invite_of(expired, "survivor")).to_json(), "invalid-invite")
    # An invite whose call staff ended through the API.
    ended = await api.create_call()
    await api.end_call(str(ended["id"]))
    for role in ("survivor", "interpreter"):
        await refused(stranger, Join(invite=invite_of(ended, role)).to_json(), "invalid-invite")
    assert all(m.type == "error" for m in stranger.seen), stranger.seen

    # A second call: its survivor is a member and tries what only staff may do, or bad media.
    second = await api.create_call()
    staff2 = Participant(http, server.base, headers=api.headers)
    people.append(staff2)
    await staff2.connect()
    await staff2.send(Join(call=str(second["id"])))
    await staff2.expect("joined")
    guest = await admitted_guest(http, server, staff2, invite_of(second, "survivor"), "G")
    people.append(guest)
    interpreter = Participant(http, server.base)
    people.append(interpreter)
    await interpreter.connect()
    await interpreter.send(Join(invite=invite_of(second, "interpreter"), name="Waiting"))
    await interpreter.expect("waiting")
    waiting = await staff2.expect("lobby-waiting")
    assert isinstance(waiting, LobbyWaiting)

    await refused(guest, Admit(waiting.participant).to_json(), "forbidden")
    deny = json.dumps({"type": "deny", "participant": waiting.participant})
    await refused(guest, deny, "forbidden")
    await refused(guest, '{"type": "end"}', "forbidden")
    await refused(guest, Join(invite=invite_of(second, "survivor")).to_json(), "already-joined")
    await refused(
        guest, Candidate("candidate:1 1 udp 1 127.0.0.1 9 typ host").to_json(), "no-offer"
    )
    for sdp in BAD_SDP.values():
        await refused(guest, Offer(sdp).to_json(), "bad-sdp")
    await refused(
        guest, Candidate("candidate:1 1 udp 1 127.0.0.1 9 typ host").to_json(), "no-offer"
    )
    await refused(guest, '{"type": "mute", "audio": true, "video": 1}', "bad-field")
    await refused(guest, b"\xff\xfe", "bad-message")
    # Nobody was let in by the survivor, and the second call goes on.
    second_call = server.state.store.get(str(second["id"]))
    assert second_call is not None
    assert second_call.participants[waiting.participant].place is Place.LOBBY
    assert not any(m.type == "joined" for m in interpreter.seen)
    # Nor can someone still waiting in the lobby send media or mute.
    await refused(interpreter, Offer(BAD_SDP["no-ice"]).to_json(), "not-in-call")
    await refused(interpreter, '{"type": "mute", "audio": false, "video": false}', "not-in-call")
    await refused(interpreter, Admit(waiting.participant).to_json(), "forbidden")
    assert not any(m.type in ("ended", "peer-left") for m in (*staff2.seen, *guest.seen))

    # After all of that, the first call never noticed: no messages, and media keeps flowing.
    await both_ways(staff, survivor, before)
    unexpected = [
        m
        for who, person in (("staff", staff), ("survivor", survivor))
        for m in person.seen[seen_before[who] :]
        if m.type != "streams"
    ]
    assert not unexpected
    first_call = server.state.store.get(str(call["id"]))
    assert first_call is not None and len(first_call.in_call()) == 2


async def reply_to_offer(person: Participant, sdp: str) -> Message:
    """Send an offer and return the server's reply to it: an `answer` or an `error`."""
    await person.send(Offer(sdp))
    deadline = time.monotonic() + 10
    while True:
        message = await asyncio.wait_for(person.inbox.get(), max(0.01, deadline - time.monotonic()))
        if message.type in ("answer", "error"):
            return message


async def offer_without(codec: str) -> str:
    """A real aiortc offer (as in `Participant.start_media`) whose video lacks `codec`."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
    try:
        pc.addTransceiver("audio", direction="sendonly")
        video = pc.addTransceiver("video", direction="sendonly")
        video.setCodecPreferences(
            [
                c
                for c in RTCRtpSender.getCapabilities("video").codecs
                if c.mimeType.lower() not in (codec, "video/rtx")
            ]
        )
        await pc.setLocalDescription(await pc.createOffer())
        return str(pc.localDescription.sdp)
    finally:
        await pc.close()


async def test_offer_without_any_media_section_is_refused(
    server: RunningServer, http: aiohttp.ClientSession, people: list[Participant]
) -> None:
    _api, call, staff = await staff_in_call(http, server)
    people.append(staff)
    survivor = await admitted_guest(http, server, staff, invite_of(call, "survivor"), "Sam")
    people.append(survivor)
    for sdp in NOT_SDP:
        reply = await reply_to_offer(survivor, sdp)
        assert isinstance(reply, Error) and reply.code == "bad-sdp", (sdp, reply)


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param("no-ice", id="no-ice-credentials"),
        pytest.param("h264-only", id="unsupported-codec"),
        pytest.param("not-sdp", id="no-media-section"),
    ],
)
async def test_a_good_offer_after_a_bad_one_still_connects(
    server: RunningServer, http: aiohttp.ClientSession, people: list[Participant], bad: str
) -> None:
    """A member whose offer was not usable can send a good one and then gets media."""
    _api, call, staff = await staff_in_call(http, server)
    people.append(staff)
    survivor = await admitted_guest(http, server, staff, invite_of(call, "survivor"), "Sam")
    people.append(survivor)
    if bad == "h264-only":
        reply = await reply_to_offer(survivor, await offer_without("video/vp8"))
        assert isinstance(reply, Error) and reply.code == "unsupported-codec", reply
    elif bad == "no-ice":
        reply = await reply_to_offer(survivor, BAD_SDP["no-ice"])
        assert isinstance(reply, Error) and reply.code == "bad-sdp", reply
    else:
        await reply_to_offer(survivor, NOT_SDP[0])  # refused or (wrongly) answered
    for person in (staff, survivor):
        await person.start_media(max_participants=4)
    await both_ways(staff, survivor, more=20, timeout=10)


async def test_invite_of_an_expired_call_is_refused(
    staff_path: Path, http: aiohttp.ClientSession, people: list[Participant]
) -> None:
    """With a short call expiry, a call past its time ends for those in it and its links die."""
    runner, server = await start_server(loopback_config(staff_path, call_expiry=60))
    try:
        _api, call, staff = await staff_in_call(http, server)
        people.append(staff)
        survivor = await admitted_guest(http, server, staff, invite_of(call, "survivor"), "S")
        people.append(survivor)
        stored = server.state.store.get(str(call["id"]))
        assert stored is not None and stored.expires_at - time.time() <= 60
        stored.expires_at = time.time() - 1  # 60 s from now has passed

        late = Participant(http, server.base)
        people.append(late)
        await late.connect()
        await refused(late, Join(invite=invite_of(call, "interpreter")).to_json(), "invalid-invite")
        # The sweep ends the call for the people in it; then its links stay dead.
        await staff.expect("ended", timeout=15)
        await survivor.expect("ended", timeout=5)
        assert server.state.store.get(str(call["id"])) is None
        await refused(late, Join(invite=invite_of(call, "survivor")).to_json(), "invalid-invite")
        await refused(late, Join(call=str(call["id"])).to_json(), "unauthorized")
    finally:
        # Hang up first: the server waits for open sockets when it stops.
        for person in people:
            await person.close()
        people.clear()
        await runner.cleanup()


# ------------------------------------------------------------------ HTTP API


async def json_error(response: aiohttp.ClientResponse, status: int, code: str) -> None:
    assert response.status == status, (response.status, await response.text())
    assert response.content_type == "application/json", await response.text()
    body = await response.json()
    assert body.get("error") == code, body
    assert isinstance(body.get("reason"), str) and body["reason"].strip(), body


async def test_http_api_refuses_bad_requests(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    base = server.base
    good = {"name": STAFF_NAME, "password": STAFF_PASSWORD}

    async with http.post(f"{base}/api/calls", json={}) as r:
        await json_error(r, 401, "unauthorized")
    async with http.get(f"{base}/api/calls") as r:
        await json_error(r, 401, "unauthorized")
    async with http.delete(f"{base}/api/calls/whatever") as r:
        await json_error(r, 401, "unauthorized")
    async with http.post(
        f"{base}/api/calls", json={}, headers={"Authorization": "Bearer not-a-token"}
    ) as r:
        await json_error(r, 401, "unauthorized")

    for path in ("/api/token", "/api/login"):
        async with http.post(f"{base}{path}", json={**good, "password": "wrong password"}) as r:
            await json_error(r, 401, "bad-login")
        async with http.post(f"{base}{path}", json={**good, "name": "nobody"}) as r:
            await json_error(r, 401, "bad-login")
        async with http.post(f"{base}{path}", data="name=river.staff&password=x") as r:
            await json_error(r, 415, "bad-request")
        async with http.post(
            f"{base}{path}", data=json.dumps(good), headers={"Content-Type": "text/plain"}
        ) as r:
            await json_error(r, 415, "bad-request")
        async with http.post(f"{base}{path}", json={**good, "admin": True}) as r:
            await json_error(r, 400, "bad-field")
        async with http.post(f"{base}{path}", json={"name": STAFF_NAME}) as r:
            await json_error(r, 400, "bad-field")
        async with http.post(f"{base}{path}", json={**good, "password": 12345678901}) as r:
            await json_error(r, 400, "bad-field")
        async with http.post(f"{base}{path}", json=[good]) as r:
            await json_error(r, 400, "bad-request")
        async with http.post(
            f"{base}{path}", data="{not json", headers={"Content-Type": "application/json"}
        ) as r:
            await json_error(r, 400, "bad-json")

    api = StaffApi(http, base)
    await api.sign_in(STAFF_NAME, STAFF_PASSWORD)
    async with http.post(
        f"{base}/api/calls", json={"max_participants": 8}, headers=api.headers
    ) as r:
        await json_error(r, 400, "bad-field")
    async with http.post(f"{base}/api/calls", data="hello", headers=api.headers) as r:
        await json_error(r, 415, "bad-request")
    async with http.delete(f"{base}/api/calls/no-such-call", headers=api.headers) as r:
        await json_error(r, 404, "no-call")
    # After all of that, the right requests still work.
    call = await api.create_call()
    await api.end_call(str(call["id"]))
    async with http.delete(f"{base}/api/calls/{call['id']}", headers=api.headers) as r:
        await json_error(r, 404, "no-call")


async def test_deeply_nested_json_message_is_bad_json(
    server: RunningServer, http: aiohttp.ClientSession, people: list[Participant]
) -> None:
    stranger = Participant(http, server.base)
    people.append(stranger)
    await stranger.connect()
    await refused(stranger, "[" * 5000 + "]" * 5000, "bad-json")
    await refused(stranger, '{"type": "join", "name": ' + "[" * 20000, "bad-json")


async def test_deeply_nested_or_large_json_body_is_refused(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    json_type = {"Content-Type": "application/json"}
    deep = "[" * 2000 + "]" * 2000
    async with http.post(f"{server.base}/api/token", data=deep, headers=json_type) as r:
        await json_error(r, 400, "bad-json")
    big = json.dumps({"name": "x" * 5000, "password": "y"})
    async with http.post(f"{server.base}/api/token", data=big, headers=json_type) as r:
        await json_error(r, 413, "too-large")
