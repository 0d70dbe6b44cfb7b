"""The /ws signaling socket: one small handler per message type."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import ClientError, WSMsgType, web

from media.errors import MediaError
from server.auth import sign_in_of, source_of, staff_of
from server.cluster import AUTH_HEADER, NODE_SOCKET, ClusterUnavailable
from server.logs import ConnectionLog, LogBudget
from server.origin import forbidden, same_origin
from server.state import STATE, State
from signaling.call import ENDED_CODES, NODE_LOST, Call
from signaling.protocol import (
    Admit,
    Answer,
    AudioOnly,
    Candidate,
    CantTalk,
    ChatSend,
    CheckIn,
    CheckInAnswer,
    Deny,
    E2eeSend,
    End,
    Ended,
    Error,
    Join,
    Leave,
    Message,
    Mute,
    Offer,
    PhoneAllow,
    Plan,
    Preview,
    ProtocolError,
    Resume,
    SetMode,
    parse_client_message,
)

logger = logging.getLogger(__name__)

# aiohttp closes the socket above this size; up to it, we answer with an error instead.
SOCKET_LIMIT = 1024 * 1024
# Per-connection events go to DEBUG only; refusals (which anyone can cause) and handler
# faults are also limited there, server-wide.
REFUSALS = LogBudget()
FAULTS = LogBudget()
RATE_PER_SECOND = 20.0
RATE_BURST = 200.0


class RateLimit:
    """A token bucket: a connection may send bursts, not floods."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.at = burst, time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class Connection:
    def __init__(
        self,
        state: State,
        ws: web.WebSocketResponse,
        staff: str | None,
        ready: Callable[[], bool] = lambda: True,
    ) -> None:
        self.state = state
        self.ws = ws
        self.staff = staff
        self.ready = ready  # whether this staff sign-in confirmed the readiness checklist
        self.participant: str | None = None
        self.relay: Relay | None = None  # the call is on another node: everything goes there
        self._text = ""  # the message being handled, as it came
        self.log = ConnectionLog(logger)
        self.limit = RateLimit(RATE_PER_SECOND, RATE_BURST)
        self.handlers: dict[type[Message], Callable[[Any], Awaitable[None]]] = {
            Join: self.on_join,
            Preview: self.on_preview,
            Resume: self.on_resume,
            Admit: self.on_admit,
            Deny: self.on_deny,
            Offer: self.on_offer,
            Candidate: self.on_candidate,
            Mute: self.on_mute,
            AudioOnly: self.on_audio_only,
            SetMode: self.on_mode,
            ChatSend: self.on_chat,
            E2eeSend: self.on_e2ee,
            CantTalk: self.on_cant_talk,
            CheckIn: self.on_check_in,
            CheckInAnswer: self.on_check_in_answer,
            Leave: self.on_leave,
            End: self.on_end,
            PhoneAllow: self.on_phone,
        }

    # -------------------------------------------------------------- Socket protocol

    async def send(self, message: Message) -> None:
        if not self.ws.closed:
            try:
                await self.ws.send_str(message.to_json())
            except ConnectionError:
                pass

    def departed(self) -> None:
        self.participant = None

    async def close(self) -> None:
        await self.ws.close()

    # -------------------------------------------------------------- loop

    async def revoke(self) -> None:
        if self.participant is not None:
            call = self.state.store.call_of(self.participant)
            if call is not None:
                await self.state.apply(call.leave(self.participant))
        self.participant = None
        await self.send(Error("unauthorized", "this staff account was removed"))
        await self.close()

    async def run(self) -> None:
        self.log.debug("signaling connection opened (staff: %s)", self.staff is not None)
        if self.staff is not None:
            self.state.staff_sockets[self] = self.staff
        self.state.open_sockets.add(self)
        try:
            async for msg in self.ws:
                if msg.type == WSMsgType.TEXT:
                    await self.handle(msg.data)
                elif msg.type == WSMsgType.BINARY:
                    await self.send(Error("bad-message", "send JSON text, not binary"))
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            self.state.open_sockets.discard(self)
            self.state.staff_sockets.pop(self, None)
            if self.relay is not None:
                await self.relay.close()
            await self.on_drop()
            self.log.debug("signaling connection closed")

    async def handle(self, text: str) -> None:
        if not self.limit.allow():
            self.state.metrics.refused["rate-limit"] += 1
            await self.send(Error("rate-limit", "too many messages: slow down"))
            return
        if self.relay is not None:
            await self.relay.send(text)
            return
        self._text = text
        try:
            message = parse_client_message(text)
            await self.handlers[type(message)](message)
        except (ProtocolError, MediaError) as exc:
            self.state.metrics.refused[exc.code] += 1
            if REFUSALS.allow():
                self.log.debug("message refused: %s", exc.code)
            await self.send(Error(exc.code, exc.reason))
        except Exception as exc:
            if FAULTS.allow():
                self.log.warning("message handler failed: %s", type(exc).__name__)
            await self.send(Error("internal", "the server could not handle this message"))

    # -------------------------------------------------------------- helpers

    def my_call(self) -> Call:
        if self.participant is None:
            raise ProtocolError("not-joined", "send 'join' first")
        call = self.state.store.call_of(self.participant)
        if call is None:
            raise ProtocolError("not-joined", "you are not in a call")
        return call

    def me(self) -> str:
        assert self.participant is not None
        return self.participant

    async def relayed(self, invite: str = "", call: str = "", resume: str = "") -> bool:
        """With many nodes: when the call this message names is on another node, this
        socket is relayed there from now on, this message first (docs/scaling.md)."""
        cluster = self.state.cluster
        if cluster is None:
            return False
        try:
            if invite and not self.state.store.has_invite(invite):
                address = await cluster.node_for_invite(invite)
            elif call and self.state.store.get(call) is None:
                address = await cluster.node_for_call(call)
            elif resume and not self.state.store.has_resume(resume):
                address = await cluster.node_for_resume(resume)
            else:
                return False
        except ClusterUnavailable:
            raise ProtocolError(
                "cluster-unavailable", "the server cannot find this call just now: try again"
            ) from None
        if address is None:
            return False
        headers = cluster.signed(NODE_SOCKET, self.staff if call and self.staff else "")
        try:
            self.relay = await Relay.open(self.state, address, headers, self.ws)
        except (ClientError, OSError, TimeoutError):
            raise ProtocolError(
                "cluster-unavailable", "the server holding this call cannot be reached"
            ) from None
        self.log.debug("relayed to the node holding the call")
        await self.relay.send(self._text)
        return True

    # -------------------------------------------------------------- handlers

    async def on_join(self, message: Join) -> None:
        if self.participant is not None:
            raise ProtocolError("already-joined", "this connection has already joined")
        if self.state.draining:
            raise ProtocolError("server-restarting", "the server is restarting: try again soon")
        if message.call and not message.echo and self.staff is not None and not self.ready():
            raise ProtocolError("not-ready", "confirm the readiness checklist first")
        if await self.relayed(message.invite, message.call if self.staff else ""):
            return
        store, now = self.state.store, time.time()
        if message.echo and message.invite:
            person, events = store.join_echo(message.invite, now)
        elif message.echo and message.call:
            if self.staff is None:
                raise ProtocolError("unauthorized", "sign in as staff to test by call id")
            person, events = store.join_echo_staff(self.staff, message.call, now)
        elif message.echo:
            raise ProtocolError("bad-field", "a connection test needs an invite token or a call")
        elif message.invite:
            closed = store.closed(message.invite, now)
            if closed is not None:  # outside the call's hours: say when it opens, nothing more
                await self.send(closed)
                return
            person, events = store.join_invite(
                message.invite, message.name, now, message.mode, message.e2ee
            )
        elif message.call:
            if self.staff is None:
                raise ProtocolError("unauthorized", "sign in as staff to join by call id")
            if not self.ready():
                raise ProtocolError("not-ready", "confirm the readiness checklist first")
            person, events = store.join_staff(self.staff, message.call, now, message.e2ee)
        else:
            raise ProtocolError("bad-field", "join needs an invite token or a call id")
        self.participant = person.id
        self.state.sockets[person.id] = self
        self.log.debug("joined as %s%s", person.role.value, " (echo test)" if message.echo else "")
        await self.state.apply(events)

    async def on_resume(self, message: Resume) -> None:
        if self.participant is not None:
            raise ProtocolError("already-joined", "this connection has already joined")
        if await self.relayed(resume=message.resume):
            return
        person, events = self.state.store.resume(message.resume, time.time())
        old = self.state.sockets.get(person.id)
        if old is not None and old is not self:
            old.departed()  # its closing must not count as this person leaving
            await old.close()
        self.participant = person.id
        self.state.sockets[person.id] = self
        self.log.debug("came back as %s", person.role.value)
        await self.state.apply(events)

    async def on_drop(self) -> None:
        """The socket closed: a `leave`, unless this person may still come back."""
        if self.participant is None:
            return
        call = self.state.store.call_of(self.participant)
        if call is None:
            return
        if self.state.config.reconnect_grace <= 0:
            await self.state.apply(call.leave(self.participant))
        else:
            await self.state.apply(call.drop(self.participant, time.time()))

    async def on_preview(self, message: Preview) -> None:
        if await self.relayed(message.invite):
            return
        store, now = self.state.store, time.time()
        await self.send(Plan(store.plan_for_invite(message.invite, now)))
        closed = store.closed(message.invite, now)
        if closed is not None:
            await self.send(closed)

    async def on_admit(self, message: Admit) -> None:
        await self.state.apply(self.my_call().admit(self.me(), message.participant))

    async def on_deny(self, message: Deny) -> None:
        await self.state.apply(self.my_call().deny(self.me(), message.participant))

    async def on_offer(self, message: Offer) -> None:
        call = self.my_call()
        person = call.require_member(self.me())
        if message.restart:  # the browser replaced a failed peer connection
            await self.state.hub.drop(self.me())
        answer = await self.state.hub.offer(
            call.id, self.me(), call.max_participants - 1, message.sdp, echo=call.echo
        )
        if self.state.store.call_of(self.me()) is not call:
            # The call ended (or this person left it) while the answer was made: its media
            # must not outlive it.
            await self.state.hub.drop(self.me())
            raise ProtocolError("not-joined", "you are not in a call")
        if person.audio_only:  # a new connection (after a drop) keeps their choice
            await self.state.hub.set_video(person.id, False)
        await self.send(Answer(answer))

    async def on_candidate(self, message: Candidate) -> None:
        self.my_call().require_member(self.me())
        await self.state.hub.candidate(
            self.me(), message.candidate, message.sdp_mid, message.sdp_mline_index
        )

    async def on_mute(self, message: Mute) -> None:
        await self.state.apply(self.my_call().set_mute(self.me(), message.audio, message.video))

    async def on_audio_only(self, message: AudioOnly) -> None:
        await self.state.apply(self.my_call().set_audio_only(self.me(), message.on))

    async def on_mode(self, message: SetMode) -> None:
        await self.state.apply(self.my_call().set_mode(self.me(), message.mode))

    async def on_chat(self, message: ChatSend) -> None:
        # The text is relayed, never logged: not here, not in an error.
        await self.state.apply(self.my_call().chat(self.me(), message.text, time.monotonic()))

    async def on_e2ee(self, message: E2eeSend) -> None:
        # Relayed as it came, never read or logged: not here, not in an error.
        call = self.my_call()
        await self.state.apply(call.e2ee(self.me(), message.to, message.data, time.monotonic()))

    async def on_cant_talk(self, message: CantTalk) -> None:
        await self.state.apply(self.my_call().cant_talk(self.me(), message.on))

    async def on_check_in(self, message: CheckIn) -> None:
        await self.state.apply(self.my_call().check_in(self.me()))

    async def on_check_in_answer(self, message: CheckInAnswer) -> None:
        await self.state.apply(self.my_call().answer_check_in(self.me(), message.answer))

    async def on_leave(self, message: Leave) -> None:
        if self.participant is None:
            return
        call = self.state.store.call_of(self.participant)
        if call is None:
            return
        await self.state.apply(call.leave(self.participant, quick=message.quick))

    async def on_end(self, message: End) -> None:
        await self.state.apply(self.my_call().end(self.me(), "ended by staff"))

    async def on_phone(self, message: PhoneAllow) -> None:
        call = self.my_call()
        await self.state.apply(self.state.store.allow_phone(call, self.me(), message.on))


RELAY_CONNECT_SECONDS = 5.0


class Relay:
    """A page's socket carried on to the node that holds its call: what the page sends goes
    there as it came, and what that node answers comes back, until either side closes. If
    that node goes away without closing (it died, or its network did), the page is told its
    call ended, as a page on that node would have been told by it."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, page: web.WebSocketResponse) -> None:
        self.ws = ws
        self.page = page
        self.closing = False  # this end closed it: the page left
        self.task: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls, state: State, address: str, headers: dict[str, str], page: web.WebSocketResponse
    ) -> Relay:
        ws = await asyncio.wait_for(
            state.node_session().ws_connect(
                address + NODE_SOCKET, headers=headers, max_msg_size=SOCKET_LIMIT, heartbeat=5
            ),
            RELAY_CONNECT_SECONDS,
        )
        # Nothing of the page's goes there before that node proved it is one.
        cluster = state.cluster
        assert cluster is not None
        proof = await ws.receive(timeout=RELAY_CONNECT_SECONDS)
        if proof.type != WSMsgType.TEXT or not cluster.is_answer(headers[AUTH_HEADER], proof.data):
            await ws.close()
            raise ConnectionError("not a node of this cluster")
        relay = cls(ws, page)
        relay.task = asyncio.create_task(relay._back())
        return relay

    async def _back(self) -> None:
        """What the call's node sends goes to the page; when it closes, so does the page."""
        try:
            async for msg in self.ws:
                if msg.type == WSMsgType.TEXT and not self.page.closed:
                    with contextlib.suppress(ConnectionError):
                        await self.page.send_str(msg.data)
        finally:
            lost = self.ws.close_code != aiohttp.WSCloseCode.OK and not self.closing
            if lost and not self.page.closed:
                with contextlib.suppress(ConnectionError):
                    await self.page.send_str(Ended(NODE_LOST, ENDED_CODES[NODE_LOST]).to_json())
            await self.page.close()

    async def send(self, text: str) -> None:
        if not self.ws.closed:
            with contextlib.suppress(ConnectionError):
                await self.ws.send_str(text)

    async def close(self) -> None:
        self.closing = True
        await self.ws.close()


def readiness(request: web.Request) -> Callable[[], bool]:
    """Whether a staff sign-in has confirmed the readiness checklist (a quiet place,
    headphones, the organization's device), asked once per sign-in before joining a call.
    A browser sign-in (cookie) must; a script's API token (load tests, integrations) is not
    a person at a desk and need not."""
    sign_in = sign_in_of(request)
    if sign_in is None or sign_in[0] is request.app[STATE].api_tokens:
        return lambda: True
    sessions, token = sign_in
    return lambda: sessions.is_ready(token)


async def websocket(request: web.Request) -> web.StreamResponse:
    if not same_origin(request):
        raise forbidden()
    state, source = request.app[STATE], source_of(request)
    if state.sockets_from[source] >= state.config.sockets_per_address:
        state.metrics.refused["too-many-sockets"] += 1
        raise web.HTTPTooManyRequests(
            text='{"error":"too-many-sockets","reason":"too many connections from your '
            'address: close some and try again"}',
            content_type="application/json",
            headers={"Retry-After": "5"},
        )
    state.sockets_from[source] += 1
    try:
        ws = web.WebSocketResponse(max_msg_size=SOCKET_LIMIT, heartbeat=20)
        await ws.prepare(request)
        await Connection(state, ws, staff_of(request), readiness(request)).run()
    finally:
        state.sockets_from[source] -= 1
        if state.sockets_from[source] <= 0:
            del state.sockets_from[source]
    return ws
