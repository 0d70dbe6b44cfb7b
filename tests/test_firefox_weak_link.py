"""Browser: a survivor in Firefox ESR gets video back within 10 s after a weak link clears
(issue 11), as tests/test_browser_recovery.py checks for Chromium.

The same three-way call (staff and interpreter in Chromium, the server, each in its own
namespace), with the survivor in Debian's firefox-esr inside its own namespace too, driven
over WebDriver BiDi through a socket made in that namespace (tests/firefox.py). The survivor's
downlink (its bridge port's egress, so only what the server sends it) is capped with tbf at
180 kbit/s for 20 s, then lifted: video to the survivor pauses within 5 s while audio goes
on without a gap over 300 ms, and comes back within 10 s of the lift.

Firefox offers transport-cc and the server answers with it, so what is judged is the
server's own estimate from Firefox's feedback: the server's log says so when video pauses
and resumes (its estimate, and how many probes it sent).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import RECORD_PEER_CONNECTIONS, SELECTED_PAIR_ENDS
from firefox import FirefoxPage, require_firefox
from netlab import NetLab, require_netns
from test_browser_ice_tcp import bytes_from_media_ports_over_tcp
from test_browser_recovery import (
    CAP_KBIT,
    CAP_SECONDS,
    assert_meets_the_bars,
    run_weak_link,
    start_call_hosts,
    three_way_call,
)
from test_firefox_call import SELECTED_PAIR

from media import twcc

pytestmark = pytest.mark.browser

# The page's own offer and the server's answer, as its live connection holds them.
DESCRIPTIONS = """
() => {
  const pc = window.__pcs.find(pc => pc.connectionState === "connected");
  return pc ? {offer: pc.localDescription.sdp, answer: pc.remoteDescription.sdp} : null;
}
"""

# Whether Firefox reports concealed audio at all: the longest gap is measured from it.
AUDIO_STAT_NAMES = """
async () => {
  const pc = window.__pcs.find(pc => pc.connectionState === "connected");
  const names = [];
  (await pc.getStats()).forEach(s => {
    if (s.type === "inbound-rtp" && s.kind === "audio") names.push(...Object.keys(s));
  });
  return names;
}
"""

# The server's DEBUG line when a viewer's video pauses or resumes on its own estimate.
ESTIMATE_LINE = re.compile(r"server's estimate (\d+) kbit/s .*; (\d+) of (\d+) probes showed room")


@pytest.fixture
def lab() -> Iterator[NetLab]:
    require_netns()
    with NetLab() as lab:
        yield lab


def transport_cc_negotiated(survivor: Any) -> bool:
    """Firefox offered the transport-wide-cc extension and the server's answer took it, with
    transport-cc feedback, so Firefox reports on every packet the server numbers."""
    sdp = survivor.evaluate(DESCRIPTIONS)
    return bool(
        sdp and twcc.URI in sdp["offer"] and twcc.URI in sdp["answer"]
        and "transport-cc" in sdp["answer"]
    )  # fmt: skip


def test_firefox_survivor_gets_video_back_within_ten_seconds_after_a_capped_downlink_clears(
    lab: NetLab, tmp_path: Path, staff_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    require_firefox()
    started = time.monotonic()
    hosts, server = start_call_hosts(lab, staff_path)
    try:
        with (
            sync_playwright() as p,
            FirefoxPage(
                tmp_path / "firefox", hosts["surv"].netns, preload=(RECORD_PEER_CONNECTIONS,)
            ) as firefox,
        ):
            staff, survivor, _ = three_way_call(p, hosts, tmp_path, server.url, firefox)
            # Firefox's media run between its namespace and the server's, over the link the
            # cap shapes, not over a loopback of its own.
            pair = survivor.evaluate(SELECTED_PAIR)
            assert pair == {"local": hosts["surv"].address, "remote": hosts["srv"].address}, pair
            # Over UDP, as a network that allows it gives: ICE-TCP is for networks that do not.
            ends = survivor.evaluate(SELECTED_PAIR_ENDS)
            print(f"\nFirefox's selected pair: {ends}")
            assert ends["local"]["protocol"] == ends["remote"]["protocol"] == "udp", ends
            assert transport_cc_negotiated(survivor)
            assert "concealedSamples" in survivor.evaluate(AUDIO_STAT_NAMES)

            figures = run_weak_link(hosts["surv"], staff, survivor, CAP_KBIT)
            # The server sent over UDP too, all along: Firefox also opens an ICE-TCP stream
            # and may nominate it, but a TCP pair never takes a UDP pair's place.
            over_tcp = bytes_from_media_ports_over_tcp(hosts["surv"], hosts["srv"].address)
            print(f"bytes from the media ports over ICE-TCP: {over_tcp}")
            assert over_tcp < 20_000, over_tcp  # ICE checks only: no media
            print(f"\nFirefox, {CAP_KBIT} kbit/s for {CAP_SECONDS:.0f} s: {figures}")
            assert_meets_the_bars(figures, staff)
    finally:
        log = server.stop()
        (tmp_path / "server.log").write_text(log)  # Firefox's own is in tmp_path/firefox

    # Paused and resumed on the server's own estimate of Firefox's downlink (from its
    # transport-cc feedback), and the resume followed a probe that showed room.
    changes = ESTIMATE_LINE.findall(log)
    assert len(changes) >= 2, changes
    assert int(changes[-1][1]) >= 1, changes
    print(f"server's estimate at each change: {changes}; {time.monotonic() - started:.0f} s in all")
