"""Browser: a viewer's narrow downlink reaches the sender, which sends less (REMB).

Staff (the sender) and survivor in Chromium, each in its own namespace. The survivor's
downlink is shaped to 300 kbit/s with tbf (Chromium's fake camera sends about 400 to 480
kbit/s here, so a 600 kbit/s cap would not bind). The survivor's browser reports what it can
receive in REMB; the server asks staff's browser for no more than that, and staff's video
bitrate (its own outbound-rtp statistics) settles under the cap while video goes on.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import start_server
from netlab import NetLab, require_netns
from test_browser_call import frames_decoded, receiving_from, staff_admits_survivor, wait_for

pytestmark = pytest.mark.browser

CAP_KBIT = 300
SETTLE_SECONDS = 15.0

VIDEO_BYTES_SENT = """
async () => {
  const pc = window.__pcs.find((c) => c.connectionState === "connected");
  if (!pc) return 0;
  let bytes = 0;
  (await pc.getStats()).forEach((s) => {
    if (s.type === "outbound-rtp" && s.kind === "video") bytes += s.bytesSent;
  });
  return bytes;
}
"""


@pytest.fixture
def lab() -> Iterator[NetLab]:
    require_netns()
    with NetLab() as lab:
        yield lab


def video_kbps(page: Any, seconds: float = 2.0) -> float:
    """The page's outbound video bitrate over the next `seconds`."""
    start, at = page.evaluate(VIDEO_BYTES_SENT), time.monotonic()
    time.sleep(seconds)
    return float((page.evaluate(VIDEO_BYTES_SENT) - start) * 8 / (time.monotonic() - at) / 1000)


def test_a_narrow_downlink_brings_the_senders_bitrate_under_it(
    lab: NetLab, tmp_path: Path, staff_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    hosts = {name: lab.add_host(name) for name in ("srv", "staff", "surv")}
    server = start_server(hosts["srv"], staff_path)
    requests: list[str] = []
    try:
        with sync_playwright() as p:
            staff, survivor = staff_admits_survivor(p, hosts, tmp_path, server.url, requests)
            wait_for(lambda: receiving_from(survivor, 1), what="the survivor's media")

            # Uncapped, the sender climbs well above the cap.
            deadline = time.monotonic() + 30
            while (uncapped := video_kbps(staff)) < CAP_KBIT * 1.15:
                assert time.monotonic() < deadline, f"sender stayed at {uncapped:.0f} kbit/s"

            hosts["surv"].limit_downlink(CAP_KBIT)
            capped = time.monotonic()
            rates = []
            while (rate := video_kbps(staff)) >= CAP_KBIT:
                rates.append(round(rate))
                assert time.monotonic() - capped < SETTLE_SECONDS, f"still above: {rates}"
            settled = time.monotonic() - capped
            # It stays under, and video goes on for the survivor.
            before = frames_decoded(survivor)
            assert video_kbps(staff, seconds=4) < CAP_KBIT
            wait_for(lambda: frames_decoded(survivor) > before + 10, what="video under the cap")
    finally:
        server.stop()
    print(
        f"\nsender {uncapped:.0f} kbit/s uncapped; under the {CAP_KBIT} kbit/s cap "
        f"{settled:.1f} s after it was set (rates on the way: {rates})"
    )
