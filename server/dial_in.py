"""Phones dialing in over the organization's SIP trunk (docs/phone.md), in the signaling
process: the UAS answers, each phone call gets an RTP socket of its own, tones ask for the
code, and the digits (RFC 4733 events, or the keypad's tones in the sound) find whose voice
it is. Once the phone is in the call, its RTP is relayed to a phone leg in the call's media
worker (media/phone_leg.py) and back; nothing of the sound is kept here.

Nothing here logs a number, a code or a name: SIP carries callers' numbers, and the only
trace of one is an HMAC in memory for the guessing limit (signaling/phone_codes.py).
"""

from __future__ import annotations

import array
import asyncio
import ipaddress
import logging
import math
import re
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from media import g711, rtpraw
from media.dtmf import InBand, TelephoneEvents
from media.errors import MediaError
from media.sip_digest import DigestGuard
from media.sip_message import SipRequest
from media.sip_sdp import AudioOffer, SdpError, answer_sdp, parse_offer
from media.sip_uas import Decision, Dialog, SipServer, Trunk
from signaling.phone_codes import DIGITS, Attempt, Holder
from signaling.protocol import ProtocolError

if TYPE_CHECKING:
    from server.state import State

logger = logging.getLogger(__name__)

RATE = 8000
FRAME = 160  # samples in 20 ms at 8 kHz
TICK = 0.020
CODE_SECONDS = 60.0  # to enter a code, from the answer
LOBBY_SECONDS = 15 * 60.0  # the longest a phone waits in the lobby
PROMPT_EVERY = 4.0  # the prompt again, while no digit came
WAITING_EVERY = 5.0  # a soft beep while waiting in the lobby
LEVEL = 6000  # tone amplitude (about -15 dBFS)

# The tones phones hear: (hz, ms) pieces, hz 0 a pause.
PROMPT = ((440, 150), (0, 100), (440, 150))  # "enter your code"
WRONG = ((300, 150), (0, 80), (300, 150), (0, 80), (300, 150))  # wrong code: try again
GOODBYE = ((300, 900),)  # no more tries, no such call, not let in
WAITING = ((440, 100),)  # in the lobby, waiting for staff
SILENCE = {"pcmu/8000": b"\xff", "pcma/8000": b"\xd5"}  # a G.711 byte of silence


def tone(pieces: tuple[tuple[int, int], ...]) -> list[list[int]]:
    """20 ms frames of 8 kHz samples playing `pieces`, ramped so no piece clicks."""
    samples: list[int] = []
    for hz, ms in pieces:
        count = RATE * ms // 1000
        ramp = min(count // 4, 40)
        for n in range(count):
            gain = min(1.0, n / ramp, (count - 1 - n) / ramp) if ramp else 1.0
            value = math.sin(2 * math.pi * hz * n / RATE) if hz else 0.0
            samples.append(round(LEVEL * gain * value))
    samples += [0] * (-len(samples) % FRAME)
    return [samples[i : i + FRAME] for i in range(0, len(samples), FRAME)]


class Sound:
    """What the signaling process hears and says of a phone before its leg takes over:
    G.711 in plain Python; Opus through PyAV, imported only when a trunk sends Opus."""

    def __init__(self, codec: str) -> None:
        self.codec = codec
        self.opus_in: Any = None
        self.opus_out: Any = None
        if codec == "opus/48000":
            from media.phone_audio import Decoding, Encoding

            self.opus_in, self.opus_out = Decoding(codec), Encoding(codec)

    @property
    def step(self) -> int:
        return 960 if self.opus_out is not None else FRAME

    def digit(self, payload: bytes, timestamp: int, inband: InBand) -> str:
        if self.opus_in is None:
            return inband.take_narrow(g711.decode(self.codec, payload))
        digit = ""
        for pcm in self.opus_in.decode(payload, timestamp):
            digit = inband.take(pcm) or digit
        return digit

    def encode(self, frame: list[int]) -> list[bytes]:
        if self.opus_out is None:
            return [g711.encode(self.codec, frame)]
        wide = array.array("h", (s for s in frame for _ in range(6)))  # 8 kHz to 48 kHz
        payloads: list[bytes] = self.opus_out.encode(wide)
        return payloads


class Relay(asyncio.DatagramProtocol):
    """The socket that carries a phone's RTP to its leg in the media worker, and back."""

    def __init__(self, to_phone: Callable[[bytes], None]) -> None:
        self.to_phone = to_phone
        self.transport: asyncio.DatagramTransport | None = None
        self.leg: tuple[str, int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.leg is not None and (addr[0], addr[1]) == self.leg:
            self.to_phone(data)

    def send(self, data: bytes) -> None:
        if self.transport is not None and self.leg is not None:
            self.transport.sendto(data, self.leg)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class PhoneCall(asyncio.DatagramProtocol):
    """One phone dialed in: its RTP socket, the code it enters, and then its relay.

    Stages: "code" (tones ask for the code), "lobby" (waiting for staff), "call" (its leg
    carries the sound), "over". Sound goes back to where the trunk's SDP said, or to where
    the phone's RTP comes from when that is the same host (a NAT's port)."""

    def __init__(self, desk: DialIn, dialog: Dialog, offer: AudioOffer, attempt: Attempt) -> None:
        self.desk, self.dialog, self.offer, self.attempt = desk, dialog, offer, attempt
        self.sound = Sound(offer.codec)
        # Sound goes to the offer's address only if it is the trunk's; otherwise to where the
        # phone's own RTP comes from, once it comes from the offer's host. Either way,
        # nothing is sent to an address a forged INVITE names.
        self.target = (offer.address, offer.port)
        self.latched = desk.trunk.allows(offer.address)
        self.stage = "code"
        self.digits = ""
        self.events, self.inband = TelephoneEvents(), InBand()
        self.pid = ""  # its participant id, once its code is taken
        self.transport: asyncio.DatagramTransport | None = None
        self.relay: Relay | None = None
        self.queue: list[list[int]] = []  # frames of tones still to play
        self.then: Callable[[], None] | None = None  # when the tones are played
        self.clock: asyncio.TimerHandle | None = None
        self.next_tick = 0.0
        self.began = self.last_prompt = time.monotonic()
        self.heard_digit = False
        self.ssrc = secrets.randbits(32)
        self.sequence, self.timestamp = secrets.randbits(16), secrets.randbits(32)
        self.joining: asyncio.Task[None] | None = None
        self.quiet = False  # its person can't talk now: silence both ways
        self.hush = SILENCE.get(offer.codec)  # a payload byte of silence (G.711)

    # ------------------------------------------------------------ the phone's socket

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        loop = asyncio.get_running_loop()
        self.next_tick = loop.time() + TICK
        self.clock = loop.call_at(self.next_tick, self.tick)
        self.play(PROMPT)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if addr[0] == self.target[0] and addr[1] != self.target[1]:
            self.target = (addr[0], addr[1])  # the same host through a NAT: its port
        if (addr[0], addr[1]) != self.target:
            return  # not the phone: dropped
        self.latched = True
        if self.stage == "call":
            if self.relay is not None and not self.quiet:
                self.relay.send(data)
            return
        if self.stage != "code":
            return
        packet = rtpraw.parse(data)
        if packet is None or not packet.payload:
            return
        if packet.payload_type == self.offer.events:
            digit = self.events.take(packet.payload, packet.timestamp)
        elif packet.payload_type == self.offer.payload_type:
            digit = self.sound.digit(packet.payload, packet.timestamp, self.inband)
        else:
            return
        if digit:
            self.digit(digit)

    def send(self, data: bytes) -> None:
        if self.transport is not None and self.latched:
            self.transport.sendto(data, self.target)

    def from_leg(self, data: bytes) -> None:
        """The call's sound for the phone, from its leg: silence instead while quiet (G.711;
        an Opus phone gets nothing meanwhile)."""
        if not self.quiet:
            self.send(data)
            return
        packet = rtpraw.parse(data)
        if packet is not None and self.hush is not None:
            header = data[: len(data) - len(packet.payload)]
            self.send(header + self.hush * len(packet.payload))

    # ------------------------------------------------------------ tones and time

    def play(
        self, pieces: tuple[tuple[int, int], ...], then: Callable[[], None] | None = None
    ) -> None:
        self.queue = tone(pieces)
        self.then = then

    def tick(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        while self.next_tick <= now:
            self.next_tick += TICK
            self.tick_once()
        if self.stage != "over":
            self.clock = loop.call_at(self.next_tick, self.tick)

    def tick_once(self) -> None:
        if self.stage in ("call", "over"):
            return
        if self.queue:
            frame = self.queue.pop(0)
            if not self.queue and self.then is not None:
                then, self.then = self.then, None
                loop = asyncio.get_running_loop()
                loop.call_soon(then)
        else:
            frame = [0] * FRAME  # silence keeps the media path (and NAT) open
        for payload in self.sound.encode(frame):
            self.sequence = (self.sequence + 1) & 0xFFFF
            self.timestamp = (self.timestamp + self.sound.step) & 0xFFFFFFFF
            header = rtpraw.FIXED.pack(
                0x80, self.offer.payload_type, self.sequence, self.timestamp, self.ssrc
            )
            self.send(header + payload)
        now = time.monotonic()
        if self.stage == "code":
            if now - self.began > CODE_SECONDS and self.then is None:
                self.play(GOODBYE, self.hang_up)
            elif not self.heard_digit and not self.queue and now - self.last_prompt > PROMPT_EVERY:
                self.last_prompt = now
                self.play(PROMPT)
        elif self.stage == "lobby" and not self.queue:
            if now - self.began > LOBBY_SECONDS:
                self.stage = "code"  # only to play the goodbye
                self.play(GOODBYE, self.hang_up)
            elif now - self.last_prompt > WAITING_EVERY:
                self.last_prompt = now
                self.play(WAITING)

    # ------------------------------------------------------------ the code

    def digit(self, digit: str) -> None:
        if self.then is not None:
            return  # a goodbye is playing
        self.heard_digit = True
        if digit in "*#":
            self.digits = ""  # start again
            return
        if not digit.isdigit():
            return
        self.digits += digit
        if len(self.digits) < DIGITS:
            return
        code, self.digits = self.digits, ""
        now = time.time()
        holder = self.desk.codes.redeem(self.attempt, code, now)
        if holder is None:
            if self.desk.codes.may_try(self.attempt, now):
                self.play(WRONG)
            else:
                self.play(GOODBYE, self.hang_up)
            return
        self.stage = "joining"
        self.joining = asyncio.ensure_future(self.join(holder.call, holder.participant))

    async def join(self, call: str, participant: str) -> None:
        try:
            self.pid = await self.desk.arrived(Holder(call, participant), self)
        except ProtocolError:
            self.stage = "code"
            self.play(GOODBYE, self.hang_up)
            return
        if self.stage == "joining":  # not in the call at once: in its lobby
            self.stage = "lobby"
            self.began = self.last_prompt = time.monotonic()

    async def entered(self, open_leg: Callable[[], Awaitable[int]]) -> None:
        """Its leg is let into the call (or opened again after its media worker restarted):
        the relay to it begins."""
        if self.relay is not None:
            self.relay.close()
            self.relay = None
        self.stage = "call"
        self.queue, self.then = [], None
        loop = asyncio.get_running_loop()
        try:
            port = await open_leg()
            relay = Relay(self.from_leg)
            await loop.create_datagram_endpoint(lambda: relay, local_addr=("127.0.0.1", 0))
        except (MediaError, OSError):
            logger.warning("a phone could not be joined to its call's media")
            self.stage = "code"
            self.play(GOODBYE, self.hang_up)
            return
        relay.leg = ("127.0.0.1", port)
        self.relay = relay
        if self.stage != "call":  # it hung up meanwhile
            relay.close()

    # ------------------------------------------------------------ the end

    def hang_up(self) -> None:
        """End it from our side (BYE), and leave the call."""
        if self.stage == "over":
            return
        self.desk.server.hang_up(self.dialog)  # tells `ended` below

    def ended(self) -> None:
        """The call is over, either side: sockets close, and its leg leaves."""
        if self.stage == "over":
            return
        self.stage = "over"
        if self.clock is not None:
            self.clock.cancel()
        if self.joining is not None and not self.joining.done():
            self.joining.cancel()
        if self.transport is not None:
            self.transport.close()
        if self.relay is not None:
            self.relay.close()


class DialIn:
    """The answerer of the UAS: every phone call, from its INVITE to its end."""

    def __init__(self, state: State, trunk: Trunk, address: str) -> None:
        self.state = state
        self.codes = state.store.phone_codes
        self.trunk = trunk
        self.address = address  # ours, in SDP answers and the Contact
        self.server = SipServer(trunk, self, contact=f"sip:quietroom@{address}")
        self.calls: dict[tuple[str, str], PhoneCall] = {}  # by dialog
        self.by_pid: dict[str, PhoneCall] = {}
        self.tasks: set[asyncio.Task[Any]] = set()

    async def start(self, host: str, port: int) -> int:
        """Listen for the trunk on `host`:`port` (UDP): the port taken."""
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: self.server, local_addr=(host, port)
        )
        taken: int = transport.get_extra_info("sockname")[1]
        self.server.contact = f"sip:quietroom@{uri_host(self.address)}:{taken}"
        return taken

    def close(self) -> None:
        for dialog in [c.dialog for c in self.calls.values()]:
            self.server.hang_up(dialog)
        if self.server.transport is not None:
            self.server.transport.close()

    # ------------------------------------------------------------ Answerer

    def offered(self, dialog: Dialog, request: SipRequest) -> Decision:
        try:
            offer = parse_offer(request.body)
        except SdpError as error:
            return Decision(488, f"Not Acceptable Here ({error})"[:80])
        family = socket.AF_INET6 if ":" in self.address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.bind((self.address, 0))
            sock.setblocking(False)
        except OSError:
            sock.close()
            return Decision(503, "Service Unavailable")
        attempt = self.codes.attempt(caller_of(request, dialog.source[0]))
        call = PhoneCall(self, dialog, offer, attempt)
        self.calls[(dialog.call_id, dialog.local_tag)] = call
        loop = asyncio.get_running_loop()
        task = loop.create_task(self._open(call, sock))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        session = secrets.randbelow(2**31)
        return Decision(200, "OK", answer_sdp(offer, self.address, sock.getsockname()[1], session))

    async def _open(self, call: PhoneCall, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.create_datagram_endpoint(lambda: call, sock=sock)
        except OSError:
            sock.close()
            call.hang_up()

    def ended(self, dialog: Dialog) -> None:
        call = self.calls.pop((dialog.call_id, dialog.local_tag), None)
        if call is None:
            return
        call.ended()
        if call.pid:
            self.by_pid.pop(call.pid, None)
            task = asyncio.ensure_future(self.state.apply(self.state.store.leave(call.pid)))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    # ------------------------------------------------------------ the call's side

    async def arrived(self, holder: Holder, call: PhoneCall) -> str:
        """A phone's code was right: it joins its call (or the lobby). ProtocolError when
        the call has ended, is full, or must stay end to end."""
        pid, events = self.state.store.phone_arrives(holder, time.time())
        call.pid = pid
        self.by_pid[pid] = call
        await self.state.apply(events)
        return pid

    async def entered(self, pid: str) -> None:
        """A phone's participant is in the call now: its leg's media starts."""
        call = self.by_pid.get(pid)
        found = self.state.store.call_of(pid)
        if call is None or found is None:
            return
        leg = found.participants.get(pid)
        owner = found.participants.get(leg.phone_of) if leg is not None else None
        call.quiet = owner is not None and owner.cant_talk

        async def open_leg() -> int:
            return await self.state.hub.open_phone(
                found.id, pid, found.max_participants - 1, call.offer.codec, call.offer.payload_type
            )

        await call.entered(open_leg)

    def quiet(self, pid: str, on: bool) -> None:
        """A phone's person can't talk now (on), or is back: while on, the phone is sent
        silence and what it says goes nowhere."""
        call = self.by_pid.get(pid)
        if call is not None:
            call.quiet = on

    def media_lost(self, pid: str) -> bool:
        """The media worker of a phone's call stopped (it starts again): the leg is opened
        anew, on the worker its call goes to now. False if `pid` is not a phone's."""
        if pid not in self.by_pid:
            return False
        task = asyncio.ensure_future(self.entered(pid))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return True

    def departed(self, pid: str) -> None:
        """A phone's participant left the call or the lobby (sent away, the call ended): the
        phone is hung up."""
        call = self.by_pid.pop(pid, None)
        if call is not None:
            call.pid = ""  # gone already: nothing more to leave
            if call.stage == "call":
                call.hang_up()
            else:
                call.stage = "code"
                call.play(GOODBYE, call.hang_up)


def caller_of(request: SipRequest, host: str) -> str:
    """What names the caller for the guessing limit: the user part of From (a number, or
    "anonymous"), or the trunk's address; only ever HMAC'd (signaling/phone_codes.py)."""
    match = re.search(r"sips?:([^@;>]+)@", request.one("from"))
    return match.group(1) if match else host


def uri_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def trunk_of(networks: list[str], user: str, password: str) -> Trunk:
    guard = DigestGuard(user, password) if user else None
    return Trunk([ipaddress.ip_network(n) for n in networks], guard=guard)


async def start_dial_in(state: State) -> DialIn | None:
    """The UAS on `--sip-listen`, when set (None otherwise)."""
    config = state.config
    if not config.sip_listen:
        return None
    host, _, port = config.sip_listen.rpartition(":")
    host = host.strip("[]")
    address = config.sip_address or host
    desk = DialIn(state, trunk_of(config.sip_trunk, config.sip_user, config.sip_password), address)
    try:
        await desk.start(host, int(port))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise OSError(
            exc.errno, f"--sip-listen: cannot take phones on {host}:{port}: {reason}"
        ) from None
    logger.info("phones: taking calls from the trunk")
    return desk
