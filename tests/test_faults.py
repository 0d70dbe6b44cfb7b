"""Faults (issue 13): a media worker killed mid-call hits only its own calls, whose people
are told and reconnect by themselves to a live worker, media back within 5 s; SIGTERM tells
everyone the server is restarting and the process exits within a bounded time."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from types import SimpleNamespace

import aiohttp
import serverproc
from conftest import loopback_config, start_server
from test_call_aiortc import media_counts, more_media, two_person_call, wait_until

from bench.client import Participant
from server.workers import WorkerPool
from signaling.protocol import Ended, MediaRestart


async def test_a_killed_media_worker_hits_only_its_calls_which_come_back(
    staff_path: Path, http: aiohttp.ClientSession
) -> None:
    runner, server = await start_server(loopback_config(staff_path, media_workers=2))
    pool = server.state.hub
    assert isinstance(pool, WorkerPool)
    pool.spread_at = 0.0  # one call on each worker
    people: list[Participant] = []
    try:
        calls = [await two_person_call(http, server) for _ in range(2)]
        people = [p for call in calls for p in call]
        for call in calls:
            await wait_until(lambda call=call: more_media(call, {}, 100))  # type: ignore[misc]
        victim = next(w for w in pool.workers if w.calls)
        hit = next(c for c in calls if pool._call_of[c[0].participant] in victim.calls)
        spared = next(c for c in calls if c is not hit)
        before_hit, before_spared = media_counts(hit), media_counts(spared)
        await wait_until(lambda: all(w.forwarded[0] > 0 for w in pool.workers))
        forwarded_before = pool.forwarded()
        assert victim.proc is not None
        killed_at = time.monotonic()
        os.kill(victim.proc.pid, signal.SIGKILL)

        # Media back both ways, more than the call had before the kill, within 5 s.
        await wait_until(lambda: more_media(hit, before_hit), timeout=10)
        back_after = time.monotonic() - killed_at
        print(f"\nworker killed: media of its call back both ways after {back_after:.2f} s")
        assert back_after < 5.0
        assert all(any(isinstance(m, MediaRestart) for m in p.seen) for p in hit)
        # The other call never noticed.
        assert not any(isinstance(m, MediaRestart) for p in spared for m in p.seen)
        assert more_media(spared, before_spared)
        await wait_until(lambda: all(w.alive for w in pool.workers), timeout=10)
        # What the killed process had forwarded still counts in the metrics.
        assert victim.forwarded_before[0] > 0
        assert all(a >= b for a, b in zip(pool.forwarded(), forwarded_before, strict=True))
    finally:
        for person in people:
            await person.close()
        await runner.cleanup()


async def test_sigterm_tells_everyone_and_exits_in_bounded_time(
    tmp_path: Path, staff_path: Path, http: aiohttp.ClientSession
) -> None:
    options = ["--port", "0", "--ice-addresses", "127.0.0.1", "--media-workers", "1"]
    running = await serverproc.start(
        serverproc.serve_command(*options, "--staff-file", str(staff_path)),
        cwd=tmp_path,
        env=serverproc.clean_environment(),
        stderr_path=tmp_path / "stderr.log",
    )
    people: list[Participant] = []
    try:
        people = await two_person_call(http, SimpleNamespace(base=running.base))
        await wait_until(lambda: more_media(people, {}, 100))
        started = time.monotonic()
        code = await serverproc.interrupt(running, timeout=15, sig=signal.SIGTERM)
        took = time.monotonic() - started
        print(f"\nSIGTERM: exited with {code} after {took:.2f} s")
        assert code == 0 and took < 10
        for person in people:
            ended = next((m for m in person.seen if isinstance(m, Ended)), None)
            assert ended is not None and ended.reason == "the server is restarting"
    finally:
        for person in people:
            await person.close()
        await serverproc.kill(running)
