"""Junk at the media ports while a call runs (issue 13).

A namespace of the test's own, joined to this one by a veth pair, sends datagrams to every
UDP port the server's media uses (read from the ICE candidates of its answers): random
bytes, truncated STUN and STUN with a real ICE username but a wrong integrity, fake DTLS
records, RTP with random SSRCs and RTCP. The server's media is offered on the veth address,
so the call's own peers (here, in this namespace) and the junk meet at the same sockets;
the media runs in the server's process, then in a media worker as it does by default.

No unhandled exception is logged, the call's media keeps flowing both ways, and it loses no
more than a trace of its packets while the junk arrives. Since the media process has one port
for everyone (issue 16), the junk comes from an address no valid check has bound, and none of
it is answered; valid checks sent after it from that address are.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from conftest import loopback_config, start_server
from netlab import VethLink, veth_link
from test_call_aiortc import two_person_call, wait_until

from bench import host_addresses as ice
from bench.client import Participant

HERE = Path(__file__).resolve().parent
PER_KIND = 350  # datagrams of each of the 6 kinds, at each port
JUNK_SECONDS = 2.4  # about as long as the junk and the checks after it take
IN_FLIGHT = 0.3  # seconds: far more than a packet takes through the server here
# "A trace": what the junk costs the call is at most half a percent of the packets sent while
# it arrives, above what the same call loses in as long a stretch without junk (up to 0.2 %
# here: a loaded machine's own loss, which a bar on 900 packets alone mistook for the junk's).
MAX_LOSS = 0.005


@pytest.fixture
def link() -> Iterator[VethLink]:
    with veth_link("junk") as made:
        yield made


class Faults(logging.Handler):
    """Every record at warning or above, and any carrying a traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING or record.exc_info:
            self.records.append(record)


def media_ports(sdp: str, address: str) -> set[int]:
    """The ports of the host candidates on `address` in an SDP."""
    ports = set()
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            parts = line.split()
            if parts[2].lower() == "udp" and parts[4] == address and parts[7] == "host":
                ports.add(int(parts[5]))
    return ports


def ufrag(sdp: str) -> str:
    return next(line.split(":", 1)[1] for line in sdp.splitlines() if "a=ice-ufrag:" in line)


def ice_password(sdp: str) -> str:
    return next(line.split(":", 1)[1] for line in sdp.splitlines() if "a=ice-pwd:" in line)


async def totals(people: list[Participant]) -> tuple[int, int]:
    """Packets the two have sent (each reaches the other once), and received a moment later:
    taken so at both ends of a window, packets in flight count on neither side."""
    sent = [(await p.sent())[0] for p in people]
    await asyncio.sleep(IN_FLIGHT)
    return sum(sent), sum(sum(p.packets.values()) for p in people)


def loss_between(
    sent_before: int, received_before: int, sent_after: int, received_after: int
) -> float:
    sent, received = sent_after - sent_before, received_after - received_before
    return max(0.0, 1 - received / sent)


def flow(people: list[Participant]) -> dict[tuple[int, str], int]:
    a, b = people
    return {
        (i, kind): x.received(kind, y.participant)
        for i, (x, y) in enumerate(((a, b), (b, a)))
        for kind in ("audio", "video")
    }


@pytest.mark.parametrize("workers", [0, 1], ids=["media-in-process", "media-worker"])
async def test_junk_at_every_media_port_harms_no_call(
    link: VethLink,
    staff_path: Path,
    http: aiohttp.ClientSession,
    capfd: pytest.CaptureFixture[str],
    workers: int,
) -> None:
    chosen = list(ice._chosen)
    faults = Faults()
    logging.getLogger().addHandler(faults)
    config = loopback_config(staff_path, ice_addresses=[link.server_address], media_workers=workers)
    runner, server = await start_server(config)
    people: list[Participant] = []
    try:
        people = await two_person_call(http, server)
        await wait_until(lambda: all(n > 50 for n in flow(people).values()), timeout=20)
        ports: set[int] = set()
        usernames, passwords = [], []
        for person in people:
            assert person.pc is not None
            answer, offer = person.pc.remoteDescription.sdp, person.pc.localDescription.sdp
            ports |= media_ports(answer, link.server_address)
            usernames.append(f"{ufrag(answer)}:{ufrag(offer)}")
            passwords.append(ice_password(answer))
        assert len(ports) == 1, ports  # the media process's one port, shared by both

        await asyncio.sleep(1.0)  # past the start: loss is measured in the steady call
        quiet_started = time.monotonic()
        sent_before, received_before = await totals(people)
        await asyncio.sleep(JUNK_SECONDS)
        sent_after, received_after = await totals(people)
        quiet = loss_between(sent_before, received_before, sent_after, received_after)
        quiet_seconds = time.monotonic() - quiet_started

        junk_started = time.monotonic()
        before_flow = flow(people)
        sent_before, received_before = await totals(people)
        sender = await asyncio.create_subprocess_exec(
            "ip", "netns", "exec", link.netns, sys.executable, str(HERE / "junk_sender.py"),
            link.server_address, ",".join(map(str, sorted(ports))), str(PER_KIND),
            ",".join(usernames), ",".join(passwords),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(sender.communicate(), 120)
        assert sender.returncode == 0, err.decode()
        await asyncio.sleep(1.0)  # the last packets sent arrive
        sent_after, received_after = await totals(people)
        junk_seconds = time.monotonic() - junk_started
        report = json.loads(out)
        datagrams = sum(report["sent"].values())
        assert datagrams == PER_KIND * 6 * len(ports)

        sent = sent_after - sent_before
        loss = loss_between(sent_before, received_before, sent_after, received_after)
        summary = (
            f"\njunk ({'media worker' if workers else 'media in process'}): {datagrams} "
            f"datagrams at {len(ports)} media ports "
            f"({', '.join(f'{k} {v}' for k, v in report['sent'].items())}); "
            f"{sum(report['replies'].values())} answers came back, and "
            f"{report['checks']} to {len(usernames)} valid checks sent after; "
            f"the call sent {sent} packets meanwhile and lost {loss:.3%} in {junk_seconds:.1f} s "
            f"(without junk, {quiet:.3%} in {quiet_seconds:.1f} s)"
        )
        # Nothing of the junk is a valid check: it is dropped unanswered. Valid checks from
        # the same address, after it, are answered: the junk reached the call's own socket.
        assert sum(report["replies"].values()) == 0, report
        assert report["checks"] == len(usernames) * len(ports), report
        assert loss <= quiet + MAX_LOSS, (sent, loss, quiet)
        # The call goes on both ways, on the connections it had.
        after_flow = flow(people)
        assert all(after_flow[k] > before_flow[k] + 100 for k in before_flow), after_flow
        mark = flow(people)
        await wait_until(lambda: all(flow(people)[k] > mark[k] + 20 for k in mark), timeout=10)
        assert all(p.pc is not None and p.pc.connectionState == "connected" for p in people)
        if not workers:
            peers = list(server.state.hub.peers.values())  # type: ignore[attr-defined]
            assert len(peers) == 2 and all(p.pc.connectionState == "connected" for p in peers)
        else:  # the worker logs to its stderr, which is this test's
            worker_log = capfd.readouterr().err.splitlines()
            bad = ("WARNING", "ERROR", "CRITICAL", "Traceback")
            assert not [line for line in worker_log if line.startswith(bad)], worker_log
            summary += f"; the worker logged {len(worker_log)} lines, none a fault"
        lines = [f"{r.name} {r.levelname}: {r.getMessage()}" for r in faults.records]
        assert not lines, lines
        print(summary)
    finally:
        for person in people:
            with contextlib.suppress(Exception):
                await person.close()
        await runner.cleanup()
        logging.getLogger().removeHandler(faults)
        ice.offer_addresses(chosen)
