"""TURN with real aiortc peers: a survivor that may only use relayed candidates (as on a
network that blocks UDP) still gets a call, through coturn and the credentials in `joined`.

coturn (Debian's `coturn`) listens on loopback beside the in-process server, sharing its
secret; the survivor's peer connection uses the TURN servers from `joined` with the ICE
transport policy "relay", so every packet it sends or receives goes through coturn over TCP.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from conftest import RunningServer, loopback_config, start_server
from test_call_aiortc import admitted_guest, invite_of, staff_in_call, wait_until

from signaling.protocol import Joined

SECRET = secrets.token_urlsafe(24)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def coturn_port() -> Iterator[int]:
    if shutil.which("turnserver") is None:
        pytest.fail("coturn is needed: run tests/run_all.sh, which installs it")
    port = free_port()
    args = ["turnserver", "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1"]
    args += [f"--listening-port={port}", "--use-auth-secret", f"--static-auth-secret={SECRET}"]
    args += ["--realm=quietroom.test", "--no-tls", "--no-dtls", "--no-cli", "--fingerprint"]
    args += ["--log-file=stdout", "--simple-log", "--min-port=49300", "--max-port=49400"]
    args += ["--no-multicast-peers", "--allow-loopback-peers"]  # the server is on loopback
    coturn = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        else:
            raise AssertionError("coturn did not start listening")
        yield port
    finally:
        coturn.terminate()
        coturn.wait(timeout=10)


@pytest.fixture
async def turn_server(staff_path: Path, coturn_port: int) -> AsyncIterator[RunningServer]:
    config = loopback_config(
        staff_path,
        turn_urls=[f"turn:127.0.0.1:{coturn_port}?transport=tcp"],
        turn_secret=SECRET,
    )
    runner, running = await start_server(config)
    try:
        yield running
    finally:
        await runner.cleanup()


def selected_local_type(pc: Any) -> str:
    transport = pc.getTransceivers()[0].receiver.transport.transport
    pair = transport._connection._nominated.get(1)
    return str(pair.local_candidate.type) if pair is not None else ""


async def test_a_relay_only_survivor_calls_through_turn(
    turn_server: RunningServer, http: aiohttp.ClientSession
) -> None:
    _api, call, staff = await staff_in_call(http, turn_server)
    survivor = await admitted_guest(http, turn_server, staff, invite_of(call, "survivor"), "Sam")
    try:
        joined = next(m for m in survivor.seen if isinstance(m, Joined))
        (relay,) = joined.ice_servers
        await staff.start_media(max_participants=4)
        await survivor.start_media(max_participants=4, relays=[relay], relay_only=True)

        def flowing() -> bool:
            return all(
                viewer.received(kind, source.participant) >= 20
                for viewer, source in ((staff, survivor), (survivor, staff))
                for kind in ("audio", "video")
            )

        await wait_until(flowing, timeout=20)
        assert survivor.pc is not None and staff.pc is not None
        assert selected_local_type(survivor.pc) == "relay"
        assert selected_local_type(staff.pc) == "host"
    finally:
        for person in (staff, survivor):
            await person.close()
