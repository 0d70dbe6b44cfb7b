"""Property tests at a running server's /ws (issue 13): generated and mutated messages of every
client type, and generated and mutated SDP offers, while a 2-person call runs beside.

Every message gets its normal reply or an `error` with a known code (never `internal`), the
socket stays open and answers the next message, the server logs no fault, and the call
beside keeps its media and hears nothing.

Hypothesis drives plain (synchronous) tests; the server, the call and the fuzzing sockets
live in one event loop on a thread of their own, for the whole module, so examples take
milliseconds rather than a server start each.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import logging
import re
import threading
import time
import typing
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from conftest import (
    STAFF_NAME,
    STAFF_PASSWORD,
    RunningServer,
    client_ssl,
    loopback_config,
    start_server,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_call_aiortc import invite_of

from bench.client import Participant, StaffApi
from server import staff_file
from signaling import protocol
from signaling.protocol import (
    CLIENT_MESSAGES,
    Admit,
    Error,
    Join,
    Joined,
    LobbyWaiting,
    Message,
    Offer,
    ProtocolError,
    Streams,
    Waiting,
    parse_server_message,
)

REPO = Path(__file__).resolve().parent.parent
# aiortc and aioice, in the server's thread, draw from `random` while examples run
pytestmark = pytest.mark.filterwarnings("ignore:Do not use the `random` module")
KINDS = ("audio", "video")
T = TypeVar("T")
EXAMPLES_PER_TYPE = 30
SDP_EXAMPLES = 120
FAST = settings(
    max_examples=EXAMPLES_PER_TYPE,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def error_codes() -> set[str]:
    """Every error code the server's code can send (its ProtocolError and MediaError codes,
    and the socket's own limits), read from the source: anything else is a fault."""
    pattern = re.compile(r"(?:ProtocolError|MediaError|Error)\(\s*\"([a-z-]+)\"")
    codes: set[str] = set()
    for folder in ("server", "signaling", "media"):
        for path in (REPO / folder).glob("*.py"):
            codes |= set(pattern.findall(path.read_text()))
    codes.discard("internal")
    return codes


KNOWN_CODES = error_codes()


# ------------------------------------------------------------------ the world beside

# Server messages the project's own parser refused: (the message, why). There must be none;
# they are kept so that one such message does not stop the reading and hide the rest.
UNPARSABLE: list[tuple[dict[str, Any], str]] = []


class Fuzzer(Participant):
    """A bench participant that keeps reading when a server message fails the protocol's
    own checks: it is noted in UNPARSABLE and, if it is an `error`, passed on as one."""

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            try:
                message = parse_server_message(msg.data)
            except ProtocolError as exc:
                raw = json.loads(msg.data)
                UNPARSABLE.append((raw, str(exc)))
                if raw.get("type") != "error":
                    raise
                message = Error(str(raw.get("code")), str(raw.get("reason")))
            if isinstance(message, Joined | Waiting):
                self.participant = message.participant
            if isinstance(message, Streams):
                self.streams = dict(message.slots)
            self.seen.append(message)
            await self.inbox.put(message)


async def staff_in_call(world: World) -> tuple[StaffApi, dict[str, Any], Participant]:
    api = StaffApi(world.http, world.server.base)
    await api.sign_in(STAFF_NAME, STAFF_PASSWORD)
    call = await api.create_call()
    staff = Fuzzer(world.http, world.server.base, headers=api.headers)
    await staff.connect()
    await staff.send(Join(call=str(call["id"])))
    await staff.expect("joined")
    return api, call, staff


async def admitted_guest(world: World, staff: Participant, invite: str) -> Participant:
    guest = Fuzzer(world.http, world.server.base)
    await guest.connect()
    await guest.send(Join(invite=invite, name="F"))
    await guest.expect("waiting")
    waiting = await staff.expect("lobby-waiting")
    assert isinstance(waiting, LobbyWaiting)
    await staff.send(Admit(waiting.participant))
    await guest.expect("joined")
    return guest


class LoopThread:
    """An event loop on its own thread; `run` waits for a coroutine there."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Awaitable[T], timeout: float = 60.0) -> T:
        async def wrap() -> T:
            return await coro

        return asyncio.run_coroutine_threadsafe(wrap(), self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class Faults(logging.Handler):
    """Log records of warnings and worse, and any with a traceback (an unhandled exception
    in a task or callback is logged by asyncio with one)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING or record.exc_info:
            self.records.append(record)

    def lines(self) -> list[str]:
        return [f"{r.name} {r.levelname}: {r.getMessage()}" for r in self.records]


@dataclass
class World:
    loop: LoopThread
    server: RunningServer
    http: aiohttp.ClientSession
    watched: list[Participant]  # the call beside: staff, survivor, media both ways
    faults: Faults
    api: StaffApi | None = None
    staff: Participant | None = None  # staff of the fuzzed call
    member: Participant | None = None  # its survivor, admitted
    call: dict[str, Any] = field(default_factory=dict)  # the fuzzed call, as the API gave it
    stranger: Participant | None = None  # a socket that never joined
    lobby: list[str] = field(default_factory=list)  # participant ids seen in the lobby
    sent: dict[str, float] = field(default_factory=dict)  # role -> when it last sent
    counts: dict[str, int] = field(default_factory=dict)  # reply or error code -> times
    probes: Iterator[int] = field(default_factory=itertools.count)

    def flow(self) -> dict[tuple[int, str], int]:
        a, b = self.watched
        return {
            (i, kind): x.received(kind, y.participant)
            for i, (x, y) in enumerate(((a, b), (b, a)))
            for kind in KINDS
        }


async def fuzzed_call(world: World) -> None:
    """A second call, for fuzzers to be in: staff and an admitted survivor, no media."""
    for old in (world.staff, world.member):
        if old is not None:
            await old.close()
    if world.api is not None and world.call:
        with contextlib.suppress(aiohttp.ClientResponseError):  # ended already, perhaps
            await world.api.end_call(str(world.call["id"]))
    api, call, staff = await staff_in_call(world)
    member = await admitted_guest(world, staff, invite_of(call, "survivor"))
    world.api, world.staff, world.member, world.call = api, staff, member, call


async def in_fuzzed_call(world: World) -> bool:
    store = world.server.state.store
    return all(
        p is not None and p.participant and store.call_of(p.participant) is not None
        for p in (world.staff, world.member)
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    path = tmp_path_factory.mktemp("fuzz") / "staff.json"
    staff_file.add(path, STAFF_NAME, STAFF_PASSWORD)
    loop = LoopThread()
    faults = Faults()
    logging.getLogger().addHandler(faults)

    async def setup() -> tuple[Any, World]:
        # lobby knocks unlimited here: the knock limit has its own test (test_floods)
        runner, server = await start_server(loopback_config(path, lobby_knocks=0))
        http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=client_ssl(), limit=0))
        one = World(loop, server, http, [], faults)
        _api, call, staff = await staff_in_call(one)
        survivor = await admitted_guest(one, staff, invite_of(call, "survivor"))
        for person in (staff, survivor):
            await person.start_media(max_participants=4)
        one.watched = [staff, survivor]
        await fuzzed_call(one)
        return runner, one

    runner, made = loop.run(setup())
    try:
        wait_for_media(made, made.flow(), 50)
        yield made
    finally:

        async def teardown() -> None:
            people = [*made.watched, made.staff, made.member, made.stranger]
            for person in people:
                if person is not None:
                    with contextlib.suppress(Exception):
                        await person.close()
            await made.http.close()
            await runner.cleanup()

        loop.run(teardown())
        loop.close()
        logging.getLogger().removeHandler(faults)
        print(f"\nfuzz replies and error codes: {dict(sorted(made.counts.items()))}")


def wait_for_media(world: World, before: dict[tuple[int, str], int], more: int = 20) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        now = world.flow()
        if all(now[key] >= before[key] + more for key in before):
            return
        time.sleep(0.1)
    raise AssertionError(f"the call beside lost its media: {before} -> {world.flow()}")


def call_beside_unaffected(world: World, before: dict[tuple[int, str], int], seen: int) -> None:
    wait_for_media(world, before)
    noticed = [m for p in world.watched for m in p.seen if m.type not in ("streams", "quality")]
    assert len(noticed) <= seen, noticed[seen:]
    store = world.server.state.store
    call = store.call_of(world.watched[0].participant)
    assert call is not None and len(call.in_call()) == 2
    faults = world.faults.lines()
    assert not faults, faults
    # every message the server sent passes the protocol's own parser
    assert not UNPARSABLE, UNPARSABLE[:3]


def noticed_count(world: World) -> int:
    # `streams` and staff's `quality` come on their own; anything else would be a leak.
    return sum(1 for p in world.watched for m in p.seen if m.type not in ("streams", "quality"))


# ------------------------------------------------------------------ sending one message


async def socket_for(world: World, role: str) -> Participant:
    if role == "stranger":
        if world.stranger is None or world.stranger.participant:
            if world.stranger is not None:
                await world.stranger.close()  # it knocked, perhaps: a new stranger
            world.stranger = Fuzzer(world.http, world.server.base)
            await world.stranger.connect()
        return world.stranger
    if not await in_fuzzed_call(world):
        await fuzzed_call(world)
    person = world.staff if role == "staff" else world.member
    assert person is not None
    return person


async def exchange(world: World, role: str, text: str) -> list[Message]:
    """Send `text` as `role`, then a probe; the messages before the probe's answer."""
    person = await socket_for(world, role)
    # a socket may send 20 messages a second (test_floods checks the limit): stay under it
    wait = world.sent.get(role, 0.0) + 0.12 - time.monotonic()
    if wait > 0:
        await asyncio.sleep(wait)
    world.sent[role] = time.monotonic()
    while not person.inbox.empty():  # what others' actions caused meanwhile
        person.inbox.get_nowait()
    probe = f"probe-{next(world.probes)}"
    await person.send(text)
    await person.send(json.dumps({"type": probe}))
    replies: list[Message] = []
    deadline = time.monotonic() + 20
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"no answer to the probe after {text[:200]!r}: {replies}"
        assert person.ws is not None and not person.ws.closed, f"socket closed by {text[:200]!r}"
        assert person._reader is not None and not person._reader.done(), "unparsable reply"
        with contextlib.suppress(TimeoutError):
            message = await asyncio.wait_for(person.inbox.get(), min(left, 0.5))
            if isinstance(message, Error) and probe in message.reason:
                assert message.code == "unknown-type", message
                break
            replies.append(message)
    for message in replies:
        key = message.code if isinstance(message, Error) else message.type
        world.counts[key] = world.counts.get(key, 0) + 1
        if isinstance(message, Error):
            assert message.code in KNOWN_CODES, (message, text[:300])
            assert message.reason.strip(), message
    return replies


def errors(replies: list[Message]) -> list[str]:
    return [m.code for m in replies if isinstance(m, Error)]


# ------------------------------------------------------------------ message strategies

JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.text(max_size=30),
)
ANY_JSON = st.recursive(
    JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def fields_of(kind: str) -> dict[str, tuple[Any, bool]]:
    """Each field of message `kind`: its type, and whether it must be given."""
    cls = CLIENT_MESSAGES[kind]
    hints = typing.get_type_hints(cls)
    return {
        f.name: (
            hints[f.name],
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
        )
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
    }


@dataclass(frozen=True)
class Real:
    """The `index`-th value of field `name` that means something to the server when the
    message is sent (a real invite, a participant of either call): generated data may not
    depend on the server's state, so it is looked up only then."""

    name: str
    index: int


REAL_NAMES = {"call", "invite", "participant", "sdp_mid", "candidate"}
CANDIDATES = [
    "candidate:1 1 udp 2122260223 127.0.0.1 9 typ host",
    "candidate:2 1 udp 1686052607 192.0.2.7 61000 typ srflx raddr 10.0.0.2 rport 5000",
    "candidate:3 1 tcp 1518280447 127.0.0.1 9 typ host tcptype passive",
    "candidate:4 1 udp 2122262783 2001:db8::1 40000 typ host",
    "candidate:5 1 udp 2122260223 abcd-1234.local 50000 typ host",
    "candidate:6 1 udp 2122260223 127.0.0.1 70000 typ host",
    "candidate:7 1 udp 1 999.1.1.1 9 typ host",
]


def real_values(world: World, name: str) -> list[str]:
    """Values of field `name` that mean something to this server right now."""
    call = world.call
    watched = [p.participant for p in world.watched]
    fuzzed = [p.participant for p in (world.staff, world.member) if p is not None]
    table: dict[str, list[str]] = {
        "call": [str(call.get("id", ""))],
        "invite": [invite_of(call, "survivor"), invite_of(call, "interpreter")] if call else [],
        "participant": [*watched, *fuzzed, *world.lobby[-4:]],
        "sdp_mid": ["0", "1", "2"],
        "candidate": CANDIDATES,
    }
    return table.get(name) or [""]


def resolve(world: World, value: Any) -> Any:
    if isinstance(value, Real):
        values = real_values(world, value.name)
        return values[value.index % len(values)]
    return value


def valid_value(name: str, hint: Any) -> st.SearchStrategy[Any]:
    if hint is bool:
        return st.booleans()
    if hint is int:
        return st.integers(0, 2**16 - 1)
    choices = protocol.CHOICES.get(name)
    if choices is not None:
        return st.sampled_from(choices)
    limit = protocol.TEXT_LIMITS.get(name, protocol.MAX_ID_CHARS)
    text = st.text(max_size=min(limit, 200))
    if name in REAL_NAMES:
        return st.one_of(st.builds(Real, st.just(name), st.integers(0, 7)), text)
    return text


def wrong_value(hint: Any, name: str) -> st.SearchStrategy[Any]:
    """A JSON value the field's type does not allow."""
    if hint is bool:
        return ANY_JSON.filter(lambda v: not isinstance(v, bool))
    if hint is int:
        return st.one_of(
            ANY_JSON.filter(lambda v: not isinstance(v, int) or isinstance(v, bool)),
            st.integers(2**16, 2**70),
            st.integers(-(2**70), -1),
        )
    limit = protocol.TEXT_LIMITS.get(name, protocol.MAX_ID_CHARS)
    choices = protocol.CHOICES.get(name)
    wrong = [ANY_JSON.filter(lambda v: not isinstance(v, str))]
    wrong.append(st.integers(limit + 1, limit + 3000).map(lambda n: "é" * n))
    if choices is not None:
        wrong.append(st.text(max_size=12).filter(lambda v: v not in choices))
    return st.one_of(wrong)


@dataclass(frozen=True)
class Case:
    """A message of one type sent as `role`, maybe mutated; `codes` are the errors it must
    get (None: any known reply, it may be valid)."""

    role: str
    body: Any  # the JSON value to send; Real placeholders are looked up when sent
    codes: frozenset[str] | None
    cut: float = 1.0  # the share of the text sent (below 1: truncated JSON)
    ascii: bool = True

    def render(self, world: World) -> str:
        body = self.body
        if isinstance(body, dict):
            body = {k: resolve(world, v) for k, v in body.items()}
        elif isinstance(body, list):
            body = [{k: resolve(world, v) for k, v in b.items()} for b in body]
        text = json.dumps(body, ensure_ascii=self.ascii)
        if self.cut < 1:
            text = text[: int(self.cut * (len(text) - 1))]
        return text

    def expected(self, text: str) -> frozenset[str] | None:
        if len(text.encode()) > protocol.MAX_MESSAGE_BYTES:
            return frozenset({"too-large"})
        return self.codes


@st.composite
def message_case(draw: st.DrawFn, kind: str) -> Case:
    role = draw(st.sampled_from(["stranger", "staff", "member"]))
    fields = fields_of(kind)
    body: dict[str, Any] = {"type": kind}
    for name, (hint, required) in fields.items():
        if required or draw(st.booleans()):
            body[name] = draw(valid_value(name, hint))
    names = list(fields)
    mutations = ["none", "none", "extra-field", "not-object", "truncated", "bad-type", "type"]
    if names:
        mutations += ["wrong-value", "wrong-value"]
    if any(required for _, required in fields.values()):
        mutations.append("missing")
    mutation = draw(st.sampled_from(mutations))
    codes: set[str] | None = {"bad-field"}
    cut = 1.0
    sent: Any = body
    if mutation == "none":
        codes = None
    elif mutation == "extra-field":
        extra = draw(st.text(min_size=1, max_size=20).filter(lambda k: k not in body))
        body[extra] = draw(ANY_JSON)
    elif mutation == "wrong-value":
        name = draw(st.sampled_from(names))
        hint = fields[name][0]
        body[name] = draw(wrong_value(hint, name))
        if hint is str and isinstance(body[name], str):
            codes = {"bad-field", protocol.TOO_LONG_CODES.get(name, "bad-field")}
    elif mutation == "missing":
        name = draw(st.sampled_from([n for n, (_, required) in fields.items() if required]))
        body.pop(name, None)
    elif mutation == "type":
        body["type"] = draw(st.text(max_size=20).filter(lambda t: t not in CLIENT_MESSAGES))
        codes = {"unknown-type"}
    elif mutation == "bad-type":
        body["type"] = draw(ANY_JSON.filter(lambda v: not isinstance(v, str)))
        codes = {"bad-message"}
    elif mutation == "not-object":
        sent = draw(st.sampled_from([[body], kind, 7, None]))
        codes = {"bad-message"}
    elif mutation == "truncated":
        cut = draw(st.floats(0, 0.999))
        codes = {"bad-json"}
    return Case(role, sent, None if codes is None else frozenset(codes), cut, draw(st.booleans()))


# What a well-formed message always gets, whatever its values: a socket that has not joined
# may only join, preview, resume or leave; one that has may not join or resume again.
NEEDS_A_CALL = set(CLIENT_MESSAGES) - {"join", "preview", "resume", "leave"}


def normal_errors(role: str, kind: str) -> tuple[str, ...] | None:
    if role == "stranger" and kind in NEEDS_A_CALL:
        return ("not-joined",)
    if role == "stranger" and kind == "leave":
        return ()
    if role != "stranger" and kind in ("join", "resume"):
        return ("already-joined",)
    return None


@pytest.mark.parametrize("kind", sorted(CLIENT_MESSAGES))
def test_every_message_type_gets_its_reply_or_an_error(world: World, kind: str) -> None:
    before, seen = world.flow(), noticed_count(world)

    @FAST
    @given(case=message_case(kind))
    def fuzz(case: Case) -> None:
        text = case.render(world)
        replies = world.loop.run(exchange(world, case.role, text))
        if world.staff is not None:
            world.lobby += [
                m.participant  # type: ignore[attr-defined]
                for m in world.staff.seen[-8:]
                if m.type == "lobby-waiting"
            ]
        codes = case.expected(text)
        if codes is None:
            codes = normal_errors(case.role, kind)
            if codes is not None:
                assert errors(replies) == list(codes), (case.role, text[:300], replies)
            if case.role == "stranger" and kind == "leave":
                assert replies == [], replies  # nothing to leave: nothing said
        else:
            assert errors(replies), (text[:300], replies)
            assert set(errors(replies)) <= codes, (text[:300], replies, codes)
        assert "rate-limit" not in errors(replies)

    fuzz()
    call_beside_unaffected(world, before, seen)


# ------------------------------------------------------------------ SDP offers


def real_offer(world: World) -> str:
    """An offer as `Participant.start_media` makes it (aiortc, audio and video, 3 slots)."""
    from aiortc import RTCPeerConnection

    async def make() -> str:
        pc = RTCPeerConnection()
        try:
            pc.addTransceiver("audio", direction="sendonly")
            pc.addTransceiver("video", direction="sendonly")
            for _ in range(3):
                pc.addTransceiver("audio", direction="recvonly")
                pc.addTransceiver("video", direction="recvonly")
            await pc.setLocalDescription(await pc.createOffer())
            return str(pc.localDescription.sdp)
        finally:
            await pc.close()

    return world.loop.run(make())


UNUSABLE = "unusable"  # mutations after which no server could use the offer


def mutate_sdp(draw: st.DrawFn, sdp: str) -> tuple[str, str]:
    lines = sdp.split("\r\n")
    kind = draw(
        st.sampled_from(
            [
                "truncate-line",
                "drop-line",
                "huge-field",
                "wrong-m-line",
                "no-ice-ufrag",
                "no-ice-pwd",
                "bad-fingerprint",
                "unicode",
                "cut",
                "duplicate-line",
                "garbage-line",
                "no-media",
                "not-sdp",
            ]
        )
    )
    index = draw(st.integers(0, len(lines) - 1))
    if kind == "truncate-line":
        lines[index] = lines[index][: draw(st.integers(0, max(0, len(lines[index]) - 1)))]
    elif kind == "drop-line":
        del lines[index]
    elif kind == "huge-field":
        size = draw(st.sampled_from([1000, 10_000, 40_000]))
        lines[index] += draw(st.sampled_from(["x", "9", " ", ":", "é"])) * size
    elif kind == "wrong-m-line":
        m_lines = [i for i, line in enumerate(lines) if line.startswith("m=")]
        i = draw(st.sampled_from(m_lines))
        lines[i] = draw(
            st.sampled_from(
                [
                    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
                    "m=audio 9 RTP/AVP 0",
                    "m=video 9 UDP/TLS/RTP/SAVPF 126",
                    "m=video",
                    "m=text 9 UDP/TLS/RTP/SAVPF 96",
                    "m=audio x UDP/TLS/RTP/SAVPF 111",
                    "m=audio 9 UDP/TLS/RTP/SAVPF 99999999999999999999",
                    "m=",
                ]
            )
        )
    elif kind in ("no-ice-ufrag", "no-ice-pwd"):
        prefix = "a=ice-ufrag:" if kind == "no-ice-ufrag" else "a=ice-pwd:"
        lines = [line for line in lines if not line.startswith(prefix)]
        kind = UNUSABLE
    elif kind == "bad-fingerprint":
        value = draw(
            st.sampled_from(
                [
                    "a=fingerprint:sha-256 ZZ:00",
                    "a=fingerprint:sha-999 00:11:22",
                    "a=fingerprint:",
                    "a=fingerprint:garbage",
                    "a=fingerprint:sha-256 " + "AB:" * 5000,
                ]
            )
        )
        lines = [value if line.startswith("a=fingerprint:") else line for line in lines]
    elif kind == "unicode":
        lines[index] = lines[index] + draw(st.text(min_size=1, max_size=40))
    elif kind == "cut":
        text = "\r\n".join(lines)
        return text[: draw(st.integers(0, len(text) - 1))], kind
    elif kind == "duplicate-line":
        lines.insert(index, lines[index])
    elif kind == "garbage-line":
        lines.insert(index, draw(st.text(max_size=80)))
    elif kind == "no-media":
        first = next(i for i, line in enumerate(lines) if line.startswith("m="))
        lines = lines[:first]
        kind = UNUSABLE
    elif kind == "not-sdp":
        return draw(st.text(max_size=400)), UNUSABLE
    return "\r\n".join(lines), kind


@st.composite
def bad_offer(draw: st.DrawFn, sdp: str) -> tuple[str, str]:
    text, kind = mutate_sdp(draw, sdp)
    if draw(st.integers(0, 3)) == 0:  # sometimes twice over
        text, second = mutate_sdp(draw, text) if "m=" in text else (text, kind)
        kind = UNUSABLE if UNUSABLE in (kind, second) else second
    return text, kind


def test_mutated_offers_get_bad_sdp_and_harm_nobody(world: World) -> None:
    before, seen = world.flow(), noticed_count(world)
    sdp = real_offer(world)
    outcomes: dict[str, int] = {}

    @settings(FAST, max_examples=SDP_EXAMPLES)
    @given(case=bad_offer(sdp))
    def fuzz(case: tuple[str, str]) -> None:
        text, kind = case
        payload = Offer(text).to_json()
        replies = world.loop.run(exchange(world, "member", payload))
        answers = [m for m in replies if m.type == "answer"]
        codes = errors(replies)
        if len(payload.encode()) > protocol.MAX_MESSAGE_BYTES:
            assert codes == ["too-large"], replies
            return
        if len(text) > protocol.MAX_SDP_CHARS:
            assert codes == ["bad-field"], replies
            return
        assert len(answers) + len(codes) == 1, (kind, replies)
        assert set(codes) <= {"bad-sdp", "unsupported-codec"}, (kind, text[:300], replies)
        if kind == UNUSABLE:
            assert codes, (kind, text[:300], replies)
        key = codes[0] if codes else "answer"
        outcomes[key] = outcomes.get(key, 0) + 1

    fuzz()
    # after all that, a good offer from the same socket is still answered
    replies = world.loop.run(exchange(world, "member", Offer(sdp).to_json()))
    assert [m.type for m in replies] == ["answer"], replies
    print(f"\nmutated offers: {outcomes}")
    call_beside_unaffected(world, before, seen)


# An unknown field's name or type is quoted in the reason with repr() after cutting it to 32
# characters, so a reason can run past the 64 characters of an id: the protocol's own parser
# (the bench's client reads every error with it) must still accept it.
TOO_LONG_REASONS = [
    '{"type":"check-in-answer","answer":"ok","' + "x" * 32 + '":1}',  # 65 characters
    '{"type":"' + "\\u0005" * 32 + '"}',  # each character quoted as \x05
    '{"type":"mute","audio":true,"video":true,"' + "\\u200b" * 12 + '":1}',  # \u200b
]


@pytest.mark.parametrize("text", TOO_LONG_REASONS)
async def test_every_error_passes_the_protocols_own_parser(
    server: RunningServer, http: aiohttp.ClientSession, text: str
) -> None:
    ws = await http.ws_connect(server.base.replace("https://", "wss://") + "/ws")
    try:
        await ws.send_str(text)
        reply = await ws.receive_str(timeout=10)
    finally:
        await ws.close()
    assert json.loads(reply)["type"] == "error"
    error = parse_server_message(reply)
    assert error.type == "error" and len(error.reason) > 64  # type: ignore[attr-defined]


# Offers no browser sends that aiortc refuses only when answering (an m-line with no
# direction: createAnswer) or when setting the answer (a renegotiation that moves a data
# channel: setLocalDescription): found by the property test above, they get bad-sdp too.
def without_first(sdp: str, line: str) -> str:
    """The offer without the first `line` (e.g. an m-line's direction)."""
    return sdp.replace(line + "\r\n", "", 1)


def data_channel_at(sdp: str, index: int) -> str:
    """The offer with its m-line number `index` replaced by a data channel section."""
    lines = sdp.split("\r\n")
    at = [i for i, line in enumerate(lines) if line.startswith("m=")][index]
    lines[at] = "m=application 9 UDP/DTLS/SCTP webrtc-datachannel"
    return "\r\n".join(lines)


@pytest.mark.parametrize(
    "case",
    [
        # an m-line with no direction: createAnswer raises "None is not in list"
        pytest.param("no-direction", id="first-offer-without-a-direction"),
        # setLocalDescription raises "Media sections in answer do not match offer"
        pytest.param("moved-data-channel", id="renegotiation-moving-a-data-channel"),
        # a section of a kind aiortc does not know, first in the bundle: setRemoteDescription
        # fails half-way, its connection cannot then be closed as it is, and aiortc's own
        # connecting task fails later (found by the property test above in a CI run)
        pytest.param("text-section", id="first-offer-with-a-text-section"),
    ],
)
async def test_offers_that_aiortc_cannot_answer_are_bad_sdp(
    server: RunningServer, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    from test_call_aiortc import admitted_guest as guest_of
    from test_call_aiortc import staff_in_call as staff_of

    _api, call, staff = await staff_of(http, server)
    survivor = await guest_of(http, server, staff, invite_of(call, "survivor"), "Sam")
    try:
        offer = await aiortc_offer()
        if case == "no-direction":
            bad = without_first(offer, "a=sendonly")
        elif case == "text-section":
            lines = offer.split("\r\n")
            first = next(i for i, line in enumerate(lines) if line.startswith("m="))
            lines[first] = "m=text 9 UDP/TLS/RTP/SAVPF 96"
            bad = "\r\n".join(lines)
        else:
            first = data_channel_at(offer, 0)  # answered: the server forwards no data channel
            assert (await offer_reply(survivor, first)).type == "answer"
            bad = data_channel_at(offer, 1)
        reply = await offer_reply(survivor, bad)
        faults = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert not faults, faults
        assert isinstance(reply, Error) and reply.code == "bad-sdp", reply
        # and the socket goes on: a good offer is answered
        assert (await offer_reply(survivor, offer)).type == "answer"
    finally:
        for person in (staff, survivor):
            await person.close()


async def aiortc_offer() -> str:
    from aiortc import RTCPeerConnection

    pc = RTCPeerConnection()
    try:
        pc.addTransceiver("audio", direction="sendonly")
        pc.addTransceiver("video", direction="sendonly")
        for _ in range(3):
            pc.addTransceiver("audio", direction="recvonly")
            pc.addTransceiver("video", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        return str(pc.localDescription.sdp)
    finally:
        await pc.close()


async def offer_reply(person: Participant, sdp: str) -> Message:
    await person.send(Offer(sdp))
    while True:
        message = await asyncio.wait_for(person.inbox.get(), 15)
        if message.type in ("answer", "error"):
            return message


def test_known_codes_were_read() -> None:
    assert {"bad-field", "bad-sdp", "unsupported-codec", "not-joined"} <= KNOWN_CODES
