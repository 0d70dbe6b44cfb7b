"""The aiohttp application: routes, pages, background expiry and orderly shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler

from server import api
from server.auth import sign_in_of
from server.cluster import ClusterUnavailable
from server.config import Config
from server.dial_in import start_dial_in
from server.headers import private_headers
from server.nodes import start_cluster, stop_cluster
from server.origin import own_pages_only
from server.state import STATE, State
from server.workers import WorkerPool
from server.ws import websocket
from signaling.staff_sessions import StaffSessions

logger = logging.getLogger(__name__)

WEB_ROOT = Path(__file__).resolve().parent.parent / "client_web"
SWEEP_SECONDS = 1.0
HOURS_REMINDER_SECONDS = 600.0  # staff hear that the hours end this long before
QUALITY_TICKS = 2  # staff hear how each connection looks every this many sweeps


def page(name: str) -> web.RouteDef:
    path = WEB_ROOT / name

    async def handler(request: web.Request) -> web.FileResponse:
        return web.FileResponse(path, headers={"Content-Type": "text/html; charset=utf-8"})

    return web.get("/" + name.removesuffix(".html"), handler)


async def healthz(request: web.Request) -> web.Response:
    """Whether the server and its media workers are up; nothing about any call."""
    hub = request.app[STATE].hub
    healthy = not isinstance(hub, WorkerPool) or all(w.alive for w in hub.workers)
    body = {"status": "ok" if healthy else "degraded"}
    return web.json_response(body, status=200 if healthy else 503)


async def metrics(request: web.Request) -> web.Response:
    return web.Response(
        text=request.app[STATE].metrics.shown, content_type="text/plain", charset="utf-8"
    )


async def serve_metrics(state: State) -> web.AppRunner | None:
    """/metrics on its own address, when the admin asks for it (off by default)."""
    if not state.config.metrics_address:
        return None
    host, _, port = state.config.metrics_address.rpartition(":")
    app = web.Application()
    app[STATE] = state
    app.on_response_prepare.append(private_headers)
    app.add_routes([web.get("/metrics", metrics)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host.strip("[]"), int(port)).start()
    state.metrics.tick(time.time())
    return runner


async def root(request: web.Request) -> web.Response:
    raise web.HTTPFound("/staff")


async def sweep(state: State) -> None:
    """End calls whose time is up, let go of people gone too long, forget expired sign-ins,
    and tell staff how each connection looks."""
    ticks = 0
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        now = time.time()
        events = state.store.expire(now)
        if events:
            logger.debug("calls expired")
        await state.apply(events)
        gone = state.store.away_too_long(now, state.config.reconnect_grace)
        if gone:
            logger.debug("a participant did not come back within the grace period")
        await state.apply(gone)
        await state.apply(state.store.hours_ending(now, HOURS_REMINDER_SECONDS))
        ticks += 1
        if ticks % QUALITY_TICKS == 0:
            await state.report_quality()
        await state.check_staff_file()
        state.measure()
        state.metrics.tick(now)
        state.sessions.sweep(now)
        state.sign_in_limits.sweep(now)
        state.api_tokens.sweep(now)


RESTARTING = "the server is restarting"


async def drain(app: web.Application) -> None:
    """The server is stopping (SIGTERM, Ctrl-C): no new calls or joins, and everyone in a
    call is told while their sockets are still open; then connections close."""
    state = app[STATE]
    state.draining = True
    await state.apply(state.store.end_all(RESTARTING))
    await asyncio.gather(*(socket.close() for socket in list(state.open_sockets)))


async def lifecycle(app: web.Application) -> AsyncIterator[None]:
    state = app[STATE]
    cluster = await start_cluster(state)  # first: a Redis that cannot be used stops the start
    if isinstance(state.hub, WorkerPool):
        await state.hub.start(state.config.log_level)
    else:
        await state.hub.open()
    await state.check_staff_file()  # what the staff file looks like at start
    state.dial_in = await start_dial_in(state)
    metrics_runner = await serve_metrics(state)
    task = asyncio.create_task(sweep(state))
    yield
    if metrics_runner is not None:
        await metrics_runner.cleanup()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await state.apply(state.store.end_all(RESTARTING))  # any call that came in since
    if state.dial_in is not None:
        state.dial_in.close()
    if cluster is not None:
        await stop_cluster(state, cluster)
    if state._node_session is not None:
        await state._node_session.close()
    await state.hub.close()
    logger.info("server stopped")


@web.middleware
async def shared_sign_ins(request: web.Request, handler: Handler) -> web.StreamResponse:
    """With many nodes: a sign-in made, confirmed or ended on another node holds here too,
    and what a request changed here is written for the others before it is answered. With
    Redis away, sign-ins known here go on, and a new one is refused with a clear error."""
    state = request.app[STATE]
    cluster = state.cluster
    if cluster is None:
        return await handler(request)
    sign_in = sign_in_of(request) if request.path.startswith(("/api/", "/ws")) else None
    if sign_in is not None:
        sessions, token = sign_in
        with contextlib.suppress(ClusterUnavailable):
            await cluster.mirror_sign_in(sessions, sign_in_kind(state, sessions), token)
    try:
        response = await handler(request)
    finally:
        with contextlib.suppress(ClusterUnavailable):
            await cluster.flush_failures(state.sign_in_limits)
    try:
        for sessions in (state.sessions, state.api_tokens):
            await cluster.flush_sign_ins(sessions, sign_in_kind(state, sessions))
    except ClusterUnavailable:
        for sessions in (state.sessions, state.api_tokens):
            for token in sessions.changed:
                sessions.install(token, None, False)  # a sign-in no other node would know
            sessions.changed.clear()
        raise api.error(web.HTTPServiceUnavailable, "cluster-unavailable", api.UNSHARED) from None
    return response


def sign_in_kind(state: State, sessions: StaffSessions) -> str:
    return "api-token" if sessions is state.api_tokens else "session"


def create_app(config: Config) -> web.Application:
    app = web.Application(client_max_size=64 * 1024, middlewares=[own_pages_only, shared_sign_ins])
    app.on_response_prepare.append(private_headers)
    app[STATE] = State.create(config)
    app.add_routes(
        [
            web.get("/", root),
            web.get("/healthz", healthz),
            page("staff.html"),
            page("join.html"),
            page("guide.html"),
            web.get("/ws", websocket),
            *api.routes(),
            web.static("/static", WEB_ROOT, follow_symlinks=False),
        ]
    )
    app.on_shutdown.append(drain)
    app.cleanup_ctx.append(lifecycle)
    return app
