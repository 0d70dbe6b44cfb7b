"""The CPU a phone leg's sound costs the media worker, per 20 ms and as a share of a core.

    python -m bench.phone_leg [--seconds 10] [--others 2] [--codec pcmu/8000]

One phone leg does, every 20 ms: decode the phone's payload (G.711, or Opus) to 48 kHz;
encode that as Opus for the browsers; decode each other person's Opus; mix them; encode the
mix for the phone. This runs exactly that on a speech-like signal (a tone that moves) for
`--seconds` of audio and reports the process CPU it took (media/phone_audio.py).
"""

from __future__ import annotations

import argparse
import array
import math
import time

from media.phone_audio import FRAME, RATE, Decoding, Encoding, Pcm, mix


def voice(n: int, pitch: float) -> Pcm:
    """20 ms of a tone gliding around `pitch`, frame `n` of it."""
    start = n * FRAME
    return array.array(
        "h",
        (
            int(6000 * math.sin(2 * math.pi * pitch * (1 + 0.2 * math.sin(t / RATE)) * t / RATE))
            for t in range(start, start + FRAME)
        ),
    )


def run(seconds: float, others: int, codec: str) -> dict[str, float]:
    frames = int(seconds * 50)
    step = 960 if codec == "opus/48000" else 160
    phone_side, browsers_side = Encoding(codec), [Encoding("opus/48000") for _ in range(others)]
    # What arrives, made beforehand: the phone's payloads and each browser's Opus.
    phone_payloads = [p for n in range(frames) for p in phone_side.encode(voice(n, 180))]
    browser_payloads = [
        [p for n in range(frames) for p in enc.encode(voice(n, 220 + 60 * i))]
        for i, enc in enumerate(browsers_side)
    ]
    phone_in, to_browsers = Decoding(codec), Encoding("opus/48000")
    from_browsers = [Decoding("opus/48000") for _ in range(others)]
    phone_out = Encoding(codec)
    started = time.process_time()
    for n in range(min(len(phone_payloads), *(len(b) for b in browser_payloads))):
        for pcm in phone_in.decode(phone_payloads[n], n * step):
            to_browsers.encode(pcm)
        heard = [
            pcm
            for i, decoding in enumerate(from_browsers)
            for pcm in decoding.decode(browser_payloads[i][n], n * 960)
        ]
        phone_out.encode(mix(heard))
    cpu = time.process_time() - started
    per_frame_us = cpu / frames * 1e6
    return {"frames": frames, "cpu_us_per_20ms": round(per_frame_us, 1),
            "share_of_a_core": round(per_frame_us / 20000, 4)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--others", type=int, default=2, help="browsers in the call (1 to 7)")
    parser.add_argument(
        "--codec", default="pcmu/8000", choices=["pcmu/8000", "pcma/8000", "opus/48000"]
    )
    args = parser.parse_args()
    if not 1 <= args.others <= 7 or not 1 <= args.seconds <= 600:
        parser.error("--others 1 to 7, --seconds 1 to 600")
    figures = run(args.seconds, args.others, args.codec)
    print(f"phone leg ({args.codec}, {args.others} others): {figures['cpu_us_per_20ms']} us CPU "
          f"per 20 ms, {figures['share_of_a_core'] * 100:.2f} % of a core")  # fmt: skip


if __name__ == "__main__":
    main()
