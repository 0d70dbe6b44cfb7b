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

from aioice.ice import StunProtocol

from media import srtp

logger = logging.getLogger(__name__)

OnRaw = Callable[[bytes], None]


class Wire:
    """Send and receive SRTP for one bundled aiortc DTLS transport, without aiortc's loop."""

    def __init__(self, dtls: Any) -> None:
        self.dtls = dtls
        self.connection = dtls.transport._connection  # aioice Connection
        self._tasks: set[asyncio.Future[None]] = set()
        self._keys: tuple[srtp.Crypt, srtp.Crypt] | None = None  # RTP, RTCP protectors
        self._pair: Any = None
        self._sendto: Callable[[bytes, Any], None] | None = None
        self._addr: Any = None

    @property
    def ready(self) -> bool:
        return self.dtls._tx_srtp is not None and 1 in self.connection._nominated

    def send_rtp(self, packet: bytes) -> None:
        """Protect and send one RTP packet; dropped if the connection is not up."""
        keys = self._keys or self._keyed()
        data = keys[0](packet) if keys is not None else None
        if data is not None:
            self._send(data)

    def send_rtcp(self, packet: bytes) -> None:
        """Protect and send one (compound) RTCP packet; dropped if the connection is not up."""
        keys = self._keys or self._keyed()
        data = keys[1](packet) if keys is not None else None
        if data is not None:
            self._send(data)

    def _keyed(self) -> tuple[srtp.Crypt, srtp.Crypt] | None:
        """The SRTP protectors, bound once DTLS has keyed the session (None until then)."""
        tx = self.dtls._tx_srtp
        if tx is not None:
            self._keys = (srtp.protector(tx), srtp.rtcp_protector(tx))
        return self._keys

    def _send(self, data: bytes) -> None:
        pair = self.connection._nominated.get(1)
        if pair is not self._pair:
            self._route(pair)
        if self._sendto is not None:
            self._sendto(data, self._addr)
        elif pair is not None:  # a relayed (TURN) path sends asynchronously
            task = asyncio.ensure_future(pair.protocol.send_data(data, self._addr))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _route(self, pair: Any) -> None:
        """Follow the nominated ICE pair (it changes on an ICE restart)."""
        self._pair = pair
        self._sendto = None
        self._addr = pair.remote_addr if pair is not None else None
        protocol = pair.protocol if pair is not None else None
        if isinstance(protocol, StunProtocol) and protocol.transport is not None:
            self._sendto = protocol.transport.sendto

    def receive_inline(self, on_rtp: OnRaw) -> None:
        """From now on, decrypted RTP goes to `on_rtp` from the socket callback itself."""
        unprotect = srtp.unprotector(self.dtls._rx_srtp)
        for protocol in self.connection._protocols:
            if isinstance(protocol, StunProtocol):
                _intercept(protocol, unprotect, on_rtp)


def _intercept(protocol: StunProtocol, unprotect: srtp.Crypt, on_rtp: OnRaw) -> None:
    stock = protocol.datagram_received

    def datagram_received(data: bytes, addr: tuple[Any, ...]) -> None:
        # RTP (RFC 7983: first byte 128-191), but not RTCP (payload types 192-223)
        if len(data) > 11 and 127 < data[0] < 192 and not 191 < data[1] < 224:
            plain = unprotect(data)
            if plain is not None:
                on_rtp(plain)
            return
        stock(data, addr)

    setattr(protocol, "datagram_received", datagram_received)  # noqa: B010 (one instance)
