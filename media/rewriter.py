"""Sequence number and timestamp rewriting, so one outgoing stream can carry changing sources."""

from __future__ import annotations

SEQ_MOD = 1 << 16
SEQ_HALF = SEQ_MOD // 2
TS_MOD = 1 << 32


def seq_newer(a: int, b: int) -> bool:
    """True if sequence number `a` comes after `b` (RFC 3550 wrap-around arithmetic)."""
    return a != b and ((a - b) % SEQ_MOD) < SEQ_MOD // 2


class StreamRewriter:
    """Maps incoming (ssrc, seq, timestamp) onto one continuous outgoing sequence.

    When the source changes (another SSRC), the outgoing sequence continues at the next number
    and the timestamp moves on by `ts_step`, so the receiver sees one unbroken stream. Packets
    the router drops (padding) are skipped without leaving a gap that would look like loss.
    """

    def __init__(self, ts_step: int) -> None:
        self.ts_step = ts_step
        self.source: int | None = None
        self._seq_offset = 0
        self._ts_offset = 0
        self._last_in_seq: int | None = None
        self._last_out_seq: int | None = None
        self._last_out_ts = 0

    def rewrite(self, ssrc: int, seq: int, ts: int) -> tuple[int, int]:
        """The outgoing sequence number and timestamp for one forwarded packet."""
        if ssrc != self.source:
            self._rebase(ssrc, seq, ts)
        out_seq = (seq + self._seq_offset) % SEQ_MOD
        out_ts = (ts + self._ts_offset) % TS_MOD
        last = self._last_in_seq
        if last is None or 0 < (seq - last) % SEQ_MOD < SEQ_HALF:  # newer than the last
            self._last_in_seq = seq
            self._last_out_seq = out_seq
            self._last_out_ts = out_ts
        return out_seq, out_ts

    def skip(self, ssrc: int, seq: int) -> None:
        """Account for a packet of the current source that will not be forwarded.

        Only the packet right after the last one seen closes up the numbering: if it overtook
        an earlier packet, shifting would give that late packet a number already used, so the
        skipped number is left as a gap instead.
        """
        if ssrc != self.source or self._last_in_seq is None:
            return
        if seq == (self._last_in_seq + 1) % SEQ_MOD:
            self._last_in_seq = seq
            self._seq_offset = (self._seq_offset - 1) % SEQ_MOD

    def filler(self, ts_advance: int) -> tuple[int, int]:
        """The sequence number and timestamp of a packet of the router's own (padding), next
        after the last one sent and `ts_advance` later; the source's numbering, when it comes
        back, continues after it."""
        self.source = None
        seq = 0 if self._last_out_seq is None else (self._last_out_seq + 1) % SEQ_MOD
        self._last_out_seq = seq
        self._last_out_ts = (self._last_out_ts + ts_advance) % TS_MOD
        return seq, self._last_out_ts

    def _rebase(self, ssrc: int, seq: int, ts: int) -> None:
        self.source = ssrc
        self._last_in_seq = None
        if self._last_out_seq is None:
            self._seq_offset = 0
            self._ts_offset = 0
            return
        self._seq_offset = (self._last_out_seq + 1 - seq) % SEQ_MOD
        self._ts_offset = (self._last_out_ts + self.ts_step - ts) % TS_MOD
