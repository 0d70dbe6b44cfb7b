"""The connected UDP path of one peer connection, used directly once DTLS has keyed SRTP.

aiortc reads every datagram through aioice's queue, a task per connection, and parses each
RTP packet into an object. Once a connection is up, `Wire` instead unprotects RTP right in
the socket's receive callback and hands the bytes to the router, and sends forwarded packets
straight to the nominated ICE pair's socket. DTLS, STUN and RTCP still take aiortc's path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pylibsrtp
from aioice.ice import StunProtocol
from aiortc.rtp import is_rtcp

logger = logging.getLogger(__name__)

OnRaw = Callable[[bytes], None]


class Wire:
    """Send and receive SRTP for one bundled aiortc DTLS transport, without aiortc's loop."""

    def __init__(self, dtls: Any) -> None:
        self.dtls = dtls
        self.connection = dtls.transport._connection  # aioice Connection
        self._tasks: set[asyncio.Future[None]] = set()

    @property
    def ready(self) -> bool:
        return self.dtls._tx_srtp is not None and 1 in self.connection._nominated

    def send_rtp(self, packet: bytes) -> None:
        """Protect and send one RTP packet; dropped if the connection is not up."""
        if self.dtls._tx_srtp is not None:
            self._send(self.dtls._tx_srtp.protect(packet))

    def _send(self, data: bytes) -> None:
        pair = self.connection._nominated.get(1)
        if pair is None:
            return
        protocol = pair.protocol
        if isinstance(protocol, StunProtocol) and protocol.transport is not None:
            protocol.transport.sendto(data, pair.remote_addr)
        else:  # a relayed (TURN) path sends asynchronously
            task = asyncio.ensure_future(protocol.send_data(data, pair.remote_addr))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def send_rtcp(self, packet: bytes) -> None:
        """Protect and send one (compound) RTCP packet; dropped if the connection is not up."""
        if self.dtls._tx_srtp is not None:
            self._send(self.dtls._tx_srtp.protect_rtcp(packet))

    def receive_inline(self, on_rtp: OnRaw) -> None:
        """From now on, decrypted RTP goes to `on_rtp` from the socket callback itself."""
        rx = self.dtls._rx_srtp
        for protocol in self.connection._protocols:
            if isinstance(protocol, StunProtocol):
                _intercept(protocol, rx, on_rtp)


def _intercept(protocol: StunProtocol, rx: pylibsrtp.Session, on_rtp: OnRaw) -> None:
    stock = protocol.datagram_received

    def datagram_received(data: bytes | str, addr: tuple[Any, ...]) -> None:
        if isinstance(data, bytes) and 127 < data[0] < 192 and not is_rtcp(data):
            try:
                plain = rx.unprotect(data)
            except pylibsrtp.Error:
                return
            on_rtp(plain)
            return
        stock(data, addr)

    setattr(protocol, "datagram_received", datagram_received)  # noqa: B010 (one instance)
