"""Shared fixtures: a staff account, and the real server running in the test's event loop."""

from __future__ import annotations

import ssl
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench.host_addresses import offer_addresses
from server import staff_file
from server.app import create_app
from server.config import Config
from server.state import STATE, State
from server.tls import server_context

STAFF_NAME = "river.staff"
STAFF_PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def staff_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("staff") / "staff.json"
    staff_file.add(path, STAFF_NAME, STAFF_PASSWORD)
    return path


@dataclass
class RunningServer:
    base: str
    app: web.Application

    @property
    def state(self) -> State:
        return self.app[STATE]


def client_ssl() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def start_server(config: Config) -> tuple[web.AppRunner, RunningServer]:
    # The test's own aiortc peers, in this process, offer the addresses the server does.
    offer_addresses(config.ice_addresses)
    app = create_app(config)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(
        runner, config.host, config.port, ssl_context=server_context("", "", config.host)
    )
    await site.start()
    port = runner.addresses[0][1]
    return runner, RunningServer(f"https://127.0.0.1:{port}", app)


def loopback_config(staff_path: Path, **overrides: Any) -> Config:
    """A server on 127.0.0.1 with media in this process (so tests can look inside routers and
    peers, and capture every log record), unless `overrides` say otherwise."""
    settings: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 0,
        "ice_addresses": ["127.0.0.1"],
        "staff_file": str(staff_path),
        "media_workers": 0,
        "media_port": 0,  # free ports: tests run servers side by side
        "media_tcp_port": 0,
    }
    return Config.defaults(**{**settings, **overrides})


@pytest.fixture
async def server(staff_path: Path) -> AsyncIterator[RunningServer]:
    runner, running = await start_server(loopback_config(staff_path))
    try:
        yield running
    finally:
        await runner.cleanup()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(ssl=client_ssl())
    async with aiohttp.ClientSession(connector=connector) as session:
        yield session
