"""The cluster's pieces (server/cluster.py, server/redis_directory.py) against a real
redis-server on loopback: signatures between nodes, keys that never hold a value, placement
by headroom, draining, the directory, shared sign-ins and failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from conftest import client_ssl, loopback_config, start_server

from bench.client import Participant
from bench.cluster import LocalRedis, free_port
from server.cluster import (
    CALL_LOAD,
    ClusterUnavailable,
    NodeReport,
    answer,
    hashed,
    is_answer,
    node_of_resume,
    sign,
    verify,
)
from server.config import ConfigError, load
from server.redis_directory import Cluster
from signaling.protocol import Error, Join
from signaling.sign_in_limits import SignInLimits
from signaling.staff_sessions import StaffSessions

SECRET = "a-cluster-secret-for-unit-tests"


def test_a_signature_holds_for_its_path_its_staff_and_a_minute() -> None:
    header = sign(SECRET, "/node/ws", 1000.0)
    assert verify(SECRET, "/node/ws", header, 1030.0)
    assert not verify(SECRET, "/node/calls", header, 1030.0)
    assert not verify(SECRET, "/node/ws", header, 1061.0)
    assert not verify("another-secret-of-sixteen", "/node/ws", header, 1000.0)
    assert not verify(SECRET, "/node/ws", "", 1000.0)
    assert not verify(SECRET, "/node/ws", "soon." + header.split(".")[1], 1000.0)
    # The staff member a request is for is signed too: it cannot be added or changed.
    assert not verify(SECRET, "/node/ws", header, 1000.0, staff="river.staff")
    for_staff = sign(SECRET, "/node/ws", 1000.0, staff="river.staff")
    assert verify(SECRET, "/node/ws", for_staff, 1000.0, staff="river.staff")
    assert not verify(SECRET, "/node/ws", for_staff, 1000.0, staff="admin")


def test_keys_hold_no_value_and_depend_on_the_secret() -> None:
    token = "Zm9vYmFyYmF6cXV4cXV1eHF1dXpxdXV6"
    key = hashed(SECRET, "invite", token)
    assert token not in key and key.startswith("quietroom:invite:")
    assert key != hashed(SECRET, "call", token)
    assert key != hashed("another-secret-of-sixteen", "invite", token)


def test_a_resume_secret_names_its_node() -> None:
    assert node_of_resume("0123456789ab.secret") == "0123456789ab"
    assert node_of_resume("secret-without-a-node") is None
    assert node_of_resume("short.secret") is None


def test_a_report_missing_a_field_is_ignored() -> None:
    assert NodeReport.read("n", {"address": "http://10.0.0.1:8444"}) is None
    fields = {"address": "a", "busy": "x", "pps": "1", "us_per_packet": "1", "calls": "1"}
    assert NodeReport.read("n", {**fields, "draining": "0", "at": "1"}) is None
    assert NodeReport.read("n", {**fields, "busy": "0.5", "draining": "0"}) is None


def test_cluster_settings_are_checked() -> None:
    for argv, said in (
        (["--redis", "redis://:pw@10.0.0.5:6379"], "--redis: the value is not valid"),
        (["--redis", "http://10.0.0.5"], "--redis: the value is not valid"),
        (["--node-address", "10.0.0.11:8444"], "--node-address: '10.0.0.11:8444' is not valid"),
        (["--node-listen", "here:8444"], "--node-listen: 'here:8444' is not valid"),
    ):
        with pytest.raises(ConfigError) as raised:
            load(argv, {})
        assert said in str(raised.value)
        assert "pw@" not in str(raised.value)
    config = load(
        ["--redis", "redis://10.0.0.5:6379/0", "--node-address", "http://10.0.0.11:8444/",
         "--public-url", "https://calls.example.org"],
        {"QUIETROOM_CLUSTER_SECRET": SECRET},
    )  # fmt: skip
    assert config.node_address == "http://10.0.0.11:8444" and config.cluster_secret == SECRET


@pytest.fixture(scope="module")
def redis() -> Iterator[LocalRedis]:
    with LocalRedis() as running:
        yield running


@pytest.fixture
async def nodes(redis: LocalRedis) -> AsyncIterator[list[Cluster]]:
    made = []
    for n in range(3):
        made.append(
            await Cluster.connect(
                f"redis://127.0.0.1:{redis.port}/0",
                redis.password,
                f"http://10.0.0.{11 + n}:8444",
                SECRET,
                False,
            )
        )
    await made[0].redis.flushdb()
    yield made
    for node in made:
        await node.close()


async def test_new_calls_go_where_there_is_headroom(nodes: list[Cluster]) -> None:
    a, b, c = nodes
    await a.report(0.50, 1000, 40, 5)
    await b.report(0.10, 100, 40, 1)
    await c.report(0.10 + CALL_LOAD / 2, 100, 40, 1)
    first = await a.place()
    assert first is not None and first.node_id == b.node_id
    # b now counts one call more until its next report: c has the most headroom.
    second = await a.place()
    assert second is not None and second.node_id == c.node_id
    # A new report counts what was placed before it: b is the best again.
    await b.report(0.10, 100, 40, 1)
    assert (await a.place()).node_id == b.node_id  # type: ignore[union-attr]
    # The node asked is the best: the call is made there (None).
    await a.report(0.0, 0, 0, 0)
    assert await a.place() is None


async def test_a_drained_node_takes_no_new_calls(nodes: list[Cluster]) -> None:
    a, b, c = nodes
    for node in nodes:
        await node.report(0.0, 0, 0, 0)
    assert [n.node_id for n in await a.drain("http://10.0.0.11:8444", True)] == [a.node_id]
    await a.report(0.0, 0, 0, 0)  # the node reads the request at its next report
    assert a.draining
    placed = await a.place()
    assert placed is not None and placed.node_id in (b.node_id, c.node_id)
    await b.drain(b.address, True)
    await c.drain(c.address, True)
    await b.report(0.0, 0, 0, 0)
    await c.report(0.0, 0, 0, 0)
    with pytest.raises(ClusterUnavailable):
        await a.place()
    await a.drain(a.address, False)
    await a.report(0.0, 0, 0, 0)
    assert not a.draining and await a.place() is None


async def test_the_directory_finds_calls_and_forgets_them(nodes: list[Cluster]) -> None:
    a, b, _ = nodes
    for node in nodes:
        await node.report(0.0, 0, 0, 0)
    await a.add_call("call-id", ["invite-1", "invite-2"], 60)
    assert await b.node_for_call("call-id") == a.address
    assert await b.node_for_invite("invite-2") == a.address
    assert await a.node_for_invite("invite-2") is None  # this node's own: not relayed
    assert await b.node_for_resume(a.resume_prefix() + "secret") == a.address
    keys = [k async for k in a.redis.scan_iter(match="quietroom:*")]
    held = " ".join(keys) + " ".join([str(await a.redis.get(k)) for k in keys if ":node:" not in k])
    assert "call-id" not in held and "invite-1" not in held
    ttl = await a.redis.ttl(a.key("invite", "invite-1"))
    assert 55 <= ttl <= 61
    # Redis comes back empty: the next report writes the call back.
    await a.redis.flushdb()
    assert await b.node_for_call("call-id") is None
    await a.report(0.0, 0, 0, 1)
    assert await b.node_for_call("call-id") == a.address
    await a.drop_call("call-id")
    assert await b.node_for_invite("invite-1") is None
    await a.report(0.0, 0, 0, 0)
    assert await b.node_for_call("call-id") is None  # not written back once it ended


async def test_sign_ins_and_failures_are_shared(nodes: list[Cluster]) -> None:
    a, b, _ = nodes
    here, there = StaffSessions(3600), StaffSessions(3600)
    here.shared = there.shared = True
    token = here.open("river.staff", 1000.0)
    await a.flush_sign_ins(here, "session")
    await b.mirror_sign_in(there, "session", token)
    held = there.get(token)
    assert held is not None and held[0].staff == "river.staff" and not held[1]
    there.confirm_ready(token)
    await b.flush_sign_ins(there, "session")
    await a.mirror_sign_in(here, "session", token)
    assert here.is_ready(token)
    there.close(token)
    await b.flush_sign_ins(there, "session")
    await a.mirror_sign_in(here, "session", token)
    assert here.get(token) is None
    assert "river.staff" not in " ".join([k async for k in a.redis.scan_iter()])

    limits_a, limits_b = SignInLimits(), SignInLimits()
    limits_a.shared = limits_b.shared = True
    for _ in range(6):
        limits_a.failed("198.51.100.7", "river.staff", 1000.0)
    await a.flush_failures(limits_a)
    await b.mirror_failures(limits_b, "198.51.100.7", "river.staff")
    assert limits_b.retry_after("198.51.100.7", "someone.else", 1000.0) > 0
    keys = " ".join([k async for k in a.redis.scan_iter()])
    assert "198.51.100.7" not in keys


async def test_a_redis_that_cannot_be_reached_is_said_plainly(redis: LocalRedis) -> None:
    from server.cluster import ClusterError

    with pytest.raises(ClusterError) as raised:
        await Cluster.connect(
            f"redis://127.0.0.1:{redis.port}/0", "a-wrong-password-here", "x", SECRET, False
        )
    assert "the password was refused" in str(raised.value)
    assert "a-wrong-password-here" not in str(raised.value)
    with pytest.raises(ClusterError) as raised:
        await Cluster.connect(f"redis://127.0.0.1:{redis.port}/0", "", "x", SECRET, False)
    assert "it asks for a password: set QUIETROOM_REDIS_PASSWORD" in str(raised.value)
    with pytest.raises(ClusterError) as raised:
        await Cluster.connect(f"redis://127.0.0.1:{free_port()}/0", "", "x", SECRET, False)
    assert "it cannot be reached" in str(raised.value)


def test_an_answer_proves_a_node_for_one_request() -> None:
    request = sign(SECRET, "/node/ws", 1000.0, "river.staff")
    proof = answer(SECRET, request, 1001.0)
    assert is_answer(SECRET, request, proof, 1001.0)
    assert not is_answer(SECRET, sign(SECRET, "/node/ws", 1000.0), proof, 1001.0)
    assert not is_answer("another-secret-of-sixteen", request, proof, 1001.0)
    assert not is_answer(SECRET, request, "", 1001.0)


async def test_a_node_written_into_redis_by_someone_else_gets_nothing(
    redis: LocalRedis, staff_path: Path
) -> None:
    """Someone who can write to Redis adds a "node" of their own and points an invite at it:
    a page's join reaches the real node, which connects there, finds no proof that it is a
    node, and sends nothing; the page is told the call cannot be reached."""
    received: list[str] = []
    connected = asyncio.Event()

    async def fake_node(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        connected.set()
        async for message in ws:
            received.append(message.data)
        return ws

    fake = web.Application()
    fake.add_routes([web.get("/node/ws", fake_node)])
    fake_runner = web.AppRunner(fake)
    await fake_runner.setup()
    await web.TCPSite(fake_runner, "127.0.0.1", 0).start()
    fake_port = fake_runner.addresses[0][1]
    config = loopback_config(
        staff_path,
        redis=f"redis://127.0.0.1:{redis.port}/0",
        redis_password=redis.password,
        node_address=f"http://127.0.0.1:{free_port()}",
        public_url="https://calls.example.org",
        cluster_secret=SECRET,
    )
    runner, server = await start_server(config)
    try:
        cluster = server.state.cluster
        assert cluster is not None
        client = cluster.redis
        await client.hset(
            "quietroom:node:0123456789ab",
            mapping={"address": f"http://127.0.0.1:{fake_port}", "busy": "0", "pps": "0",
                     "us_per_packet": "0", "calls": "0", "draining": "0"},
        )  # fmt: skip
        token = "dGhlLXRva2VuLW9mLWEtY2FsbC1lbHNld2hlcmUtMDE"
        await client.set(hashed(SECRET, "invite", token), "0123456789ab")
        connector = aiohttp.TCPConnector(ssl=client_ssl())
        async with aiohttp.ClientSession(connector=connector) as http:
            page = Participant(http, server.base)
            await page.connect()
            await page.send(Join(invite=token, name="Sam"))
            refused = await page.expect("error")
            await page.close()
        assert connected.is_set()
        assert isinstance(refused, Error) and refused.code == "cluster-unavailable", refused
        assert received == []
    finally:
        await runner.cleanup()
        await fake_runner.cleanup()
