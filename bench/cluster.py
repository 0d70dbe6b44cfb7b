"""A cluster of Quietroom nodes on this machine, loaded through one entry node, against one
node alone in the same run (docs/scaling.md).

    python -m bench.cluster --nodes 3 --calls 30 --duration 20 --rounds 3

Each round runs the same 1:1 calls twice, one run after the other (which goes first
alternates): through a cluster of `--nodes` nodes sharing a throwaway `redis-server` (on
127.0.0.1, persistence off), every call made and every person joined through node 1, so
calls placed on the other nodes are signaled through node 1's relay while their media goes
straight to their node; and through one node alone. It prints both runs' tables, how many
calls each node held, and the ratio of CPU per forwarded packet (all nodes' processes
together) to the single node's. Every node runs one media worker.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

from bench.encoded import opus_clip, vp8_clip
from bench.host_addresses import offer_addresses
from bench.local import STAFF, LocalServer
from bench.report import table
from bench.scenario import Plan, run

MAX_NODES = 5
MAX_CALLS = 100
NODE_OPTIONS = ("--media-workers", "1", "--plain-http")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LocalRedis:
    """redis-server on 127.0.0.1 with a password and nothing on disk, stopped on exit."""

    def __init__(self) -> None:
        self.port = free_port()
        self.password = secrets.token_urlsafe(24)
        self.dir = tempfile.TemporaryDirectory(prefix="quietroom-bench-redis-")
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> LocalRedis:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is missing (Debian: apt-get install redis-server)")
        self.proc = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--requirepass",
             self.password, "--save", "", "--appendonly", "no", "--dir", self.dir.name],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        self.__exit__()
        raise RuntimeError("redis-server did not start")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.dir.cleanup()


async def calls_per_node(redis: LocalRedis) -> list[int]:
    """Each node's own count of its calls, as it last reported it."""
    import redis.asyncio as aioredis

    client = aioredis.Redis(port=redis.port, password=redis.password, decode_responses=True)
    try:
        counts = []
        async for key in client.scan_iter(match="quietroom:node:*"):
            calls: Any = await client.hget(key, "calls")  # type: ignore[misc]
            counts.append(int(calls or 0))
        return sorted(counts, reverse=True)
    finally:
        await client.aclose()


def run_cluster(nodes: int, calls: int, duration: float) -> tuple[dict[str, Any], list[int]]:
    with LocalRedis() as redis, ExitStack() as stack:
        password = secrets.token_urlsafe(16)
        env = {
            **os.environ,
            "QUIETROOM_REDIS_PASSWORD": redis.password,
            "QUIETROOM_CLUSTER_SECRET": secrets.token_urlsafe(24),
        }
        servers = []
        for _ in range(nodes):
            node, http = free_port(), free_port()
            options = [
                "--port", str(http), "--public-url", f"http://127.0.0.1:{http}",
                "--redis", f"redis://127.0.0.1:{redis.port}/0",
                "--node-address", f"http://127.0.0.1:{node}",
            ]  # fmt: skip
            server = LocalServer(*NODE_OPTIONS, *options, env=env, password=password)
            servers.append(stack.enter_context(server))
        time.sleep(1.0)  # every node's first report is in
        plan = Plan(
            servers[0].url, STAFF, password, "call", 2, calls, duration, [s.pid for s in servers]
        )
        return asyncio.run(measured(plan, redis))


async def measured(plan: Plan, redis: LocalRedis) -> tuple[dict[str, Any], list[int]]:
    """The run, and the calls each node held at its fullest (read from their reports)."""
    fullest: list[int] = []

    async def sample() -> None:
        nonlocal fullest
        while True:
            await asyncio.sleep(2.0)
            now = await calls_per_node(redis)
            if sum(now) > sum(fullest):
                fullest = now

    sampler = asyncio.create_task(sample())
    try:
        result = await run(plan)
    finally:
        sampler.cancel()
    return result, fullest


def run_single(calls: int, duration: float) -> dict[str, Any]:
    with LocalServer(*NODE_OPTIONS) as server:
        plan = Plan(server.url, STAFF, server.password, "call", 2, calls, duration, [server.pid])
        result: dict[str, Any] = asyncio.run(run(plan))
        return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster", description=__doc__)
    parser.add_argument("--nodes", type=int, default=3, help=f"nodes (2 to {MAX_NODES})")
    parser.add_argument("--calls", type=int, default=30, help=f"1:1 calls (1 to {MAX_CALLS})")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured per run")
    parser.add_argument("--rounds", type=int, default=1, help="rounds (1 to 9)")
    args = parser.parse_args(argv)
    if not 2 <= args.nodes <= MAX_NODES or not 1 <= args.calls <= MAX_CALLS:
        print(f"--nodes 2 to {MAX_NODES}, --calls 1 to {MAX_CALLS}", file=sys.stderr)
        return 2
    if not 1 <= args.rounds <= 9 or not 5 <= args.duration <= 600:
        print("--rounds 1 to 9, --duration 5 to 600 seconds", file=sys.stderr)
        return 2
    offer_addresses(["127.0.0.1"])
    opus_clip(), vp8_clip()
    key = "server_cpu_us_per_packet"
    ratios = []
    for number in range(args.rounds):
        order = ["single", "cluster"] if number % 2 == 0 else ["cluster", "single"]
        got: dict[str, dict[str, Any]] = {}
        spread: list[int] = []
        for which in order:
            if which == "single":
                got[which] = run_single(args.calls, args.duration)
            else:
                got[which], spread = run_cluster(args.nodes, args.calls, args.duration)
        print(table(got["single"]))
        print(table(got["cluster"]))
        ratio = got["cluster"][key] / got["single"][key]
        ratios.append(ratio)
        print(
            f"round {number + 1}: calls per node {spread}; CPU per forwarded packet "
            f"{got['cluster'][key]} us (cluster, all nodes) vs {got['single'][key]} us "
            f"(one node): {ratio:.3f}",
            flush=True,
        )
    print(f"median cluster/single CPU per forwarded packet: {statistics.median(ratios):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
