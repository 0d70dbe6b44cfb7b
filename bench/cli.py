"""`quietroom-bench` (or `python -m bench`): load a server with simulated calls and report."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import isolation, janus, scenario
from bench.encoded import opus_clip, vp8_clip
from bench.host_addresses import offer_addresses
from bench.local import STAFF, LocalServer
from bench.ramp import ramp, ramp_table
from bench.report import comparison, median_ratios, round_line, table, write_json
from bench.scenario import Plan, run
from bench.soak import SoakPlan, passed, soak, soak_table

MAX_CALLS = 200
MAX_DURATION = 3600.0
MAX_ROUNDS = 9
MAX_MINUTES = 1440.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="quietroom-bench",
        description="Simulated participants send pre-encoded VP8 and Opus through a server.",
    )
    parser.add_argument(
        "scenario",
        choices=["call", "echo", "soak"],
        help="1:1 (or larger) calls, echo tests, or a soak: --calls 1:1 calls at once, each"
        " a few seconds of media then replaced by a new one, for --minutes, while the server's"
        " memory, open files and threads are sampled",
    )
    parser.add_argument("--participants", type=int, default=2, help="people per call (2 to 4)")
    parser.add_argument("--calls", type=int, default=1, help=f"calls at once (1 to {MAX_CALLS})")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured")
    parser.add_argument(
        "--minutes", type=float, default=30.0, help="soak: how long calls come and go"
    )
    parser.add_argument(
        "--local",
        action="store_true",
        help="start a throwaway server on 127.0.0.1 for this run (no --url needed)",
    )
    parser.add_argument(
        "--target",
        choices=["quietroom", "janus"],
        default="quietroom",
        help="server to load; janus always starts its own Janus (Debian's `janus`) on 127.0.0.1"
        " with its EchoTest and VideoCall plugins (echo, and 1:1 calls only)",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="run a throwaway Quietroom, then a throwaway Janus, with the same scenario, calls"
        " and duration; print both tables and their ratios",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help=f"with --compare: rounds of both servers, in turn (1 to {MAX_ROUNDS}); ratios are"
        " the median of the rounds' ratios",
    )
    parser.add_argument("--url", default="", help="server address, e.g. https://127.0.0.1:8443")
    parser.add_argument("--staff", default="", help="staff account name")
    parser.add_argument(
        "--server-pid",
        type=int,
        action="append",
        default=[],
        help="server process to measure (default: every 'quietroom serve' on this machine)",
    )
    parser.add_argument(
        "--ramp",
        action="store_true",
        help="add --step-calls calls every step until packet loss passes 1 %% or added latency"
        " p95 passes 50 ms, or --max-calls is reached; one row per step (--calls and --duration"
        " are not used)",
    )
    parser.add_argument("--step-calls", type=int, default=2, help="calls added per ramp step")
    parser.add_argument(
        "--step-seconds", type=float, default=10.0, help="seconds measured per ramp step"
    )
    parser.add_argument(
        "--max-calls", type=int, default=40, help=f"where a ramp stops (1 to {MAX_CALLS})"
    )
    parser.add_argument(
        "--transport-cc",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="simulated people offer transport-wide congestion control and send feedback, as"
        " browsers do (--no-transport-cc: as before issue 11, to see what it costs)",
    )
    parser.add_argument(
        "--e2ee",
        action="store_true",
        help="simulated people seal every frame end to end, with a key per call, and open what"
        " they receive (with --compare, the Janus peers too)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--plot",
        type=Path,
        metavar="FILE",
        help="also draw CPU, packet loss and latency against calls, as a PNG",
    )
    return parser


def check(args: argparse.Namespace) -> str | None:
    if not 2 <= args.participants <= 4:
        return "--participants must be between 2 and 4"
    if not 1 <= args.calls <= MAX_CALLS:
        return f"--calls must be between 1 and {MAX_CALLS}"
    if args.scenario == "soak":
        if not 1 <= args.minutes <= MAX_MINUTES:
            return f"--minutes must be between 1 and {MAX_MINUTES:.0f}"
        if args.ramp or args.compare or args.target == "janus" or args.plot:
            return "soak loads Quietroom alone: leave out --ramp, --compare, --target and --plot"
    if not 1 <= args.duration <= MAX_DURATION:
        return f"--duration must be between 1 and {MAX_DURATION:.0f} seconds"
    if args.ramp:
        if args.compare or args.target == "janus":
            return "--ramp loads Quietroom only: leave out --compare and --target janus"
        if not 1 <= args.step_calls <= MAX_CALLS:
            return f"--step-calls must be between 1 and {MAX_CALLS}"
        if not 1 <= args.max_calls <= MAX_CALLS:
            return f"--max-calls must be between 1 and {MAX_CALLS}"
        if not 1 <= args.step_seconds <= MAX_DURATION:
            return f"--step-seconds must be between 1 and {MAX_DURATION:.0f} seconds"
    if args.plot and args.compare:
        return "--plot draws one server's figures: leave out --compare"
    if not 1 <= args.rounds <= MAX_ROUNDS:
        return f"--rounds must be between 1 and {MAX_ROUNDS}"
    if args.compare and args.target == "janus":
        return "--compare runs Quietroom then Janus: leave out --target"
    if args.target == "janus" or args.compare:
        if args.url or args.server_pid:
            return (
                "--target janus and --compare start their own servers on 127.0.0.1: "
                "leave out --url and --server-pid"
            )
        if args.scenario == "call" and args.participants != 2:
            return (
                "Janus's VideoCall plugin only carries 1:1 calls: use --participants 2 "
                "with --target janus or --compare"
            )
        return None
    if not args.local and not (args.url and args.staff):
        return "give --local, or --url and --staff (password in QUIETROOM_BENCH_PASSWORD)"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    problem = check(args)
    scenario.TRANSPORT_CC[0] = args.transport_cc
    scenario.E2EE[0] = args.e2ee
    if problem:
        print(f"quietroom-bench: {problem}", file=sys.stderr)
        return 2
    if (args.compare or args.target == "janus") and not isolation.inside():
        return isolation.run_isolated(list(sys.argv[1:] if argv is None else argv))
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass

    def plan(url: str, staff: str, password: str, pids: list[int]) -> Plan:
        return Plan(
            url, staff, password, args.scenario, args.participants, args.calls, args.duration, pids
        )

    async def measure(p: Plan) -> dict[str, Any]:
        if args.ramp:
            return await ramp(p, args.step_calls, args.step_seconds, args.max_calls)
        return await run(p)

    def local_quietroom() -> dict[str, Any]:
        with LocalServer() as server:
            return asyncio.run(measure(plan(server.url, STAFF, server.password, [server.pid])))

    def local_janus() -> dict[str, Any]:
        with janus.LocalJanus() as server:
            offer_addresses([server.ice_address])  # Janus never gathers loopback: see there
            return asyncio.run(janus.run(plan(server.url, "", "", [server.pid])))

    if args.scenario == "soak":
        return soak_main(args)
    opus_clip(), vp8_clip()  # encoded once when the bench starts, so no join time includes it
    if args.local or args.compare:
        offer_addresses(["127.0.0.1"])  # the server is on loopback: so are the participants
    try:
        if args.compare:
            janus.binary()  # before the first round, so a missing Janus fails at once
            rounds: list[tuple[dict[str, Any], dict[str, Any]]] = []
            for number in range(args.rounds):
                # in turn, and the other way round every second round (Q J, J Q, ...), so
                # what drifts on the machine while the rounds run weighs on both alike
                order = [local_quietroom, local_janus]
                if number % 2:
                    order.reverse()
                runs = {}
                for start in order:
                    result = start()
                    print(table(result), end="\n\n", flush=True)
                    runs[result["target"]] = result
                pair = (runs["quietroom"], runs["janus"])
                rounds.append(pair)
                if args.rounds > 1:
                    print(round_line(number + 1, args.rounds, *pair), end="\n\n", flush=True)
            print(comparison(rounds))
            if args.json:
                write_json(
                    {
                        "quietroom": [q for q, _ in rounds],
                        "janus": [j for _, j in rounds],
                        "ratios": median_ratios(rounds),
                    },
                    args.json,
                )
            return 0
        if args.target == "janus":
            result = local_janus()
        elif args.local:
            result = local_quietroom()
        else:
            password = os.environ.get("QUIETROOM_BENCH_PASSWORD", "")
            password = password or sys.stdin.readline().rstrip("\n")
            result = asyncio.run(measure(plan(args.url, args.staff, password, args.server_pid)))
    except janus.JanusError as error:
        print(f"quietroom-bench: {error}", file=sys.stderr)
        return 1
    print(ramp_table(result) if args.ramp else table(result))
    if args.json:
        write_json(result, args.json)
    if args.plot:
        try:
            from bench.plot import plot  # matplotlib, only when asked for
        except ImportError:
            print("quietroom-bench: --plot needs matplotlib: pip install 'quietroom[bench]'",
                  file=sys.stderr)  # fmt: skip
            return 2
        plot(result, args.plot)
    return 0


def soak_main(args: argparse.Namespace) -> int:
    """Soak: the table, the samples in --json; exit 1 if a call failed or a figure grew."""

    def soak_plan(url: str, staff: str, password: str, pids: list[int]) -> SoakPlan:
        return SoakPlan(url, staff, password, args.minutes, args.calls, pids)

    opus_clip(), vp8_clip()
    if args.local:
        offer_addresses(["127.0.0.1"])
        with LocalServer() as server:
            result = asyncio.run(soak(soak_plan(server.url, STAFF, server.password, [server.pid])))
    else:
        password = os.environ.get("QUIETROOM_BENCH_PASSWORD", "")
        password = password or sys.stdin.readline().rstrip("\n")
        result = asyncio.run(soak(soak_plan(args.url, args.staff, password, args.server_pid)))
    print(soak_table(result))
    if args.json:
        write_json(result, args.json)
    return 0 if passed(result) else 1


if __name__ == "__main__":
    sys.exit(main())
