"""Transport-wide congestion control: the RTP header extension and the RTCP feedback.

draft-holmer-rmcat-transport-wide-cc-extensions-01. The server stamps every packet it sends
to one viewer with the next number of one 16-bit sequence (the header extension); the
viewer's browser reports, a few times a second, when each numbered packet arrived or that
it did not (RTPFB, FMT=15). Nothing here knows about time on our side: `SendLog` keeps what
the sender noted per number, and `parse` returns the receiver's arrival times as it wrote
them (microseconds on its own clock).
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import accumulate, chain, compress, islice
from typing import NamedTuple

URI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
RTPFB = 205
FMT = 15
SEQ_MOD = 1 << 16
LOG_SIZE = 4096  # numbers remembered per viewer: a few seconds of packets
LOG_MASK = LOG_SIZE - 1
OVERHEAD = 10  # bytes on the wire besides the RTP packet we count: the SRTP tag

# The fixed RTP header followed by a one-byte-header extension block holding one element
# (the transport sequence number) and a byte of padding.
HEADER_ONE_BYTE = struct.Struct("!BBHIIHHBHx")
_FB_HEADER = struct.Struct("!BBHIIHHI")  # V/P/FMT, PT, length, SSRCs, base, count, ref+fb
_DELTA = struct.Struct("!h")
TICK_US = 250  # arrival deltas count quarter milliseconds
TICK_SECONDS = TICK_US / 1e6
REMEMBERED = LOG_SIZE - 64  # numbers older than this may be overwritten already


def extension(ext_id: int, seq: int) -> bytes:
    """The header extension block (profile, length and element) carrying `seq`.

    One-byte form (RFC 8285) for ids 1 to 14, two-byte form for 15 to 255."""
    if 1 <= ext_id <= 14:
        return struct.pack("!HHBHx", 0xBEDE, 1, (ext_id << 4) | 1, seq & 0xFFFF)
    if 15 <= ext_id <= 255:
        return struct.pack("!HHBBH", 0x1000, 1, ext_id, 2, seq & 0xFFFF)
    raise ValueError("extension ids are 1 to 255")


def read_extension(packet: bytes, ext_id: int) -> int | None:
    """The transport sequence number in an RTP packet's header extension, if any."""
    if len(packet) < 12 or not packet[0] & 0x10:
        return None
    start = 12 + 4 * (packet[0] & 0x0F)
    if len(packet) < start + 4:
        return None
    profile, words = struct.unpack_from("!HH", packet, start)
    pos, end = start + 4, min(len(packet), start + 4 + 4 * words)
    two_byte = profile & 0xFFF0 == 0x1000
    if profile != 0xBEDE and not two_byte:
        return None
    while pos < end:
        if packet[pos] == 0:  # padding between elements
            pos += 1
            continue
        if two_byte:
            if pos + 1 >= end:
                return None
            element, size, pos = packet[pos], packet[pos + 1], pos + 2
        else:
            element, size, pos = packet[pos] >> 4, (packet[pos] & 0x0F) + 1, pos + 1
            if element == 15:
                return None
        if element == ext_id and size == 2 and pos + 2 <= end:
            return int((packet[pos] << 8) | packet[pos + 1])
        pos += size
    return None


@dataclass(slots=True)
class SendLog:
    """One viewer's transport-wide numbering: the next number, and when each recent one was
    sent and how big it was. Filled on the forwarding path, read when feedback comes."""

    ext_id: int  # 1 to 14: the one-byte form, which the forwarding path writes
    next: int = 0
    times: list[float] = field(default_factory=lambda: [0.0] * LOG_SIZE)
    sizes: list[int] = field(default_factory=lambda: [0] * LOG_SIZE)
    element: int = field(init=False)  # the element's first byte: id and length - 1

    def __post_init__(self) -> None:
        if not 1 <= self.ext_id <= 14:
            raise ValueError("the forwarding path writes one-byte extensions: ids 1 to 14")
        self.element = (self.ext_id << 4) | 1

    def take(self, now: float, size: int) -> int:
        """The number for a packet of `size` bytes sent `now`."""
        seq = self.next
        self.next = (seq + 1) & 0xFFFF
        index = seq & (LOG_SIZE - 1)
        self.times[index] = now
        self.sizes[index] = size + OVERHEAD
        return seq

    def sent(self, seq: int) -> tuple[float, int] | None:
        """(send time, size) of number `seq`, if it is recent enough to be remembered."""
        age = (self.next - 1 - seq) & 0xFFFF
        if age >= REMEMBERED:  # not sent yet, or already overwritten
            return None
        index = seq & (LOG_SIZE - 1)
        return self.times[index], self.sizes[index]


@dataclass(frozen=True)
class Feedback:
    """One transport-cc feedback packet: the numbers it covers and their arrival times
    (microseconds on the receiver's clock; None: not received)."""

    media_ssrc: int
    base: int
    count: int  # feedback packet count, to spot lost or reordered feedback
    arrivals: list[int | None]

    def packets(self) -> Iterator[tuple[int, int | None]]:
        """(sequence number, arrival or None) for each number covered."""
        for offset, arrival in enumerate(self.arrivals):
            yield (self.base + offset) & 0xFFFF, arrival


def split(compound: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(packet type, FMT/count field, packet) for each packet of a compound RTCP packet."""
    pos = 0
    while pos + 4 <= len(compound):
        length = 4 * (((compound[pos + 2] << 8) | compound[pos + 3]) + 1)
        if pos + length > len(compound):
            return
        yield compound[pos + 1], compound[pos] & 0x1F, compound[pos : pos + length]
        pos += length


SRTCP_TRAILER = (8, 20)  # bytes SRTCP adds after the packet: E+index and tag (4 to 16)


def sealed_feedback(sealed: bytes) -> bool:
    """Whether an SRTCP packet holds one transport-cc feedback packet and nothing else, as
    its first header (sent in the clear) and its length show. Either way it is unprotected
    and read in full later; this only says whether it may wait."""
    if len(sealed) < 24 or sealed[1] != RTPFB or sealed[0] & 0x1F != FMT:
        return False
    trailer = len(sealed) - 4 * (((sealed[2] << 8) | sealed[3]) + 1)
    return SRTCP_TRAILER[0] <= trailer <= SRTCP_TRAILER[1]


def _statuses(data: bytes, pos: int, count: int) -> tuple[list[int], int] | None:
    """`count` status symbols from the packet chunks at `pos`, and where the deltas start."""
    symbols: list[int] = []
    while len(symbols) < count:
        if pos + 2 > len(data):
            return None
        chunk = (data[pos] << 8) | data[pos + 1]
        pos += 2
        if not chunk & 0x8000:  # run length: a symbol and how often
            symbol, run = (chunk >> 13) & 0x3, chunk & 0x1FFF
            symbols.extend([symbol] * min(run, count - len(symbols)))
        else:
            symbols.extend(_vector(chunk))
    return symbols[:count], pos


@functools.lru_cache(maxsize=1024)
def _vector(chunk: int) -> tuple[int, ...]:
    """The symbols of a status vector chunk (a browser repeats a few: cached)."""
    if not chunk & 0x4000:  # 14 one-bit symbols
        return tuple((chunk >> (13 - i)) & 0x1 for i in range(14))
    return tuple((chunk >> (12 - 2 * i)) & 0x3 for i in range(7))  # 7 two-bit symbols


def _decode(packet: bytes) -> tuple[int, int, int, list[int], list[int]] | None:
    """(media SSRC, base, feedback count, the status of each number, and the arrival of
    each one received in ticks of 250 us) of one feedback packet, or None if it is not
    one or is malformed."""
    if len(packet) < _FB_HEADER.size or packet[1] != RTPFB or packet[0] & 0x1F != FMT:
        return None
    if packet[0] >> 6 != 2:
        return None
    _, _, _, _, media_ssrc, base, count, ref_and_count = _FB_HEADER.unpack_from(packet)
    end = len(packet)
    if packet[0] & 0x20:  # padding at the end
        end -= packet[-1]
    read = _statuses(packet[:end], _FB_HEADER.size, count)
    if read is None:
        return None
    symbols, pos = read
    reference = ref_and_count >> 8
    if reference & 0x800000:  # 24-bit signed
        reference -= 1 << 24
    if 3 in symbols:
        return None
    if 2 not in symbols:  # one byte per received packet: summed in C, not one by one
        received = len(symbols) - symbols.count(0)
        if pos + received > end:
            return None
        steps = chain((reference * 256,), packet[pos : pos + received])
        ticks = list(islice(accumulate(steps), 1, None))
    else:
        ticks, clock = [], reference * 256
        for symbol in symbols:
            if symbol == 1:
                if pos + 1 > end:
                    return None
                clock += packet[pos]
                pos += 1
            elif symbol == 2:
                if pos + 2 > end:
                    return None
                clock += _DELTA.unpack_from(packet, pos)[0]
                pos += 2
            else:
                continue
            ticks.append(clock)
    return media_ssrc, base, ref_and_count & 0xFF, symbols, ticks


def parse(packet: bytes) -> Feedback | None:
    """Read one transport-cc feedback packet (RTCP header included), or None if it is not
    one or is malformed."""
    decoded = _decode(packet)
    if decoded is None:
        return None
    media_ssrc, base, count, symbols, ticks = decoded
    received = iter(ticks)
    arrivals = [next(received) * TICK_US if symbol else None for symbol in symbols]
    return Feedback(media_ssrc, base, count, arrivals)


def build(
    sender_ssrc: int, media_ssrc: int, base: int, count: int, arrivals: list[int | None]
) -> bytes:
    """A feedback packet, as a browser writes one, for packets `base`, `base + 1`, ... that
    arrived at `arrivals` (microseconds; None: lost). Used by tests and test peers."""
    received = [a for a in arrivals if a is not None]
    reference = (received[0] // 64_000) if received else 0
    clock = reference * 64_000
    symbols: list[int] = []
    deltas = b""
    for arrival in arrivals:
        if arrival is None:
            symbols.append(0)
            continue
        delta = round((arrival - clock) / 250)
        clock += delta * 250
        if 0 <= delta <= 255:
            symbols.append(1)
            deltas += bytes((delta,))
        else:
            symbols.append(2)
            deltas += struct.pack("!h", delta)
    chunks = b""
    for i in range(0, len(symbols), 7):
        part = symbols[i : i + 7] + [0] * (7 - len(symbols[i : i + 7]))
        if len(set(symbols[i:])) == 1 and len(symbols) - i > 7:  # the rest is one run
            chunks += struct.pack("!H", (symbols[i] << 13) | (len(symbols) - i))
            break
        word = 0xC000
        for j, symbol in enumerate(part):
            word |= symbol << (12 - 2 * j)
        chunks += struct.pack("!H", word)
    body = struct.pack(
        "!IIHHI",
        sender_ssrc,
        media_ssrc,
        base & 0xFFFF,
        len(arrivals),
        ((reference & 0xFFFFFF) << 8) | (count & 0xFF),
    )
    body += chunks + deltas
    body += bytes(-len(body) % 4)
    return struct.pack("!BBH", 0x80 | FMT, RTPFB, len(body) // 4) + body


class Result(NamedTuple):
    """What became of one numbered packet: when we sent it, its size, and when it arrived
    (seconds on the receiver's clock; None: lost)."""

    seq: int
    sent: float
    size: int
    arrival: float | None


@dataclass(slots=True)
class Report:
    """What one feedback packet says of the packets a `SendLog` remembers, as columns in the
    order they were numbered, which is the order they were sent: the send times and arrivals
    (seconds on the receiver's clock) of those that arrived, and how many were covered.

    Columns rather than a record per packet: a viewer reports on every packet sent to it,
    and building, walking and dropping one object each cost more than the estimate itself.
    """

    base: int  # the first number covered
    statuses: list[int]  # per number from `base`: 0 lost, else arrived
    sent: list[float]  # per arrived packet
    arrivals: list[float]  # per arrived packet
    octets: int  # bytes of the arrived packets, as `SendLog` counts them
    log: SendLog
    lost_counted: bool = True  # False: the lost ones say nothing (after an outage)

    @property
    def expected(self) -> int:
        return len(self.statuses) if self.lost_counted else len(self.arrivals)

    @property
    def lost(self) -> int:
        return len(self.statuses) - len(self.arrivals) if self.lost_counted else 0

    def results(self) -> list[Result]:
        """One record per packet covered (while a probe's outcome is read)."""
        found: list[Result] = []
        arrivals = iter(self.arrivals)
        times, sizes, seq = self.log.times, self.log.sizes, self.base
        for status in self.statuses:
            index = seq & LOG_MASK
            arrival = next(arrivals) if status else None
            if arrival is not None or self.lost_counted:
                found.append(Result(seq, times[index], sizes[index], arrival))
            seq = (seq + 1) & 0xFFFF
        return found


def report(packet: bytes, log: SendLog) -> Report | None:
    """Read a feedback packet against what `log` remembers; None if the packet is not
    feedback, is malformed, or covers nothing remembered."""
    decoded = _decode(packet)
    if decoded is None:
        return None
    _, base, _, statuses, ticks = decoded
    # The numbers covered that the log still remembers: recent, and already sent.
    age = (log.next - 1 - base) & 0xFFFF
    low, high = max(0, age - REMEMBERED + 1), min(len(statuses), age + 1)
    if low >= high:
        return None
    if low or high < len(statuses):
        skipped = low - statuses[:low].count(0)
        statuses = statuses[low:high]
        ticks = ticks[skipped : skipped + len(statuses) - statuses.count(0)]
        base = (base + low) & 0xFFFF
    first = base & LOG_MASK
    last = first + len(statuses)
    times, sizes = log.times, log.sizes
    if last <= LOG_SIZE:
        times, sizes = times[first:last], sizes[first:last]
    else:  # the range wraps around the log
        times = times[first:] + times[: last - LOG_SIZE]
        sizes = sizes[first:] + sizes[: last - LOG_SIZE]
    sent = list(compress(times, statuses))
    octets = sum(compress(sizes, statuses))
    arrivals = list(map(TICK_SECONDS.__mul__, ticks))
    return Report(base, statuses, sent, arrivals, octets, log)
