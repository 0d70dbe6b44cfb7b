"""Many nodes sharing Redis (issue 17, docs/scaling.md): three server processes, each in its own
network namespace, and a real redis-server in another, started with persistence off.

Staff make a call through node 1 (it goes to whichever node has the most headroom), the
survivor joins through node 2 and the interpreter through node 3, with real aiortc peers in a
namespace of their own: their sockets reach the node holding the call through the node they
reached, and their media goes straight to it. Neither an invite token nor the call's id is in
Redis, in any form but a hash, or in any node's log (at DEBUG); once the call ends nothing
about it is left in Redis.

A Redis that keeps data on disk is refused at start, with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import STAFF_NAME, STAFF_PASSWORD
from netlab import Host, NetLab, require_netns
from serverproc import REPO, ServerProcess, clean_environment, kill, serve_command, start

REDIS_PASSWORD = "a-long-redis-password-for-tests"
CLUSTER_SECRET = "the-cluster-secret-of-the-tests"
HTTP_PORT = 8080
NODE_PORT = 8444
REDIS_PORT = 6379


def require_redis() -> str:
    path = shutil.which("redis-server")
    if path is None:
        pytest.fail("redis-server is missing: tests/run_all.sh installs it (Debian redis-server)")
    return path


@dataclass
class Cluster:
    lab: NetLab
    redis: Host
    nodes: list[Host]
    people: Host
    servers: list[ServerProcess] = field(default_factory=list)

    def base(self, index: int) -> str:
        return f"http://{self.nodes[index].address}:{HTTP_PORT}"

    def redis_cli(self, *args: str) -> str:
        return self.redis.run(
            ["redis-cli", "-h", self.redis.address, "-p", str(REDIS_PORT), "--no-auth-warning",
             "-a", REDIS_PASSWORD, *args],
            capture_output=True, text=True,
        ).stdout  # fmt: skip

    def everything_in_redis(self) -> dict[str, str]:
        """Every key, and its value as text (a hash's fields and values), as Redis holds it."""
        found: dict[str, str] = {}
        for key in self.redis_cli("--scan").split():
            kind = self.redis_cli("TYPE", key).strip()
            value = self.redis_cli("HGETALL" if kind == "hash" else "GET", key)
            found[key] = value
        return found

    def logs(self) -> str:
        return "".join(server.stderr() for server in self.servers)


def start_redis(host: Host, directory: Path, *persistence: str) -> subprocess.Popen[bytes]:
    proc = host.popen(
        [require_redis(), "--bind", host.address, "--port", str(REDIS_PORT),
         "--requirepass", REDIS_PASSWORD, "--dir", str(directory), "--daemonize", "no",
         *persistence],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(100):
        pong = host.run(
            ["redis-cli", "-h", host.address, "-p", str(REDIS_PORT), "--no-auth-warning",
             "-a", REDIS_PASSWORD, "PING"],
            capture_output=True, text=True, check=False,
        ).stdout  # fmt: skip
        if "PONG" in pong:
            return proc
        subprocess.run(["sleep", "0.1"], check=True)
    proc.kill()
    raise RuntimeError("redis-server did not start")


def node_command(cluster_redis: str, host: Host, staff: Path) -> list[str]:
    return [
        "ip", "netns", "exec", host.netns,
        *serve_command(
            "--host", host.address, "--port", str(HTTP_PORT), "--plain-http",
            "--public-url", f"http://calls.example.org:{HTTP_PORT}",
            "--ice-addresses", host.address, "--media-workers", "0",
            "--staff-file", str(staff), "--log-level", "debug",
            "--redis", cluster_redis,
            "--node-address", f"http://{host.address}:{NODE_PORT}",
        ),
    ]  # fmt: skip


def node_environment() -> dict[str, str]:
    return clean_environment(
        QUIETROOM_REDIS_PASSWORD=REDIS_PASSWORD, QUIETROOM_CLUSTER_SECRET=CLUSTER_SECRET
    )


@pytest.fixture
async def cluster(staff_path: Path, tmp_path: Path) -> AsyncIterator[Cluster]:
    require_netns()
    require_redis()
    with NetLab() as lab:
        redis_host = lab.add_host("redis")
        nodes = [lab.add_host(f"n{i}") for i in (1, 2, 3)]
        made = Cluster(lab, redis_host, nodes, lab.add_host("people"))
        redis = start_redis(redis_host, tmp_path, "--save", "", "--appendonly", "no")
        url = f"redis://{redis_host.address}:{REDIS_PORT}/0"
        try:
            for index, host in enumerate(nodes):
                made.servers.append(
                    await start(
                        node_command(url, host, staff_path),
                        cwd=REPO,
                        env=node_environment(),
                        stderr_path=tmp_path / f"node{index + 1}.log",
                    )
                )
            yield made
        finally:
            for server in made.servers:
                await kill(server)
            redis.kill()
            redis.wait(timeout=10)


class People:
    """tests/cluster_people.py, run in the people's namespace."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def read(self, timeout: float = 60.0) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not line:
            assert self.proc.stderr is not None
            raise AssertionError(
                "the people's script ended:\n" + (await self.proc.stderr.read()).decode()
            )
        event: dict[str, Any] = json.loads(line)
        return event

    async def ask(self, what: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(what.encode() + b"\n")
        await self.proc.stdin.drain()
        return await self.read()


@contextlib.asynccontextmanager
async def people_of(cluster: Cluster) -> AsyncIterator[People]:
    proc = await asyncio.create_subprocess_exec(
        "ip", "netns", "exec", cluster.people.netns, sys.executable,
        str(REPO / "tests" / "cluster_people.py"),
        *(cluster.base(i) for i in range(3)), STAFF_NAME, STAFF_PASSWORD,
        cwd=REPO, env=clean_environment(),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        yield People(proc)
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


def secrets_in(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s in text]


async def test_a_call_across_three_nodes(cluster: Cluster) -> None:
    async with people_of(cluster) as people:
        joined = await people.read(timeout=90)
        assert joined["event"] == "in-call", joined
        secrets = [joined["call"], *joined["invites"]]

        # Media flows between all three, whichever node each reached.
        before = joined["media"]
        for _ in range(2):
            await asyncio.sleep(1.0)
            now = (await people.ask("media"))["media"]
            for name, seen in now.items():
                for other, count in seen.items():
                    assert count > before[name][other], (name, other, now)
            before = now

        # Redis holds the call only as hashes: which node, never a token or the id.
        held = cluster.everything_in_redis()
        everything = json.dumps(held)
        assert not secrets_in(everything, secrets)
        calls = [k for k in held if k.startswith("quietroom:call:")]
        invites = [k for k in held if k.startswith("quietroom:invite:")]
        nodes = [k for k in held if k.startswith("quietroom:node:")]
        assert len(calls) == 1 and len(invites) == 2 and len(nodes) == 3, sorted(held)
        holder = held[calls[0]].strip()
        assert all(held[k].strip() == holder for k in invites)
        # Of staff (node 1), survivor (node 2) and interpreter (node 3), all but the one who
        # reached the call's own node were relayed there.
        relayed = [
            s.stderr().count("relayed to the node holding the call") for s in cluster.servers
        ]
        assert sum(relayed) == 2, relayed

        ended = await people.ask("end")
        assert ended == {
            "event": "ended",
            "told": dict.fromkeys(("staff", "survivor", "interpreter"), True),
        }

    # Nothing about the call is left in Redis; only the nodes' own reports.
    for _ in range(20):
        left = [k for k in cluster.everything_in_redis() if not k.startswith("quietroom:node:")]
        if not left:
            break
        await asyncio.sleep(0.1)
    assert left == []
    logs = cluster.logs()
    assert not secrets_in(logs, secrets), "a token or the call's id is in a node's log"
    assert cluster.people.address not in logs
    assert "Traceback" not in logs and "ERROR" not in logs


@pytest.mark.parametrize(
    ("persistence", "said"),
    [
        (("--save", "3600 1", "--appendonly", "no"), 'RDB snapshots (save "3600 1")'),
        (("--save", "", "--appendonly", "yes"), "the append-only file (appendonly yes)"),
    ],
)
def test_a_redis_that_keeps_data_on_disk_is_refused(
    persistence: tuple[str, ...], said: str, staff_path: Path, tmp_path: Path
) -> None:
    require_netns()
    with NetLab() as lab:
        redis_host, node = lab.add_host("redis"), lab.add_host("n1")
        redis = start_redis(redis_host, tmp_path, *persistence)
        try:
            url = f"redis://{redis_host.address}:{REDIS_PORT}/0"
            done = subprocess.run(
                node_command(url, node, staff_path), cwd=REPO, env=node_environment(),
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
        finally:
            redis.kill()
            redis.wait(timeout=10)
    assert done.returncode == 2, done.stderr
    assert "this Redis keeps data on disk" in done.stderr and said in done.stderr, done.stderr
    assert "--redis-allow-persistence" in done.stderr
    assert REDIS_PASSWORD not in done.stderr
    assert "Quietroom is running" not in done.stdout


def test_the_cluster_settings_go_together(staff_path: Path) -> None:
    env = clean_environment()
    base = serve_command("--staff-file", str(staff_path), "--redis", "redis://10.0.0.5:6379/0")
    for extra, said in (
        ((), "--redis needs --node-address"),
        (("--node-address", "http://10.0.0.11:8444"), "--redis needs --public-url"),
        (
            (
                "--node-address",
                "http://10.0.0.11:8444",
                "--public-url",
                "https://calls.example.org",
            ),
            "--redis needs QUIETROOM_CLUSTER_SECRET",
        ),
    ):
        done = subprocess.run(
            [*base, *extra], cwd=REPO, env=env, capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 2 and said in done.stderr, done.stderr
    bad = serve_command("--redis", "redis://:secret-password@10.0.0.5:6379")
    done = subprocess.run(bad, cwd=REPO, env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "--redis: the value is not valid" in done.stderr
    assert "secret-password" not in done.stderr
