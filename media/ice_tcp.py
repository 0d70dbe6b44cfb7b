"""ICE over TCP: a passive candidate (RFC 6544) on one TCP port, shared by every connection
of a media process, for browsers whose network blocks UDP.

Each packet on a stream is framed by its length in two bytes (RFC 4571). A stream belongs
to no one until its first frame, a STUN binding request, names a connection by its ufrag
and holds that connection's MESSAGE-INTEGRITY; from then on the stream is one more socket
of that connection for aioice (a `StreamProtocol`), and everything it carries is that
connection's. A stream that sends anything else first, or nothing for
`FIRST_CHECK_SECONDS`, is closed.

A stream queues little: the kernel holds at most `UNSENT_LIMIT` bytes not yet sent
(TCP_NOTSENT_LOWAT; what is in flight is not limited, so a fast link is not slowed). Past
`WRITE_BUFFER_LIMIT` more bytes waiting, large packets (video) are dropped while small ones
(audio, RTCP, STUN) still go, up to `HARD_LIMIT`. On a link slower than the media, late media
is worse than lost media, and audio matters most: the drops show in the browser's
transport-cc feedback as loss, so the server's estimate falls and the viewer gets audio only,
as on UDP, where a deep queue would instead have held audio seconds behind video.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any

from aioice import stun
from aioice.candidate import Candidate, candidate_foundation
from aioice.ice import Connection, StunProtocol

FIRST_CHECK_SECONDS = 10.0
MAX_UNCHECKED_STREAMS = 64  # streams that have not sent a valid check yet, per port
UNSENT_LIMIT = 4 * 1024  # bytes the kernel may hold unsent per stream
WRITE_BUFFER_LIMIT = 4 * 1024  # bytes waiting beyond that, before large packets are dropped
HARD_LIMIT = 64 * 1024  # before any packet is
SMALL_PACKET = 400  # bytes: an Opus packet, RTCP or STUN, not a video packet
# Below UDP's host candidates (type preference 126), so a browser that can use UDP does.
TYPE_PREFERENCE = 90
LOCAL_PREFERENCE = (4 << 13) | 8191  # passive (RFC 6544 section 4.2)
LENGTH = struct.Struct("!H")


def candidate(address: str, port: int) -> Candidate:
    return Candidate(
        foundation=candidate_foundation("host", "tcp", address),
        component=1,
        transport="tcp",
        priority=(TYPE_PREFERENCE << 24) + (LOCAL_PREFERENCE << 8) + 255,
        host=address,
        port=port,
        type="host",
        tcptype="passive",
    )


class _Nowhere:
    """The transport of a connection's passive candidate itself: it sends nothing (a passive
    candidate only answers; its streams send)."""

    def sendto(self, data: bytes, addr: Any) -> None:
        pass

    def close(self) -> None:
        pass


class Listening(StunProtocol):
    """A connection's passive TCP candidate. It is in the connection's protocols so that
    closing the connection closes its streams and forgets its ufrag here."""

    def __init__(self, connection: Connection, port: TcpPort) -> None:
        super().__init__(connection)
        self.port = port
        self.local_candidate = candidate(port.address, port.port)
        self.transport = _Nowhere()  # type: ignore[assignment]
        self.streams: set[Stream] = set()

    async def close(self) -> None:
        self.port.forget(self)
        for stream in list(self.streams):
            stream.close()


class _Framed:
    """Sends on a stream what aioice and the media path send to a datagram socket."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport

    def sendto(self, data: bytes, addr: Any = None) -> None:
        transport = self._transport
        waiting = transport.get_write_buffer_size()
        if waiting > WRITE_BUFFER_LIMIT and (len(data) > SMALL_PACKET or waiting > HARD_LIMIT):
            return
        if transport.is_closing():
            return
        transport.write(LENGTH.pack(len(data)) + data)

    def close(self) -> None:
        self._transport.close()


class StreamProtocol(StunProtocol):
    """One checked stream, as aioice sees it: a socket of the connection."""

    def __init__(self, connection: Connection, local: Candidate, stream: Stream) -> None:
        super().__init__(connection)
        self.local_candidate = local
        self.stream = stream
        assert stream.transport is not None
        self.transport = _Framed(stream.transport)  # type: ignore[assignment]

    async def close(self) -> None:
        self.stream.close()


class TcpPort:
    """The ICE-TCP listener on one address."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.port = 0
        self.by_ufrag: dict[str, Listening] = {}
        self.unchecked = 0

    def join(self, connection: Connection) -> Listening:
        listening = Listening(connection, self)
        self.by_ufrag[connection.local_username] = listening
        return listening

    def forget(self, listening: Listening) -> None:
        ufrag = listening.receiver.local_username
        if self.by_ufrag.get(ufrag) is listening:
            del self.by_ufrag[ufrag]

    def close(self) -> None:
        for listening in list(self.by_ufrag.values()):
            for stream in list(listening.streams):
                stream.close()
        self.by_ufrag.clear()

    def checked(self, data: bytes) -> tuple[stun.Message, Listening] | None:
        """The connection a first frame is a valid binding request for, with the message."""
        if not data or data[0] > 3:
            return None
        try:
            message = stun.parse_message(data)
        except Exception:  # junk shaped like STUN: whatever aioice's parser raises
            return None
        username = message.attributes.get("USERNAME")
        if (
            message.message_class != stun.Class.REQUEST
            or message.message_method != stun.Method.BINDING
            or not isinstance(username, str)
            or "MESSAGE-INTEGRITY" not in message.attributes
        ):
            return None
        listening = self.by_ufrag.get(username.partition(":")[0])
        if listening is None:
            return None
        key = listening.receiver.local_password.encode("utf8")
        return (message, listening) if message.check_message_integrity(key) else None


class Stream(asyncio.Protocol):
    """One accepted TCP connection on a `TcpPort`."""

    def __init__(self, port: TcpPort) -> None:
        self.port = port
        self.transport: asyncio.Transport | None = None
        self.peer: tuple[str, int] = ("", 0)
        self.protocol: StreamProtocol | None = None
        self.listening: Listening | None = None
        self._buffer = bytearray()
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if self.port.unchecked >= MAX_UNCHECKED_STREAMS:
            transport.close()
            return
        self.port.unchecked += 1
        peer = transport.get_extra_info("peername")
        self.peer = (peer[0], peer[1])
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NOTSENT_LOWAT, UNSENT_LIMIT)
        self._deadline = asyncio.get_running_loop().call_later(FIRST_CHECK_SECONDS, self.close)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        start, size = 0, len(buffer)
        while size - start >= 2:
            length = (buffer[start] << 8) | buffer[start + 1]
            if size - start - 2 < length:
                break
            frame = bytes(buffer[start + 2 : start + 2 + length])
            start += 2 + length
            if self.protocol is not None:
                self.protocol.datagram_received(frame, self.peer)
            elif not self._first(frame):
                self.close()
                return
        del buffer[:start]

    def _first(self, frame: bytes) -> bool:
        found = self.port.checked(frame)
        if found is None:
            return False
        message, listening = found
        self._checked()
        connection = listening.receiver
        self.listening = listening
        self.protocol = StreamProtocol(connection, listening.local_candidate, self)
        listening.streams.add(self)
        connection._protocols.append(self.protocol)
        connection.request_received(message, self.peer, self.protocol)
        return True

    def _checked(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
            self.port.unchecked -= 1

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._checked()
        self._buffer.clear()
        protocol, self.protocol = self.protocol, None
        if self.listening is not None:
            self.listening.streams.discard(self)
        if protocol is not None:
            connection = protocol.receiver
            if protocol in connection._protocols:
                connection._protocols.remove(protocol)
            connection.protocol_lost(protocol)
