"""The delay a phone leg adds to sound, each way, measured in real time on a leg as the media
worker runs it (docs/phone.md).

    python -m bench.phone_delay [--codec pcma/8000] [--bursts 10]

A phone leg on its own UDP socket (media/phone_leg.py, `LegSocket`) in a router with one
other person. Every 20 ms, the "phone" (a UDP socket here) sends G.711 and the other person
sends Opus, both silence but for short tone bursts, the two sides taking turns. For each
burst: when its first sample was sent, and when it comes out at the other end (the arrival
of the packet that carries it, plus where in that packet it starts). The difference is the
delay the server adds: decoding, re-encoding (and the encoders' lookahead), the 20 ms clock
of the mix to the phone and its queue. The network and the browsers' own jitter buffers are
not in it; neither is the relay from the signaling process (one loopback hop each way).
"""

from __future__ import annotations

import argparse
import array
import asyncio
import math
import statistics
import time
from dataclasses import dataclass, field

from media import rtpraw
from media.phone_audio import FRAME, RATE, Decoding, Encoding, Pcm, silence
from media.phone_leg import PhoneLeg, open_leg_socket
from media.router import Inlet, Outlet, Router, Slot

TICK = 0.020
PT = {"pcmu/8000": 0, "pcma/8000": 8}
BURST = 5  # frames of tone a burst lasts
EVERY = 25  # frames between bursts of one side (the other's fall halfway)
THRESHOLD = 1500  # a sample this loud is the burst arriving (the tones are at 6000)


def tone(n: int) -> Pcm:
    return array.array(
        "h",
        (
            int(6000 * math.sin(2 * math.pi * 700 * t / RATE))
            for t in range(n * FRAME, (n + 1) * FRAME)
        ),
    )


@dataclass
class Heard:
    """What one end received: (arrival, raw RTP), in order."""

    got: list[tuple[float, bytes]] = field(default_factory=list)

    def send_rtp(self, raw: bytes) -> None:
        self.got.append((time.monotonic(), raw))


class PhoneEnd(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.heard = Heard()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.heard.send_rtp(data)


def onsets(heard: Heard, codec: str) -> list[float]:
    """When each burst began, as heard: a packet's arrival plus the offset of the first loud
    sample in it, for every first loud packet after a quiet one."""
    decoding = Decoding(codec)
    found: list[float] = []
    quiet = True
    for arrival, raw in heard.got:
        packet = rtpraw.parse(raw)
        if packet is None or not packet.payload:
            continue
        for pcm in decoding.decode(packet.payload, packet.timestamp):
            loud = next((i for i, s in enumerate(pcm) if abs(s) > THRESHOLD), None)
            if loud is not None and quiet:
                found.append(arrival + loud / RATE)
            quiet = loud is None
    return found


def match(sent: list[float], heard: list[float]) -> list[float]:
    """Each burst's delay in ms: the first onset heard after it was sent, within 200 ms."""
    delays = []
    for at in sent:
        later = [h for h in heard if 0 <= h - at < 0.2]
        if later:
            delays.append((later[0] - at) * 1000)
    return delays


async def measure(codec: str, bursts: int) -> dict[str, list[float]]:
    router = Router(lambda viewer, table: None)
    browser = Heard()
    slot = Slot(audio=Outlet("audio", "a0", 1000, 111, browser),
                video=Outlet("video", "v0", 2000, 96, Heard()))  # fmt: skip
    router.add("B", {"audio": Inlet("audio", None, {111: "audio/opus"}, 7)}, [slot])
    leg, port = await open_leg_socket(
        lambda send: PhoneLeg(router, "phone", codec, PT[codec], send, others=1)
    )
    loop = asyncio.get_running_loop()
    phone = PhoneEnd()
    transport, _ = await loop.create_datagram_endpoint(lambda: phone, local_addr=("127.0.0.1", 0))
    phone_out, browser_out = Encoding(codec), Encoding("opus/48000")
    phone_sent: list[float] = []
    browser_sent: list[float] = []
    # After a second of silence (the encoders' start), a burst each way every EVERY frames.
    phone_starts = {EVERY + k * EVERY for k in range(bursts)}
    browser_starts = {n + EVERY // 2 for n in phone_starts}
    frames = EVERY * (bursts + 2)
    start = loop.time() + TICK
    try:
        for n in range(frames):
            await asyncio.sleep(max(0.0, start + n * TICK - loop.time()))
            now = time.monotonic()
            phone_on = any(0 <= n - s < BURST for s in phone_starts)
            browser_on = any(0 <= n - s < BURST for s in browser_starts)
            if n in phone_starts:
                phone_sent.append(now)
            if n in browser_starts:
                browser_sent.append(now)
            phone_pcm = tone(n) if phone_on else silence()
            browser_pcm = tone(n) if browser_on else silence()
            for payload in phone_out.encode(phone_pcm):
                header = rtpraw.FIXED.pack(0x80, PT[codec], n & 0xFFFF, n * 160, 9)
                transport.sendto(header + payload, ("127.0.0.1", port))
            for payload in browser_out.encode(browser_pcm):
                header = rtpraw.FIXED.pack(0x80, 111, n & 0xFFFF, n * 960, 7)
                router.forward("B", header + payload)
        await asyncio.sleep(0.3)
    finally:
        leg.close()
        transport.close()
    return {
        "phone to browsers": match(phone_sent, onsets(browser, "opus/48000")),
        "browsers to phone": match(browser_sent, onsets(phone.heard, codec)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--codec", default="pcma/8000", choices=sorted(PT))
    parser.add_argument("--bursts", type=int, default=10)
    args = parser.parse_args()
    if not 1 <= args.bursts <= 200:
        parser.error("--bursts 1 to 200")
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    figures = asyncio.run(measure(args.codec, args.bursts))
    for way, delays in figures.items():
        if not delays:
            print(f"{way}: no burst came through")
            continue
        middle, low, high = statistics.median(delays), min(delays), max(delays)
        print(f"{way} ({args.codec}): median {middle:.1f} ms, min {low:.1f}, max {high:.1f} "
              f"over {len(delays)} bursts")  # fmt: skip


if __name__ == "__main__":
    main()
