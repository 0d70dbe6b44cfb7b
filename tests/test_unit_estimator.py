"""Unit tests of the server's downlink estimate, fed feedback from a simulated bottleneck
(tests/linksim.py): a queue drained at a set rate, as tbf shapes the test links."""

from __future__ import annotations

from linksim import Link, Sender

from media import twcc
from media.estimator import Detector, Estimator, Usage

FEEDBACK_SECONDS = 0.1


def run(
    estimator: Estimator, sender: Sender, start: float, seconds: float, follow: bool = True
) -> list[int]:
    """Send at the estimate (or at the start rate), feed back every 100 ms; the estimates."""
    rates, now, rate = [], start, float(estimator.bitrate)
    while now < start + seconds:
        if follow:
            rate = estimator.bitrate
        now = sender.paced(now, FEEDBACK_SECONDS, rate, size=600)
        report = twcc.report(sender.feedback(), sender.log)
        assert report is not None
        estimator.update(report, now)
        rates.append(estimator.bitrate)
    return rates


def test_the_estimate_grows_on_a_wide_link_and_settles_under_a_narrow_one() -> None:
    link = Link(bps=1_000_000)
    sender, estimator = Sender(link), Estimator(start_bps=300_000)
    rates = run(estimator, sender, 0.0, 20.0)
    assert max(rates[:10]) < 400_000  # 8 % a second, no leaps
    assert 700_000 < rates[-1] <= 1_150_000, rates[-20:]
    assert estimator.congested_at > 0  # it found the limit by the queue growing

    link.bps = 200_000  # the link narrows: the queue grows, the estimate falls
    rates = run(estimator, sender, 20.0, 6.0)
    fell = next(i for i, r in enumerate(rates) if r < 250_000)
    assert fell * FEEDBACK_SECONDS < 3.0, rates[:30]
    assert min(rates[-20:]) > 120_000 and max(rates[-20:]) < 260_000, rates[-20:]
    assert estimator.congested_at > 20.0


def test_jitter_without_a_growing_queue_is_not_overuse() -> None:
    link = Link(bps=5_000_000, jitter=0.004)
    sender, estimator = Sender(link), Estimator(start_bps=300_000)
    rates = run(estimator, sender, 0.0, 10.0)
    assert rates[-1] > 550_000  # grew ~8 % a second the whole time
    assert estimator.congested_at < 0


def test_heavy_random_loss_lowers_the_estimate_and_light_loss_does_not() -> None:
    light = Estimator(start_bps=500_000)
    run(light, Sender(Link(bps=5_000_000, loss=0.01)), 0.0, 5.0, follow=False)
    assert light.bitrate >= 500_000 and light.loss is not None and light.loss < 0.02

    heavy = Estimator(start_bps=500_000)
    run(heavy, Sender(Link(bps=5_000_000, loss=0.25)), 0.0, 5.0, follow=False)
    assert heavy.bitrate < 0.9 * 0.75 * 500_000  # what arrived, less half the loss
    assert heavy.loss is not None and heavy.loss > 0.1
    assert heavy.congested_at > 0


def test_a_probe_lifts_the_estimate_at_once_but_never_lowers_it() -> None:
    estimator = Estimator(start_bps=100_000)
    estimator.probed(600_000, 1.0)
    assert estimator.bitrate == 600_000
    estimator.probed(200_000, 2.0)
    assert estimator.bitrate == 600_000


def test_the_estimate_cannot_run_far_ahead_of_what_the_link_carried() -> None:
    # Sending only 100 kbit/s on a wide link: the estimate may grow to 1.5x that + 10 kbit/s.
    estimator = Estimator(start_bps=100_000)
    run(estimator, Sender(Link(bps=5_000_000)), 0.0, 20.0, follow=False)
    assert 150_000 <= estimator.bitrate <= 1.5 * 110_000 + 10_000


def test_the_detector_needs_a_sustained_rising_trend() -> None:
    detector = Detector()
    assert detector.detect(30.0, 5.0, 10, 0.0) is Usage.NORMAL  # once is not enough
    assert detector.detect(31.0, 5.0, 10, 0.005) is Usage.NORMAL  # not 10 ms yet
    assert detector.detect(32.0, 5.0, 10, 0.010) is Usage.OVER
    assert detector.detect(-40.0, 5.0, 10, 0.015) is Usage.UNDER
    # The threshold follows a trend that stays high, so a steady offset stops counting.
    for i in range(400):
        detector.detect(20.0, 5.0, 10, 0.1 * i)
    assert detector.threshold > 19.0


def test_the_trendline_keeps_the_least_squares_slope_over_a_long_call() -> None:
    import random

    from media.estimator import TREND_GAIN, WINDOW, Trendline, slope

    rng, trendline, arrival = random.Random(3), Trendline(), 5_000.0  # hours into a call
    for _ in range(5_000):
        arrival += rng.uniform(0.001, 0.04)
        trendline.update(arrival, rng.gauss(0.2, 3.0))
        assert len(trendline.points) <= WINDOW
    expected = slope(trendline.points)
    assert expected is not None
    assert abs(trendline.trend - expected * trendline.deltas * TREND_GAIN) < 1e-6
