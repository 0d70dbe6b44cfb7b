"""The trunk-only SIP UAS (media/sip_uas.py) against a real SIP peer: sipp (Debian
`sip-tester`) on loopback places calls as a trunk would.

- sipp's `uac`: three calls, each INVITE, 100, 200, ACK, a pause, BYE, 200; sipp says every
  call succeeded and the UAS saw each call begin and end.
- sipp's `uac_pcap`: a call that sends G.711 A-law RTP and the RFC 4733 digit 1 to the
  address of our SDP answer; the RTP arrives and the digit is read from it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from media import rtpraw
from media.dtmf import TelephoneEvents
from media.sip_message import SipRequest
from media.sip_sdp import answer_sdp, parse_offer
from media.sip_uas import Decision, Dialog, SipServer, Trunk

PCAPS = Path("/usr/share/sip-tester")


def require_sipp() -> str:
    path = shutil.which("sipp")
    if path is None:
        pytest.fail("sipp is not installed: run `apt-get install -y sip-tester` (CI installs it)")
    return path


class Rtp(asyncio.DatagramProtocol):
    """One call's RTP socket: packets counted by payload type, digits read from events."""

    def __init__(self, events_type: int | None) -> None:
        self.by_type: dict[int, int] = {}
        self.events_type = events_type
        self.events = TelephoneEvents()
        self.digits = ""

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        packet = rtpraw.parse(data)
        if packet is None:
            return
        kind = packet.payload_type
        self.by_type[kind] = self.by_type.get(kind, 0) + 1
        if kind == self.events_type:
            self.digits += self.events.take(packet.payload, packet.timestamp)


@dataclass
class Answerer:
    """Takes each call on the next RTP socket made ready for it."""

    ready: list[tuple[int, Rtp]]
    calls: list[Rtp] = field(default_factory=list)
    finished: list[Dialog] = field(default_factory=list)

    def offered(self, dialog: Dialog, request: SipRequest) -> Decision:
        offer = parse_offer(request.body)
        port, rtp = self.ready.pop(0)
        rtp.events_type = offer.events
        self.calls.append(rtp)
        return Decision(200, "OK", answer_sdp(offer, "127.0.0.1", port, len(self.calls)))

    def ended(self, dialog: Dialog) -> None:
        self.finished.append(dialog)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def run_sipp(tmp: Path, port: int, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        require_sipp(), f"127.0.0.1:{port}", "-i", "127.0.0.1", "-p", str(free_udp_port()),
        "-nostdin", "-timeout", "30s", "-trace_screen", *args,
        cwd=tmp, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    screens = list(tmp.glob("*_screen.log"))
    screen = screens[0].read_text(errors="replace") if screens else err.decode(errors="replace")
    for log in screens:
        log.unlink()
    return proc.returncode or 0, screen


async def serve(answerer: Answerer) -> tuple[SipServer, asyncio.DatagramTransport, int]:
    loop = asyncio.get_running_loop()
    trunk = Trunk([ipaddress.ip_network("127.0.0.1/32")], t1=0.5)
    server = SipServer(trunk, answerer, "sip:quietroom@127.0.0.1")
    transport, _ = await loop.create_datagram_endpoint(lambda: server, local_addr=("127.0.0.1", 0))
    return server, transport, transport.get_extra_info("sockname")[1]


async def rtp_sockets(n: int) -> tuple[list[tuple[int, Rtp]], list[asyncio.BaseTransport]]:
    loop = asyncio.get_running_loop()
    ready, transports = [], []
    for _ in range(n):
        rtp = Rtp(None)
        transport, _ = await loop.create_datagram_endpoint(
            lambda rtp=rtp: rtp,
            local_addr=("127.0.0.1", 0),  # type: ignore[misc]
        )
        ready.append((transport.get_extra_info("sockname")[1], rtp))
        transports.append(transport)
    return ready, transports


async def test_sipp_places_three_calls_that_begin_and_end(tmp_path: Path) -> None:
    ready, rtps = await rtp_sockets(3)
    answerer = Answerer(ready)
    server, transport, port = await serve(answerer)
    try:
        code, screen = await run_sipp(tmp_path, port, "-sn", "uac", "-m", "3", "-l", "1",
                                      "-d", "300")  # fmt: skip
        assert code == 0, screen
        assert "Successful call" in screen
        assert len(answerer.calls) == 3 and len(answerer.finished) == 3
        assert not server.dialogs and not server.invites
    finally:
        transport.close()
        for rtp in rtps:
            rtp.close()


async def test_sipp_sends_g711_and_a_keypad_digit_that_are_read(tmp_path: Path) -> None:
    (tmp_path / "pcap").mkdir()
    for pcap in PCAPS.glob("*.pcap"):
        shutil.copy(pcap, tmp_path / "pcap" / pcap.name)
    ready, rtps = await rtp_sockets(1)
    answerer = Answerer(ready)
    _, transport, port = await serve(answerer)
    try:
        code, screen = await run_sipp(tmp_path, port, "-sn", "uac_pcap", "-m", "1")
        assert code == 0, screen
        (call,) = answerer.calls
        print(f"\nRTP by payload type: {call.by_type}; digits: {call.digits!r}")
        assert call.by_type.get(8, 0) > 150  # about 4.7 s of A-law at 50 packets a second
        assert call.digits == "1"
        assert len(answerer.finished) == 1
    finally:
        transport.close()
        for rtp in rtps:
            rtp.close()
