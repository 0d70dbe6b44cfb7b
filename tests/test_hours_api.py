"""Contact hours through the real server: a link outside them is told when it opens and
reaches no lobby; staff see it, open the call anyway, and set a call's own window."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from pathlib import Path

import aiohttp
from conftest import STAFF_NAME, STAFF_PASSWORD, loopback_config, start_server
from test_call_aiortc import invite_of

from bench.client import Participant, StaffApi
from signaling.hours import Hours, Span
from signaling.protocol import Join, OutsideHours, Plan, Preview


def closed_now() -> tuple[Hours, float]:
    """Hours of one minute a day, half a day from now: closed now; and when they open."""
    now = dt.datetime.now(dt.UTC)
    minute = (now.hour * 60 + now.minute + 720) % 1440
    opens = now.replace(second=0, microsecond=0) + dt.timedelta(minutes=720)
    return Hours("UTC", ((Span(minute, minute + 1),),) * 7), opens.timestamp()


async def test_a_link_outside_the_hours_says_when_it_opens_until_staff_open_it(
    staff_path: Path, http: aiohttp.ClientSession
) -> None:
    hours, opens = closed_now()
    config = dataclasses.replace(loopback_config(staff_path), hours=hours)
    runner, server = await start_server(config)
    people: list[Participant] = []
    try:
        api = StaffApi(http, server.base)
        await api.sign_in(STAFF_NAME, STAFF_PASSWORD)
        call = await api.create_call()
        assert call["open_now"] is False
        assert abs(dt.datetime.fromisoformat(str(call["opens_at"])).timestamp() - opens) < 61
        staff = Participant(http, server.base, headers=api.headers)
        people.append(staff)
        await staff.connect()
        await staff.send(Join(call=str(call["id"])))
        await staff.expect("joined")

        survivor = Participant(http, server.base)
        people.append(survivor)
        await survivor.connect()
        await survivor.send(Preview(invite_of(call, "survivor")))
        assert isinstance(await survivor.expect("plan"), Plan)
        closed = await survivor.expect("outside-hours")
        assert isinstance(closed, OutsideHours) and closed.opens_at == call["opens_at"]
        await survivor.send(Join(invite=invite_of(call, "survivor"), name="Sam"))
        assert isinstance(await survivor.expect("outside-hours"), OutsideHours)
        assert not [m for m in staff.seen if m.type == "lobby-waiting"]  # nobody was told

        url = f"{server.base}/api/calls/{call['id']}"
        async with http.patch(url, json={"open_anyway": True}, headers=api.headers) as r:
            assert r.status == 200
            assert (await r.json())["open_now"] is True
        await survivor.send(Join(invite=invite_of(call, "survivor"), name="Sam"))
        await survivor.expect("waiting")
        await staff.expect("lobby-waiting")
        async with http.patch(url, json={"open_anyway": "yes"}, headers=api.headers) as r:
            assert r.status == 400
        async with http.patch(
            f"{server.base}/api/calls/nope", json={"open_anyway": True}, headers=api.headers
        ) as r:
            assert r.status == 404

        # A practice call opens at any time.
        async with http.post(
            f"{server.base}/api/calls", json={"practice": True}, headers=api.headers
        ) as r:
            practice = await r.json()
        assert practice["practice"] is True and practice["open_now"] is True
    finally:
        for person in people:
            await person.close()
        await runner.cleanup()


async def test_a_calls_own_window_is_checked(staff_path: Path, http: aiohttp.ClientSession) -> None:
    runner, server = await start_server(loopback_config(staff_path))
    try:
        api = StaffApi(http, server.base)
        await api.sign_in(STAFF_NAME, STAFF_PASSWORD)
        url = f"{server.base}/api/calls"
        start = dt.datetime.fromtimestamp(time.time() + 3600, dt.UTC)
        window = {"start": start.isoformat(), "end": (start + dt.timedelta(hours=1)).isoformat()}
        async with http.post(url, json={"window": window}, headers=api.headers) as r:
            assert r.status == 201
            body = await r.json()
        assert body["open_now"] is False and body["window"]["start"] == body["opens_at"]
        for bad in (
            {"start": window["start"]},
            {"start": "tomorrow", "end": window["end"]},
            {"start": "2026-12-07T14:00:00", "end": "2026-12-07T15:00:00"},  # no offset
            {"start": window["end"], "end": window["start"]},
            {"start": start.isoformat(), "end": (start + dt.timedelta(days=8)).isoformat()},
        ):
            async with http.post(url, json={"window": bad}, headers=api.headers) as r:
                assert r.status == 400, bad
                assert (await r.json())["error"] == "bad-field"
    finally:
        await runner.cleanup()
