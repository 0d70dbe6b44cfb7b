"""The wire's direct path: SRTP in the socket callback, and sends bound to the nominated pair.

The edges a test cannot have without a browser (aioice's connection and its UDP transports)
are small stand-ins; the SRTP sessions are real libsrtp sessions keyed alike on both ends.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pylibsrtp
import pytest
from aioice.ice import StunProtocol
from srtp_sessions import session

from media import rtpraw, srtp
from media.wire import Wire


@dataclass
class Transport:
    sent: list[tuple[bytes, Any]] = field(default_factory=list)

    def sendto(self, data: bytes, addr: Any) -> None:
        self.sent.append((data, addr))


@dataclass
class Pair:
    protocol: StunProtocol
    remote_addr: tuple[str, int]


@dataclass
class Connection:
    _nominated: dict[int, Pair] = field(default_factory=dict)
    _protocols: list[StunProtocol] = field(default_factory=list)


@dataclass
class Dtls:
    transport: Any
    _tx_srtp: pylibsrtp.Session | None = None
    _rx_srtp: pylibsrtp.Session | None = None


def udp_pair(port: int) -> tuple[Pair, Transport]:
    protocol = StunProtocol(None)  # type: ignore[arg-type]  # the connection is not used here
    transport = Transport()
    protocol.transport = transport  # type: ignore[assignment]
    return Pair(protocol, ("192.0.2.1", port)), transport


def wire_with(connection: Connection, keyed: bool = True) -> Wire:
    dtls = Dtls(transport=type("Ice", (), {"_connection": connection})())
    if keyed:
        dtls._tx_srtp = session(pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
        dtls._rx_srtp = session(pylibsrtp.Policy.SSRC_ANY_INBOUND)
    return Wire(dtls)


def packet(seq: int, size: int = 200) -> bytes:
    return rtpraw.build(96, 0, seq, seq * 3000, 77, bytes([seq % 256]) * size)


@pytest.mark.asyncio
async def test_sends_follow_the_nominated_pair() -> None:
    first, first_socket = udp_pair(5000)
    second, second_socket = udp_pair(6000)
    connection = Connection()
    wire = wire_with(connection)
    unprotect = srtp.unprotector(session(pylibsrtp.Policy.SSRC_ANY_INBOUND))

    wire.send_rtp(packet(1))  # not nominated yet: dropped
    connection._nominated[1] = first
    wire.send_rtp(packet(2))
    wire.send_rtp(packet(3))
    connection._nominated[1] = second  # a new pair: the next packet goes there
    wire.send_rtp(packet(4))
    wire.send_rtp(packet(5, size=srtp.MAX_PACKET))  # too big to protect: dropped

    assert [addr for _, addr in first_socket.sent] == [("192.0.2.1", 5000)] * 2
    assert [addr for _, addr in second_socket.sent] == [("192.0.2.1", 6000)]
    sealed = [data for data, _ in first_socket.sent + second_socket.sent]
    assert [unprotect(data) for data in sealed] == [packet(2), packet(3), packet(4)]


@pytest.mark.asyncio
async def test_nothing_is_sent_before_dtls_has_keyed_srtp() -> None:
    pair, socket = udp_pair(5000)
    wire = wire_with(Connection({1: pair}), keyed=False)
    wire.send_rtp(packet(1))
    wire.send_rtcp(b"\x80\xc9\x00\x01\x00\x00\x00\x01")
    assert socket.sent == []


@pytest.mark.asyncio
async def test_the_socket_callback_unprotects_rtp_and_passes_the_rest_on() -> None:
    pair, _ = udp_pair(5000)
    stock: list[bytes | str] = []

    def aiortc_path(data: bytes | str, addr: Any) -> None:
        stock.append(data)

    pair.protocol.datagram_received = aiortc_path  # type: ignore[method-assign]
    connection = Connection({1: pair}, [pair.protocol])
    wire = wire_with(connection)
    got: list[bytes] = []
    wire.receive_inline(got.append)
    protect = srtp.protector(session(pylibsrtp.Policy.SSRC_ANY_OUTBOUND))
    sealed = protect(packet(7))
    assert sealed is not None
    forged = bytearray(sealed)
    forged[20] ^= 1
    rtcp = b"\x80\xc9\x00\x01\x00\x00\x00\x01"  # a receiver report: aiortc's to handle

    for data in (sealed, bytes(forged), rtcp, sealed):  # the last: a replay
        pair.protocol.datagram_received(data, ("192.0.2.1", 5000))
    await asyncio.sleep(0)

    assert got == [packet(7)]
    assert stock == [rtcp]
