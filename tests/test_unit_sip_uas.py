"""The trunk-only SIP UAS (media/sip_uas.py) on a real UDP socket on loopback, driven by a
test socket standing for the trunk: transactions, dialogs, the source check, limits, and
the clear answers a trunk gets to what it should not send. T1 is short (20 ms) so that the
timers run in the test's time."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from media.sip_message import SipRequest
from media.sip_sdp import answer_sdp, parse_offer
from media.sip_uas import Decision, Dialog, SipServer, Trunk

T1 = 0.02
NUMBER = "+15145550123"
SDP = (
    "v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 20000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
)


@dataclass
class Answerer:
    """Takes every call with an SDP answer unless told to refuse; remembers what it saw."""

    refuse: tuple[int, str] | None = None
    offered_calls: list[Dialog] = field(default_factory=list)
    ended_calls: list[Dialog] = field(default_factory=list)

    def offered(self, dialog: Dialog, request: SipRequest) -> Decision:
        self.offered_calls.append(dialog)
        if self.refuse:
            return Decision(*self.refuse)
        return Decision(200, "OK", answer_sdp(parse_offer(request.body), "127.0.0.1", 40000, 1))

    def ended(self, dialog: Dialog) -> None:
        self.ended_calls.append(dialog)


class Phone(asyncio.DatagramProtocol):
    """The trunk's side: sends requests, keeps every datagram it gets."""

    def __init__(self) -> None:
        self.got: asyncio.Queue[str] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.got.put_nowait(data.decode())

    async def next(self, timeout: float = 2.0) -> str:
        return await asyncio.wait_for(self.got.get(), timeout)

    async def quiet(self, seconds: float) -> list[str]:
        await asyncio.sleep(seconds)
        out = []
        while not self.got.empty():
            out.append(self.got.get_nowait())
        return out


@dataclass
class Scene:
    server: SipServer
    answerer: Answerer
    phone: Phone
    port: int

    def send(self, data: str) -> None:
        assert self.phone.transport is not None
        self.phone.transport.sendto(data.encode(), ("127.0.0.1", self.port))


async def start(trunk: Trunk, answerer: Answerer) -> tuple[SipServer, asyncio.BaseTransport]:
    loop = asyncio.get_running_loop()
    server = SipServer(trunk, answerer, "sip:quietroom@127.0.0.1:5060")
    transport, _ = await loop.create_datagram_endpoint(lambda: server, local_addr=("127.0.0.1", 0))
    return server, transport


@contextlib.asynccontextmanager
async def open_scene(trunk: Trunk) -> AsyncIterator[Scene]:
    """The UAS for `trunk` on a loopback socket, and a phone socket beside it."""
    answerer = Answerer()
    server, transport = await start(trunk, answerer)
    phone = Phone()
    phone_transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: phone, local_addr=("127.0.0.1", 0)
    )
    try:
        yield Scene(server, answerer, phone, transport.get_extra_info("sockname")[1])
    finally:
        phone_transport.close()
        transport.close()


@pytest.fixture
async def scene() -> AsyncIterator[Scene]:
    trunk = Trunk([ipaddress.ip_network("127.0.0.0/8")], invites_per_minute=3, max_calls=2, t1=T1)
    async with open_scene(trunk) as opened:
        yield opened


def request(
    method: str,
    *,
    branch: str = "",
    call_id: str = "call-1",
    cseq: int = 1,
    to_tag: str = "",
    body: str = "",
    cseq_method: str = "",
) -> str:
    to = "<sip:svc@127.0.0.1>" + (f";tag={to_tag}" if to_tag else "")
    return (
        f"{method} sip:svc@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5999;branch={branch or 'z9hG4bK' + secrets.token_hex(4)}\r\n"
        f'From: "Caller" <sip:{NUMBER}@trunk>;tag=theirs\r\n'
        f"To: {to}\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq} {cseq_method or method}\r\n"
        "Max-Forwards: 70\r\n"
        f"Contact: <sip:{NUMBER}@127.0.0.1:5999>\r\n"
        + ("Content-Type: application/sdp\r\n" if body else "")
        + f"Content-Length: {len(body)}\r\n\r\n{body}"
    )


def status(answer: str) -> int:
    return int(answer.split(" ", 2)[1])


def our_tag(answer: str) -> str:
    to = next(line for line in answer.split("\r\n") if line.startswith("To:"))
    return to.split("tag=")[1]


async def test_options_are_answered_and_the_same_answer_comes_again(scene: Scene) -> None:
    options = request("OPTIONS", branch="z9hG4bK-o1")
    scene.send(options)
    first = await scene.phone.next()
    assert status(first) == 200 and "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS" in first
    assert "received=127.0.0.1;rport=" in first
    scene.send(options)
    assert await scene.phone.next() == first


async def test_a_call_taken_acknowledged_and_hung_up_by_the_caller(scene: Scene) -> None:
    invite = request("INVITE", branch="z9hG4bK-i1", body=SDP)
    scene.send(invite)
    assert status(await scene.phone.next()) == 100
    ok = await scene.phone.next()
    assert status(ok) == 200 and "m=audio 40000 RTP/AVP 0 101" in ok
    assert "Contact: <sip:quietroom@127.0.0.1:5060>" in ok
    scene.send(invite)  # sent again before our 200 reached them: the same 200
    assert await scene.phone.next() == ok
    tag = our_tag(ok)
    scene.send(request("ACK", to_tag=tag, cseq_method="INVITE"))
    assert await scene.phone.quiet(8 * T1) == []  # acknowledged: no more 200s
    bye = request("BYE", branch="z9hG4bK-b1", to_tag=tag, cseq=2)
    scene.send(bye)
    done = await scene.phone.next()
    assert status(done) == 200 and len(scene.answerer.ended_calls) == 1
    scene.send(bye)  # their BYE again: the same 200, no second end
    assert await scene.phone.next() == done and len(scene.answerer.ended_calls) == 1
    scene.send(request("BYE", to_tag=tag, cseq=3))  # a new BYE for a call that is over
    assert status(await scene.phone.next()) == 481
    assert NUMBER not in repr(scene.answerer.ended_calls[0])


async def test_a_200_never_acknowledged_is_sent_again_then_the_call_ends_with_our_bye(
    scene: Scene,
) -> None:
    scene.send(request("INVITE", body=SDP))
    got = await scene.phone.quiet(64 * T1 + 0.5)
    statuses = [status(g) if g.startswith("SIP/2.0") else g.split(" ")[0] for g in got]
    assert statuses[:2] == [100, 200] and statuses.count(200) >= 4, statuses
    assert "BYE" in statuses and scene.answerer.ended_calls
    bye = next(g for g in got if g.startswith("BYE "))
    assert bye.startswith(f"BYE sip:{NUMBER}@127.0.0.1:5999 SIP/2.0")  # their Contact
    assert "CSeq: 1 BYE" in bye and ";tag=theirs" in bye


async def test_a_refused_call_is_refused_until_acknowledged(scene: Scene) -> None:
    scene.answerer.refuse = (488, "Not Acceptable Here")
    scene.send(request("INVITE", body=SDP))
    assert status(await scene.phone.next()) == 100
    refused = await scene.phone.next()
    assert status(refused) == 488
    scene.send(request("ACK", to_tag=our_tag(refused), cseq_method="INVITE"))
    assert await scene.phone.quiet(8 * T1) == [] and not scene.server.dialogs


async def test_re_invites_cancels_and_unknown_methods_get_clear_answers(scene: Scene) -> None:
    scene.send(request("INVITE", branch="z9hG4bK-i2", body=SDP))
    await scene.phone.next()
    ok = await scene.phone.next()
    tag = our_tag(ok)
    scene.send(request("CANCEL", branch="z9hG4bK-i2"))  # too late: answered already
    assert status(await scene.phone.next()) == 200
    scene.send(request("ACK", to_tag=tag, cseq_method="INVITE"))
    scene.send(request("INVITE", to_tag=tag, cseq=2, body=SDP))
    assert status(await scene.phone.next()) == 488  # the media stays as agreed
    scene.send(request("INVITE", to_tag="nobody", cseq=2, body=SDP))
    assert status(await scene.phone.next()) == 481
    scene.send(request("CANCEL", branch="z9hG4bK-none"))
    assert status(await scene.phone.next()) == 481
    scene.send(request("REGISTER"))
    refused = await scene.phone.next()
    assert status(refused) == 405 and "Allow: INVITE" in refused
    assert not scene.answerer.ended_calls  # the call goes on


async def test_malformed_requests_get_400_or_nothing(scene: Scene) -> None:
    no_call_id = request("OPTIONS").replace("Call-ID: call-1\r\n", "")
    scene.send(no_call_id)
    answer = await scene.phone.next()
    assert answer.startswith("SIP/2.0 400 Missing Call-Id")
    for junk in ("", "hello", "\x00" * 40, "SIP/2.0 200 OK\r\n\r\n",
                 request("OPTIONS").replace(";branch=", ";x=")):  # fmt: skip
        scene.send(junk)
    assert await scene.phone.quiet(0.2) == []


async def test_invites_from_one_source_are_held_to_a_rate_and_calls_to_a_number(
    scene: Scene,
) -> None:
    answers = []
    for n in range(4):
        scene.send(request("INVITE", call_id=f"flood-{n}", body=SDP))
        answers += await scene.phone.quiet(0.1)
    finals: dict[str, int] = {}  # the first final answer to each call (200s come again)
    for a in answers:
        call = next(line for line in a.split("\r\n") if line.startswith("Call-ID:"))[9:]
        if status(a) != 100:
            finals.setdefault(call, status(a))
    # Two calls at most at once, three INVITEs a minute from one source.
    assert finals == {"flood-0": 200, "flood-1": 200, "flood-2": 486, "flood-3": 503}, finals
    assert any("Retry-After: 60" in a for a in answers)
    assert len(scene.answerer.offered_calls) == 2


async def test_a_source_not_listed_gets_403_a_few_times_a_second(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    trunk = Trunk([ipaddress.ip_network("192.0.2.0/24")], t1=T1)
    async with open_scene(trunk) as scene:
        for _ in range(12):
            scene.send(request("INVITE", body=SDP))
        got = await scene.phone.quiet(0.3)
        assert [status(g) for g in got] == [403] * 5
        assert not scene.answerer.offered_calls
        assert not [r for r in caplog.records if r.name.startswith("media")]  # nothing logged
