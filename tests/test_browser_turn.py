"""Browser: a survivor whose network blocks UDP still gets a call, relayed by coturn.

coturn (Debian's `coturn`) runs in a namespace of its own, sharing a secret with the server;
the survivor's namespace drops every UDP packet and any TCP to the server's media ports (as a
network that lets out only web traffic would), so its only way to the server's media is
TURN over TCP with the time-limited credentials the server handed out in `joined`.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import SELECTED_PAIR_ENDS, start_server
from netlab import NetLab, require_netns
from test_browser_call import receiving_from, staff_admits_survivor, wait_for

pytestmark = pytest.mark.browser

NO_UDP = """
table inet quietroom_no_udp {
  chain out { type filter hook output priority 0; policy accept; meta l4proto udp drop; }
  chain in { type filter hook input priority 0; policy accept; meta l4proto udp drop; }
}
"""
# A network that lets out only web traffic and the relay's port: no UDP, and no TCP to the
# server's media ports either (ICE-TCP, 40000 and up), so TURN is the only way left.
WEB_AND_RELAY_ONLY = NO_UDP + """
table inet quietroom_no_media_tcp {
  chain out { type filter hook output priority 0; policy accept; tcp dport 40000-40063 drop; }
}
"""


@pytest.fixture
def lab() -> Iterator[NetLab]:
    require_netns()
    if shutil.which("turnserver") is None or shutil.which("nft") is None:
        pytest.fail("coturn and nftables are needed: run tests/run_all.sh, which installs them")
    with NetLab() as lab:
        yield lab


def start_coturn(host: Any, secret: str) -> subprocess.Popen[str]:
    args = ["turnserver", "-n", f"--listening-ip={host.address}", f"--relay-ip={host.address}"]
    args += ["--listening-port=3478", "--use-auth-secret", f"--static-auth-secret={secret}"]
    args += ["--realm=quietroom.test", "--no-tls", "--no-dtls", "--no-cli", "--fingerprint"]
    args += ["--log-file=stdout", "--simple-log", "--min-port=49160", "--max-port=49260"]
    args += ["--no-multicast-peers"]
    proc: subprocess.Popen[str] = host.popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    return proc


def test_udp_blocked_survivor_calls_through_turn(
    lab: NetLab, tmp_path: Path, staff_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    hosts = {name: lab.add_host(name) for name in ("srv", "turn", "staff", "surv")}
    secret = secrets.token_urlsafe(24)  # may start with "-": hence --flag=value below
    coturn = start_coturn(hosts["turn"], secret)
    turn_url = f"turn:{hosts['turn'].address}:3478?transport=tcp"
    server = start_server(
        hosts["srv"], staff_path, f"--turn-urls={turn_url}", f"--turn-secret={secret}"
    )
    hosts["surv"].run(["nft", "-f", "-"], input=WEB_AND_RELAY_ONLY, text=True)
    requests: list[str] = []
    try:
        with sync_playwright() as p:
            staff, survivor = staff_admits_survivor(p, hosts, tmp_path, server.url, requests)

            wait_for(lambda: receiving_from(survivor, 1), timeout=30, what="survivor's media")
            wait_for(lambda: receiving_from(staff, 1), timeout=30, what="staff's media")
            # The survivor's media goes through the relay, over TCP; staff's goes direct.
            survivor_pair = survivor.evaluate(SELECTED_PAIR_ENDS)["local"]
            assert (survivor_pair["type"], survivor_pair["relay"]) == ("relay", "tcp")
            assert staff.evaluate(SELECTED_PAIR_ENDS)["local"]["type"] == "host"
    finally:
        logs = server.stop()
        coturn.terminate()
        turn_log = coturn.communicate(timeout=10)[0]
    # Neither the server nor coturn logged the secret or who called.
    assert secret not in logs and "Hannah" not in logs and "Hannah" not in turn_log
