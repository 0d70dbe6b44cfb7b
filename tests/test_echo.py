"""The connection test: someone with an invite gets their own media back, without staff."""

from __future__ import annotations

import aiohttp
from conftest import RunningServer
from test_call_aiortc import invite_of, staff_in_call, wait_until

from bench.client import Participant
from signaling.protocol import Join, Joined
from signaling.store import CallRules, CallStore


async def test_echo_loops_own_media_back(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    _api, call, staff = await staff_in_call(http, server)
    tester = Participant(http, server.base)
    try:
        await tester.connect()
        await tester.send(Join(invite=invite_of(call, "survivor"), echo=True))
        joined = await tester.expect("joined")
        assert isinstance(joined, Joined) and joined.echo and joined.peers == []
        await tester.start_media(max_participants=joined.max_participants)
        me = tester.participant
        await wait_until(
            lambda: tester.received("audio", me) > 20 and tester.received("video", me) > 20
        )
        # Staff saw nobody waiting and nobody joining: the test is private to the tester.
        assert [m.type for m in staff.seen if m.type != "streams"] == ["joined"]
        await tester.send('{"type":"leave"}')
        await wait_until(lambda: len(server.state.store) == 1)  # only the real call remains
    finally:
        await tester.close()
        await staff.close()


async def test_echo_needs_a_valid_invite(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    tester = Participant(http, server.base)
    try:
        await tester.connect()
        await tester.send(Join(invite="not-a-real-invite", echo=True))
        error = await tester.expect("error")
        assert error.code == "invalid-invite"
        await tester.send(Join(echo=True))
        error = await tester.expect("error")
        assert error.code == "bad-field"
    finally:
        await tester.close()


def test_echo_call_is_short_lived_and_wiped_on_leave() -> None:
    store = CallStore(CallRules(ttl_seconds=3600))
    call = store.create("staff.one", now=0.0)
    token = next(iter(call.invites))
    person, _ = store.join_echo(token, now=10.0)
    echo = store.call_of(person.id)
    assert echo is not None and echo.echo and echo.id != call.id
    assert echo.expires_at == 310.0
    assert store.owned_by("staff.one") == [call]
    store.forget(echo.leave(person.id))
    assert store.call_of(person.id) is None and store.get(echo.id) is None
    # An echo test never outlives the call its invite belongs to.
    late, _ = store.join_echo(token, now=3500.0)
    late_echo = store.call_of(late.id)
    assert late_echo is not None and late_echo.expires_at == 3600.0


async def test_staff_test_their_connection_before_joining(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    api, call, staff = await staff_in_call(http, server)
    tester = Participant(http, server.base, headers=api.headers)
    anonymous = Participant(http, server.base)
    try:
        await tester.connect()
        await tester.send(Join(call=str(call["id"]), echo=True))
        joined = await tester.expect("joined")
        assert isinstance(joined, Joined) and joined.echo and joined.role == "staff"
        await tester.start_media(max_participants=joined.max_participants)
        me = tester.participant
        await wait_until(
            lambda: tester.received("audio", me) > 20 and tester.received("video", me) > 20
        )
        assert [m.type for m in staff.seen if m.type != "streams"] == ["joined"]
        await anonymous.connect()
        await anonymous.send(Join(call=str(call["id"]), echo=True))
        assert (await anonymous.expect("error")).code == "unauthorized"
        await anonymous.send(Join(call="someone-elses-call", echo=True))
        assert (await anonymous.expect("error")).code == "unauthorized"
    finally:
        await tester.close()
        await anonymous.close()
        await staff.close()
