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
from time import monotonic
from typing import Any, NamedTuple

from aioice.ice import StunProtocol

from media import srtp, twcc
from media.feedback_queue import FeedbackQueue

logger = logging.getLogger(__name__)

OnRaw = Callable[[bytes], None]
OnFeedback = Callable[[bytes, float], None]  # a feedback packet, and when it came


class Keys(NamedTuple):
    """How one wire protects what it sends, once DTLS has keyed SRTP."""

    rtp_cell: srtp.Cell  # for the direct sender, which protects in place
    rtp: srtp.Crypt  # the same session, for a relayed path
    rtcp: srtp.Crypt


class Wire:
    """Send and receive SRTP for one bundled aiortc DTLS transport, without aiortc's loop."""

    def __init__(self, dtls: Any) -> None:
        self.dtls = dtls
        self.connection = dtls.transport._connection  # aioice Connection
        self._tasks: set[asyncio.Future[None]] = set()
        self._on_feedback: OnFeedback | None = None
        self._queue: FeedbackQueue | None = None
        self._keys: Keys | None = None
        self._pair: Any = None
        self._sendto: Callable[[bytes, Any], None] | None = None
        self._addr: Any = None
        # Protects and sends one RTP packet; dropped if the connection is not up. Once keyed
        # and on a direct UDP path, this is a sender bound to that path (see `_direct`).
        self.send_rtp: OnRaw = self._send_rtp

    @property
    def ready(self) -> bool:
        return self.dtls._tx_srtp is not None and 1 in self.connection._nominated

    def _send_rtp(self, packet: bytes) -> None:
        keys = self._keys or self._keyed()
        if keys is None:
            return
        pair = self.connection._nominated.get(1)
        if pair is not self._pair:
            self._route(pair)
        if self._sendto is not None:
            self.send_rtp = self._direct(pair, self._sendto, self._addr, keys.rtp_cell)
            self.send_rtp(packet)
            return
        data = keys.rtp(packet)
        if data is not None:
            self._send(data)

    def _direct(
        self, pair: Any, sendto: Callable[[bytes, Any], None], addr: Any, cell: srtp.Cell
    ) -> OnRaw:
        """A sender for one nominated UDP pair: protects in place and sends, in one call per
        packet. When the pair changes (an ICE restart), it hands back to `_send_rtp`."""
        nominated = self.connection._nominated
        _, protect, context, data, buffer, length, room = cell
        ok = srtp.OK

        def send_rtp(packet: bytes) -> None:
            if nominated.get(1) is not pair:
                self.send_rtp = self._send_rtp
                self._send_rtp(packet)
                return
            size = len(packet)
            if size <= room:
                buffer[0:size] = packet
                length[0] = size
                if protect(context, data, length) == ok:
                    sendto(buffer[0 : length[0]], addr)

        return send_rtp

    def send_rtcp(self, packet: bytes) -> None:
        """Protect and send one (compound) RTCP packet; dropped if the connection is not up."""
        keys = self._keys or self._keyed()
        data = keys.rtcp(packet) if keys is not None else None
        if data is not None:
            self._send(data)

    def _keyed(self) -> Keys | None:
        """The SRTP protectors, bound once DTLS has keyed the session (None until then)."""
        tx = self.dtls._tx_srtp
        if tx is not None:
            cell = srtp.rtp_protect_cell(tx)
            self._keys = Keys(cell, srtp.crypt(cell), srtp.rtcp_protector(tx))
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

    def take_feedback(self, on_feedback: OnFeedback, queue: FeedbackQueue | None = None) -> None:
        """From now on, transport-cc feedback (RTPFB, FMT=15) goes to `on_feedback` as the
        bytes of one RTCP packet, decrypted, with the time it came; the rest of each compound
        packet goes to aiortc as before (which would misread that feedback as a NACK). With
        `queue`, feedback is read there, a few times a second (see `media.feedback_queue`)."""
        stock = self.dtls._handle_rtcp_data
        self._on_feedback, self._queue = on_feedback, queue

        async def handle_rtcp_data(data: bytes) -> None:
            rest = self._take_feedback(data, monotonic(), queued=True)
            if rest:
                await stock(rest)

        setattr(self.dtls, "_handle_rtcp_data", handle_rtcp_data)  # noqa: B010 (one instance)

    def _take_feedback(self, data: bytes, at: float, queued: bool) -> bytes:
        """Hand the transport-cc feedback in a compound RTCP packet over (to the queue if
        `queued` and there is one); the rest."""
        on_feedback, queue = self._on_feedback, self._queue
        if on_feedback is None:
            return data
        if (
            data[1] == twcc.RTPFB
            and data[0] & 0x1F == twcc.FMT
            and len(data) == 4 * (((data[2] << 8) | data[3]) + 1)
        ):  # a packet of its own (reduced-size RTCP), as browsers send feedback
            packets: list[bytes] = [data]
            rest = b""
        else:
            packets, others = [], list[bytes]()
            for packet_type, fmt, packet in twcc.split(data):
                is_feedback = packet_type == twcc.RTPFB and fmt == twcc.FMT
                (packets if is_feedback else others).append(packet)
            rest = b"".join(others)
        for packet in packets:
            if queued and queue is not None:
                queue.put(on_feedback, packet, at)
            else:
                on_feedback(packet, at)
        return rest

    def _rtcp_inline(self, unprotect: srtp.Crypt) -> OnRaw:
        """Reads RTCP in the socket callback, without aioice's queue and aiortc's task (a
        browser sends 10 to 20 a second). A packet that is only transport-cc feedback, as its
        header (sent in the clear) shows, goes to the queue still sealed; others are
        unprotected at once, their feedback goes to the queue and the rest to aiortc, as the
        stock path would have."""
        stock = self.dtls._handle_rtcp_data  # (the wrapper of take_feedback)
        queue = self._queue

        def read(packet: bytes, at: float, queued: bool = True) -> None:
            data = unprotect(packet)
            if data is None:
                return
            rest = self._take_feedback(data, at, queued)
            if rest:
                task = asyncio.ensure_future(stock(rest))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

        def read_sealed(packet: bytes, at: float) -> None:
            read(packet, at, queued=False)

        def rtcp_received(packet: bytes) -> None:
            if queue is not None and twcc.sealed_feedback(packet):
                queue.put(read_sealed, packet, monotonic())
            else:
                read(packet, monotonic())

        return rtcp_received

    def receive_inline(self, on_rtp: OnRaw) -> None:
        """From now on, decrypted RTP goes to `on_rtp` from the socket callback itself."""
        cell = srtp.rtp_unprotect_cell(self.dtls._rx_srtp)
        on_rtcp = None
        if self._on_feedback is not None:  # RTCP too, when it may carry transport-cc feedback
            on_rtcp = self._rtcp_inline(srtp.rtcp_unprotector(self.dtls._rx_srtp))
        for protocol in self.connection._protocols:
            if isinstance(protocol, StunProtocol):
                _intercept(protocol, cell, on_rtp, on_rtcp)


def _intercept(
    protocol: StunProtocol, cell: srtp.Cell, on_rtp: OnRaw, on_rtcp: OnRaw | None
) -> None:
    stock = protocol.datagram_received
    _, unprotect, context, data, buffer, length, room = cell
    ok = srtp.OK

    def datagram_received(packet: bytes, addr: tuple[Any, ...]) -> None:
        # RTP and RTCP (RFC 7983: first byte 128-191); RTCP has payload types 192-223
        size = len(packet)
        if size > 11 and 127 < packet[0] < 192:
            if not 191 < packet[1] < 224:
                if size <= room:  # else too big to be ours: dropped
                    buffer[0:size] = packet
                    length[0] = size
                    if unprotect(context, data, length) == ok:
                        on_rtp(buffer[0 : length[0]])
                return
            if on_rtcp is not None:
                on_rtcp(packet)
                return
        stock(packet, addr)

    setattr(protocol, "datagram_received", datagram_received)  # noqa: B010 (one instance)
