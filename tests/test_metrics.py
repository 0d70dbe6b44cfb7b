"""/healthz and /metrics (issue 13): health without personal data; metrics off by default,
on their own address when asked, with no id, address or name, renewed only every period
so they cannot time one call."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import aiohttp
from conftest import STAFF_NAME, STAFF_PASSWORD, loopback_config, start_server
from test_call_aiortc import admitted_guest, invite_of, staff_in_call

from server.metrics import PERIOD, Metrics
from signaling.protocol import Join


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_health_and_metrics_say_nothing_about_anyone(
    staff_path: Path, http: aiohttp.ClientSession
) -> None:
    port = free_port()
    config = loopback_config(staff_path, metrics_address=f"127.0.0.1:{port}")
    runner, server = await start_server(config)
    people = []
    try:
        async with http.get(f"{server.base}/healthz") as r:
            assert r.status == 200 and (await r.json()) == {"status": "ok"}
        async with http.get(f"{server.base}/metrics") as r:
            assert r.status == 404  # not beside the pages
        _api, call, staff = await staff_in_call(http, server)
        survivor = await admitted_guest(http, server, staff, invite_of(call, "survivor"), "Ana")
        people = [staff, survivor]
        await survivor.send('{"type": "dance"}')
        await survivor.expect("error")
        async with http.post(
            f"{server.base}/api/login", json={"name": STAFF_NAME, "password": "not it at all"}
        ) as r:
            assert r.status == 401
        state = server.state
        state.metrics.taken_at = -PERIOD  # as if a period had passed: the next sweep renews
        async with aiohttp.ClientSession() as plain:
            for _ in range(30):
                async with plain.get(f"http://127.0.0.1:{port}/metrics") as r:
                    text = await r.text()
                if 'code="unknown-type"' in text:
                    break
                await asyncio.sleep(0.1)
        assert "quietroom_calls 5" in text and "quietroom_participants 5" in text
        assert 'quietroom_refused_messages_total{code="unknown-type"} 1' in text
        assert "quietroom_sign_in_failures_total 1" in text
        for secret in (
            str(call["id"]),
            staff.participant,
            survivor.participant,
            "Ana",
            STAFF_NAME,
            STAFF_PASSWORD,
            "127.0.0.1",
            invite_of(call, "survivor"),
        ):
            assert secret not in text
        await staff.send(Join(call="not-a-call"))  # refused again: not shown until renewed
        await staff.expect("error")
        async with (
            aiohttp.ClientSession() as plain,
            plain.get(f"http://127.0.0.1:{port}/metrics") as r,
        ):
            assert await r.text() == text
    finally:
        for person in people:
            await person.close()
        await runner.cleanup()


def test_gauges_are_peaks_rounded_up_and_renewed_once_a_period() -> None:
    metrics = Metrics()
    metrics.observe(calls=1)
    metrics.observe(calls=0)
    metrics.tick(0.0)
    assert "quietroom_calls 5\n" in metrics.shown
    metrics.observe(calls=7)
    metrics.tick(PERIOD - 1)
    assert "quietroom_calls 5\n" in metrics.shown
    metrics.tick(PERIOD)
    assert "quietroom_calls 10\n" in metrics.shown
    metrics.tick(2 * PERIOD)
    assert "quietroom_calls 0\n" in metrics.shown
