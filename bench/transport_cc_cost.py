"""What transport-wide congestion control costs the server per forwarded packet.

    python -m bench.transport_cc_cost --calls 25 --rounds 5

Each round runs the same echo load on two fresh local servers side by side, at the same
time, each loaded by a bench process of its own: on one the simulated people negotiate
transport-cc and send its feedback every 100 ms (as browsers do), on the other they do not
(that server then numbers nothing and reads no feedback). Run at once, both servers meet the
same machine: one after the other, the figures of two runs of the same server differ by
more than the cost looked for. On a machine with two or more cores both servers are held to
the first core and the benches to the others, so the benches' own work does not crowd the
servers'. Which starts first alternates from round to round. The figure is the median over
the rounds of each round's ratio.
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


def one_run(transport_cc: bool, calls: int, duration: float, server_cores: set[int] | None) -> Any:
    scenario.TRANSPORT_CC[0] = transport_cc
    with LocalServer(cores=server_cores) as server:
        plan = Plan(server.url, STAFF, server.password, "echo", 2, calls, duration, [server.pid])
        return asyncio.run(run(plan))


def side_by_side(order: list[bool], calls: int, duration: float) -> dict[bool, Any]:
    """One run with transport-cc and one without, at once, each in a process of its own."""
    procs = {}
    with tempfile.TemporaryDirectory(prefix="quietroom-tcc-") as folder:
        for transport_cc in order:
            args = ["--one", "on" if transport_cc else "off", "--calls", str(calls)]
            args += ["--duration", str(duration)]
            # What each says while it runs goes to a file: a pipe nobody reads could fill
            # and stall it in the middle of the measurement.
            said = Path(folder) / f"{transport_cc}.txt"
            with said.open("wb") as stderr:
                procs[transport_cc] = subprocess.Popen(
                    [sys.executable, "-m", "bench.transport_cc_cost", *args],
                    stdout=subprocess.PIPE,
                    stderr=stderr,
                )
        runs = {}
        for transport_cc, proc in procs.items():
            out, _ = proc.communicate()
            if proc.returncode != 0:
                side = "on" if transport_cc else "off"
                tail = (Path(folder) / f"{transport_cc}.txt").read_text(errors="replace")[-600:]
                raise RuntimeError(f"the run with transport-cc {side} stopped:\n{tail}")
            runs[transport_cc] = json.loads(out)
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
    parser = argparse.ArgumentParser(prog="python -m bench.transport_cc_cost", description=__doc__)
    parser.add_argument("--calls", type=int, default=25, help="echo tests at once (1 to 100)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured per run")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (1 to 9)")
    parser.add_argument("--json", type=Path, help="also write every run's figures here")
    parser.add_argument("--one", choices=["on", "off"], help=argparse.SUPPRESS)  # one side
    args = parser.parse_args(argv)
    if not 1 <= args.calls <= 100 or not 1 <= args.rounds <= 9 or not 1 <= args.duration <= 600:
        print("transport_cc_cost: --calls 1 to 100, --rounds 1 to 9, --duration 1 to 600 s",
              file=sys.stderr)  # fmt: skip
        return 2
    cores = pinned_cores()
    if cores is not None:
        os.sched_setaffinity(0, cores[1])
    opus_clip(), vp8_clip()
    if args.one is not None:
        offer_addresses(["127.0.0.1"])
        server_cores = cores[0] if cores is not None else None
        print(json.dumps(one_run(args.one == "on", args.calls, args.duration, server_cores)))
        return 0
    rounds: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for number in range(args.rounds):
        order = [True, False] if number % 2 == 0 else [False, True]
        runs = side_by_side(order, args.calls, args.duration)
        print(f"round {number + 1}: {runs[True][KEY]} us per forwarded packet with transport-cc, "
              f"{runs[False][KEY]} without", flush=True)  # fmt: skip
        rounds.append((runs[True], runs[False]))
    print(summary(rounds))
    if args.json:
        args.json.write_text(json.dumps([{"with": w, "without": o} for w, o in rounds], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
