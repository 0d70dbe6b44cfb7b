"""What one feature costs the server per forwarded packet: transport-wide congestion
control, or end-to-end encrypted frames.

    python -m bench.side_by_side transport-cc --calls 25 --rounds 5
    python -m bench.side_by_side e2ee --calls 25 --rounds 5

Each round runs the same echo load on two fresh local servers side by side, at the same
time, each loaded by a bench process of its own: on one the simulated people use the
feature, on the other they do not. `transport-cc`: they negotiate it and send its feedback
every 100 ms, as browsers do (without it, the server numbers nothing and reads no
feedback). `e2ee`: they seal every frame and open every frame received (transport-cc on
both sides, as browsers have it). Run at once, both servers meet the same machine: one after
the other, the figures of two runs of the same server differ by more than the cost looked
for. On a machine with two or more cores both servers are held to the first core and the
benches to the others, so the benches' own work does not crowd the servers'. Which starts
first alternates from round to round. The figure is the median over the rounds of each
round's ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import scenario
from bench.encoded import opus_clip, vp8_clip
from bench.host_addresses import offer_addresses
from bench.local import STAFF, LocalServer
from bench.scenario import Plan, run

KEY = "server_cpu_us_per_packet"


def pinned_cores() -> tuple[set[int], set[int]] | None:
    """(the server's cores, the bench's), or None on a machine with one core."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return None
    return {cores[0]}, set(cores[1:])


FEATURES = ("transport-cc", "e2ee")


def one_run(
    feature: str, on: bool, calls: int, duration: float, server_cores: set[int] | None
) -> Any:
    scenario.TRANSPORT_CC[0] = on or feature != "transport-cc"
    scenario.E2EE[0] = on and feature == "e2ee"
    with LocalServer(cores=server_cores) as server:
        plan = Plan(server.url, STAFF, server.password, "echo", 2, calls, duration, [server.pid])
        return asyncio.run(run(plan))


def side_by_side(feature: str, order: list[bool], calls: int, duration: float) -> dict[bool, Any]:
    """One run with the feature and one without, at once, each in a process of its own."""
    procs = {}
    with tempfile.TemporaryDirectory(prefix="quietroom-side-by-side-") as folder:
        for on in order:
            args = [feature, "--one", "on" if on else "off", "--calls", str(calls)]
            args += ["--duration", str(duration)]
            # What each says while it runs goes to a file: a pipe nobody reads could fill
            # and stall it in the middle of the measurement.
            said = Path(folder) / f"{on}.txt"
            with said.open("wb") as stderr:
                procs[on] = subprocess.Popen(
                    [sys.executable, "-m", "bench.side_by_side", *args],
                    stdout=subprocess.PIPE,
                    stderr=stderr,
                )
        runs = {}
        for on, proc in procs.items():
            out, _ = proc.communicate()
            if proc.returncode != 0:
                tail = (Path(folder) / f"{on}.txt").read_text(errors="replace")[-600:]
                side = "with" if on else "without"
                raise RuntimeError(f"the run {side} {feature} stopped:\n{tail}")
            runs[on] = json.loads(out)
    return runs


def summary(rounds: list[tuple[dict[str, Any], dict[str, Any]]]) -> str:
    lines = ["round  with (us/pkt)  without (us/pkt)  with/without  loss with/without"]
    shares = []
    for number, (with_, without) in enumerate(rounds, 1):
        share = with_[KEY] / without[KEY] if without[KEY] else float("nan")
        shares.append(share)
        loss = f"{with_['packet_loss'] * 100:.2f} / {without['packet_loss'] * 100:.2f} %"
        lines.append(f"{number:>5}  {with_[KEY]:>13}  {without[KEY]:>16}  {share:>12.3f}  {loss}")
    lines.append(f"median with/without: {statistics.median(shares):.3f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.side_by_side",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("feature", choices=FEATURES, help="what to measure the cost of")
    parser.add_argument("--calls", type=int, default=25, help="echo tests at once (1 to 100)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured per run")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (1 to 9)")
    parser.add_argument("--json", type=Path, help="also write every run's figures here")
    parser.add_argument("--one", choices=["on", "off"], help=argparse.SUPPRESS)  # one side
    args = parser.parse_args(argv)
    if not 1 <= args.calls <= 100 or not 1 <= args.rounds <= 9 or not 1 <= args.duration <= 600:
        print("side_by_side: --calls 1 to 100, --rounds 1 to 9, --duration 1 to 600 s",
              file=sys.stderr)  # fmt: skip
        return 2
    cores = pinned_cores()
    if cores is not None:
        os.sched_setaffinity(0, cores[1])
    opus_clip(), vp8_clip()
    if args.one is not None:
        offer_addresses(["127.0.0.1"])
        server_cores = cores[0] if cores is not None else None
        on = args.one == "on"
        print(json.dumps(one_run(args.feature, on, args.calls, args.duration, server_cores)))
        return 0
    rounds: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for number in range(args.rounds):
        order = [True, False] if number % 2 == 0 else [False, True]
        runs = side_by_side(args.feature, order, args.calls, args.duration)
        print(f"round {number + 1}: {runs[True][KEY]} us per forwarded packet with {args.feature}, "
              f"{runs[False][KEY]} without", flush=True)  # fmt: skip
        rounds.append((runs[True], runs[False]))
    print(summary(rounds))
    if args.json:
        args.json.write_text(json.dumps([{"with": w, "without": o} for w, o in rounds], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
