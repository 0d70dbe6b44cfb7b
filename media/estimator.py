"""A viewer's downlink as the server estimates it from transport-cc feedback, after GCC.

The published Google Congestion Control design (draft-ietf-rmcat-gcc-02), written afresh:

- **Delay-based.** Packets sent within 25 ms of a group's first form the group (GCC says
  5 ms, for a paced sender's bursts; a forwarding server sends as packets come, and fewer
  groups cost less: one per audio frame, a video frame's packets together). For each group,
  how much longer it took to arrive after the previous one than it took to send
  (inter-group delay variation) is added up, smoothed, and a line is fitted through the
  last 20 values (the trendline): a rising line means a queue is growing. The overuse
  detector compares the slope with a threshold that adapts to the link (so a link with
  jitter, or competing TCP, is not read as overuse). Overuse lowers the rate to 85 % of
  what the viewer has been receiving (the acknowledged rate); normal use raises it by 8 % a
  second, never beyond 1.5 times the acknowledged rate plus 10 kbit/s; underuse holds it.
- **Loss-based.** Over 10 % of the packets lost (judged twice a second) sets the rate to
  what arrived less half the loss; under 2 % raises it by 5 % a second, until it no longer
  limits (delay alone decides).
- The estimate is the lower of the two. A probe (`probed`) that showed more capacity
  raises both at once: that is how the estimate leaves a low point quickly.

Times on our side are `time.monotonic()` seconds; arrival times are the receiver's clock in
seconds, of which only differences are used.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass, field
from enum import Enum

from media.twcc import Report

BURST_SECONDS = 0.025  # packets sent within this of a group's first form one group
WINDOW = 20  # delay variations the trendline is fitted through
SMOOTHING = 0.9
TREND_GAIN = 4.0
MAX_DELTAS = 60
THRESHOLD_START_MS = 12.5
THRESHOLD_MIN_MS, THRESHOLD_MAX_MS = 6.0, 600.0
K_UP, K_DOWN = 0.0087, 0.039  # how fast the threshold follows the trend up and down
OVERUSE_MS = 10.0  # the trend must stay over the threshold this long
BETA = 0.85  # overuse: this share of the acknowledged rate
INCREASE_PER_SECOND = 1.08
ACKED_WINDOW = 1.0  # seconds of arrivals the acknowledged rate is measured over
HIGH_LOSS, LOW_LOSS = 0.10, 0.02
LOSS_GROWTH = 1.05  # a second
LOSS_MIN_PACKETS = 20
LOSS_SECONDS = 0.5  # loss is judged over at least this long (and LOSS_MIN_PACKETS)


class Usage(Enum):
    NORMAL = "normal"
    OVER = "over"
    UNDER = "under"


@dataclass(slots=True)
class Trendline:
    """The slope of the smoothed accumulated delay variation over the last WINDOW groups.

    The least-squares sums are kept as points come and go (this runs for every group),
    relative to an origin moved to the oldest point every WINDOW points, so they stay small
    however long the call."""

    accumulated: float = 0.0
    smoothed: float = 0.0
    first_arrival: float | None = None
    deltas: int = 0
    points: deque[tuple[float, float]] = field(default_factory=deque)
    trend: float = 0.0  # the slope times the gain and the number of deltas (ms)
    _origin: tuple[float, float] = (0.0, 0.0)
    _sums: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0, 0.0])  # x, y, xx, xy
    _since: int = 0  # points since the origin moved

    def update(self, arrival: float, variation_ms: float) -> float:
        first = self.first_arrival
        if first is None:
            first = self.first_arrival = arrival
        deltas = self.deltas
        if deltas < MAX_DELTAS:
            deltas = self.deltas = deltas + 1
        accumulated = self.accumulated = self.accumulated + variation_ms
        smoothed = self.smoothed = SMOOTHING * self.smoothed + (1 - SMOOTHING) * accumulated
        point = ((arrival - first) * 1000, smoothed)
        points, sums = self.points, self._sums
        ox, oy = self._origin
        full = len(points) == WINDOW
        if full:
            x, y = points.popleft()
            x, y = x - ox, y - oy
            sums[0] -= x
            sums[1] -= y
            sums[2] -= x * x
            sums[3] -= x * y
        points.append(point)
        self._since += 1
        if self._since >= WINDOW:
            self._rebase()
            sums = self._sums
        else:
            x, y = point[0] - ox, point[1] - oy
            sums[0] += x
            sums[1] += y
            sums[2] += x * x
            sums[3] += x * y
        if full or len(points) == WINDOW:
            sx, sy, sxx, sxy = sums
            den = WINDOW * sxx - sx * sx
            if den:
                self.trend = (WINDOW * sxy - sx * sy) / den * deltas * TREND_GAIN
        return self.trend

    def _rebase(self) -> None:
        ox, oy = self._origin = self.points[0]
        sums = self._sums = [0.0, 0.0, 0.0, 0.0]
        self._since = 0
        for x, y in self.points:
            x, y = x - ox, y - oy
            sums[0] += x
            sums[1] += y
            sums[2] += x * x
            sums[3] += x * y


def slope(points: deque[tuple[float, float]]) -> float | None:
    """The least-squares slope through `points` (what Trendline keeps up to date)."""
    origin = points[0][0]
    n = len(points)
    sx = sy = sxx = sxy = 0.0
    for x, y in points:
        x -= origin
        sx += x
        sy += y
        sxx += x * x
        sxy += x * y
    den = n * sxx - sx * sx
    return (n * sxy - sx * sy) / den if den else None


@dataclass(slots=True)
class Detector:
    """Overuse, underuse or normal, from the trend and a threshold that adapts to it."""

    threshold: float = THRESHOLD_START_MS
    over_ms: float = -1.0
    over_count: int = 0
    previous: float = 0.0
    updated_at: float | None = None
    usage: Usage = Usage.NORMAL
    overused: bool = False  # overuse was detected since the rate control last looked

    def detect(self, trend: float, send_delta_ms: float, deltas: int, now: float) -> Usage:
        if deltas < 2:
            return self.usage
        threshold = self.threshold
        if trend > threshold:
            over_ms = self.over_ms
            self.over_ms = over_ms = send_delta_ms / 2 if over_ms < 0 else over_ms + send_delta_ms
            self.over_count += 1
            if over_ms > OVERUSE_MS and self.over_count > 1 and trend >= self.previous:
                self.over_ms, self.over_count = 0.0, 0
                self.usage, self.overused = Usage.OVER, True
        else:
            self.over_ms, self.over_count = -1.0, 0
            self.usage = Usage.UNDER if trend < -threshold else Usage.NORMAL
        self.previous = trend
        # The threshold follows the trend (K_UP above it, K_DOWN below), but not spikes.
        updated_at = self.updated_at
        self.updated_at = now
        size = trend if trend >= 0 else -trend
        if size <= threshold + 15:
            k = K_DOWN if size < threshold else K_UP
            elapsed_ms = 0.0 if updated_at is None else (now - updated_at) * 1000
            if elapsed_ms > 100.0:
                elapsed_ms = 100.0
            threshold += k * (size - threshold) * elapsed_ms
            if threshold < THRESHOLD_MIN_MS:
                threshold = THRESHOLD_MIN_MS
            elif threshold > THRESHOLD_MAX_MS:
                threshold = THRESHOLD_MAX_MS
            self.threshold = threshold
        return self.usage


@dataclass(slots=True)
class Acked:
    """What the viewer received over the last ACKED_WINDOW seconds of arrivals, counted one
    feedback packet at a time: (first arrival, last arrival, octets) of each."""

    batches: deque[tuple[float, float, int]] = field(default_factory=deque)
    octets: int = 0
    packets: int = 0

    def add(self, first: float, last: float, octets: int, packets: int) -> None:
        self.batches.append((first, last, octets))
        self.octets += octets
        self.packets += packets
        while self.batches and last - self.batches[0][1] > ACKED_WINDOW:
            self.octets -= self.batches.popleft()[2]

    def bps(self) -> int | None:
        if self.packets < 2 or not self.batches:
            return None
        span = max(self.batches[-1][1] - self.batches[0][0], 0.25)
        return int(self.octets * 8 / span)


@dataclass(slots=True)
class Estimator:
    """One viewer's downlink estimate (bits per second of RTP, all streams together)."""

    start_bps: int = 300_000
    min_bps: int = 30_000
    max_bps: int = 20_000_000
    delay_bps: float = field(init=False)
    loss_bps: float = field(init=False)
    congested_at: float = -math.inf  # when the estimate last fell for overuse or loss
    lossy_at: float = -math.inf  # when over HIGH_LOSS of the packets were last lost
    trendline: Trendline = field(default_factory=Trendline)
    detector: Detector = field(default_factory=Detector)
    acked: Acked = field(default_factory=Acked)
    _group: tuple[float, float, float] | None = None  # first sent, last sent, last arrival
    _previous: tuple[float, float] | None = None  # the group before: last sent and arrival
    _last_sent: float = -math.inf
    _increased_at: float | None = None
    _counted: tuple[int, int] = (0, 0)  # packets (expected, lost) since loss was judged
    _loss_at: float | None = None
    loss: float | None = None  # the share lost when loss was last judged

    def __post_init__(self) -> None:
        self.delay_bps = float(self.start_bps)
        self.loss_bps = math.inf  # until loss lowers it

    @property
    def bitrate(self) -> int:
        return int(max(self.min_bps, min(self.delay_bps, self.loss_bps, self.max_bps)))

    def update(self, report: Report, now: float) -> None:
        """Take what one feedback reports (see `twcc.report`)."""
        expected, lost = self._counted
        self._counted = (expected + report.expected, lost + report.lost)
        sent, arrivals = report.sent, report.arrivals
        if arrivals:
            self.acked.add(min(arrivals), max(arrivals), report.octets, len(arrivals))
            if sent[0] < self._last_sent:  # reported again, or feedback out of order
                skip = bisect_right(sent, self._last_sent)
                sent, arrivals = sent[skip:], arrivals[skip:]
        if sent:
            self._last_sent = sent[-1]
            self._group_packets(sent, arrivals)
        self._judge_loss(now)
        self._control(now)

    def _group_packets(self, sent: list[float], arrivals: list[float]) -> None:
        """Gather packets sent in order into groups, and compare each complete group with the
        one before it. This runs for every packet: kept to locals."""
        group = self._group
        if group is None:
            first, last, arrived = sent[0], sent[0], arrivals[0]
        else:
            first, last, arrived = group
        previous = self._previous
        for at, arrival in zip(sent, arrivals, strict=True):
            if at - first <= BURST_SECONDS:
                last = at
                if arrival > arrived:
                    arrived = arrival
                continue
            if previous is not None:  # a group is complete: compare it with the one before
                self._compare(previous, last, arrived)
            previous = (last, arrived)
            first = last = at
            arrived = arrival
        self._group, self._previous = (first, last, arrived), previous

    def restart(self) -> None:
        """Forget the delay history, what arrived and the loss counted, keeping the rate:
        feedback resumes after an outage, whose packets say nothing about congestion."""
        self.trendline, self.detector, self.acked = Trendline(), Detector(), Acked()
        self._group = self._previous = None
        self._last_sent = -math.inf
        self._increased_at = self._loss_at = None
        self._counted = (0, 0)

    def probed(self, bps: int, now: float) -> None:
        """A probe showed the link takes `bps`: the estimate is at least that now."""
        if bps > self.bitrate:
            self.delay_bps = max(self.delay_bps, float(bps))
            if self.loss_bps < bps:
                self.loss_bps = math.inf
            self._increased_at = now

    def _compare(self, previous: tuple[float, float], sent: float, arrival: float) -> None:
        """A complete group (last sent, last arrival) against the one before it."""
        send_delta = sent - previous[0]
        arrival_delta = arrival - previous[1]
        if arrival_delta > 3.0 or arrival_delta < -3.0:  # a gap or a clock jump: start over
            self.trendline, self.detector = Trendline(), Detector()
            return
        trend = self.trendline.update(arrival, (arrival_delta - send_delta) * 1000)
        # The threshold adapts over the groups' own time (their arrival), not the time their
        # feedback was read: ten groups in one feedback are 100 ms of adapting, not none.
        self.detector.detect(trend, send_delta * 1000, self.trendline.deltas, arrival)

    def _control(self, now: float) -> None:
        usage = self.detector.usage
        acked = self.acked.bps()
        if self.detector.overused:
            base = BETA * acked if acked is not None else BETA * self.delay_bps
            if base < self.delay_bps:
                self.delay_bps = base
                self.congested_at = now
            self.detector.overused = False  # one decrease per overuse signal
            self.detector.usage = Usage.NORMAL
            self._increased_at = None  # hold until the next feedback
        elif usage is Usage.UNDER:
            self._increased_at = None
        else:
            if self._increased_at is not None:
                elapsed = min(now - self._increased_at, 1.0)
                limit = 1.5 * acked + 10_000 if acked is not None else math.inf
                if self.delay_bps < limit:
                    raised = self.delay_bps * INCREASE_PER_SECOND**elapsed
                    self.delay_bps = min(raised, limit)
            self._increased_at = now
        self.delay_bps = min(max(self.delay_bps, float(self.min_bps)), float(self.max_bps))

    def _judge_loss(self, now: float) -> None:
        expected, lost = self._counted
        if self._loss_at is None:
            self._loss_at = now
        if expected < LOSS_MIN_PACKETS or now - self._loss_at < LOSS_SECONDS:
            return
        self.loss = lost / expected
        elapsed = min(now - self._loss_at, 2.0)
        self._counted, self._loss_at = (0, 0), now
        if self.loss > HIGH_LOSS:
            # What arrived, less half the loss: not the previous estimate less it, since the
            # loss may come from a sender that has not yet adapted (the server forwards, it
            # does not set the rate), and compounding would sink the estimate to nothing.
            acked = self.acked.bps()
            base = float(acked) if acked is not None else min(self.loss_bps, self.delay_bps)
            self.loss_bps = max(base * (1 - self.loss / 2), float(self.min_bps))
            self.congested_at = self.lossy_at = now
        elif self.loss < LOW_LOSS:
            self.loss_bps *= LOSS_GROWTH**elapsed
            if self.loss_bps >= self.delay_bps:  # no longer the limit: delay alone decides
                self.loss_bps = math.inf
