"""Browser: a survivor whose network drops all UDP joins over ICE-TCP, with no TURN (issue 16).

The server runs with its defaults in a namespace of its own: every media worker has one UDP
port (40000 + its number) and one TCP port beside it for ICE over TCP (RFC 6544 passive
candidates). The survivor's namespace drops every UDP packet, and no TURN server is given,
so the only way left to the server's media is a TCP connection to a worker's TCP port. The
survivor is Chromium, then Debian's Firefox ESR; staff are Chromium on an open network.
Media flows both ways; the survivor's selected pair is TCP and staff's is UDP, to the same
worker's ports; and the server has exactly one UDP socket and one TCP listener per worker.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import RECORD_PEER_CONNECTIONS, SELECTED_PAIR_ENDS, ServerProcess, start_server
from firefox import FirefoxPage, require_firefox
from netlab import NetLab, require_netns
from test_browser_call import receiving_from, staff_admits_survivor, wait_for
from test_browser_turn import NO_UDP

pytestmark = pytest.mark.browser

MEDIA_PORT = 40000  # the server's default, for UDP and ICE-TCP alike
WORKERS = os.cpu_count() or 1  # the default: one media worker per core


@pytest.fixture
def lab() -> Iterator[NetLab]:
    require_netns()
    if shutil.which("nft") is None:
        pytest.fail("nftables is needed: run tests/run_all.sh, which installs it")
    with NetLab() as lab:
        yield lab


def media_sockets(server_host: Any) -> tuple[list[int], list[int]]:
    """The UDP ports bound and the TCP ports listened on in the server's namespace."""
    udp = server_host.run(["ss", "-H", "-u", "-a", "-n"], capture_output=True, text=True)
    tcp = server_host.run(["ss", "-H", "-t", "-l", "-n"], capture_output=True, text=True)

    def ports(out: str) -> list[int]:
        return sorted(int(line.split()[3].rsplit(":", 1)[1]) for line in out.splitlines())

    return ports(udp.stdout), ports(tcp.stdout)


def bytes_from_media_ports_over_tcp(host: Any, server_address: str) -> int:
    """Bytes `host` received on TCP connections from the server's media ports (ICE-TCP)."""
    out = host.run(["ss", "-H", "-t", "-i", "-n"], capture_output=True, text=True).stdout
    total, ours = 0, False
    for line in out.splitlines():
        if not line.startswith(("\t", " ")):  # a connection: does it go to a media port?
            peer = line.split()[-1] if line.split() else ""
            address, _, port = peer.rpartition(":")
            ours = address == server_address and port.isdigit() and int(port) >= MEDIA_PORT
        elif ours and (found := re.search(r"bytes_received:(\d+)", line)):
            total += int(found.group(1))
    return total


def call_over_tcp(
    lab: NetLab, tmp_path: Path, staff_path: Path, survivor: Any = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Staff admit a survivor whose namespace drops UDP; the selected pairs of both."""
    from playwright.sync_api import sync_playwright

    hosts = {name: lab.add_host(name) for name in ("srv", "staff", "surv")}
    hosts["surv"].run(["nft", "-f", "-"], input=NO_UDP, text=True)
    server: ServerProcess = start_server(hosts["srv"], staff_path)
    requests: list[str] = []
    try:
        with sync_playwright() as p:
            if survivor is not None:
                survivor.open_in(hosts["surv"])
            staff, surv = staff_admits_survivor(
                p, hosts, tmp_path, server.url, requests, survivor=survivor and survivor.page
            )
            wait_for(lambda: receiving_from(surv, 1), timeout=30, what="survivor's media")
            wait_for(lambda: receiving_from(staff, 1), timeout=30, what="staff's media")
            pairs = {
                "survivor": surv.evaluate(SELECTED_PAIR_ENDS)["remote"],
                "staff": staff.evaluate(SELECTED_PAIR_ENDS)["remote"],
            }
            udp, tcp = media_sockets(hosts["srv"])
            time.sleep(3)  # a few seconds of the call's media, on top of the checks
            over_tcp = bytes_from_media_ports_over_tcp(hosts["surv"], hosts["srv"].address)
    finally:
        log = server.stop()
    print(f"\nselected pairs: {pairs}; server UDP ports {udp}, TCP listeners {tcp}")
    workers = [MEDIA_PORT + i for i in range(WORKERS)]
    # One UDP socket and one ICE-TCP listener per worker, beside the HTTPS port, and no more.
    assert udp == workers, udp
    assert tcp == sorted([8443, *workers]), tcp
    survivor_pair, staff_pair = pairs["survivor"], pairs["staff"]
    assert survivor_pair["protocol"] == "tcp" and survivor_pair["type"] == "host", pairs
    assert staff_pair["protocol"] == "udp" and staff_pair["type"] == "host", pairs
    # Both reach the worker of their call, one on its UDP port and one on its TCP port.
    assert survivor_pair["port"] == staff_pair["port"] and staff_pair["port"] in workers, pairs
    assert "Hannah" not in log
    assert over_tcp > 100_000, over_tcp  # the survivor's media came over the TCP stream
    return survivor_pair, staff_pair


def test_udp_blocked_survivor_joins_over_ice_tcp_in_chromium(
    lab: NetLab, tmp_path: Path, staff_path: Path
) -> None:
    call_over_tcp(lab, tmp_path, staff_path)


class FirefoxSurvivor:
    """Firefox ESR started in the survivor's namespace once the lab has made it."""

    def __init__(self, profile: Path) -> None:
        self.profile = profile
        self._firefox: FirefoxPage | None = None
        self.page: Any = None

    def open_in(self, host: Any) -> None:
        self._firefox = FirefoxPage(self.profile, host.netns, preload=(RECORD_PEER_CONNECTIONS,))
        self.page = self._firefox.__enter__()

    def close(self) -> None:
        if self._firefox is not None:
            self._firefox.__exit__(None, None, None)


def test_udp_blocked_survivor_joins_over_ice_tcp_in_firefox(
    lab: NetLab, tmp_path: Path, staff_path: Path
) -> None:
    require_firefox()
    survivor = FirefoxSurvivor(tmp_path / "firefox")
    try:
        call_over_tcp(lab, tmp_path, staff_path, survivor)
    finally:
        survivor.close()
