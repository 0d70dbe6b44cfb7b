"""Audio-only fallback: when a viewer's link is too weak for video, and when it has recovered.

Once a second the router looks at what each viewer's browser says it can receive (its REMB
estimate) and how much of the video sent to it was lost (its receiver reports). A link
that stays under `below_bps` for `weak_checks` checks in a row, or loses `loss` of its
video for `loss_checks` (a sender needs a few seconds to adapt to a new limit), is weak:
the router stops forwarding video to it and audio goes on alone. While video is paused,
the router pads that viewer's video stream (RTP padding, no media), filling up
to its estimate: a browser's estimate cannot grow beyond 1.5 times what it receives on its
video streams plus 10 kbit/s (audio without transport-wide feedback does not count), so
without padding recovery could never be seen. A link whose estimate stays at or over
`above_bps`, with little loss, for `recover_checks` checks has recovered and gets video
again, starting with a keyframe. (A browser's estimate grows by about 8 % a second, so from
150 to 300 kbit/s takes some 10 seconds: waiting long to be sure would add to that.)

A viewer that reports no estimate is judged by loss alone: its padding starts low, grows by
a quarter each check while it arrives and shrinks when it is lost; once the padding reaches
`above_bps` without loss, video resumes.
"""

from __future__ import annotations

from dataclasses import dataclass

PAD_MAX = 255  # padding bytes one RTP packet can carry (the count is one byte)
PROBE_SECONDS = 0.02  # how often paused viewers get padding
AUDIO_BPS = 40_000  # what one person's audio takes, part of what probing by loss finds
MIN_PAD_BPS = 20_000  # padding never stops while video is paused: the estimate must move
MIN_PACKETS = 10  # fewer video packets than this in a check: loss is not judged
PROBE_START_BPS = 100_000  # without an estimate from the viewer: where padding starts
PROBE_GROWTH = 1.25  # ... how it grows each check with under 2 % lost


@dataclass(frozen=True)
class Thresholds:
    below_bps: int = 150_000
    above_bps: int = 300_000
    loss: float = 0.2  # share of video packets lost that counts as weak
    weak_checks: int = 3  # checks with a low estimate before video pauses
    loss_checks: int = 5  # ... with heavy loss (a sender needs a few seconds to adapt)
    recover_checks: int = 2

    def __post_init__(self) -> None:
        if not 0 < self.below_bps < self.above_bps:
            raise ValueError("the recovery threshold must be above the fallback threshold")


@dataclass
class Loss:
    """Loss of one outgoing video stream, from its receiver's reports."""

    highest: int | None = None  # extended highest sequence number in the last report
    lost: int = 0  # cumulative packets lost in the last report
    checked: tuple[int, int] | None = None  # (highest, lost) when last judged

    def reported(self, highest: int, lost: int) -> None:
        self.highest, self.lost = highest, lost

    def since_check(self) -> tuple[int, int]:
        """(packets expected, packets lost) reported since the previous call."""
        if self.highest is None:
            return 0, 0
        now = (self.highest, self.lost)
        before, self.checked = self.checked, now
        if before is None:
            return 0, 0
        expected = (now[0] - before[0]) & 0xFFFFFFFF
        if expected >= 1 << 31:  # a report from before the previous one
            return 0, 0
        # Cumulative loss moves with late and resent packets too: never more than expected.
        return expected, max(0, min(expected, now[1] - before[1]))


@dataclass
class LinkWatch:
    """One viewer's link: weak or not, and how many checks in a row said otherwise."""

    weak: bool = False
    against: int = 0
    lossy: int = 0  # checks in a row with heavy loss, while not weak
    pad_credit: float = 0.0  # padding bytes owed, carried between probe rounds
    probed_bps: int = PROBE_START_BPS  # what padding has shown the link takes (no estimate)

    def check(self, estimate: int | None, loss: float | None, t: Thresholds) -> bool | None:
        """Judge one check; the new state when it changes (True: weak), else None."""
        if self.weak:
            if estimate is None:  # the viewer says nothing: what the padding showed
                estimate = self._probe_by_loss(loss, t) if loss is not None else None
            recovered = estimate is not None and estimate >= t.above_bps
            recovered = recovered and (loss is None or loss < t.loss / 2)
            self.against = self.against + 1 if recovered else 0
            done = self.against >= t.recover_checks
        else:
            low = estimate is not None and estimate < t.below_bps
            self.against = self.against + 1 if low else 0
            self.lossy = self.lossy + 1 if loss is not None and loss >= t.loss else 0
            done = self.against >= t.weak_checks or self.lossy >= t.loss_checks
        if not done:
            return None
        self.weak, self.against, self.lossy, self.pad_credit = not self.weak, 0, 0, 0.0
        self.probed_bps = PROBE_START_BPS
        return self.weak

    def _probe_by_loss(self, loss: float, t: Thresholds) -> int:
        if loss < 0.02:
            self.probed_bps = int(self.probed_bps * PROBE_GROWTH)
        elif loss > t.loss / 2:
            self.probed_bps = int(self.probed_bps * (1 - loss / 2))
        self.probed_bps = max(MIN_PAD_BPS + AUDIO_BPS, min(self.probed_bps, t.above_bps))
        return self.probed_bps

    def padding(self, estimate: int | None, sources: int, seconds: float, t: Thresholds) -> int:
        """Padding bytes to send now, `seconds` after the last round, up to the recovery
        threshold: the viewer's estimate (which counts video streams only: padding short of
        it would hold it where it is), or without one what padding has shown, less audio."""
        rate = estimate if estimate is not None else self.probed_bps - AUDIO_BPS * sources
        return self.owed(min(rate, t.above_bps), seconds)

    def owed(self, bps: int, seconds: float) -> int:
        """Padding bytes to send now at `bps` (at least MIN_PAD_BPS), `seconds` after the
        last round."""
        self.pad_credit += max(MIN_PAD_BPS, bps) * seconds / 8
        whole = int(self.pad_credit)
        self.pad_credit -= whole
        return whole


def loss_share(expected: int, lost: int) -> float | None:
    """The share of `expected` packets lost, or None when too few to judge."""
    return lost / expected if expected >= MIN_PACKETS else None
