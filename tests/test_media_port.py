"""The shared media port (issue 16), with real sockets on loopback and real aioice connections.

What comes from an address goes to a connection only once a valid STUN check (its ufrag, and
MESSAGE-INTEGRITY with its password) came from that address; a check with a wrong password
binds nothing and gets no answer; a second address (a NAT rebinding) is taken the same way;
connections that close let go of their ufrag and addresses; ICE-TCP streams are held to the
same rule, and closed when their first frame is not a valid check.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator

import pytest
from aioice import stun
from aioice.ice import Connection
from junk_sender import binding_request

from media import ice_tcp
from media.port import MediaPorts
from media.port_plan import PortPlan

LOOPBACK = "127.0.0.1"


def check(ufrag: str, password: str, remote: str = "abcd") -> bytes:
    return bytes(binding_request(f"{ufrag}:{remote}", password))


@pytest.fixture
async def ports() -> AsyncIterator[MediaPorts]:
    opened = MediaPorts()
    await opened.open(PortPlan((LOOPBACK,), 0, 0))
    try:
        yield opened
    finally:
        opened.close()


async def gathered(ports: MediaPorts) -> Connection:
    connection = Connection(ice_controlling=False)
    ports.attach(connection)
    await connection.gather_candidates()
    connection.remote_username, connection.remote_password = "abcd", "p" * 22
    return connection


def client() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((LOOPBACK, 0))
    sock.setblocking(False)
    return sock


async def answers(sock: socket.socket, seconds: float = 0.5) -> list[stun.Message]:
    """STUN answers `sock` gets within `seconds`."""
    loop = asyncio.get_running_loop()
    got: list[stun.Message] = []
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        try:
            data = await asyncio.wait_for(loop.sock_recv(sock, 2048), left)
        except TimeoutError:
            break
        got.append(stun.parse_message(data))
    return got


def queued(connection: Connection) -> list[bytes]:
    items = []
    while not connection._queue.empty():
        item = connection._queue.get_nowait()
        if item is not None:
            items.append(item[0])
    return items


async def test_one_port_for_every_connection_and_candidates_on_it(ports: MediaPorts) -> None:
    first, second = await gathered(ports), await gathered(ports)
    try:
        for connection in (first, second):
            udp, tcp = connection.local_candidates
            assert (udp.transport, udp.port) == ("udp", ports.udp[0].port)
            assert (tcp.transport, tcp.port, tcp.tcptype) == ("tcp", ports.tcp[0].port, "passive")
            assert udp.priority > tcp.priority  # a browser that can use UDP does
        assert first.local_username != second.local_username
        assert len(first.local_username) >= 8
    finally:
        await first.close()
        await second.close()


async def test_an_address_is_bound_only_by_a_valid_check(ports: MediaPorts) -> None:
    connection = await gathered(ports)
    port = ports.udp[0]
    target = (LOOPBACK, port.port)
    browser, stranger = client(), client()
    try:
        # DTLS-looking bytes from an address no check has bound: dropped, unanswered.
        browser.sendto(b"\x16\xfe\xfd" + bytes(40), target)
        # A check with the right ufrag but the wrong password: dropped, unanswered.
        browser.sendto(check(connection.local_username, "x" * 22), target)
        assert await answers(browser) == []
        assert queued(connection) == [] and port.by_address == {}

        # A valid check: answered, and its address bound to the connection.
        browser.sendto(check(connection.local_username, connection.local_password), target)
        got = await answers(browser)
        assert [m.message_class for m in got][:1] == [stun.Class.RESPONSE], got
        assert got[0].attributes["XOR-MAPPED-ADDRESS"] == browser.getsockname()
        assert set(port.by_address) == {browser.getsockname()}

        # Now the same address's DTLS reaches the connection; a stranger's does not.
        browser.sendto(b"\x16\xfe\xfd" + b"from-browser", target)
        stranger.sendto(b"\x16\xfe\xfd" + b"from-stranger", target)
        await asyncio.sleep(0.2)
        assert queued(connection) == [b"\x16\xfe\xfd" + b"from-browser"]

        # The browser's network changes (a new address): taken only with a valid check.
        stranger.sendto(check(connection.local_username, connection.local_password), target)
        assert [m.message_class for m in await answers(stranger)][:1] == [stun.Class.RESPONSE]
        stranger.sendto(b"\x17\xfe\xfd" + b"moved", target)
        await asyncio.sleep(0.2)
        assert queued(connection) == [b"\x17\xfe\xfd" + b"moved"]
    finally:
        await connection.close()
        browser.close()
        stranger.close()
    # Closed: its ufrag and both addresses are forgotten.
    assert port.by_ufrag == {} and port.by_address == {}
    assert ports.tcp[0].by_ufrag == {}


async def test_a_check_for_a_closed_connection_is_not_answered(ports: MediaPorts) -> None:
    connection = await gathered(ports)
    ufrag, password = connection.local_username, connection.local_password
    await connection.close()
    browser = client()
    try:
        browser.sendto(check(ufrag, password), (LOOPBACK, ports.udp[0].port))
        assert await answers(browser) == []
    finally:
        browser.close()


async def tcp_frames(reader: asyncio.StreamReader, seconds: float = 1.0) -> list[bytes]:
    frames = []
    try:
        while True:
            header = await asyncio.wait_for(reader.readexactly(2), seconds)
            frames.append(await reader.readexactly(struct.unpack("!H", header)[0]))
    except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
        pass
    return frames


async def test_ice_tcp_streams_are_held_to_the_same_rule(ports: MediaPorts) -> None:
    connection = await gathered(ports)
    listener = ports.tcp[0]
    framed = ice_tcp.LENGTH.pack
    try:
        # A stream whose first frame is not a valid check is closed, with no answer.
        for first in (b"\x16\xfe\xfd" + bytes(30), check(connection.local_username, "y" * 22)):
            reader, writer = await asyncio.open_connection(LOOPBACK, listener.port)
            writer.write(framed(len(first)) + first)
            assert await tcp_frames(reader) == []
            assert reader.at_eof()
            writer.close()

        # A valid check, split across two writes as TCP may deliver it: answered, and what
        # follows on that stream is the connection's.
        reader, writer = await asyncio.open_connection(LOOPBACK, listener.port)
        valid = framed(len(data := check(connection.local_username, connection.local_password)))
        writer.write(valid + data[:10])
        await asyncio.sleep(0.05)
        writer.write(data[10:] + framed(8) + b"\x16\xfe\xfd-tcp!")
        got = [stun.parse_message(f) for f in await tcp_frames(reader, 0.5)]
        assert stun.Class.RESPONSE in [m.message_class for m in got], got
        await asyncio.sleep(0.1)
        assert queued(connection) == [b"\x16\xfe\xfd-tcp!"]
        assert listener.unchecked == 0
        writer.close()
    finally:
        await connection.close()
    assert listener.by_ufrag == {}


async def test_a_slow_ice_tcp_stream_drops_video_before_audio(ports: MediaPorts) -> None:
    """A browser that stops reading (a link slower than the media): the stream's queue stays
    small, large packets go first, and small ones (audio) go on until the hard limit."""
    connection = await gathered(ports)
    listener = ports.tcp[0]
    try:
        _reader, writer = await asyncio.open_connection(LOOPBACK, listener.port)
        writer.transport.set_write_buffer_limits(0)
        sock = writer.transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        data = check(connection.local_username, connection.local_password)
        writer.write(ice_tcp.LENGTH.pack(len(data)) + data)
        await asyncio.sleep(0.2)
        (stream,) = next(iter(listener.by_ufrag.values())).streams
        assert stream.protocol is not None
        framed, transport = stream.protocol.transport, stream.transport
        assert transport is not None
        # The browser reads nothing from now on: video keeps coming, the queue stays short.
        for _ in range(2000):
            framed.sendto(b"\x80" + bytes(1199))
        waiting = transport.get_write_buffer_size()
        assert 0 < waiting <= ice_tcp.WRITE_BUFFER_LIMIT + 1202, waiting
        # Audio still goes past that, up to the hard limit, and no further.
        for _ in range(200):
            framed.sendto(b"\x80" + bytes(99))
        audio_waiting = transport.get_write_buffer_size() - waiting
        assert audio_waiting == 200 * 102, audio_waiting
        for _ in range(2000):
            framed.sendto(b"\x80" + bytes(99))
        assert transport.get_write_buffer_size() <= ice_tcp.HARD_LIMIT + 102
        writer.close()
    finally:
        await connection.close()


async def test_a_port_in_use_is_named(ports: MediaPorts) -> None:
    taken = ports.udp[0].port
    other = MediaPorts()
    with pytest.raises(OSError, match=f"media cannot use UDP port {taken} on {LOOPBACK}"):
        await other.open(PortPlan((LOOPBACK,), taken, None))
    assert not other.is_open


async def test_an_address_not_of_this_machine_is_named() -> None:
    other = MediaPorts()
    with pytest.raises(
        OSError, match=r"media cannot use UDP port 0 on 192\.0\.2\.1: Cannot assign"
    ):
        await other.open(PortPlan(("192.0.2.1",), 0, 0))  # TEST-NET-1: nobody's, never sent to
    assert not other.is_open


def test_workers_take_the_port_plus_their_number() -> None:
    plan = PortPlan(("192.0.2.1",), 40000, 40100)
    assert plan.worker(0) == plan
    assert plan.worker(2) == PortPlan(("192.0.2.1",), 40002, 40102)
    assert PortPlan((), 0, 0).worker(3) == PortPlan((), 0, 0)  # free ports stay free
    assert PortPlan((), 0, None).worker(1).tcp is None  # no ICE-TCP stays none
    assert PortPlan.decode(plan.worker(1).encode()) == plan.worker(1)
