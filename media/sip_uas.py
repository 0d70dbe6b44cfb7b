"""A SIP user agent server for trunk dial-in, over UDP (RFC 3261; docs/phone.md).

It answers only what a trunk sends a number it calls: INVITE, ACK, BYE, CANCEL and OPTIONS.
What a call is for is the application's (`Answerer`): it is offered each new INVITE and
says how to answer, and is told when a call ends. This module keeps the transactions (a
request sent again gets the same answer; a 2xx is sent again until its ACK) and the
dialogs, checks the source of every datagram against the trunk's addresses first, and holds
INVITEs from one source to a rate.

Nothing here logs: SIP carries callers' numbers (From, Contact, P-Asserted-Identity).
"""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from media.sip_digest import DigestGuard
from media.sip_message import SipError, SipRequest, answer, parse_request

T1 = 0.5  # RFC 3261's round-trip estimate, seconds
T2 = 4.0
ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS"
KEEP_ANSWERS = 32.0  # Timer J: an answer to a request sent again, for this long
FORBIDDEN_PER_SECOND = 5  # answers to sources not allowed (more are dropped)

Address = tuple[str, int]


@dataclass
class Trunk:
    """Who may call in, and how much."""

    allowed: list[ipaddress.IPv4Network | ipaddress.IPv6Network]
    invites_per_minute: int = 30  # from one source address
    max_calls: int = 20
    t1: float = T1  # shorter in tests
    guard: DigestGuard | None = None  # the trunk's credentials, if the admin set them

    def allows(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.allowed)


@dataclass
class Dialog:
    """One call from the trunk, as both ends' tags and addresses name it."""

    call_id: str
    local_tag: str
    remote_tag: str
    source: Address  # where its requests come from, and where ours go
    remote_uri: str  # the remote target (Contact) for our requests in it
    remote_from: str  # the From of their INVITE: our To in requests we send
    local_to: str  # the To of their INVITE with our tag: our From
    routes: list[str] = field(default_factory=list)  # Record-Route, for our requests
    local_cseq: int = 0
    confirmed: bool = False  # the ACK came
    ended: bool = False

    def __repr__(self) -> str:  # no URIs: they carry numbers
        return f"Dialog({'confirmed' if self.confirmed else 'early'}, ended={self.ended})"


@dataclass(frozen=True)
class Decision:
    """How to answer an INVITE: a status, its reason, and (for 200) the SDP answer."""

    status: int
    reason: str
    body: bytes = b""


class Answerer(Protocol):
    def offered(self, dialog: Dialog, request: SipRequest) -> Decision:
        """A new call: how to answer it (200 with an SDP body to take it)."""

    def ended(self, dialog: Dialog) -> None:
        """The call is over: BYE either way, CANCEL, or no ACK."""


@dataclass
class InviteTransaction:
    dialog: Dialog
    last: bytes  # the latest answer sent, sent again for each INVITE sent again
    final: bool = False
    timer: asyncio.TimerHandle | None = None


class SipServer(asyncio.DatagramProtocol):
    """The UAS on one UDP socket (`asyncio` or uvloop: it needs only sendto)."""

    def __init__(
        self,
        trunk: Trunk,
        answerer: Answerer,
        contact: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.trunk = trunk
        self.answerer = answerer
        self.contact = contact  # our Contact URI, e.g. sip:quietroom@203.0.113.5:5060
        self.clock = clock
        self.transport: asyncio.DatagramTransport | None = None
        self.invites: dict[str, InviteTransaction] = {}  # by top Via branch
        self.dialogs: dict[tuple[str, str], Dialog] = {}  # by (Call-ID, our tag)
        self.answered: dict[tuple[str, str], tuple[float, bytes]] = {}  # non-INVITE, Timer J
        self.knocks: dict[str, list[float]] = {}  # INVITE times by source host
        self.forbidden: list[float] = []

    # ------------------------------------------------------------ socket

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, data: bytes, to: Address) -> None:
        if self.transport is not None:
            self.transport.sendto(data, to)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        source = (addr[0], addr[1])
        if not self.trunk.allows(source[0]):
            self.refuse_stranger(data, source)
            return
        try:
            request = parse_request(data)
        except SipError as error:
            if error.answerable and error.request is not None and error.request.method != "ACK":
                self.send(answer(error.request, error.status, error.reason, source=source), source)
            return
        try:
            self.dispatch(request, source)
        except SipError as error:
            self.send(answer(request, error.status, error.reason, source=source), source)

    def refuse_stranger(self, data: bytes, source: Address) -> None:
        """A source the trunk does not list: 403 to a request, a few a second at most."""
        now = self.clock()
        self.forbidden = [t for t in self.forbidden if now - t < 1.0]
        if len(self.forbidden) >= FORBIDDEN_PER_SECOND:
            return
        try:
            request = parse_request(data)
        except SipError:
            return
        if request.method == "ACK":
            return
        self.forbidden.append(now)
        self.send(answer(request, 403, "Forbidden", source=source), source)

    # ------------------------------------------------------------ requests

    def dispatch(self, request: SipRequest, source: Address) -> None:
        handlers = {
            "INVITE": self.on_invite,
            "ACK": self.on_ack,
            "BYE": self.on_bye,
            "CANCEL": self.on_cancel,
            "OPTIONS": self.on_options,
        }
        handler = handlers.get(request.method)
        if handler is None:
            reply = answer(request, 405, "Method Not Allowed", source=source,
                           headers=[("Allow", ALLOW)])  # fmt: skip
            self.send(reply, source)
            return
        if request.method not in ("INVITE", "ACK") and self.resend_answer(request, source):
            return
        handler(request, source)

    def resend_answer(self, request: SipRequest, source: Address) -> bool:
        """A non-INVITE request sent again: the same answer again (Timer J)."""
        now = self.clock()
        for key in [k for k, (at, _) in self.answered.items() if now - at > KEEP_ANSWERS]:
            del self.answered[key]
        kept = self.answered.get((request.branch, request.method))
        if kept is None:
            return False
        self.send(kept[1], source)
        return True

    def reply(self, request: SipRequest, source: Address, status: int, reason: str,
              **extra: object) -> None:  # fmt: skip
        """Answer a non-INVITE request, and keep the answer for when it comes again."""
        data = answer(request, status, reason, source=source, **extra)  # type: ignore[arg-type]
        now = self.clock()
        for key in [k for k, (at, _) in self.answered.items() if now - at > KEEP_ANSWERS]:
            del self.answered[key]
        self.answered[(request.branch, request.method)] = (now, data)
        self.send(data, source)

    def on_options(self, request: SipRequest, source: Address) -> None:
        headers = [("Allow", ALLOW), ("Accept", "application/sdp")]
        self.reply(request, source, 200, "OK", headers=headers)

    def on_invite(self, request: SipRequest, source: Address) -> None:
        known = self.invites.get(request.branch)
        if known is not None:  # sent again: what we last said, again
            self.send(known.last, source)
            return
        if request.to_tag:  # a re-INVITE: the call's media stays as it was agreed
            dialog = self.dialogs.get((request.call_id, request.to_tag))
            status, reason = (488, "Not Acceptable Here") if dialog else (481, "No Such Call")
            self.send(answer(request, status, reason, source=source), source)
            return
        # Credentials first (when set): a challenge answered is one call, not two knocks.
        if self.trunk.guard is not None:
            refused = self.trunk.guard.check(request, source[0])
            if refused is not None:
                status, reason, headers = refused
                self.send(answer(request, status, reason, source=source, headers=headers), source)
                return
        now = self.clock()
        knocks = [t for t in self.knocks.get(source[0], []) if now - t < 60.0]
        if len(knocks) >= self.trunk.invites_per_minute:
            busy = answer(request, 503, "Service Unavailable", source=source,
                          headers=[("Retry-After", "60")])  # fmt: skip
            self.send(busy, source)
            return
        self.knocks[source[0]] = [*knocks, now]
        if sum(not d.ended for d in self.dialogs.values()) >= self.trunk.max_calls:
            self.send(answer(request, 486, "Busy Here", source=source), source)
            return
        dialog = Dialog(
            call_id=request.call_id,
            local_tag=secrets.token_hex(8),
            remote_tag=request.from_tag,
            source=source,
            remote_uri=contact_uri(request.one("contact")) or request.uri,
            remote_from=request.one("from"),
            local_to=request.one("to"),
            routes=list(request.headers.get("record-route", [])),
        )
        dialog.local_to = f"{dialog.local_to};tag={dialog.local_tag}"
        trying = answer(request, 100, "Trying", source=source)
        transaction = InviteTransaction(dialog, trying)
        self.invites[request.branch] = transaction
        self.send(trying, source)
        decision = self.answerer.offered(dialog, request)
        self.finish_invite(request, source, transaction, decision)

    def finish_invite(
        self, request: SipRequest, source: Address, transaction: InviteTransaction,
        decision: Decision,
    ) -> None:  # fmt: skip
        dialog = transaction.dialog
        headers: list[tuple[str, str]] = []
        if 200 <= decision.status < 300:
            headers += [("Record-Route", r) for r in dialog.routes]
            headers += [("Contact", f"<{self.contact}>"), ("Allow", ALLOW)]
            if decision.body:
                headers.append(("Content-Type", "application/sdp"))
            self.dialogs[(dialog.call_id, dialog.local_tag)] = dialog
        data = answer(request, decision.status, decision.reason, to_tag=dialog.local_tag,
                      source=source, headers=headers, body=decision.body)  # fmt: skip
        transaction.last, transaction.final = data, True
        dialog.ended = not 200 <= decision.status < 300  # refused: no call
        self.send(data, source)
        self.retransmit(request.branch, source, self.trunk.t1)

    def retransmit(
        self, branch: str, source: Address, interval: float, waited: float = 0.0
    ) -> None:
        """Send the final answer again until the ACK (T1 doubling, to T2), for 64·T1 at most;
        a 2xx never acknowledged ends its call with our BYE."""
        transaction = self.invites.get(branch)
        if transaction is None:
            return
        loop = asyncio.get_running_loop()
        if waited >= 64 * self.trunk.t1:
            del self.invites[branch]
            if not transaction.dialog.confirmed and not transaction.dialog.ended:
                self.hang_up(transaction.dialog)
            return

        def again() -> None:
            if branch in self.invites and not self.invites[branch].dialog.confirmed:
                self.send(transaction.last, source)
            self.retransmit(
                branch, source, min(interval * 2, T2 / T1 * self.trunk.t1), waited + interval
            )

        transaction.timer = loop.call_later(interval, again)

    def on_ack(self, request: SipRequest, source: Address) -> None:
        for branch, transaction in list(self.invites.items()):
            dialog = transaction.dialog
            if dialog.call_id == request.call_id and dialog.local_tag == request.to_tag:
                dialog.confirmed = True
                if transaction.timer is not None:
                    transaction.timer.cancel()
                del self.invites[branch]
                if dialog.ended:  # the ACK of a 487 or other refusal
                    self.dialogs.pop((dialog.call_id, dialog.local_tag), None)
                return

    def on_bye(self, request: SipRequest, source: Address) -> None:
        dialog = self.dialogs.get((request.call_id, request.to_tag))
        if dialog is None or dialog.ended:
            self.reply(request, source, 481, "Call/Transaction Does Not Exist")
            return
        self.reply(request, source, 200, "OK")
        self.end(dialog)

    def on_cancel(self, request: SipRequest, source: Address) -> None:
        transaction = self.invites.get(request.branch)
        if transaction is None or transaction.dialog.call_id != request.call_id:
            self.reply(request, source, 481, "Call/Transaction Does Not Exist")
            return
        self.reply(request, source, 200, "OK")
        # The INVITE is answered already (the answerer decides at once): the call goes on
        # until a BYE, as RFC 3261 section 9.2 has it for a final answer sent.

    # ------------------------------------------------------------ our side

    def end(self, dialog: Dialog) -> None:
        if dialog.ended:
            return
        dialog.ended = True
        self.dialogs.pop((dialog.call_id, dialog.local_tag), None)
        self.answerer.ended(dialog)

    def hang_up(self, dialog: Dialog) -> None:
        """End a call from our side: a BYE to the caller (sent again until answered)."""
        if dialog.ended:
            return
        dialog.local_cseq += 1
        branch = "z9hG4bK" + secrets.token_hex(8)
        host = self.contact.split("@", 1)[-1]
        lines = [
            f"BYE {dialog.remote_uri} SIP/2.0",
            f"Via: SIP/2.0/UDP {host};branch={branch};rport",
            "Max-Forwards: 70",
            *[f"Route: {route}" for route in reversed(dialog.routes)],
            f"From: {dialog.local_to}",
            f"To: {dialog.remote_from}",
            f"Call-ID: {dialog.call_id}",
            f"CSeq: {dialog.local_cseq} BYE",
            "Content-Length: 0",
        ]
        data = ("\r\n".join(lines) + "\r\n\r\n").encode()
        self.send(data, dialog.source)
        loop = asyncio.get_running_loop()
        for n in range(1, 4):  # Timer E, without waiting for the answer: it ends at once
            loop.call_later(self.trunk.t1 * (2**n - 1), self.send, data, dialog.source)
        self.end(dialog)


def contact_uri(value: str) -> str:
    """The URI of a Contact header value: `<sip:...>;params` or a bare `sip:...`."""
    if "<" in value and ">" in value:
        return value[value.index("<") + 1 : value.index(">")]
    return value.split(";", 1)[0].strip()
