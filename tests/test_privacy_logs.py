"""Integration: a whole call at DEBUG logs nothing about who, where or what was said.

The server's own logging setup (`server.logs.setup`) is used, and what its handler would
write to stderr is captured by swapping that handler's stream: the PrivacyFilter and the
format apply exactly as in production.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
from conftest import STAFF_NAME, STAFF_PASSWORD, loopback_config, start_server
from test_call_aiortc import admitted_guest, invite_of, staff_in_call, wait_until

from bench.client import Participant
from server import logs
from server.logs import LogBudget
from signaling.protocol import (
    Candidate,
    CantTalk,
    ChatLine,
    ChatSend,
    CheckIn,
    CheckInAnswer,
    CheckInReply,
    Deny,
    E2eeFrom,
    E2eeSend,
    Error,
    Join,
    Joined,
    Leave,
    LobbyWaiting,
    Mute,
    Resume,
    SetMode,
)

SURVIVOR = "Hannah Quinn"
INTERPRETER = "Ines Ortega"
TURNED_AWAY = "Olga Petrova"
NAMES = (SURVIVOR, INTERPRETER, TURNED_AWAY)
WRONG_PASSWORD = "not the right password"
GUESSED_INVITE = "GuessedInviteToken0123456789abcdefXYZ"
# What survivor and staff type in the chat: none of it may reach a log line.
CHAT_TEXTS = (
    "He reads my messages every night",
    "Meet me by the library side door",
    "Is Tuesday at noon safe for you?",
)
OVERLONG_CHAT = "Overflowing secret " + "x" * 1000
# What pages exchange for their keys (base64url): none of it may reach a log line either.
E2EE_PUBLIC = "Wm9lUHVibGljS2V5T2ZUaGlzUGFnZV9ub3RfbG9nZ2Vk"
E2EE_SEALED = "U2VhbGVkQ2FsbEtleUZvclRoZVN1cnZpdm9yX25vdF9sb2dnZWQ"

IPV4 = re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])")
IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])|::1\b")
# ICE and SDP words that have no business in a log line.
FORBIDDEN_WORDS = (
    "candidate",
    "a=fingerprint",
    "fingerprint",
    "ufrag",
    "ice-pwd",
    "m=audio",
    "m=video",
    "a=ssrc",
    "a=mid",
    "cname",
    "IN IP4",
    "typ host",
    "sha-256",
)


def leaks(lines: Iterable[str], secrets: Iterable[str]) -> list[str]:
    """Every line that shows an address, one of `secrets`, or an ICE/SDP word."""
    secrets = [s for s in secrets if s]
    found = []
    for line in lines:
        why = [s for s in secrets if s in line]
        why += [w for w in FORBIDDEN_WORDS if w.lower() in line.lower()]
        why += IPV4.findall(line) + IPV6.findall(line)
        if why:
            found.append(f"{line!r}  <- {why}")
    return found


def test_the_leak_check_can_fail() -> None:
    assert leaks(["INFO server.ws: [c1] from 127.0.0.1"], [])
    assert leaks(["INFO server.ws: [c1] from ::1"], [])
    assert leaks(["INFO server.ws: [c1] at fe80::1:2:3"], [])
    assert leaks(["DEBUG media.peer: a=fingerprint:sha-256 AB:CD"], [])
    assert leaks(["INFO server.ws: joined as Hannah Quinn"], [SURVIVOR])
    assert not leaks(["INFO server.ws: [c12] joined as survivor (2 in all)"], NAMES)


def sdp_secrets(sdp: str) -> list[str]:
    """ICE credentials and DTLS fingerprints of an SDP: unique to this call."""
    values = re.findall(r"^a=(?:ice-ufrag|ice-pwd):(\S+)", sdp, re.M)
    values += re.findall(r"^a=fingerprint:\S+ (\S+)", sdp, re.M)
    return values


@contextmanager
def server_logging(level: str) -> Iterator[io.StringIO]:
    """`logs.setup(level)` with its output captured; the previous logging config comes back."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    libraries = {name: logging.getLogger(name).level for name in logs.QUIET_LIBRARIES}
    access = logging.getLogger("aiohttp.access")
    saved_access = access.disabled
    out = io.StringIO()
    try:
        logs.setup(level)
        (handler,) = root.handlers
        assert isinstance(handler, logging.StreamHandler)
        assert any(isinstance(f, logs.PrivacyFilter) for f in handler.filters)
        handler.setStream(out)  # what would have gone to stderr
        yield out
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        for name, library_level in libraries.items():
            logging.getLogger(name).setLevel(library_level)
        access.disabled = saved_access


async def whole_call(
    staff_path: Path, http: aiohttp.ClientSession, level: str
) -> tuple[str, list[str]]:
    """A whole call (refusals, a drop and comeback, chat, check-ins) with the server logging
    at `level`: what it wrote, and every secret of the call that must not be in it."""
    secrets = [STAFF_NAME, STAFF_PASSWORD, WRONG_PASSWORD, GUESSED_INVITE, OVERLONG_CHAT[:19]]
    secrets += [
        *CHAT_TEXTS,
        *(word for text in CHAT_TEXTS for word in text.split() if len(word) > 4),
    ]
    secrets += [*NAMES, *(part for name in NAMES for part in name.split())]
    secrets += [E2EE_PUBLIC, E2EE_SEALED]
    people: list[Participant] = []
    with server_logging(level) as out:
        # A library's record must come out rewritten: proof the filter is on this path.
        logging.getLogger("aioice.ice").error("pair %s -> candidate %s", "127.0.0.1", "10.1.2.3")
        # Media in this process too, so its records are captured here with the rest.
        runner, server = await start_server(loopback_config(staff_path))
        try:
            async with http.post(
                f"{server.base}/api/token", json={"name": STAFF_NAME, "password": WRONG_PASSWORD}
            ) as r:
                assert r.status == 401
            api, call, staff = await staff_in_call(http, server)
            people.append(staff)
            secrets += [api.token, str(call["id"]), staff.participant]
            secrets += [invite_of(call, role) for role in ("survivor", "interpreter")]

            # Someone who is turned away from the lobby, and someone guessing an invite.
            stranger = Participant(http, server.base)
            people.append(stranger)
            await stranger.connect()
            await stranger.send(Join(invite=GUESSED_INVITE, name="Guesser Person"))
            await stranger.expect("error")
            denied = Participant(http, server.base)
            people.append(denied)
            await denied.connect()
            await denied.send(Join(invite=invite_of(call, "survivor"), name=TURNED_AWAY))
            await denied.expect("waiting")
            waiting = await staff.expect("lobby-waiting")
            assert isinstance(waiting, LobbyWaiting) and waiting.name == TURNED_AWAY
            secrets.append(waiting.participant)
            await staff.send(Deny(waiting.participant))
            await denied.expect("denied")

            survivor = await admitted_guest(
                http, server, staff, invite_of(call, "survivor"), SURVIVOR
            )
            people.append(survivor)
            interpreter = await admitted_guest(
                http, server, staff, invite_of(call, "interpreter"), INTERPRETER
            )
            people.append(interpreter)
            everyone = [staff, survivor, interpreter]
            secrets += [p.participant for p in everyone]

            for person in everyone:
                await person.start_media(max_participants=4)
            # One trickled candidate, as browsers send them.
            await survivor.send(
                Candidate("candidate:1 1 udp 2130706431 127.0.0.1 9 typ host", "0", 0)
            )

            def all_flowing(more: int) -> bool:
                return all(
                    viewer.received(kind, source.participant) >= more
                    for viewer in everyone
                    for source in everyone
                    if source is not viewer
                    for kind in ("audio", "video")
                )

            await wait_until(lambda: all_flowing(20))
            for person in everyone:
                assert person.pc is not None
                secrets += sdp_secrets(person.pc.localDescription.sdp)
                secrets += sdp_secrets(person.pc.remoteDescription.sdp)

            await survivor.send(Mute(audio=False, video=True))
            await staff.expect("peer-muted")
            await interpreter.expect("peer-muted")
            # Chat, its refusals, a check-in and "can't talk now": no text reaches the log.
            for sender, text in zip((survivor, survivor, staff), CHAT_TEXTS, strict=True):
                await sender.send(ChatSend(text))
                line = await interpreter.expect("chat")
                assert isinstance(line, ChatLine) and line.text == text
            await survivor.send(ChatSend(OVERLONG_CHAT))
            refusal = await survivor.expect("error")
            assert isinstance(refusal, Error) and refusal.code == "chat-too-long"
            # End-to-end encryption messages, to everyone and to one, and one refused:
            # relayed as they came, and nothing of them reaches the log.
            await survivor.send(E2eeSend("", E2EE_PUBLIC))
            for reader in (staff, interpreter):
                got = await reader.expect("e2ee")
                assert got == E2eeFrom(survivor.participant, E2EE_PUBLIC)
            await staff.send(E2eeSend(survivor.participant, E2EE_SEALED))
            assert await survivor.expect("e2ee") == E2eeFrom(staff.participant, E2EE_SEALED)
            await survivor.send(E2eeSend("", E2EE_SEALED + "!"))
            refusal = await survivor.expect("error")
            assert isinstance(refusal, Error) and refusal.code == "bad-field"
            await survivor.send(SetMode("text"))
            await staff.expect("peer-mode")
            await staff.send(CheckIn())
            await survivor.expect("check-in")
            await survivor.send(CheckInAnswer("go"))
            answer = await staff.expect("check-in-answer")
            assert isinstance(answer, CheckInReply) and answer.answer == "go"
            await survivor.send(CantTalk(True))
            await staff.expect("peer-cant-talk")
            # The interpreter's socket drops and they come back: no resume secret is logged.
            first = [m for m in interpreter.seen if isinstance(m, Joined)][-1].resume
            assert interpreter.ws is not None
            await interpreter.ws.close()
            await staff.expect("peer-away")
            back = Participant(http, server.base)
            people.append(back)
            await back.connect()
            await back.send(Resume(first))
            joined = await back.expect("joined")
            assert isinstance(joined, Joined) and joined.resumed
            secrets += [first, joined.resume]
            await staff.expect("peer-back")
            await back.send(Leave())
            await staff.expect("peer-left")
            await survivor.expect("peer-left")
            await staff.send(Mute(audio=True, video=False))
            await survivor.expect("peer-muted")
            await staff.send('{"type": "dance"}')  # refused, and the refusal is logged
            await staff.expect("error")
            await staff.send('{"type": "end"}')
            await survivor.expect("ended")
            await staff.expect("ended")
        finally:
            for person in people:
                await person.close()
            await runner.cleanup()
        text = out.getvalue()
    return text, secrets


async def test_a_whole_call_logs_nothing_identifying_at_debug(
    staff_path: Path, http: aiohttp.ClientSession
) -> None:
    text, secrets = await whole_call(staff_path, http, "DEBUG")
    lines = text.splitlines()
    # The capture saw the server's own records at DEBUG, and the library one rewritten.
    assert "DEBUG server.ws: " in text, text
    for expected in (
        "joined as staff",
        "joined as survivor",
        "joined as interpreter",
        "message refused: invalid-invite",
        "server stopped",
        "aioice.ice reported something at level error (details withheld)",
    ):
        assert expected in text, f"no {expected!r} in the log:\n{text}"
    assert len(lines) >= 10, text

    found = leaks(lines, secrets)
    assert not found, "identifying details in the log:\n" + "\n".join(found)


async def test_a_whole_call_at_the_default_level_writes_no_line(
    staff_path: Path, http: aiohttp.ClientSession
) -> None:
    """At INFO the log keeps the server's lifecycle and faults only: nothing says when a
    call, a join, a leave or a refusal happened."""
    text, _secrets = await whole_call(staff_path, http, "INFO")
    lifecycle = ("server stopped", "aioice.ice reported something at level error")
    extra = [line for line in text.splitlines() if not any(w in line for w in lifecycle)]
    assert not extra, "per-call lines at the default level:\n" + "\n".join(extra)
    assert "server stopped" in text


def test_refusals_anyone_can_cause_are_limited_in_the_log() -> None:
    budget = LogBudget(rate=0.0, burst=3)
    assert [budget.allow() for _ in range(5)] == [True, True, True, False, False]
    assert budget.withheld == 2
