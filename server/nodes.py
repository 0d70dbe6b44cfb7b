"""What a node offers the other nodes of its cluster, on its private address (docs/scaling.md):
pages' sockets they relay, and calls they place here. Every request must carry a node's
signature (`server.cluster`); anything else gets 403 and nothing more."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aiohttp import web

from server import api
from server.auth import require_staff
from server.cluster import (
    AUTH_HEADER,
    NODE_CALLS,
    NODE_SOCKET,
    RELAYED_STAFF,
    REPORT_SECONDS,
    STAFF_HEADER,
    ClusterUnavailable,
)
from server.headers import private_headers
from server.state import STATE, State
from server.workers import WorkerPool
from server.ws import SOCKET_LIMIT, Connection

if TYPE_CHECKING:
    from server.redis_directory import Cluster

logger = logging.getLogger(__name__)


@web.middleware
async def nodes_only(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    cluster = request.app[STATE].cluster
    header, staff = request.headers.get(AUTH_HEADER, ""), request.headers.get(STAFF_HEADER, "")
    if cluster is None or not cluster.is_node(request.path, header, staff):
        raise web.HTTPForbidden(text="")
    request[RELAYED_STAFF] = staff
    return await handler(request)


async def relayed_socket(request: web.Request) -> web.StreamResponse:
    """A page's signaling socket, relayed by the node the page reached. That node has held
    it to its own limits (sockets per address, readiness); its staff are named."""
    state = request.app[STATE]
    staff = request[RELAYED_STAFF] or None
    ws = web.WebSocketResponse(max_msg_size=SOCKET_LIMIT, heartbeat=20)
    await ws.prepare(request)
    # First, proof that this is a node: the relaying node sends nothing before it.
    await ws.send_str(answer_of(request))
    await Connection(state, ws, staff).run()
    return ws


def answer_of(request: web.Request) -> str:
    cluster = request.app[STATE].cluster
    assert cluster is not None
    return cluster.answer(request.headers.get(AUTH_HEADER, ""))


async def sign_answer(request: web.Request, response: web.StreamResponse) -> None:
    """Every answer to a node says it comes from one (`server.cluster.answer`)."""
    if request.app[STATE].cluster is not None and request.headers.get(AUTH_HEADER):
        response.headers[AUTH_HEADER] = answer_of(request)


async def placed_call(request: web.Request) -> web.Response:
    """A call another node placed here, for the staff member it names."""
    staff = require_staff(request)
    body = await api.read_json(request, {}, optional=api.CALL_FIELDS)
    return await api.create_here(request, staff, body)


def listen_address(state: State) -> tuple[str, int]:
    """Where this node listens for the others: --node-listen, else --node-address's own."""
    config = state.config
    if config.node_listen:
        host, _, port = config.node_listen.rpartition(":")
        return host.strip("[]"), int(port)
    parts = urlsplit(config.node_address)
    return (parts.hostname or ""), int(parts.port or 0)


async def start_cluster(state: State) -> tuple[web.AppRunner, asyncio.Task[None]] | None:
    """With --redis: join the cluster (Redis checked), listen for the other nodes, and
    report this node's load. None without --redis."""
    config = state.config
    if not config.redis:
        return None
    from server.redis_directory import Cluster

    cluster = await Cluster.connect(
        config.redis,
        config.redis_password,
        config.node_address,
        config.cluster_secret,
        config.redis_allow_persistence,
    )
    state.cluster = cluster
    state.store.resume_prefix = cluster.resume_prefix()
    state.sessions.shared = state.api_tokens.shared = state.sign_in_limits.shared = True
    app = web.Application(client_max_size=64 * 1024, middlewares=[nodes_only])
    app[STATE] = state
    app.on_response_prepare.append(private_headers)
    app.on_response_prepare.append(sign_answer)
    app.add_routes(
        [
            web.get(NODE_SOCKET, relayed_socket),
            web.post(NODE_CALLS, placed_call),
            web.get(NODE_CALLS, api.list_calls),
            web.patch(NODE_CALLS + "/{call}", api.change_call),
            web.delete(NODE_CALLS + "/{call}", api.end_call),
        ]
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    host, port = listen_address(state)
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        await cluster.close()
        raise OSError(
            exc.errno,
            f"--node-address: cannot listen for the other nodes on {host}:{port}: "
            f"{exc.strerror or exc}",
        ) from None
    return runner, asyncio.create_task(report_load(state, cluster))


async def stop_cluster(state: State, started: tuple[web.AppRunner, asyncio.Task[None]]) -> None:
    runner, reporter = started
    reporter.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await reporter
    await runner.cleanup()
    if state.cluster is not None:
        await state.cluster.close()


class LoadMeter:
    """This node's load since the last reading: CPU (the signaling process and its media
    workers) per core of the machine, and packets forwarded."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.cores = os.cpu_count() or 1
        self.at, self.cpu = time.monotonic(), time.process_time()
        self.packets = state.hub.forwarded()[0]

    def read(self) -> tuple[float, float, float]:
        """Busy (0 to 1), packets per second, CPU microseconds per forwarded packet."""
        now, cpu, packets = time.monotonic(), time.process_time(), self.state.hub.forwarded()[0]
        wall = max(now - self.at, 1e-3)
        used = cpu - self.cpu  # this process; media workers report their own share
        hub = self.state.hub
        workers = sum(w.busy for w in hub.workers) if isinstance(hub, WorkerPool) else 0.0
        share = used / wall + workers
        sent = max(packets - self.packets, 0)
        self.at, self.cpu, self.packets = now, cpu, packets
        per_packet = share * wall / sent * 1e6 if sent else 0.0
        return min(share / self.cores, 1.0), sent / wall, per_packet


async def report_load(state: State, cluster: Cluster) -> None:
    """Every few seconds, this node's load where the others choose where calls go."""
    meter = LoadMeter(state)
    while True:
        busy, pps, per_packet = meter.read()
        try:
            await cluster.report(busy, pps, per_packet, len(state.store))
        except ClusterUnavailable:
            pass  # Redis is away: the report is renewed when it is back
        await asyncio.sleep(REPORT_SECONDS)
