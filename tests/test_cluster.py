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
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import STAFF_NAME, STAFF_PASSWORD
from netlab import Host, NetLab, require_netns
from serverproc import REPO, ServerProcess, clean_environment, kill, serve_command, start

from server.cluster import REPORT_SECONDS, hashed

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
    browser: Host
    redis_proc: subprocess.Popen[bytes] | None = None
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
        made = Cluster(lab, redis_host, nodes, lab.add_host("people"), lab.add_host("browser"))
        made.redis_proc = start_redis(redis_host, tmp_path, "--save", "", "--appendonly", "no")
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
            if made.redis_proc is not None:
                made.redis_proc.kill()
                made.redis_proc.wait(timeout=10)


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
async def people_of(cluster: Cluster, *calls: str) -> AsyncIterator[People]:
    """The people of `calls` (tests/cluster_people.py: "0,1,2" has staff reach node 1, the
    survivor node 2 and the interpreter node 3)."""
    proc = await asyncio.create_subprocess_exec(
        "ip", "netns", "exec", cluster.people.netns, sys.executable,
        str(REPO / "tests" / "cluster_people.py"), STAFF_NAME, STAFF_PASSWORD,
        *(cluster.base(i) for i in range(3)), "--", *calls,
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


async def media_flows(people: People, calls: list[int], rounds: int = 2) -> None:
    """Everyone of each of `calls` keeps receiving from everyone else of theirs."""
    before = (await people.ask("media"))["media"]
    for _ in range(rounds):
        await asyncio.sleep(1.0)
        now = (await people.ask("media"))["media"]
        for index in calls:
            for name, seen in now[index].items():
                for other, count in seen.items():
                    assert count > before[index][name][other], (index, name, other, now)
        before = now


def holder(cluster: Cluster, call_id: str) -> int:
    """Which node (0 to 2) holds a call, as the directory in Redis says."""
    node_id = cluster.redis_cli("GET", hashed(CLUSTER_SECRET, "call", call_id)).strip()
    address = cluster.redis_cli("HGET", f"quietroom:node:{node_id}", "address").strip()
    return next(i for i in range(3) if f"//{cluster.nodes[i].address}:" in address)


async def test_a_call_across_three_nodes(cluster: Cluster) -> None:
    async with people_of(cluster, "0,1,2") as people:
        joined = await people.read(timeout=90)
        assert joined["event"] == "in-call", joined
        call = joined["calls"][0]
        secrets = [call["call"], *call["invites"]]

        # Media flows between all three, whichever node each reached.
        await media_flows(people, [0])

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

        ended = await people.ask("end 0")
        told = dict.fromkeys(("staff", "survivor", "interpreter"), "ended-by-staff")
        assert ended == {"event": "ended", "told": told}

    # Nothing about the call is left in Redis: only the nodes' reports and staff's sign-in.
    for _ in range(20):
        left = [
            k for k in cluster.everything_in_redis() if k.split(":")[1] not in ("node", "api-token")
        ]
        if not left:
            break
        await asyncio.sleep(0.1)
    assert left == []
    logs = cluster.logs()
    assert not secrets_in(logs, secrets), "a token or the call's id is in a node's log"
    assert cluster.people.address not in logs
    assert "Traceback" not in logs and "ERROR" not in logs


async def test_a_node_that_dies_ends_only_its_own_calls(cluster: Cluster) -> None:
    """Two calls made through node 1 go to two nodes (placement spreads them); the node of
    the first is killed. Whoever of that call reached it through another node is told the
    call ended (`server-lost`); the other call keeps its media, whichever nodes its people's
    sockets went through, and one of its people comes back through the third node."""
    async with people_of(cluster, "0,1,2", "0,2") as people:
        joined = await people.read(timeout=120)
        assert joined["event"] == "in-call", joined
        first, second = (holder(cluster, c["call"]) for c in joined["calls"])
        assert first != second, "two calls made one after the other went to one node"
        await kill(cluster.servers[first])
        told = (await people.ask("ended 0"))["told"]
        entries = dict(zip(("staff", "survivor", "interpreter"), (0, 1, 2), strict=True))
        for name, code in told.items():
            if entries[name] != first:
                assert code == "server-lost", told
        await media_flows(people, [1], rounds=3)
        assert set((await people.ask("ended 1"))["told"].values()) == {None}
        # Someone of the other call comes back through the node that holds neither call:
        # their resume secret names its node, so they are relayed there.
        third = ({0, 1, 2} - {first, second}).pop()
        resumed = await people.ask(f"resume 1 survivor {third}")
        assert resumed == {"event": "resumed", "same": True}


async def test_redis_restarting_keeps_calls_and_new_calls_wait(
    cluster: Cluster, tmp_path: Path
) -> None:
    """Redis stops: the running call keeps its media and a new call is refused with a clear
    code; Redis is back (empty, as it keeps nothing): the directory is whole again within
    a report, staff sign in again (sign-ins lived only there) and a new call works."""
    async with people_of(cluster, "0,1") as people:
        joined = await people.read(timeout=90)
        assert joined["event"] == "in-call", joined
        call_id = joined["calls"][0]["call"]
        assert cluster.redis_proc is not None
        cluster.redis_proc.kill()
        cluster.redis_proc.wait(timeout=10)
        await media_flows(people, [0], rounds=3)
        refused = await people.ask("new")
        assert refused == {"event": "new", "status": 503, "error": "cluster-unavailable"}
        cluster.redis_proc = start_redis(
            cluster.redis, tmp_path, "--save", "", "--appendonly", "no"
        )
        for _ in range(100):
            if cluster.redis_cli("GET", hashed(CLUSTER_SECRET, "call", call_id)).strip():
                break
            await asyncio.sleep(0.1)
        assert holder(cluster, call_id) in (0, 1, 2)
        assert (await people.ask("new"))["status"] == 401
        assert (await people.ask("sign-in"))["event"] == "signed-in"
        assert (await people.ask("new"))["status"] == 201
        await media_flows(people, [0])
    assert "Traceback" not in cluster.logs()


TAP_PORT = 8443


def survivor_in_browser(
    cluster: Cluster, link: str, tmp_path: Path, tap: str, done: threading.Event, browser: str
) -> list[str]:
    """A survivor in `browser` (chromium or firefox), in its own namespace, opens `link`
    through the tap in front of node 2 and joins; once the page decodes and hears both
    others, it stays until `done`. The URLs the page requested (Chromium's only)."""
    from browser import RECORD_PEER_CONNECTIONS
    from firefox import FirefoxPage, require_firefox
    from playwright.sync_api import sync_playwright
    from test_browser_call import join_and_wait, new_page, receiving_from, wait_for

    url = f"{tap}/join#{link.split('#', 1)[1]}"
    requests: list[str] = []

    def call(page: Any) -> None:
        join_and_wait(page, url, "Hannah")
        page.wait_for_selector("#call:not([hidden])", timeout=60000)
        wait_for(lambda: receiving_from(page, 2), timeout=30, what=f"both others, in {browser}")
        done.wait(120)

    if browser == "firefox":
        require_firefox()
        netns = cluster.browser.netns
        with FirefoxPage(tmp_path / "firefox", netns, preload=(RECORD_PEER_CONNECTIONS,)) as page:
            call(page)
        return requests
    with sync_playwright() as p:
        page = new_page(p, cluster.browser, tmp_path, requests)
        try:
            call(page)
        finally:
            page.context.browser.close()
    return requests


@pytest.mark.browser
@pytest.mark.parametrize("browser", ["chromium", "firefox"])
async def test_a_browser_through_another_node(
    cluster: Cluster, tmp_path: Path, browser: str
) -> None:
    """The survivor in Chromium or Firefox ESR opens their link through node 2 (behind a
    TLS front that writes down what the browser sent), while staff (node 1) and the
    interpreter (node 3) are aiortc peers; node 2 is drained first, so the call is on another
    node and the page's socket is relayed. Everyone sees and hears everyone; no request line
    carries the token."""
    drained = drain_command(cluster, 1)
    assert subprocess.run(drained, cwd=REPO, env=node_environment(), timeout=60).returncode == 0
    await asyncio.sleep(REPORT_SECONDS + 1)
    record = tmp_path / "sent-to-node-2.jsonl"
    tap = cluster.nodes[1].popen(
        [sys.executable, "tests/ws_tap.py", cluster.nodes[1].address, str(TAP_PORT),
         cluster.base(1), str(record)],
        cwd=REPO, env=clean_environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        assert tap.stdout is not None and b"tapping" in tap.stdout.readline()
        async with people_of(cluster, "0,b,2") as people:
            link = await people.read(timeout=90)
            assert link["event"] == "link" and link["role"] == "survivor", link
            front = f"https://{cluster.nodes[1].address}:{TAP_PORT}"
            done = threading.Event()
            browsing = asyncio.create_task(
                asyncio.to_thread(
                    survivor_in_browser, cluster, link["link"], tmp_path, front, done, browser
                )
            )
            try:
                joined = await people.read(timeout=120)
            finally:
                done.set()
            assert joined["event"] == "in-call", joined
            requests = await browsing
            call = joined["calls"][0]
            assert holder(cluster, call["call"]) != 1
            assert cluster.servers[1].stderr().count("relayed to the node holding the call") >= 1
    finally:
        tap.kill()
        tap.wait()
    entries = [json.loads(line) for line in record.read_text().splitlines()]
    lines = [e["request"] for e in entries if "request" in e]
    assert any(line.startswith("GET /join") for line in lines), lines
    assert any('"type":"join"' in e.get("ws", "") for e in entries), "the tap saw no join"
    assert not secrets_in(json.dumps(lines) + json.dumps(requests), call["invites"])
    assert not secrets_in(cluster.logs(), [call["call"], *call["invites"]])


def drain_command(cluster: Cluster, index: int, *extra: str) -> list[str]:
    """`quietroom drain` for node `index`, as run on that node with its settings."""
    url = f"redis://{cluster.redis.address}:{REDIS_PORT}/0"
    command = node_command(url, cluster.nodes[index], Path("/nonexistent"))
    command[command.index("serve")] = "drain"
    return [*command, *extra]


def staff_script(cluster: Cluster, *what: str) -> Any:
    """tests/cluster_staff.py in the people's namespace: its one JSON answer."""
    done = cluster.people.run(
        [sys.executable, str(REPO / "tests" / "cluster_staff.py"), STAFF_NAME, STAFF_PASSWORD,
         *(cluster.base(i) for i in range(3)), *what],
        cwd=REPO, env=clean_environment(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return json.loads(done.stdout)


async def test_staff_reach_any_node(cluster: Cluster) -> None:
    """Sign-ins, the calls list and each call's requests work through any node; a sign-out
    holds everywhere at once; failed sign-ins count across nodes."""
    said = await asyncio.to_thread(staff_script, cluster, "sign-ins")
    assert said["me_on_1"] == 200
    made = said["made"]
    assert said["listed_on_1"] == sorted(made)
    assert said["end_on_0"] == 200
    assert said["listed_on_2"] == sorted(made[1:])
    assert said["cookie_on_2"] == [200, False]
    assert said["ready_on_2"] == 200
    assert said["join_on_0"] == "joined"
    assert said["logout_on_2"] == 200
    assert said["cookie_on_0_after"] == 401
    # Five failures are free for a source, wherever they land; then it must wait.
    assert said["guesses"] == [401] * 5 + [429] * 2
    held = json.dumps(cluster.everything_in_redis())
    assert STAFF_PASSWORD not in held and cluster.people.address not in held
    assert not secrets_in(cluster.logs(), made)


async def test_a_drained_node_takes_no_new_calls(cluster: Cluster) -> None:
    """`quietroom drain` on node 1: calls made through it go to the others until `--undo`."""
    drain = drain_command(cluster, 0)
    done = subprocess.run(drain, cwd=REPO, env=node_environment(), capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "takes no new calls" in done.stdout
    await asyncio.sleep(REPORT_SECONDS + 1)  # the node reads the request at its next report
    made = await asyncio.to_thread(staff_script, cluster, "calls", "4")
    assert {holder(cluster, call) for call in made} <= {1, 2}, made
    undo = subprocess.run([*drain, "--undo"], cwd=REPO, env=node_environment(),
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert undo.returncode == 0 and "takes new calls again" in undo.stdout, undo.stderr


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
