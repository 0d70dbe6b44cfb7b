"""Real (unmocked) tests of the network-namespace lab in tests/netlab.py."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import CHROMIUM_FLAGS
from netlab import Host, NetLab, require_netns

UDP_PORT = 9999

ECHO_SERVER = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
print("ready", flush=True)
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(b"echo:" + data, peer)
"""

ECHO_CLIENT = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
for _ in range(int(sys.argv[3])):
    try:
        s.sendto(b"ping", (sys.argv[1], int(sys.argv[2])))
        data, _peer = s.recvfrom(2048)
    except OSError:
        continue
    if data == b"echo:ping":
        sys.exit(0)
sys.exit(1)
"""

WAIT_HTTP = """
import socket, sys, time
deadline = time.monotonic() + 15
while time.monotonic() < deadline:
    try:
        socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=0.5).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
"""


@pytest.fixture
def lab() -> Iterator[NetLab]:
    require_netns()
    with NetLab() as net:
        yield net


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Kill a process we started and reap it."""
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


def start_echo(host: Host) -> subprocess.Popen[bytes]:
    proc = host.popen(
        [sys.executable, "-c", ECHO_SERVER, host.address, str(UDP_PORT)],
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"
    except BaseException:
        stop(proc)
        raise
    return proc


def round_trip(client: Host, server: Host, attempts: int = 6) -> bool:
    result = client.run(
        [sys.executable, "-c", ECHO_CLIENT, server.address, str(UDP_PORT), str(attempts)],
        check=False,
    )
    return result.returncode == 0


def netns_list() -> str:
    return subprocess.run(
        ["ip", "netns", "list"], check=True, capture_output=True, text=True, timeout=30
    ).stdout


def test_hosts_reach_each_other(lab: NetLab) -> None:
    a, b = lab.add_host("a"), lab.add_host("b")
    assert a.address != b.address
    assert a.address.startswith(f"10.231.{lab.subnet_id}.")
    server = start_echo(a)
    try:
        assert round_trip(b, a)
    finally:
        stop(server)


def test_hosts_have_no_way_out(lab: NetLab) -> None:
    a = lab.add_host("a")
    # Inside the host: only the lab subnet is routable, and there is no default route.
    routes = a.run(["ip", "-4", "route"], capture_output=True, text=True).stdout
    assert "default" not in routes
    assert routes.strip().splitlines() == [
        line for line in routes.strip().splitlines() if line.startswith(lab.subnet)
    ]

    # The root namespace knows nothing about the lab: no links, no addresses, no routes.
    def root(*args: str) -> str:
        return subprocess.run(
            ["ip", *args], check=False, capture_output=True, text=True, timeout=30
        ).stdout

    assert lab.prefix not in root("link", "show")
    assert f"10.231.{lab.subnet_id}." not in root("-4", "addr")
    assert lab.prefix not in root("-4", "route", "show", "table", "all")
    lookup = root("route", "get", a.address)
    assert a.dev not in lookup and lab.bridge not in lookup
    if not lookup.strip():
        # No route at all from the root namespace: a connect fails locally, sending nothing.
        # (With a default route we do not probe, so no packet can leave the machine.)
        probe = subprocess.run(
            [
                sys.executable,
                "-c",
                "import socket,sys; socket.create_connection((sys.argv[1], 9), timeout=1)",
                a.address,
            ],
            check=False,
            capture_output=True,
            timeout=30,
        )
        assert probe.returncode != 0


def test_set_link_breaks_and_restores(lab: NetLab) -> None:
    a, b = lab.add_host("a"), lab.add_host("b")
    server = start_echo(a)
    try:
        assert round_trip(b, a)
        a.set_link(False)
        assert not round_trip(b, a, attempts=3)
        a.set_link(True)
        assert round_trip(b, a, attempts=10)
    finally:
        stop(server)


def test_limit_rate_installs_and_removes_tbf(lab: NetLab) -> None:
    a = lab.add_host("a")

    def qdisc() -> str:
        out = a.run(["tc", "qdisc", "show", "dev", a.dev], capture_output=True, text=True)
        return str(out.stdout)

    a.limit_rate(200)
    shown = qdisc()
    assert "tbf" in shown and "200Kbit" in shown
    a.limit_rate(None)
    assert "tbf" not in qdisc()
    a.limit_rate(None)  # removing twice is harmless


def test_close_removes_namespaces() -> None:
    require_netns()
    net = NetLab()
    names = [net.hub, net.add_host("a").netns, net.add_host("b").netns]
    listed = netns_list()
    assert all(name in listed for name in names)
    net.close()
    net.close()  # idempotent
    remaining = netns_list().split()
    assert not any(name in remaining for name in names)


def test_two_labs_do_not_clash() -> None:
    require_netns()
    with NetLab() as one, NetLab() as two:
        assert one.prefix != two.prefix
        assert one.subnet != two.subnet
        assert len(one.add_host("a").dev) <= 15
        assert len(two.bridge) <= 15


@pytest.mark.browser
def test_chromium_in_namespace_loads_page_from_other_host(lab: NetLab, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    web, browser_host = lab.add_host("web"), lab.add_host("browser")
    site = tmp_path / "site"
    site.mkdir()
    marker = "quietroom-netlab-marker-7d1f"
    (site / "index.html").write_text(f"<html><body><p id='m'>{marker}</p></body></html>")
    server = web.popen(
        [
            sys.executable,
            "-m",
            "http.server",
            "8080",
            "--bind",
            web.address,
            "--directory",
            str(site),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        browser_host.run([sys.executable, "-c", WAIT_HTTP, web.address, "8080"])
        wrapper = browser_host.chromium_wrapper(tmp_path)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=wrapper,
                args=CHROMIUM_FLAGS,
                timeout=60_000,
            )
            try:
                page = browser.new_page()
                page.goto(f"http://{web.address}:8080/", timeout=30_000)
                assert page.text_content("#m") == marker
            finally:
                browser.close()
    finally:
        stop(server)
