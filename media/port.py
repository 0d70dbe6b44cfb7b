"""One UDP port for every connection of a media process, and the ICE candidates on it.

aioice gives each peer connection a socket of its own. Here a media process (a worker, or
the server itself without workers) has one UDP socket per media address instead, and every
connection shares it:

- A STUN binding request names its connection by the ICE username (our ufrag first). When
  its MESSAGE-INTEGRITY holds with that connection's password, the address it came from is
  bound to the connection, and aioice answers it as it would on a socket of its own.
- Everything else (DTLS, SRTP, SRTCP, STUN responses and consent checks) goes to the
  connection its source address is bound to: one dictionary lookup.
- Anything from an address no valid check has bound is dropped, without a log line.

A new address for a connection (NAT rebinding, a network change, the browser trying another
of its candidates) is taken only through a valid check. ICE over TCP (`media.ice_tcp`)
listens beside it, one TCP port per address.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import secrets
import socket
import string
from collections.abc import Callable
from functools import partial
from typing import Any

from aioice import stun
from aioice.candidate import Candidate, candidate_foundation, candidate_priority
from aioice.ice import CandidatePair, Connection, StunProtocol, get_host_addresses

from media import ice_tcp
from media.port_plan import PortPlan

UFRAG_CHARS = string.ascii_letters + string.digits
UFRAG_LENGTH = 8  # aioice's own are 4 characters: in a shared port they must not collide
ADDRESSES_PER_CONNECTION = 16  # a browser checks from each of its candidates; the oldest go
RECEIVE_BUFFER = 4 << 20  # every connection of the process reads through this one socket
SEND_BUFFER = 4 << 20
LOCAL_PREFERENCE_UDP = 65535
Address = tuple[Any, ...]


class SharedProtocol(StunProtocol):
    """One connection's share of a port: aioice sends through it as through a socket of its
    own, and the port hands it what comes from the addresses bound to it."""

    def __init__(self, connection: Connection, port: UdpPort, candidate: Candidate) -> None:
        super().__init__(connection)
        self.port = port
        self.local_candidate = candidate
        self.transport = port.transport
        self.addresses: dict[Address, None] = {}  # bound to this connection, oldest first

    async def close(self) -> None:
        self.port.forget(self)

    def connection_lost(self, exc: Exception | None) -> None:  # the shared socket closed
        self.receiver.protocol_lost(self)


class UdpPort(asyncio.DatagramProtocol):
    """One UDP socket on one address, shared by every connection of the process."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.transport: Any = None
        self.port = 0
        self.by_ufrag: dict[str, SharedProtocol] = {}
        self.by_address: dict[Address, SharedProtocol] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        self.port = transport.get_extra_info("sockname")[1]

    def connection_lost(self, exc: Exception | None) -> None:
        for protocol in list(self.by_ufrag.values()):
            protocol.connection_lost(exc)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        protocol = self.by_address.get(addr)
        if data and data[0] > 3:  # not STUN (RFC 7983): only from a bound address
            if protocol is not None:
                protocol.datagram_received(data, addr)
            return
        self._stun(data, addr, protocol)

    def error_received(self, exc: Exception) -> None:
        pass  # an ICMP error for one destination: the others go on

    def _stun(self, data: bytes, addr: Address, bound: SharedProtocol | None) -> None:
        try:
            message = stun.parse_message(data)
        except Exception:  # junk shaped like STUN: whatever aioice's parser raises, dropped
            return
        pair = (addr[0], addr[1])
        if message.message_class == stun.Class.REQUEST:
            target = self._checked(message)
            if target is not None:
                self.bind(addr, target)
                target.receiver.request_received(message, pair, target)
            return
        if message.message_class not in (stun.Class.RESPONSE, stun.Class.ERROR):
            return
        # A response to one of our checks: from its bound address, or else to the connection
        # that sent that transaction (aioice checks its integrity).
        owner = bound
        if owner is None or message.transaction_id not in owner.transactions:
            owner = next(
                (p for p in self.by_ufrag.values() if message.transaction_id in p.transactions),
                None,
            )
        if owner is not None:
            owner.transactions[message.transaction_id].response_received(message, pair)

    def _checked(self, message: stun.Message) -> SharedProtocol | None:
        """The connection a binding request is for, if it is a valid check of it."""
        username = message.attributes.get("USERNAME")
        if message.message_method != stun.Method.BINDING or not isinstance(username, str):
            return None
        target = self.by_ufrag.get(username.partition(":")[0])
        if target is None or "MESSAGE-INTEGRITY" not in message.attributes:
            return None
        key = target.receiver.local_password.encode("utf8")
        return target if message.check_message_integrity(key) else None

    def bind(self, addr: Address, protocol: SharedProtocol) -> None:
        """From now on, what comes from `addr` is `protocol`'s."""
        old = self.by_address.get(addr)
        if old is protocol:
            return
        if old is not None:
            old.addresses.pop(addr, None)
        self.by_address[addr] = protocol
        protocol.addresses[addr] = None
        while len(protocol.addresses) > ADDRESSES_PER_CONNECTION:
            oldest = next(iter(protocol.addresses))
            del protocol.addresses[oldest]
            self.by_address.pop(oldest, None)

    def join(self, connection: Connection) -> SharedProtocol:
        candidate = Candidate(
            foundation=candidate_foundation("host", "udp", self.address),
            component=1,
            transport="udp",
            priority=candidate_priority(1, "host", LOCAL_PREFERENCE_UDP),
            host=self.address,
            port=self.port,
            type="host",
        )
        protocol = SharedProtocol(connection, self, candidate)
        self.by_ufrag[connection.local_username] = protocol
        return protocol

    def forget(self, protocol: SharedProtocol) -> None:
        ufrag = protocol.receiver.local_username
        if self.by_ufrag.get(ufrag) is protocol:
            del self.by_ufrag[ufrag]
        for addr in protocol.addresses:
            if self.by_address.get(addr) is protocol:
                del self.by_address[addr]
        protocol.addresses.clear()


class MediaPorts:
    """The sockets every peer connection of this process uses: one UDP socket, and one TCP
    listener for ICE-TCP, per media address."""

    def __init__(self) -> None:
        self.udp: list[UdpPort] = []
        self.tcp: list[ice_tcp.TcpPort] = []
        self._servers: list[asyncio.AbstractServer] = []

    @property
    def is_open(self) -> bool:
        return bool(self.udp)

    async def open(self, plan: PortPlan) -> None:
        """Bind the plan's UDP port on each address and, unless it has none, listen for
        ICE-TCP on its TCP port. OSError says which port could not be had.

        With no addresses given, every interface's are tried, and one that cannot be bound
        at all (an IPv6 address not yet usable, say) is left out, as aioice would."""
        chosen = list(plan.addresses) or get_host_addresses(use_ipv4=True, use_ipv6=True)
        try:
            for address in chosen:
                ipaddress.ip_address(address)  # ValueError for anything but an IP address
                try:
                    await self._open_udp(address, plan.udp)
                except OSError as exc:
                    if plan.addresses or exc.errno != errno.EADDRNOTAVAIL:
                        raise _named(exc, f"UDP port {plan.udp} on {address}") from None
                    continue
                if plan.tcp is not None:
                    try:
                        await self._open_tcp(address, plan.tcp)
                    except OSError as exc:
                        raise _named(exc, f"TCP port {plan.tcp} on {address}") from None
            if not self.udp:
                raise OSError(
                    errno.EADDRNOTAVAIL, "media found no address to use: see --ice-addresses"
                )
        except BaseException:
            self.close()
            raise

    async def _open_udp(self, address: str, number: int) -> None:
        port = UdpPort(address)
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(partial(_same, port), (address, number))
        self.udp.append(port)

    async def _open_tcp(self, address: str, number: int) -> None:
        listener = ice_tcp.TcpPort(address)
        loop = asyncio.get_running_loop()
        server = await loop.create_server(partial(ice_tcp.Stream, listener), address, number)
        listener.port = server.sockets[0].getsockname()[1]
        self.tcp.append(listener)
        self._servers.append(server)

    def close(self) -> None:
        for port in self.udp:
            if port.transport is not None:
                port.transport.close()
        for server in self._servers:
            server.close()
        for listener in self.tcp:
            listener.close()
        self.udp, self.tcp, self._servers = [], [], []

    def attach(self, connection: Connection) -> None:
        """Make `connection` gather its candidates here instead of opening sockets. Call
        before its local description is made: its ufrag may change to one no other
        connection of the process has."""
        gather = connection.get_component_candidates
        if isinstance(gather, partial) and gather.func is _shared_candidates:
            return
        taken = set().union(*(p.by_ufrag for p in self.udp), *(t.by_ufrag for t in self.tcp))
        ufrag = new_ufrag()
        while ufrag in taken:
            ufrag = new_ufrag()
        connection._local_username = ufrag
        connection.get_component_candidates = partial(_shared_candidates, self, connection)  # type: ignore[method-assign]
        connection.check_complete = partial(_udp_first, connection, connection.check_complete)  # type: ignore[method-assign]


async def _shared_candidates(
    ports: MediaPorts, connection: Connection, component: int, addresses: Any, timeout: int = 5
) -> list[Candidate]:
    """aioice's `get_component_candidates`, on the process's ports."""
    candidates = []
    for port in ports.udp:
        protocol = port.join(connection)
        connection._protocols.append(protocol)
        candidates.append(protocol.local_candidate)
    for listener in ports.tcp:
        listening = listener.join(connection)
        connection._protocols.append(listening)
        candidates.append(listening.local_candidate)
    return candidates


def _udp_first(
    connection: Connection, stock: Callable[[CandidatePair], None], pair: CandidatePair
) -> None:
    """aioice's `check_complete`, except that a TCP pair nominated after a UDP one does not
    take its place. aioice follows the latest nomination; a browser that nominates every
    pair it checks (Firefox opens an ICE-TCP stream beside UDP) would otherwise move the
    server's media onto TCP, which a weak link turns into seconds of stalled audio. If UDP
    dies, consent checks fail and the page makes a new connection."""
    kept = connection._nominated.get(pair.component)
    stock(pair)
    now = connection._nominated.get(pair.component)
    if kept is None or now is not pair or now is kept:
        return
    if kept.local_candidate.transport == "udp" and now.local_candidate.transport != "udp":
        connection._nominated[pair.component] = kept


def _named(exc: OSError, where: str) -> OSError:
    return OSError(exc.errno, f"media cannot use {where}: {exc.strerror}")


def _same(port: UdpPort) -> UdpPort:
    return port


def new_ufrag() -> str:
    return "".join(secrets.choice(UFRAG_CHARS) for _ in range(UFRAG_LENGTH))
