"""Unit tests of probing, fed feedback from a simulated bottleneck (tests/linksim.py): a
paused viewer gets audio and padding, and probe clusters above its estimate, as the router
paces them (every 20 ms)."""

from __future__ import annotations

from linksim import Link, Sender

from media import twcc
from media.prober import Cluster, Prober, probed_rate

TICK = 0.02
AUDIO_BYTES = 110  # 20 ms of Opus with its header: ~45 kbit/s
PAD_MAX = 255


def paused_viewer(
    sender: Sender, prober: Prober, estimate: int, seconds: float, start: float = 0.0
) -> list[int | None]:
    """Audio, padding up to `estimate` and the prober's clusters; every probe's outcome."""
    outcomes: list[int | None] = []
    now, credit, ticks = start, 0.0, 0
    while now < start + seconds:
        sender.send(now, AUDIO_BYTES)
        target = prober.rate(now, estimate, floor_bps=400_000)
        credit += max((target or estimate) - 45_000, 20_000) * TICK / 8
        while credit >= PAD_MAX:
            seq = sender.send(now, PAD_MAX + 12)
            if target is not None:
                prober.sent(seq)
            credit -= PAD_MAX
        now += TICK
        ticks += 1
        if ticks % 5 == 0:  # feedback every 100 ms
            report = twcc.report(sender.feedback(), sender.log)
            assert report is not None
            outcome = prober.feedback(report, now)
            if outcome is not None:
                outcomes.append(outcome)
    return outcomes


def test_a_probe_on_a_wide_link_shows_its_rate_and_the_next_aims_twice_as_high() -> None:
    prober = Prober()
    shown = paused_viewer(Sender(Link(bps=10_000_000)), prober, 150_000, 1.0)
    assert shown and 360_000 < shown[0] < 480_000, shown  # aimed at the 400k floor
    assert prober.succeeded >= 1
    # Success: the next probe starts at once and aims at twice what was shown.
    assert prober.probes >= 2 and len(shown) >= 2 and shown[1] > 1.6 * shown[0], shown


def test_a_probe_over_a_shaped_link_fails_despite_the_shapers_burst() -> None:
    for kbit in (120, 180, 250):
        prober = Prober()
        link = Link(bps=kbit * 1000, burst=3200, queue_seconds=0.05)
        outcomes = paused_viewer(Sender(link), prober, 150_000, 5.0)
        assert prober.succeeded == 0, (kbit, outcomes)
        assert all(o is None or o < 1.2 * kbit * 1000 for o in outcomes), (kbit, outcomes)
        assert prober.probes <= 2  # one every 2.5 s: the link is overloaded rarely


def test_probing_finds_a_lifted_cap_within_four_seconds() -> None:
    prober = Prober()
    link = Link(bps=180_000, burst=3200)
    sender = Sender(link)
    assert not paused_viewer(sender, prober, 150_000, 3.0)
    link.bps = 1_000_000_000  # lifted
    outcomes = paused_viewer(sender, prober, 150_000, 4.0, start=3.0)
    assert any(o is not None and o > 350_000 for o in outcomes), outcomes


def test_too_few_packets_or_too_much_loss_shows_nothing() -> None:
    cluster = Cluster(400_000, ends_at=1.0, first=10, last=19)
    for seq in range(10, 14):
        cluster.results[seq] = twcc.Result(seq, seq / 100, 300, 100 + seq / 100)
    assert probed_rate(cluster) is None  # 4 received
    for seq in range(14, 20):
        arrival = 100 + seq / 100 if seq % 3 else None
        cluster.results[seq] = twcc.Result(seq, seq / 100, 300, arrival)
    assert probed_rate(cluster) is None  # 2 of 10 lost


def test_a_cluster_holds_numbers_across_the_wrap() -> None:
    cluster = Cluster(400_000, ends_at=1.0, first=65530, last=3)
    assert cluster.holds(65535) and cluster.holds(0) and cluster.holds(3)
    assert not cluster.holds(4) and not cluster.holds(65529)


def test_no_probe_once_the_estimate_is_twice_what_is_needed() -> None:
    prober = Prober()
    assert prober.rate(0.0, estimate=800_000, floor_bps=400_000) is None
    assert prober.rate(0.0, estimate=799_999, floor_bps=400_000) == 1_599_998
