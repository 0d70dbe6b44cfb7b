"""A phone leg in a real call router (media/phone_leg.py): the phone hears everyone else,
mixed, in its own codec; everyone hears the phone, as Opus; no video ever goes to it."""

from __future__ import annotations

import array
from typing import Any

import numpy as np

from media import rtpraw
from media.phone_audio import FRAME, RATE, Decoding, Encoding
from media.phone_leg import PhoneLeg, Reorder
from media.router import Inlet, Outlet, Router, Slot


class Capture:
    def __init__(self) -> None:
        self.packets: list[bytes] = []

    def send_rtp(self, raw: bytes) -> None:
        self.packets.append(raw)


def tone(hz: float, n: int) -> array.array:  # type: ignore[type-arg]
    t = np.arange(n * FRAME, (n + 1) * FRAME) / RATE
    return array.array("h", (6000 * np.sin(2 * np.pi * hz * t)).astype(np.int16).tobytes())


def browser(router: Router, pid: str, slots: int) -> list[Capture]:
    """A person in the call sending Opus, with `slots` audio outlets captured."""
    captures = [Capture() for _ in range(slots)]
    outlets = [
        Slot(audio=Outlet("audio", f"{pid}a{n}", 1000 + n, 111, captures[n]),
             video=Outlet("video", f"{pid}v{n}", 2000 + n, 96, Capture()))
        for n in range(slots)
    ]  # fmt: skip
    router.add(pid, {"audio": Inlet("audio", None, {111: "audio/opus"}, 7)}, outlets)
    return captures


def spectrum_peaks(samples: np.ndarray, *hz: float) -> list[float]:
    """Each frequency's share of the strongest bin."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    bins = np.fft.rfftfreq(len(samples), 1 / RATE)
    return [float(spectrum[np.argmin(abs(bins - f))] / spectrum.max()) for f in hz]


def decoded(codec: str, packets: list[bytes]) -> np.ndarray:
    decoding = Decoding(codec)
    frames = []
    for raw in packets:
        packet = rtpraw.parse(raw)
        assert packet is not None
        frames += decoding.decode(packet.payload, packet.timestamp)
    return np.concatenate([np.frombuffer(f.tobytes(), np.int16) for f in frames]).astype(float)


def test_the_phone_hears_everyone_else_and_everyone_hears_the_phone() -> None:
    router = Router(lambda viewer, table: None)
    heard_by: dict[str, Any] = {"A": browser(router, "A", 2), "B": browser(router, "B", 2)}
    to_phone: list[bytes] = []
    leg = PhoneLeg(router, "phone", "pcmu/8000", 0, to_phone.append, others=2)
    assert router.members["phone"].wants_video is False
    encoders = {"A": Encoding("opus/48000"), "B": Encoding("opus/48000")}
    pitch = {"A": 440, "B": 1000}
    phone_side = Encoding("pcmu/8000")
    seq = 0
    for n in range(50):  # one second
        for pid, encoder in encoders.items():
            for payload in encoder.encode(tone(pitch[pid], n)):
                seq += 1
                header = rtpraw.FIXED.pack(0x80, 111, seq, n * 960, hash(pid) & 0xFFFFFFFF)
                router.forward(pid, header + payload)
        for payload in phone_side.encode(tone(700, n)):
            leg.from_phone(rtpraw.FIXED.pack(0x80, 0, n, n * 160, 42) + payload)
        leg.tick()

    # The phone: G.711 u-law, payload type 0, one packet each 20 ms, with both others in it.
    assert {rtpraw.parse(p).payload_type for p in to_phone} == {0}  # type: ignore[union-attr]
    assert len(to_phone) >= 48
    phone_heard = decoded("pcmu/8000", to_phone)[RATE // 4 :]
    assert min(spectrum_peaks(phone_heard, 440, 1000)) > 0.3
    assert spectrum_peaks(phone_heard, 700)[0] < 0.05  # not its own voice back

    # Each browser: the phone's voice as Opus in one of its slots, the other browser in another.
    for pid, captures in heard_by.items():
        streams = [decoded("opus/48000", c.packets)[RATE // 4 :] for c in captures if c.packets]
        assert len(streams) == 2
        pitches = sorted(float(np.fft.rfftfreq(len(s), 1 / RATE)[np.argmax(np.abs(np.fft.rfft(s)))])
                         for s in streams)  # fmt: skip
        other = pitch["B" if pid == "A" else "A"]
        assert abs(pitches[0] - min(700, other)) < 15 and abs(pitches[1] - max(700, other)) < 15

    leg.close()
    assert "phone" not in router.members


async def test_the_legs_socket_takes_the_phone_and_sends_the_mix_every_20_ms() -> None:
    """On its own UDP socket, as in the media worker: what is relayed to it reaches the call,
    and the mix goes back to whoever relayed, fifty packets a second, silence included."""
    import asyncio
    import time

    from media.phone_leg import open_leg_socket

    router = Router(lambda viewer, table: None)
    heard = browser(router, "A", 1)
    sock, port = await open_leg_socket(
        lambda send: PhoneLeg(router, "phone", "pcma/8000", 8, send, others=1)
    )

    class Relay(asyncio.DatagramProtocol):
        def __init__(self) -> None:
            self.got: list[tuple[float, bytes]] = []

        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            self.got.append((time.monotonic(), data))

    loop = asyncio.get_running_loop()
    relay = Relay()
    transport, _ = await loop.create_datagram_endpoint(lambda: relay, local_addr=("127.0.0.1", 0))
    try:
        phone_side = Encoding("pcma/8000")
        for n in range(50):
            for payload in phone_side.encode(tone(700, n)):
                transport.sendto(rtpraw.FIXED.pack(0x80, 8, n, n * 160, 9) + payload,
                                 ("127.0.0.1", port))  # fmt: skip
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
    finally:
        sock.close()
        transport.close()
    assert "phone" not in router.members
    # The call heard the phone.
    voice = decoded("opus/48000", heard[0].packets)[RATE // 4 :]
    assert (
        abs(
            float(np.fft.rfftfreq(len(voice), 1 / RATE)[np.argmax(np.abs(np.fft.rfft(voice)))])
            - 700
        )
        < 15
    )
    # The relay got A-law back at 50 a second (silence: nobody else spoke).
    times = [t for t, _ in relay.got]
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert 40 < rate < 60, rate
    assert {rtpraw.parse(raw).payload_type for _, raw in relay.got} == {8}  # type: ignore[union-attr]


def packet(sequence: int) -> rtpraw.Header:
    made = rtpraw.parse(rtpraw.FIXED.pack(0x80, 0, sequence & 0xFFFF, sequence * 160, 1) + b"x")
    assert made is not None
    return made


def order(reorder: Reorder, sequences: list[int]) -> list[int]:
    return [p.sequence for s in sequences for p in reorder.put(packet(s))]


def test_the_phones_packets_pass_in_order_at_once_and_late_ones_wait_their_turn() -> None:
    assert order(Reorder(), [10, 11, 12]) == [10, 11, 12]  # nothing held on a clean trunk
    assert order(Reorder(), [10, 12, 11, 13]) == [10, 11, 12, 13]  # swapped: put right
    assert order(Reorder(), [10, 11, 11, 10, 12]) == [10, 11, 12]  # sent twice, or too late
    assert order(Reorder(), [65534, 65535, 0, 1]) == [65534, 65535, 0, 1]  # the wrap


def test_a_lost_packet_holds_the_next_ones_back_two_packets_at_most() -> None:
    reorder = Reorder(depth=2)
    assert order(reorder, [10, 12, 13]) == [10]  # 11 may still come
    assert order(reorder, [14]) == [12, 13, 14]  # it did not: on without it
    assert order(reorder, [11]) == []  # it comes after all: too late, dropped
    assert order(reorder, [15]) == [15]


def test_a_phone_that_starts_its_numbers_again_is_followed() -> None:
    reorder = Reorder()
    assert order(reorder, [40000, 40001]) == [40000, 40001]
    assert order(reorder, [5, 6]) == [5, 6]  # far behind: a new stream, not late packets


async def test_the_delay_bench_finds_every_burst_both_ways() -> None:
    """bench.phone_delay, shortly: each burst sent is found at the other end, later than it
    was sent and within the 200 ms it looks (the figures themselves are the bench's)."""
    from bench.phone_delay import measure

    figures = await measure("pcma/8000", bursts=2)
    assert len(figures["browsers to phone"]) == 2
    assert len(figures["phone to browsers"]) == 2
    assert all(0 < d < 200 for way in figures.values() for d in way)
