"""/healthz and /metrics (issue 13): health without personal data; metrics off by default,
on their own address when asked, with no id, address or name, renewed only every period
so they cannot time one call."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import aiohttp
from conftest import STAFF_NAME, STAFF_PASSWORD, loopback_config, start_server
from test_call_aiortc import (
    admitted_guest,
    invite_of,
    more_media,
    staff_in_call,
    two_person_call,
    wait_until,
)

from bench.client import Participant
from server.metrics import COUNTER_STEPS, PERIOD, Metrics
from server.workers import WorkerPool
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


async def test_a_real_calls_forwarded_packets_and_bytes_come_from_the_worker(
    staff_path: Path, http: aiohttp.ClientSession
) -> None:
    """A 2-person call with media through a media worker process: each packet one person
    sends goes to one viewer, so what the metrics count lies between what the two received
    and what they sent; /metrics shows it rounded down to its step."""
    port = free_port()
    config = loopback_config(staff_path, media_workers=1, metrics_address=f"127.0.0.1:{port}")
    runner, server = await start_server(config)
    state = server.state
    pool = state.hub
    assert isinstance(pool, WorkerPool)
    people: list[Participant] = []
    try:
        people = await two_person_call(http, server)
        await wait_until(lambda: more_media(people, {}, 150))
        for person in people:
            await person.close()  # hang up: the router goes, its counts stay
        sent = [await person.sent() for person in people]
        sent_packets, sent_bytes = sum(s[0] for s in sent), sum(s[1] for s in sent)
        got_packets = sum(sum(p.packets.values()) for p in people)
        got_bytes = sum(sum(p.octets.values()) for p in people)
        # The worker reports once a second: wait for a report made after the hang-up.
        await wait_until(lambda: not pool._call_of and pool.forwarded()[0] >= got_packets)
        reported = pool.forwarded()
        await asyncio.sleep(1.5)
        assert pool.forwarded() == reported  # nothing forwarded after the hang-up
        state.snapshot_metrics()  # what SIGUSR1 does
        packets = state.metrics.counters["forwarded_packets"]
        octets = state.metrics.counters["forwarded_bytes"]
        print(
            f"\nforwarded {packets} packets, {octets} bytes; "
            f"received {got_packets}, {got_bytes}; sent {sent_packets}, {sent_bytes}"
        )
        assert (packets, octets) == reported
        assert 150 * 4 < got_packets <= packets <= sent_packets
        assert 0 < got_bytes <= octets <= sent_bytes
        async with (
            aiohttp.ClientSession() as plain,
            plain.get(f"http://127.0.0.1:{port}/metrics") as r,
        ):
            text = await r.text()
        step_p, step_b = COUNTER_STEPS["forwarded_packets"], COUNTER_STEPS["forwarded_bytes"]
        assert f"quietroom_forwarded_packets_total {packets // step_p * step_p}\n" in text
        assert f"quietroom_forwarded_bytes_total {octets // step_b * step_b}\n" in text
        # Nobody is connected now: the idle tasks of both processes are there.
        assert 'quietroom_idle_tasks{process="server"} ' in text
        assert 'quietroom_idle_tasks{process="media"} ' in text
    finally:
        for person in people:
            await person.close()
        await runner.cleanup()


def test_forwarded_counts_are_shown_rounded_down_to_their_step() -> None:
    metrics = Metrics()
    metrics.count("forwarded_packets", 2_999_999)
    metrics.count("forwarded_bytes", 1_000_000_000)
    metrics.count("sign_in_failures", 7)
    text = metrics.render()
    assert "quietroom_forwarded_packets_total 2000000\n" in text
    assert "quietroom_forwarded_bytes_total 1000000000\n" in text
    assert "quietroom_sign_in_failures_total 7\n" in text  # other counters as they are
    metrics.count("forwarded_packets", 1)
    assert "quietroom_forwarded_packets_total 3000000\n" in metrics.render()


def test_idle_tasks_are_the_last_taken_and_a_snapshot_can_be_asked_for() -> None:
    metrics = Metrics()
    metrics.tick(100.0)
    assert "quietroom_idle_tasks{" not in metrics.shown  # never idle yet: no figure
    metrics.idle(server=9, media=4)
    metrics.idle(server=8, media=4)
    metrics.tick(100.0 + PERIOD - 1)
    assert "quietroom_idle_tasks{" not in metrics.shown  # not renewed within the period
    metrics.snapshot(100.0 + PERIOD - 1)
    assert 'quietroom_idle_tasks{process="server"} 8\n' in metrics.shown
    assert 'quietroom_idle_tasks{process="media"} 4\n' in metrics.shown
    metrics.idle(server=12)
    metrics.tick(100.0 + 2 * PERIOD - 2)  # the period counts from the snapshot asked for
    assert 'quietroom_idle_tasks{process="server"} 8\n' in metrics.shown
    metrics.tick(100.0 + 2 * PERIOD - 1)
    assert 'quietroom_idle_tasks{process="server"} 12\n' in metrics.shown
