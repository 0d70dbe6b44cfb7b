"""Counts for the admin, in Prometheus text format, that cannot time anyone's call.

A live count of calls, or a packet counter scraped every few seconds, would show when a
lone call started and ended. So what `/metrics` shows is a snapshot taken every
`PERIOD` seconds: counters as they stood then, and each gauge as the highest it reached in
that period, rounded up to a multiple of `STEP`. No label carries an id, an address or a
name: the only labels are an error code from the protocol's fixed list and which of the
server's processes a figure is about.

The packets and bytes forwarded would show how long a lone call lasted (its media's volume
over a period is about its minutes times its bitrate), so they are shown rounded down to a
large step (`COUNTER_STEPS`): on a quiet server they move only every hour or so of calls.

The asyncio tasks are the server's own health, for finding leaks: they are sampled only when
nobody is connected, so they say nothing about the calls.

A snapshot can also be taken at once (`snapshot`, on SIGUSR1): only someone who may signal
the process, and could read its memory anyway, can ask for one.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

PERIOD = 900.0  # seconds between snapshots
STEP = 5  # gauges are shown rounded up to a multiple of this

COUNTERS = {
    "sign_in_failures": "Staff sign-ins refused (wrong password, limited or busy)",
    "fallbacks": "Times a viewer's link was judged too weak for video",
    "worker_exits": "Media worker processes that stopped while the server ran",
    "forwarded_packets": "Media packets forwarded, once per viewer (rounded down to a million)",
    "forwarded_bytes": "Media payload bytes forwarded, once per viewer (rounded down to a GB)",
}
# Counters that could time a lone call are shown rounded down to a multiple of these.
COUNTER_STEPS = {"forwarded_packets": 1_000_000, "forwarded_bytes": 1_000_000_000}
GAUGES = {
    "calls": "Calls held (highest in the period, rounded up)",
    "participants": "People in calls and lobbies (highest in the period, rounded up)",
}


def coarse(value: int) -> int:
    return STEP * math.ceil(value / STEP)


def shown_counter(name: str, value: int) -> int:
    step = COUNTER_STEPS.get(name, 1)
    return value // step * step


@dataclass
class Metrics:
    counters: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)  # by error code
    peaks: dict[str, int] = field(default_factory=dict)
    idle_tasks: dict[str, int] = field(default_factory=dict)  # by process, when nobody was on
    shown: str = ""  # the last snapshot, as served
    taken_at: float | None = None

    def count(self, name: str, by: int = 1) -> None:
        self.counters[name] += by

    def observe(self, **gauges: int) -> None:
        """Current gauge values; only their peak in the period is kept."""
        for name, value in gauges.items():
            self.peaks[name] = max(self.peaks.get(name, 0), value)

    def idle(self, **tasks: int) -> None:
        """asyncio tasks by process, at a moment when nobody is connected."""
        self.idle_tasks.update(tasks)

    def tick(self, now: float) -> None:
        """Take a snapshot when a period has passed (and at the first tick)."""
        if self.taken_at is not None and now - self.taken_at < PERIOD:
            return
        self.snapshot(now)

    def snapshot(self, now: float) -> None:
        """Take a snapshot now; the next is due a period later."""
        self.taken_at = now
        self.shown = self.render()
        self.peaks.clear()

    def render(self) -> str:
        lines: list[str] = []
        for name, text in COUNTERS.items():
            lines += [
                f"# HELP quietroom_{name}_total {text}.",
                f"# TYPE quietroom_{name}_total counter",
                f"quietroom_{name}_total {shown_counter(name, self.counters[name])}",
            ]
        lines += [
            "# HELP quietroom_refused_messages_total Signaling messages refused, by error code.",
            "# TYPE quietroom_refused_messages_total counter",
        ]
        lines += [
            f'quietroom_refused_messages_total{{code="{code}"}} {n}'
            for code, n in sorted(self.refused.items())
        ]
        for name, text in GAUGES.items():
            lines += [
                f"# HELP quietroom_{name} {text}.",
                f"# TYPE quietroom_{name} gauge",
                f"quietroom_{name} {coarse(self.peaks.get(name, 0))}",
            ]
        lines += [
            "# HELP quietroom_idle_tasks asyncio tasks, by process, the last time nobody was "
            "connected (growing from one idle time to the next: a leak).",
            "# TYPE quietroom_idle_tasks gauge",
        ]
        lines += [
            f'quietroom_idle_tasks{{process="{process}"}} {n}'
            for process, n in sorted(self.idle_tasks.items())
        ]
        lines += [
            "# HELP quietroom_snapshot_period_seconds How often these figures are renewed.",
            "# TYPE quietroom_snapshot_period_seconds gauge",
            f"quietroom_snapshot_period_seconds {PERIOD:g}",
        ]
        return "\n".join(lines) + "\n"
