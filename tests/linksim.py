"""A simulated bottleneck for estimator and prober tests: a FIFO queue drained at a set rate
(as tbf shapes a link), with feedback as a receiver would report it."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from media import twcc


@dataclass
class Link:
    """Packets queue behind each other at `bps`; one that would wait longer than
    `queue_seconds` is dropped; `loss` of the rest are lost at random. With `burst` bytes,
    a token bucket as tbf's: after a quiet spell that much passes at once."""

    bps: float
    queue_seconds: float = 0.05
    delay: float = 0.02
    loss: float = 0.0
    jitter: float = 0.0
    burst: int = 0
    free_at: float = 0.0  # when the link has sent everything queued
    tokens: float = 0.0  # bytes the bucket held at `free_at`
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def arrival(self, sent: float, size: int) -> float | None:
        """When a packet sent at `sent` arrives (receiver clock = ours + 100 s), or None."""
        start = max(sent, self.free_at)
        tokens = min(self.burst, self.tokens + (start - self.free_at) * self.bps / 8)
        if tokens >= size:  # the bucket lets it through at once
            leaves, tokens = start, tokens - size
        else:
            leaves, tokens = start + (size - tokens) * 8 / self.bps, 0.0
        if self.burst == 0:
            leaves = start + size * 8 / self.bps
        if leaves - sent > self.queue_seconds:
            return None
        self.free_at, self.tokens = leaves, tokens
        if self.rng.random() < self.loss:
            return None
        return 100.0 + self.free_at + self.delay + self.rng.random() * self.jitter


@dataclass
class Sender:
    """Numbers packets through a send log and keeps what became of them until reported."""

    link: Link
    log: twcc.SendLog = field(default_factory=lambda: twcc.SendLog(ext_id=3))
    pending: list[tuple[int, float | None]] = field(default_factory=list)
    fb_count: int = 0
    next_at: float = 0.0  # when the next paced packet is due

    def send(self, now: float, size: int) -> int:
        seq = self.log.take(now, size)
        arrival = self.link.arrival(now, size + twcc.OVERHEAD)
        self.pending.append((seq, arrival))
        return seq

    def paced(self, start: float, seconds: float, bps: float, size: int = 1200) -> float:
        """Send packets of `size` at `bps` for `seconds` from `start`; returns the end."""
        gap = size * 8 / max(bps, 1.0)
        now = max(start, self.next_at)
        while now < start + seconds:
            self.send(now, size)
            now += gap
        self.next_at = now
        return start + seconds

    def feedback(self) -> bytes:
        """The feedback packet the receiver sends on everything sent since the last one."""
        packets, self.pending = self.pending, []
        assert packets, "nothing sent since the last feedback"
        arrivals = [int(a * 1e6) if a is not None else None for _, a in packets]
        self.fb_count += 1
        return twcc.build(1, 2, packets[0][0], self.fb_count, arrivals)
