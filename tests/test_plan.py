"""The disruption plan through the real server: recorded with the call, shown before joining."""

from __future__ import annotations

import aiohttp
from conftest import STAFF_NAME, STAFF_PASSWORD, RunningServer
from test_call_aiortc import invite_of

from bench.client import Participant, StaffApi
from signaling.protocol import DisruptionPlan, Error, Join, Joined, Plan, Preview


async def test_the_plan_is_recorded_and_shown_before_and_after_joining(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    api = StaffApi(http, server.base)
    await api.sign_in(STAFF_NAME, STAFF_PASSWORD)
    call = await api.create_call({"action": "wait", "minutes": 20, "note": "then we email"})
    wanted = {"action": "wait", "minutes": 20, "note": "then we email"}
    assert call["plan"] == wanted
    async with http.get(f"{server.base}/api/calls", headers=api.headers) as r:
        assert (await r.json())["calls"][0]["plan"] == wanted
    assert (await api.create_call())["plan"] == {
        "action": "staff-calls-back",
        "minutes": 10,
        "note": "",
    }

    survivor = Participant(http, server.base)
    await survivor.connect()
    try:
        await survivor.send(Preview(invite_of(call, "survivor")))
        plan = await survivor.expect("plan")
        assert isinstance(plan, Plan) and plan.plan == DisruptionPlan("wait", 20, "then we email")
        # Looking does not join: nobody is in the lobby, and the same socket can still join.
        async with http.get(f"{server.base}/api/calls", headers=api.headers) as r:
            assert (await r.json())["calls"][0]["waiting"] == 0
        await survivor.send(Preview("not-a-real-invite"))
        error = await survivor.expect("error")
        assert isinstance(error, Error) and error.code == "invalid-invite"

        staff = Participant(http, server.base, headers=api.headers)
        await staff.connect()
        await staff.send(Join(call=str(call["id"])))
        joined = await staff.expect("joined")
        assert isinstance(joined, Joined) and joined.plan.minutes == 20
        await staff.close()
    finally:
        await survivor.close()


async def test_bad_plans_are_refused_and_create_no_call(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    api = StaffApi(http, server.base)
    await api.sign_in(STAFF_NAME, STAFF_PASSWORD)
    for body in (
        {"plan": {"action": "vanish"}},
        {"plan": {"minutes": 0}},
        {"plan": {"minutes": 600}},
        {"plan": {"note": "x" * 281}},
        {"plan": "wait"},
        {"plan": {"action": "wait", "extra": 1}},
    ):
        async with http.post(f"{server.base}/api/calls", json=body, headers=api.headers) as r:
            assert r.status == 400
            answer = await r.json()
            assert answer["error"] in ("bad-plan", "bad-field") and answer["reason"]
    async with http.get(f"{server.base}/api/calls", headers=api.headers) as r:
        assert (await r.json())["calls"] == []
