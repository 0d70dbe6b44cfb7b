"""Counts for the admin, in Prometheus text format, that cannot time anyone's call.

A live count of calls, or a packet counter scraped every few seconds, would show when a
lone call started and ended. So what `/metrics` shows is a snapshot taken every
`PERIOD` seconds: counters as they stood then, and each gauge as the highest it reached in
that period, rounded up to a multiple of `STEP`. No label carries an id, an address or a
name: the only label is an error code from the protocol's fixed list.
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
}
GAUGES = {
    "calls": "Calls held (highest in the period, rounded up)",
    "participants": "People in calls and lobbies (highest in the period, rounded up)",
}


def coarse(value: int) -> int:
    return STEP * math.ceil(value / STEP)


@dataclass
class Metrics:
    counters: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)  # by error code
    peaks: dict[str, int] = field(default_factory=dict)
    shown: str = ""  # the last snapshot, as served
    taken_at: float | None = None

    def count(self, name: str, by: int = 1) -> None:
        self.counters[name] += by

    def observe(self, **gauges: int) -> None:
        """Current gauge values; only their peak in the period is kept."""
        for name, value in gauges.items():
            self.peaks[name] = max(self.peaks.get(name, 0), value)

    def tick(self, now: float) -> None:
        """Take a snapshot when a period has passed (and at the first tick)."""
        if self.taken_at is not None and now - self.taken_at < PERIOD:
            return
        self.taken_at = now
        self.shown = self.render()
        self.peaks.clear()

    def render(self) -> str:
        lines: list[str] = []
        for name, text in COUNTERS.items():
            lines += [
                f"# HELP quietroom_{name}_total {text}.",
                f"# TYPE quietroom_{name}_total counter",
                f"quietroom_{name}_total {self.counters[name]}",
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
            "# HELP quietroom_snapshot_period_seconds How often these figures are renewed.",
            "# TYPE quietroom_snapshot_period_seconds gauge",
            f"quietroom_snapshot_period_seconds {PERIOD:g}",
        ]
        return "\n".join(lines) + "\n"
