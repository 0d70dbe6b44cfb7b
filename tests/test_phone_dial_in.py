"""Phones dialing in (issue 15; docs/phone.md), with a real SIP phone: sipp in a network
namespace of the test's own, joined to the server's by a veth pair, calls the server's SIP
port as the organization's trunk would.

- Staff allow phone audio; the survivor's page is given a code; the phone dials in, enters
  it (RFC 4733) and speaks (a tone): staff hear it in the survivor's name, the phone hears
  the call, the survivor's page is told the phone carries its voice; the phone hangs up and
  the page is given its sound back and a new code.
- The caller's number is in no log line and in nothing a page is sent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from conftest import RunningServer, loopback_config, start_server
from netlab import VethLink, veth_link
from sip_phone import CALLER, PCMU_PT, Caller, Wiretap, dial, dial_refused
from test_call_aiortc import (
    admitted_guest,
    invite_of,
    media_counts,
    more_media,
    staff_in_call,
    wait_until,
)

from bench.client import Participant
from media.phone_audio import Decoding
from server.config import Config
from server.workers import WorkerPool
from signaling.protocol import (
    CantTalk,
    Joined,
    PeerJoined,
    PeerLeft,
    PhoneAllow,
    PhoneCode,
    PhoneVoice,
    Resume,
)

HERE = Path(__file__).resolve().parent
NUMBER = "+1 555 010 0199"
HEARD = 1000.0  # RMS of a voice heard: the tones sent are about 4000 to 6000


@pytest.fixture
def link() -> Iterator[VethLink]:
    with veth_link("ph") as made:
        yield made


@dataclass
class Scene:
    """A server that takes phones from the namespace's sipp, a wiretap on what it sends the
    phone, and the people a test adds (closed afterwards)."""

    link: VethLink
    server: RunningServer
    sip_port: int
    tap: Wiretap
    people: list[Participant] = field(default_factory=list)

    @property
    def phone_at(self) -> tuple[str, str, str, int]:
        link = self.link
        return link.netns, link.peer_address, link.server_address, self.sip_port


@pytest.fixture
async def scene(link: VethLink, staff_path: Path) -> AsyncIterator[Scene]:
    sip_port = free_udp_port(link.server_address)
    runner, server = await start_server(phone_config(staff_path, link, sip_port))
    made = Scene(link, server, sip_port, Wiretap(link.here, link.peer_address))
    try:
        yield made
    finally:
        made.tap.close()
        for person in made.people:
            await person.close()
        await runner.cleanup()


def free_udp_port(address: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((address, 0))
        port: int = s.getsockname()[1]
        return port


def phone_config(staff_path: Path, link: VethLink, sip_port: int) -> Config:
    return loopback_config(
        staff_path,
        media_workers=1,
        sip_listen=f"{link.server_address}:{sip_port}",
        sip_trunk=[f"{link.peer_address}/32"],
        dial_in_number=NUMBER,
    )


def packets_heard(person: Participant, source: str) -> int:
    return person.received("audio", source)


def level_heard(person: Participant, source: str, frames: int = 100) -> float:
    """The RMS of the latest audio `person` received from `source`, decoded."""
    assert person.heard is not None
    mids = [m for m, p in person.streams.items() if p == source and person.kinds.get(m) == "audio"]
    payloads = [p for mid in mids for p in list(person.heard.get(mid, []))[-frames:]]
    decoding = Decoding("opus/48000")
    frames_out = [pcm for n, p in enumerate(payloads) for pcm in decoding.decode(p, n * 960)]
    samples = [s for pcm in frames_out for s in pcm]
    return math.sqrt(sum(s * s for s in samples) / len(samples)) if samples else 0.0


async def call_with_phones(
    http: aiohttp.ClientSession, server: RunningServer
) -> tuple[Participant, Participant]:
    """Staff and an admitted survivor, whose audio is kept, with media flowing."""
    _api, call, staff = await staff_in_call(http, server)
    survivor = await admitted_guest(http, server, staff, invite_of(call, "survivor"), "Sam")
    for person in (staff, survivor):
        person.stamps = False  # their Opus goes to a decoder: nothing after the frame
        person.heard = {}
        await person.start_media(max_participants=4)
    return staff, survivor


async def phone_joined(staff: Participant) -> PeerJoined:
    """The next `peer-joined` of a phone that staff are sent."""
    while True:
        joined = await staff.expect("peer-joined", timeout=30)
        assert isinstance(joined, PeerJoined)
        if joined.peer.phone:
            return joined


async def phone_joins(
    scene: Scene, work: Path, staff: Participant, survivor: Participant, seconds: float
) -> tuple[str, asyncio.Task[tuple[int, str]], str]:
    """Staff allow phones, the survivor's code is dialed by sipp, which then speaks for
    `seconds` and hangs up: the phone's participant id, the dialing, and the code used."""
    await staff.send(PhoneAllow(on=True))
    code = await survivor.expect("phone-code")
    assert isinstance(code, PhoneCode) and code.number == NUMBER and len(code.digits) == 8
    caller = Caller().keys(code.digits).voice(seconds)
    hold_ms = int(caller.seconds * 1000) + 500
    dialing = asyncio.create_task(dial(*scene.phone_at, work, caller, hold_ms))
    joined = await phone_joined(staff)
    return joined.peer.participant, dialing, code.digits


async def test_a_phone_with_its_code_is_heard_hears_the_call_and_hands_back(
    scene: Scene, http: aiohttp.ClientSession, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server, tap, people = scene.server, scene.tap, scene.people
    caplog.set_level(logging.DEBUG)
    staff, survivor = people[:] = await call_with_phones(http, server)
    pid, dialing, digits = await phone_joins(scene, tmp_path, staff, survivor, 11.0)
    phone = next(
        m.peer for m in staff.seen if isinstance(m, PeerJoined) and m.peer.participant == pid
    )
    assert phone.phone and phone.phone_of == survivor.participant and phone.name == "Sam"
    assert not phone.e2ee and phone.mode == "audio"
    voice = await survivor.expect("phone-voice")
    assert isinstance(voice, PhoneVoice) and voice.on and voice.phone == phone.participant
    in_call = time.monotonic()

    await asyncio.sleep(3.0)
    staff_hears = level_heard(staff, phone.participant)
    phone_hears = tap.level(since=in_call + 1.0)
    print(f"\nstaff hear the phone at RMS {staff_hears:.0f}; the phone hears the call at "
          f"RMS {phone_hears:.0f}")  # fmt: skip
    assert staff_hears > HEARD
    assert phone_hears > HEARD

    # "I can't talk now": the phone in their room plays nothing and carries nothing.
    heard_before = packets_heard(staff, phone.participant)
    await survivor.send(CantTalk(on=True))
    await asyncio.sleep(0.5)
    hushed, hushed_heard = time.monotonic(), packets_heard(staff, phone.participant)
    await asyncio.sleep(1.5)
    phone_hushed = tap.level(since=hushed, until=time.monotonic())
    carried = packets_heard(staff, phone.participant) - hushed_heard
    await survivor.send(CantTalk(on=False))
    await asyncio.sleep(1.0)
    print(f"can't talk: the phone hears RMS {phone_hushed:.0f}; staff got {carried} of its packets")
    assert phone_hushed < 50 and carried < 5 and hushed_heard > heard_before
    assert level_heard(staff, phone.participant, frames=25) > HEARD  # back

    status, screen = await dialing
    assert status == 0, screen
    left = await staff.expect("peer-left", timeout=10)
    assert isinstance(left, PeerLeft) and left.participant == phone.participant
    back = await survivor.expect("phone-voice")
    assert isinstance(back, PhoneVoice) and not back.on
    again = await survivor.expect("phone-code")
    assert isinstance(again, PhoneCode) and len(again.digits) == 8
    assert again.digits != digits

    seen = " ".join(m.to_json() for person in people for m in person.seen)
    logged = " ".join(r.getMessage() for r in caplog.records)
    for secret in (CALLER, CALLER[1:], digits):
        assert secret not in logged
    assert CALLER[1:] not in seen


async def test_a_code_in_keypad_tones_over_u_law_is_read_too(
    scene: Scene, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    """A phone that sends no RFC 4733 events: its keypad's tones, in its G.711 u-law."""
    _api, call, staff = await staff_in_call(http, scene.server)
    survivor = await admitted_guest(http, scene.server, staff, invite_of(call, "survivor"), "Sam")
    scene.people[:] = [staff, survivor]
    await staff.send(PhoneAllow(on=True))
    code = await survivor.expect("phone-code")
    assert isinstance(code, PhoneCode)
    caller = Caller(payload_type=PCMU_PT).silence(0.5).keypad_tones(code.digits).voice(1.0)
    hold_ms = int(caller.seconds * 1000)
    dialing = asyncio.create_task(dial(*scene.phone_at, tmp_path, caller, hold_ms))
    joined = await phone_joined(staff)
    assert joined.peer.phone_of == survivor.participant
    status, screen = await dialing
    assert status == 0, screen


async def test_wrong_codes_strangers_floods_and_bad_requests_get_clear_answers_beside_a_call(
    scene: Scene, http: aiohttp.ClientSession, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server, tap, link, people = scene.server, scene.tap, scene.link, scene.people
    sip_port = scene.sip_port
    caplog.set_level(logging.DEBUG)
    staff, survivor = people[:] = await call_with_phones(http, server)
    await staff.send(PhoneAllow(on=True))
    code = await survivor.expect("phone-code")
    assert isinstance(code, PhoneCode)
    await asyncio.sleep(1.0)
    media = media_counts(people)

    # Three wrong codes: a tone answers each, and after the third we hang up.
    wrong = "".join(str((int(d) + 1) % 10) for d in code.digits)
    caller = Caller().silence(1.0)
    for _ in range(3):
        caller.keys(wrong).silence(1.5)
    started = time.monotonic()
    status, screen = await dial(*scene.phone_at, tmp_path, caller, 30_000, server_hangs_up=True)
    assert status == 0, screen  # our BYE came, and sipp answered it
    took = time.monotonic() - started
    heard = tap.level(since=started)
    print(f"\nthree wrong codes: hung up after {took:.1f} s; the tones at RMS {heard:.0f}")
    assert heard > HEARD and took < caller.seconds + 5.0

    # A stranger: an address the trunk does not list gets 403.
    stranger = link.peer_address.rsplit(".", 1)[0] + ".6"
    link.add_peer_address(stranger)
    status, screen = await dial_refused(link.netns, stranger, link.server_address,
                                        sip_port, tmp_path, 403)  # fmt: skip
    assert status == 0, screen

    # Malformed requests and offers, then a flood of INVITEs.
    flood = await asyncio.create_subprocess_exec(
        "ip", "netns", "exec", link.netns, sys.executable, str(HERE / "sip_flood.py"),
        link.server_address, str(sip_port), "40", CALLER,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(flood.communicate(), 60)
    assert flood.returncode == 0, err.decode()
    report = json.loads(out)
    print(f"bad requests and a flood of 40 INVITEs: {report}")
    assert report["not-sip"] == []  # no Via to answer to: dropped
    assert report["length-lies"] == [400]
    assert report["no-audio"] == report["no-codec"] == [488]
    flood_answers = {int(k): v for k, v in report["flood"].items()}
    assert sum(flood_answers.values()) == 40
    assert flood_answers.get(200, 0) <= 20  # at most 20 phone calls at once
    assert flood_answers.get(486, 0) > 0 and flood_answers.get(503, 0) > 0

    # The call beside kept its media all along, and nothing logged names the caller.
    assert more_media(people, media, by=100), media_counts(people)
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert CALLER[1:] not in logged and code.digits not in logged
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_the_phone_keeps_the_voice_while_its_page_is_cut_off_and_hands_it_back_after(
    scene: Scene, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    server, tap, people = scene.server, scene.tap, scene.people
    staff, survivor = people[:] = await call_with_phones(http, server)
    phone, dialing, _ = await phone_joins(scene, tmp_path, staff, survivor, 20.0)
    await survivor.expect("phone-voice")
    resume = next(m.resume for m in survivor.seen if isinstance(m, Joined))

    # The survivor's page is cut off (no leave): for 10 s only the phone is there.
    assert survivor.ws is not None
    await survivor.ws.close()
    await survivor.close()
    await staff.expect("peer-away")
    cut = time.monotonic()
    await asyncio.sleep(10.0)
    staff_hears = level_heard(staff, phone)
    phone_hears = tap.level(since=cut + 1.0)
    print(f"\npage cut off for 10 s: staff hear the phone at RMS {staff_hears:.0f}, the "
          f"phone hears staff at RMS {phone_hears:.0f}")  # fmt: skip
    assert staff_hears > HEARD and phone_hears > HEARD
    assert not any(isinstance(m, PeerLeft) and m.participant == phone for m in staff.seen)

    # The page comes back: it is told at once that the phone still carries its voice.
    back = Participant(http, server.base)
    people.append(back)
    await back.connect()
    await back.send(Resume(resume))
    await back.expect("joined")
    voice = await back.expect("phone-voice")
    assert isinstance(voice, PhoneVoice) and voice.on and voice.phone == phone

    status, screen = await dialing
    assert status == 0, screen
    returned = await back.expect("phone-voice", timeout=10)
    assert isinstance(returned, PhoneVoice) and not returned.on


async def test_a_phone_whose_media_worker_dies_is_joined_again_on_its_restart(
    scene: Scene, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    server, tap, people = scene.server, scene.tap, scene.people
    pool = server.state.hub
    assert isinstance(pool, WorkerPool)
    staff, survivor = people[:] = await call_with_phones(http, server)
    phone, dialing, _ = await phone_joins(scene, tmp_path, staff, survivor, 14.0)
    await asyncio.sleep(2.0)
    (worker,) = pool.workers
    assert worker.proc is not None
    os.kill(worker.proc.pid, signal.SIGKILL)
    await wait_until(lambda: worker.alive and worker.exits == 1, timeout=15)
    for person in (staff, survivor):
        person.heard = {}  # what comes after the restart only
    back = time.monotonic()
    await asyncio.sleep(4.0)
    staff_hears = level_heard(staff, phone)
    phone_hears = tap.level(since=back + 2.0)
    print(f"\nafter the worker's restart: staff hear the phone at RMS {staff_hears:.0f}, "
          f"the phone hears the call at RMS {phone_hears:.0f}")  # fmt: skip
    assert staff_hears > HEARD and phone_hears > HEARD
    status, screen = await dialing  # and the phone hangs up as it meant to
    assert status == 0, screen
