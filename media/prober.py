"""Probing a viewer's downlink: short clusters of padding above the estimate, and the rate
the feedback on them shows the link carried.

A viewer whose video is paused for a weak link gets only audio and a little padding, so its
link shows little of what it could carry: an estimate can grow only by 8 % a second from
there. A probe sends, for `seconds` (300 ms), padding at a target rate well above the
estimate. If the packets of the cluster arrived as fast as they were sent, with little
lost, the link carries at least that rate and the estimate jumps to it; the next probe then
aims twice as high, at once (exponential growth while probes succeed), until the estimate
is twice what the caller needs to see (the recovery threshold and audio). If they arrived
slower, or many were lost, the link is still narrow: the next probe waits `interval`
seconds, so a capped link is overloaded only briefly and rarely (audio goes on).

The cluster is every packet numbered (transport-wide) from its first padding packet to its
last, audio included: the rates are what the link carried while the probe was on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from media.twcc import SEQ_MOD, Report, Result

MIN_PACKETS = 5  # fewer received: no result
MAX_LOSS = 0.1  # a probe that lost more than this failed
SLOWER = 0.9  # received at under this share of the send rate: the link is narrower
RESULT_WAIT = 1.0  # seconds after a probe's end to wait for its feedback
MAX_TARGET_BPS = 5_000_000


@dataclass
class Cluster:
    target_bps: int
    ends_at: float
    first: int | None = None  # transport sequence numbers of its first and last packets
    last: int | None = None
    results: dict[int, Result] = field(default_factory=dict)

    def holds(self, seq: int) -> bool:
        if self.first is None or self.last is None:
            return False
        return (seq - self.first) % SEQ_MOD <= (self.last - self.first) % SEQ_MOD


@dataclass
class Prober:
    """Probe clusters for one viewer; `rate` paces them, `feedback` reads their outcome."""

    seconds: float = 0.3
    interval: float = 2.5  # after a failed probe
    cluster: Cluster | None = None
    next_at: float = 0.0
    next_target: int = 0  # after a successful probe: where the next one aims
    probes: int = 0
    succeeded: int = 0

    def rate(self, now: float, estimate: int, floor_bps: int) -> int | None:
        """The rate to send at now if a probe is on (one starts when due), else None.

        A new probe aims at twice the estimate, at least `floor_bps`, or after a success
        at twice what that showed. None is started once the estimate is twice `floor_bps`:
        a paused viewer's link needs to show only so much."""
        cluster = self.cluster
        if cluster is not None:
            return cluster.target_bps if now < cluster.ends_at else None
        if now < self.next_at or estimate >= 2 * floor_bps:
            return None
        target = max(2 * estimate, floor_bps, self.next_target)
        self.cluster = Cluster(min(target, MAX_TARGET_BPS), now + self.seconds)
        self.next_target = 0
        self.probes += 1
        return self.cluster.target_bps

    def sent(self, seq: int) -> None:
        """A packet of the probe went out numbered `seq`."""
        cluster = self.cluster
        if cluster is not None:
            if cluster.first is None:
                cluster.first = seq
            cluster.last = seq

    def feedback(self, report: Report, now: float) -> int | None:
        """Read feedback; once the probe's packets are all reported (or given up on), the
        rate it showed, or None (no probe ended, or it failed)."""
        cluster = self.cluster
        if cluster is None:
            return None
        for result in report.results():
            if cluster.holds(result.seq):
                cluster.results[result.seq] = result
        sending = now < cluster.ends_at
        complete = cluster.last is not None and cluster.last in cluster.results
        if sending or not (complete or now > cluster.ends_at + RESULT_WAIT):
            return None
        self.cluster = None
        probed = probed_rate(cluster)
        if probed is not None and probed >= SLOWER * cluster.target_bps:
            self.succeeded += 1
            self.next_at, self.next_target = now, 2 * probed
        else:
            self.next_at = now + self.interval
        return probed

    def wait(self, now: float) -> None:
        """No probe before `interval` from now (a viewer just paused: let it settle)."""
        self.cluster, self.next_at, self.next_target = None, now + self.interval, 0


def probed_rate(cluster: Cluster) -> int | None:
    """What the link carried during a probe: the lower of the send and receive rates, both
    over the cluster less its last packet; None when too much was lost to tell."""
    if cluster.first is None or cluster.last is None:
        return None
    count = (cluster.last - cluster.first) % SEQ_MOD + 1
    received = [r for r in cluster.results.values() if r.arrival is not None]
    if len(received) < MIN_PACKETS or len(received) < (1 - MAX_LOSS) * count:
        return None
    by_send = sorted(received, key=lambda r: r.sent)
    send_span = max(by_send[-1].sent - by_send[0].sent, 0.001)
    send_bps = sum(r.size for r in by_send[:-1]) * 8 / send_span
    by_arrival = sorted(received, key=lambda r: r.arrival or 0.0)
    receive_bps = _rate(by_arrival)
    # After a quiet spell a shaper lets a burst through at full speed (tbf's bucket): the
    # second half of the cluster shows the link's own pace.
    receive_bps = min(receive_bps, _rate(by_arrival[len(by_arrival) // 2 :]))
    if receive_bps < SLOWER * send_bps:
        return int(0.95 * receive_bps)
    return int(min(send_bps, receive_bps))


def _rate(by_arrival: list[Result]) -> float:
    if len(by_arrival) < 2:
        return float("inf")
    span = max((by_arrival[-1].arrival or 0.0) - (by_arrival[0].arrival or 0.0), 0.001)
    return sum(r.size for r in by_arrival[1:]) * 8 / span
