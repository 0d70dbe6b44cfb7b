"""Faults (issue 13): a media worker killed mid-call hits only its own calls, whose people
are told and reconnect by themselves to a live worker, media back within 5 s; SIGTERM tells
everyone the server is restarting and the process exits within a bounded time.

With aiortc peers (the server in this process, or as a process of its own), and with
Chromium pages, each in a network namespace of its own, for what a person sees."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
import serverproc
from a11y import available, describe, violations
from browser import SELECTED_PAIR_ENDS
from browser import start_server as start_server_in
from conftest import loopback_config, start_server
from netlab import NetLab, require_netns
from screens import LAPTOP, PHONE, SCREENSHOTS
from test_browser_call import receiving_from, staff_admits_survivor, wait_for
from test_call_aiortc import media_counts, more_media, two_person_call, wait_until

from bench import procstat
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


# Bytes received by a page on the connections it made from the `since`-th on, by kind.
RECEIVED_SINCE = """
async (since) => {
  const got = {audio: 0, video: 0, connections: (window.__pcs || []).length};
  for (const pc of (window.__pcs || []).slice(since)) {
    if (pc.connectionState === "closed") continue;
    (await pc.getStats()).forEach(s => {
      if (s.type === "inbound-rtp") got[s.kind] += s.bytesReceived || 0;
    });
  }
  return got;
}
"""


@pytest.fixture
def lab() -> Iterator[NetLab]:
    require_netns()
    with NetLab() as lab:
        yield lab


def media_back(pages: dict[str, Any], since: dict[str, int], started: float) -> dict[str, float]:
    """Seconds from `started` until each page receives audio and video, rising, on a
    connection made after its first `since` ones."""
    back: dict[str, float] = {}
    seen: dict[str, dict[str, int]] = {}
    deadline = started + 15
    while len(back) < len(pages) and time.monotonic() < deadline:
        for name, page in pages.items():
            if name in back:
                continue
            got = page.evaluate(RECEIVED_SINCE, since[name])
            before = seen.get(name)
            if before and all(got[k] > before[k] > 0 for k in ("audio", "video")):
                back[name] = time.monotonic() - started
            elif got["audio"] > 0 and got["video"] > 0:
                seen[name] = got  # flowing: back once the next look finds more
        time.sleep(0.05)
    return back


@pytest.mark.browser
def port_owner(host: Any, port: int) -> int:
    """The process bound to UDP `port` in `host`'s namespace."""
    out = host.run(["ss", "-H", "-u", "-a", "-n", "-p", f"sport = :{port}"], capture_output=True)
    owners = re.findall(r"pid=(\d+),", out.stdout.decode())
    assert len(set(owners)) == 1, out.stdout
    return int(owners[0])


def test_chromium_pages_come_back_from_a_killed_worker_and_hear_of_a_restart(
    lab: NetLab, tmp_path: Path, staff_path: Path
) -> None:
    """Staff and survivor in Chromium, each in a namespace of their own. The media worker
    carrying their call is killed: the pages are told (`media-restart`), make a new
    connection by themselves, and receive media again within 5 s. Then SIGTERM: the
    survivor's page says the server is restarting, and the server exits."""
    from playwright.sync_api import sync_playwright

    hosts = {name: lab.add_host(name) for name in ("srv", "staff", "surv")}
    server = start_server_in(hosts["srv"], staff_path, "--media-workers", "2")
    try:
        with sync_playwright() as p:
            staff, survivor = staff_admits_survivor(p, hosts, tmp_path, server.url, [])
            pages = {"staff": staff, "survivor": survivor}
            for name, page in pages.items():
                wait_for(lambda page=page: receiving_from(page, 1), what=f"{name}'s media")  # type: ignore[misc]

            # The worker carrying the call is killed: the one whose media port the pages'
            # connections reached (each worker has one port for all its calls).
            workers = procstat.descendants([server.proc.pid])[1:]
            assert len(workers) == 2
            ports = {page.evaluate(SELECTED_PAIR_ENDS)["remote"]["port"] for page in pages.values()}
            assert len(ports) == 1, ports  # one call, one worker
            victim = port_owner(hosts["srv"], ports.pop())
            assert victim in workers, (victim, workers)
            since = {name: page.evaluate("window.__pcs.length") for name, page in pages.items()}
            killed_at = time.monotonic()
            os.kill(victim, signal.SIGKILL)
            back = media_back(pages, since, killed_at)
            print(
                "\nChromium, worker killed: media back on a new connection after "
                + ", ".join(f"{name} {s:.2f} s" for name, s in back.items())
            )
            assert set(back) == set(pages), back
            assert all(seconds < 5.0 for seconds in back.values()), back
            for name, page in pages.items():  # one new connection each, made by the page
                assert page.evaluate("window.__pcs.length") == since[name] + 1, name

            # SIGTERM: the survivor's page is told, and the server exits.
            stopped_at = time.monotonic()
            server.proc.send_signal(signal.SIGTERM)
            survivor.wait_for_selector("#done:not([hidden])", timeout=10000)
            told = time.monotonic() - stopped_at
            notice = survivor.inner_text("#notice")
            code = server.proc.wait(timeout=15)
            exited = time.monotonic() - stopped_at
            print(
                f"Chromium, SIGTERM: the survivor's page said {notice!r} after {told:.2f} s; "
                f"the server exited with {code} after {exited:.2f} s"
            )
            assert "the server is restarting" in notice
            assert code == 0 and exited < 10
            SCREENSHOTS.mkdir(exist_ok=True)  # the goodbye page saying why: sizes, languages
            for language, words in (("en", "restarting"), ("fr", "redémarre")):
                if language == "fr":
                    survivor.click("[data-action=language]")
                wait_for(lambda w=words: w in survivor.inner_text("#notice"), what=language)  # type: ignore[misc]
                if available():
                    found = violations(survivor)
                    assert not found, describe(found)
                for size, name in ((PHONE, "phone"), (LAPTOP, "laptop")):
                    survivor.set_viewport_size(size)
                    shot = SCREENSHOTS / f"done-restarting-{name}-{language}.png"
                    survivor.screenshot(path=str(shot))
    finally:
        if server.proc.poll() is None:
            server.stop()
        for pipe in (server.proc.stdout, server.proc.stderr):
            if pipe is not None:
                pipe.close()
