"""Browser: a viewer's narrow downlink reaches the sender (REMB), and one too narrow for
video gets audio only until it recovers.

Staff (the sender) and survivor in Chromium, each in its own namespace; the survivor's
downlink is shaped with tbf.

- 600 kbit/s: the survivor's browser reports what it can receive in REMB; the server asks
  staff's browser for no more than that, and staff's video bitrate (its own outbound-rtp
  statistics) settles under the cap while video goes on, without falling back. Staff's
  camera is a textured clip that climbs to about 1 Mbit/s (Chromium's own fake camera
  stays under 500 kbit/s, which a 600 kbit/s cap would not bind).
- 250 kbit/s: the survivor's estimate falls under the fallback threshold; the server stops
  forwarding video to the survivor, both pages say so, staff's browser stops sending video
  (nobody else could watch it), and the survivor's audio goes on without a gap. Once the
  cap is lifted, video comes back.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import start_server, textured_camera
from netlab import Host, NetLab, require_netns
from test_browser_call import frames_decoded, receiving_from, staff_admits_survivor, wait_for

pytestmark = pytest.mark.browser

CAP_KBIT = 600
SETTLE_SECONDS = 15.0
WEAK_CAP_KBIT = 250
FALLBACK_SECONDS = 10.0  # cap set -> both pages say video is paused for a weak connection
RECOVERY_SECONDS = 20.0  # cap lifted -> the survivor decodes video again
AUDIO_GAP_MS = 300  # the longest the survivor's audio may be all concealment
WEAK = "video paused: weak connection"

# From now on, every 50 ms: the page's received and concealed audio samples.
LOG_AUDIO = """
() => {
  window.__audio = [];
  window.__audioTimer = setInterval(async () => {
    const pc = window.__pcs.find((c) => c.connectionState === "connected");
    if (!pc) return;
    let total = 0, concealed = 0;
    (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "audio") {
        total += s.totalSamplesReceived || 0;
        concealed += s.concealedSamples || 0;
      }
    });
    window.__audio.push([performance.now(), total, concealed]);
  }, 50);
}
"""

CAPTIONS = "() => [...document.querySelectorAll('figcaption')].map((c) => c.textContent)"

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


@pytest.fixture
def call_hosts(lab: NetLab, staff_path: Path) -> Iterator[tuple[dict[str, Host], str]]:
    """Server, staff and survivor hosts, with the server running: the hosts and its URL."""
    hosts = {name: lab.add_host(name) for name in ("srv", "staff", "surv")}
    server = start_server(hosts["srv"], staff_path)
    try:
        yield hosts, server.url
    finally:
        server.stop()


def video_kbps(page: Any, seconds: float = 2.0) -> float:
    """The page's outbound video bitrate over the next `seconds`."""
    start, at = page.evaluate(VIDEO_BYTES_SENT), time.monotonic()
    time.sleep(seconds)
    return float((page.evaluate(VIDEO_BYTES_SENT) - start) * 8 / (time.monotonic() - at) / 1000)


def test_a_narrow_downlink_brings_the_senders_bitrate_under_it(
    call_hosts: tuple[dict[str, Host], str], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    hosts, url = call_hosts
    requests: list[str] = []
    with sync_playwright() as p:
        camera = f"--use-file-for-fake-video-capture={textured_camera(tmp_path)}"
        staff, survivor = staff_admits_survivor(
            p, hosts, tmp_path, url, requests, staff_flags=(camera,)
        )
        wait_for(lambda: receiving_from(survivor, 1), what="the survivor's media")

        # Uncapped, the sender climbs well above the cap.
        deadline = time.monotonic() + 45
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
        assert not says_weak(survivor) and not says_weak(staff)  # no fallback
    print(
        f"\nsender {uncapped:.0f} kbit/s uncapped; under the {CAP_KBIT} kbit/s cap "
        f"{settled:.1f} s after it was set (rates on the way: {rates})"
    )


def longest_audio_gap_ms(log: list[list[float]]) -> float:
    """The longest run of samples, in ms, where (almost) all audio played was concealment
    or none was played at all."""
    longest = run = 0.0
    for (t0, total0, hidden0), (t1, total1, hidden1) in itertools.pairwise(log):
        played, hidden = total1 - total0, hidden1 - hidden0
        if played <= 0 or hidden >= 0.9 * played:
            run += t1 - t0
            longest = max(longest, run)
        else:
            run = 0.0
    return longest


def says_weak(page: Any) -> bool:
    return any(WEAK in caption for caption in page.evaluate(CAPTIONS))


def quality_of_survivor(staff: Any) -> str | None:
    """What staff's people list says of the survivor's connection: good, weak or nothing."""
    return staff.get_attribute("#people [data-person]", "data-quality")


def test_a_downlink_too_narrow_for_video_gets_audio_only_until_it_recovers(
    call_hosts: tuple[dict[str, Host], str], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    hosts, url = call_hosts
    requests: list[str] = []
    with sync_playwright() as p:
        staff, survivor = staff_admits_survivor(p, hosts, tmp_path, url, requests)
        wait_for(lambda: receiving_from(survivor, 1), what="the survivor's media")
        wait_for(lambda: frames_decoded(survivor) > 60, what="video for a few seconds")
        assert not says_weak(survivor) and not says_weak(staff)
        # Staff see the survivor's connection as the server does: good, with its round trip.
        wait_for(lambda: quality_of_survivor(staff) == "good", 10, "staff see a good link")
        wait_for(lambda: "ms round trip" in staff.inner_text("#people"), 10, "a round trip")

        survivor.evaluate(LOG_AUDIO)
        hosts["surv"].limit_downlink(WEAK_CAP_KBIT)
        capped = time.monotonic()
        wait_for(lambda: says_weak(survivor), FALLBACK_SECONDS, "the survivor told")
        wait_for(lambda: says_weak(staff), FALLBACK_SECONDS - 1, "staff told")
        fell_back = time.monotonic() - capped
        wait_for(lambda: quality_of_survivor(staff) == "weak", 5, "staff see a weak link")
        assert fell_back < FALLBACK_SECONDS
        # No video reaches the survivor, and staff's browser has stopped sending it.
        time.sleep(1)
        frames = frames_decoded(survivor)
        assert video_kbps(staff, seconds=3) < 10
        assert frames_decoded(survivor) <= frames + 2
        audio_log = survivor.evaluate("window.__audio")
        gap = longest_audio_gap_ms(audio_log)
        assert len(audio_log) > 50 and audio_log[-1][1] > audio_log[0][1]
        assert gap <= AUDIO_GAP_MS, f"the survivor's audio stopped for {gap:.0f} ms"

        hosts["surv"].limit_downlink(None)
        lifted = time.monotonic()
        wait_for(
            lambda: not says_weak(survivor) and frames_decoded(survivor) > frames + 10,
            RECOVERY_SECONDS,
            "video again",
        )
        recovered = time.monotonic() - lifted
        wait_for(lambda: not says_weak(staff), 5, "staff told video is back")
    print(
        f"\nfallback {fell_back:.1f} s after the {WEAK_CAP_KBIT} kbit/s cap; longest audio gap "
        f"{gap:.0f} ms; video back {recovered:.1f} s after the cap was lifted"
    )
