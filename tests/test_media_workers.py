"""Media worker processes: where calls go, media flows, workers stop with the server."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from conftest import loopback_config, start_server
from test_call_aiortc import more_media, two_person_call, wait_until

from bench.client import Participant
from server.workers import WorkerPool


async def media_flows(calls: list[list[Participant]]) -> None:
    for call in calls:
        await wait_until(lambda call=call: more_media(call, {}))  # type: ignore[misc]


async def test_busy_workers_spread_calls_over_processes(
    staff_path: Path, http: aiohttp.ClientSession
) -> None:
    runner, server = await start_server(loopback_config(staff_path, media_workers=2))
    pool = server.state.hub
    assert isinstance(pool, WorkerPool)
    pool.spread_at = 0.0  # every worker counts as busy: each call goes to the least loaded
    people: list[Participant] = []
    try:
        calls = [await two_person_call(http, server) for _ in range(2)]
        people = [p for call in calls for p in call]
        await media_flows(calls)
        # One call on each worker, each worker a live process of its own.
        assert sorted(len(w.calls) for w in pool.workers) == [1, 1]
        pids = {w.proc.pid for w in pool.workers if w.proc is not None}
        assert len(pids) == 2 and all(w.alive for w in pool.workers)
    finally:
        for person in people:
            await person.close()
        await runner.cleanup()
    assert not any(w.alive for w in pool.workers)


async def test_light_calls_share_the_first_worker_and_workers_report_load(
    staff_path: Path, http: aiohttp.ClientSession
) -> None:
    runner, server = await start_server(loopback_config(staff_path, media_workers=2))
    pool = server.state.hub
    assert isinstance(pool, WorkerPool)
    people: list[Participant] = []
    try:
        calls = [await two_person_call(http, server) for _ in range(2)]
        people = [p for call in calls for p in call]
        await media_flows(calls)
        assert [len(w.calls) for w in pool.workers] == [2, 0]
        # Each worker's load report replaces the pool's estimate for calls placed since.
        await wait_until(lambda: all(w.placed == 0 for w in pool.workers))
        assert 0.0 < pool.workers[0].busy < 1.0
    finally:
        for person in people:
            await person.close()
        await runner.cleanup()
    assert not any(w.alive for w in pool.workers)
