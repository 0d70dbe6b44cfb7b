"""Browser: video comes back within 10 s after a weak link clears (issue 11).

A three-way call in Chromium (staff, survivor, interpreter, each in its own namespace). The
survivor's downlink is capped with tbf for 20 s: the server's own estimate of it (from the
transport-cc feedback Chromium sends on what the server forwards) falls, video to the
survivor pauses and both others are told, and audio goes on. Then the cap is lifted: the
server's probes (short bursts of padding above the estimate) show the link has room again,
and video comes back, without waiting for the estimate to creep up.

`run_weak_link` is also what `tests/weak_link_runs.py` repeats for the figures in
docs/weak-networks.md.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import ServerProcess, start_server
from netlab import Host, NetLab, require_netns
from test_browser_bandwidth import LOG_AUDIO, longest_audio_gap_ms, says_weak
from test_browser_call import (
    frames_decoded,
    join_and_wait,
    new_page,
    receiving_from,
    staff_admits_survivor,
    wait_for,
)

pytestmark = pytest.mark.browser

CAP_KBIT = 180
CAP_SECONDS = 20.0
FALLBACK_SECONDS = 5.0  # cap set -> the survivor's page says video is paused
RECOVERY_SECONDS = 10.0  # cap lifted -> the survivor decodes video again
AUDIO_GAP_MS = 300


@pytest.fixture
def lab() -> Iterator[NetLab]:
    require_netns()
    with NetLab() as lab:
        yield lab


def start_call_hosts(lab: NetLab, staff_path: Path) -> tuple[dict[str, Host], ServerProcess]:
    hosts = {name: lab.add_host(name) for name in ("srv", "staff", "surv", "interp")}
    return hosts, start_server(hosts["srv"], staff_path)


def three_way_call(
    p: Any, hosts: dict[str, Host], tmp_path: Path, url: str, survivor: Any = None
) -> tuple[Any, Any, Any]:
    """Staff, survivor and interpreter pages, everyone seeing and hearing both others. The
    survivor is a new Chromium page unless `survivor` is a page (a Firefox one, say) already
    open in the survivor's namespace."""
    requests: list[str] = []
    staff, survivor = staff_admits_survivor(p, hosts, tmp_path, url, requests, survivor=survivor)
    link = staff.get_attribute("[data-link=interpreter]", "value")
    interpreter = new_page(p, hosts["interp"], tmp_path, requests)
    join_and_wait(interpreter, link, "")
    staff.wait_for_selector("[data-waiting]")
    staff.click("[data-waiting] [data-action=admit]")
    for page in (staff, survivor, interpreter):
        wait_for(lambda: receiving_from(page, 2), what="everyone to see and hear both")  # noqa: B023
    # Calls made from staff's page are end to end: the weak-link tests run with it on.
    for page in (staff, survivor, interpreter):
        wait_for(lambda: page.evaluate(E2EE_STATE) == "on", what="end to end on every page")  # noqa: B023
    return staff, survivor, interpreter


E2EE_STATE = "() => document.getElementById('e2ee')?.dataset.e2ee || ''"


def run_weak_link(
    survivor_host: Host, staff: Any, survivor: Any, kbit: int, cap_seconds: float = CAP_SECONDS
) -> dict[str, float]:
    """Cap the survivor's downlink at `kbit` for `cap_seconds`, then lift it. Returns
    seconds from the cap to "video paused" on the survivor's page (`fallback`), the longest
    run of concealed audio at the survivor meanwhile (`audio_gap_ms`), and seconds from the
    lift to video decoded again (`recovery`, inf if not within 40 s); the most concealed
    audio between two of the samples the gap is judged from (`concealed_step_ms`). Also the
    seconds from
    the cap to "video paused" on staff's page (`staff_told`): staff's signaling does not
    cross the capped link, so it shows when the server paused, where the survivor's own
    notice may wait on TCP retransmissions over the congested link."""
    start = frames_decoded(survivor)
    wait_for(lambda: frames_decoded(survivor) > start + 30, what="video flowing before the cap")
    assert not says_weak(survivor) and not says_weak(staff)
    survivor.evaluate(LOG_AUDIO)
    survivor_host.limit_downlink(kbit)
    capped = time.monotonic()
    try:
        fallback = staff_told = float("inf")
        while time.monotonic() - capped < cap_seconds:
            if fallback == float("inf") and says_weak(survivor):
                fallback = time.monotonic() - capped
            if staff_told == float("inf") and says_weak(staff):
                staff_told = time.monotonic() - capped
            time.sleep(0.1)
        frames = frames_decoded(survivor)
        audio = survivor.evaluate("window.__audio")
        gap, step = longest_audio_gap_ms(audio), most_concealed_in_a_step_ms(audio)
    finally:
        survivor_host.limit_downlink(None)
    lifted = time.monotonic()
    recovery = float("inf")
    while time.monotonic() - lifted < 40:
        if not says_weak(survivor) and frames_decoded(survivor) > frames + 10:
            recovery = time.monotonic() - lifted
            break
        time.sleep(0.1)
    survivor.evaluate("clearInterval(window.__audioTimer)")
    return {
        "fallback": fallback,
        "audio_gap_ms": gap,
        "concealed_step_ms": step,
        "recovery": recovery,
        "staff_told": staff_told,
    }


def most_concealed_in_a_step_ms(log: list[list[float]]) -> float:
    """The most concealed audio, in ms, between two samples of the audio log (LOG_AUDIO): a
    gap can hide inside one long step, diluted by the audio played around it, where
    `longest_audio_gap_ms` does not see it. The page takes no sample while its connection is
    not "connected", and Firefox's getStats answered nothing while its link was down: a 1 s
    outage came out as one 1.9 s step, 43 % of it (820 ms) concealed, and a longest gap of
    0 ms. No gap inside a step is longer than what the step concealed."""
    most = 0.0
    for (t0, played0, hidden0), (t1, played1, hidden1) in itertools.pairwise(log):
        played, hidden = played1 - played0, hidden1 - hidden0
        share = 1.0 if played <= 0 else min(1.0, hidden / played)
        most = max(most, (t1 - t0) * share)
    return most if len(log) > 1 else float("inf")


def assert_meets_the_bars(figures: dict[str, float], staff: Any) -> None:
    """Issue 11's bars for one run of `run_weak_link`, and staff told video is back."""
    assert figures["fallback"] <= FALLBACK_SECONDS, figures
    assert figures["concealed_step_ms"] <= AUDIO_GAP_MS, f"a gap may hide in a step: {figures}"
    assert figures["audio_gap_ms"] <= AUDIO_GAP_MS, figures
    assert figures["recovery"] <= RECOVERY_SECONDS, figures
    wait_for(lambda: not says_weak(staff), 5, "staff told video is back")


def test_video_returns_within_ten_seconds_after_a_capped_downlink_clears(
    lab: NetLab, tmp_path: Path, staff_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    hosts, server = start_call_hosts(lab, staff_path)
    try:
        with sync_playwright() as p:
            staff, survivor, _ = three_way_call(p, hosts, tmp_path, server.url)
            figures = run_weak_link(hosts["surv"], staff, survivor, CAP_KBIT)
            print(f"\n{CAP_KBIT} kbit/s for {CAP_SECONDS:.0f} s: {figures}")
            assert_meets_the_bars(figures, staff)
    finally:
        log = server.stop()
        (tmp_path / "server.log").write_text(log)
