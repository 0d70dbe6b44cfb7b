"""The in-memory store of calls and their invites: nothing here is ever written anywhere."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from signaling.call import Call, ChatLimit, iso_time
from signaling.events import CallGone, Departed, Event, Send
from signaling.hours import Hours, Window
from signaling.participant import Participant, Place, Role
from signaling.phone_codes import Holder, PhoneCodes
from signaling.protocol import (
    MAX_NAME_CHARS,
    DisruptionPlan,
    OutsideHours,
    PhoneAllowed,
    PhoneCode,
    ProtocolError,
)

TokenFactory = Callable[[int], str]

INVITE_BYTES = 24  # 192 bits, above the 128 the invite needs
ID_BYTES = 12
INVITED_ROLES = (Role.SURVIVOR, Role.INTERPRETER)
ECHO_SECONDS = 300.0  # the longest a connection test may run
E2EE_REQUIRED = (
    "this organization requires end-to-end encryption: this browser or link cannot do it"
)


@dataclass(frozen=True)
class CallRules:
    ttl_seconds: float = 2 * 3600
    max_participants: int = 4
    max_calls_per_staff: int = 20
    max_calls: int = 500
    check_in_minutes: int = 15  # how often staff are reminded to check in, unless a call says
    hours: Hours = field(default_factory=Hours)  # when links open (no hours: always)
    knocks_per_minute: int = 20  # lobby arrivals one call takes a minute (0: no limit)
    chat_limit: ChatLimit = field(default_factory=ChatLimit)  # chat lines per person
    require_e2ee: bool = False  # refuse joins whose page cannot seal its media end to end
    dial_in_number: str = ""  # the number phones call (docs/phone.md); empty: no phones


def clean_name(name: str) -> str:
    """A display name as typed, trimmed, with control characters removed."""
    spaced = "".join(ch if ch.isprintable() else " " if ch.isspace() else "" for ch in name)
    return " ".join(spaced.split())[:MAX_NAME_CHARS].rstrip()


class CallStore:
    def __init__(self, rules: CallRules, token: TokenFactory = secrets.token_urlsafe) -> None:
        self.rules = rules
        self._token = token
        self._calls: dict[str, Call] = {}
        self._invites: dict[str, str] = {}  # invite token -> call id
        self._where: dict[str, str] = {}  # participant id -> call id
        self._resume: dict[str, str] = {}  # resume secret -> participant id
        self.phone_codes = PhoneCodes()  # codes that let a phone join as someone's voice
        self.resume_prefix = ""  # with many nodes, this node's id: who to relay a comeback to

    def __len__(self) -> int:
        return len(self._calls)

    def create(
        self,
        owner: str,
        now: float,
        plan: DisruptionPlan | None = None,
        check_in_minutes: int | None = None,
        practice: bool = False,
        window: Window | None = None,
    ) -> Call:
        if len(self._calls) >= self.rules.max_calls:
            raise ProtocolError("busy", "the server holds as many calls as it is allowed to")
        if len(self.owned_by(owner)) >= self.rules.max_calls_per_staff:
            raise ProtocolError("too-many-calls", "end some of your calls before creating more")
        invites = {self._token(INVITE_BYTES): role for role in INVITED_ROLES}
        call = Call(
            id=self._token(ID_BYTES),
            owner=owner,
            created_at=now,
            expires_at=now + self.rules.ttl_seconds,
            max_participants=self.rules.max_participants,
            invites=invites,
            plan=plan or DisruptionPlan(),
            check_in_minutes=(
                self.rules.check_in_minutes if check_in_minutes is None else check_in_minutes
            ),
            practice=practice,
            window=window,
            chat_limit=self.rules.chat_limit,
            e2ee_required=self.rules.require_e2ee,
        )
        self._calls[call.id] = call
        for token in invites:
            self._invites[token] = call.id
        return call

    def people(self) -> int:
        """Everyone in a call or a lobby (connection tests included)."""
        return len(self._where)

    def all_calls(self) -> list[Call]:
        return list(self._calls.values())

    def owned_by(self, owner: str) -> list[Call]:
        return [c for c in self._calls.values() if c.owner == owner]

    def get(self, call_id: str) -> Call | None:
        return self._calls.get(call_id)

    def call_of(self, participant_id: str) -> Call | None:
        call_id = self._where.get(participant_id)
        return None if call_id is None else self._calls.get(call_id)

    def join_staff(
        self, owner: str, call_id: str, now: float, e2ee: bool = False
    ) -> tuple[Participant, list[Event]]:
        call = self._calls.get(call_id)
        if call is None or call.owner != owner or call.is_expired(now):
            raise ProtocolError("no-call", "there is no such call of yours (it may have ended)")
        self._check_e2ee(call, e2ee)
        person = Participant(
            self._token(ID_BYTES), Role.STAFF, clean_name(owner), Place.CALL, e2ee=e2ee
        )
        self._new_resume(person)
        call.dial_in = self.takes_phones
        events = call.add_staff(person)
        self._where[person.id] = call.id
        return person, events

    def closed(self, token: str, now: float) -> OutsideHours | None:
        """What a link opened outside its call's hours is told (None: it is open now)."""
        opens = self._call_for_invite(token, now).opens_at(self.rules.hours, now)
        return None if opens is None else OutsideHours(iso_time(opens))

    def join_invite(
        self, token: str, name: str, now: float, mode: str = "video", e2ee: bool = False
    ) -> tuple[Participant, list[Event]]:
        call = self._call_for_invite(token, now)
        if call.opens_at(self.rules.hours, now) is not None:
            raise ProtocolError("outside-hours", "this link is outside the hours of its call")
        self._check_e2ee(call, e2ee)
        person = Participant(
            self._token(ID_BYTES),
            call.invites[token],
            clean_name(name),
            Place.LOBBY,
            mode=mode,
            e2ee=e2ee,
        )
        self._new_resume(person)
        events = call.add_to_lobby(person, now, self.rules.knocks_per_minute)
        self._where[person.id] = call.id
        return person, events + self._codes_for(call, [person])

    def plan_for_invite(self, token: str, now: float) -> DisruptionPlan:
        """What the call of a valid invite does if it drops, shown before joining."""
        return self._call_for_invite(token, now).plan

    def join_echo(self, token: str, now: float) -> tuple[Participant, list[Event]]:
        """A connection test for someone holding a valid invite."""
        call = self._call_for_invite(token, now)
        return self._echo(call, call.invites[token], now)

    def join_echo_staff(
        self, owner: str, call_id: str, now: float
    ) -> tuple[Participant, list[Event]]:
        """A connection test for staff, before they join one of their calls."""
        call = self._calls.get(call_id)
        if call is None or call.owner != owner or call.is_expired(now):
            raise ProtocolError("no-call", "there is no such call of yours (it may have ended)")
        return self._echo(call, Role.STAFF, now)

    def _echo(self, call: Call, role: Role, now: float) -> tuple[Participant, list[Event]]:
        if len(self._calls) >= self.rules.max_calls:
            raise ProtocolError("busy", "the server holds as many calls as it is allowed to")
        echo = Call(
            id=self._token(ID_BYTES),
            owner="",
            created_at=now,
            expires_at=min(now + ECHO_SECONDS, call.expires_at),
            max_participants=2,
            invites={},
            echo=True,
            e2ee_required=self.rules.require_e2ee,  # said, never enforced: the test must run
        )
        self._calls[echo.id] = echo
        person = Participant(self._token(ID_BYTES), role, "", Place.CALL)
        self._where[person.id] = echo.id
        return person, echo.add_echo(person)

    def resume(self, secret: str, now: float) -> tuple[Participant, list[Event]]:
        """Someone whose connection dropped comes back with their resume secret."""
        pid = self._resume.get(secret) if secret else None
        call = None if pid is None else self.call_of(pid)
        person = None if call is None or pid is None else call.participants.get(pid)
        if call is None or person is None or person.place is not Place.CALL or call.echo:
            raise ProtocolError(
                "invalid-resume", "you cannot return to this call: it ended or you left it"
            )
        del self._resume[secret]
        call.e2ee_required = self.rules.require_e2ee  # said as it stands; a comeback is let in
        call.dial_in = self.takes_phones
        events = call.back(person.id, self._new_resume(person))
        return person, events + self._codes_for(call, [person])

    # ------------------------------------------------------------ phones

    @property
    def takes_phones(self) -> bool:
        """Whether staff may allow phones: the server takes them, and the organization does
        not require end to end (which a phone cannot do)."""
        return bool(self.rules.dial_in_number) and not self.rules.require_e2ee

    def allow_phone(self, call: Call, by: str, on: bool) -> list[Event]:
        """Staff allow phone audio in their call (or no longer): the others get their codes,
        or are told theirs are gone."""
        if on and not self.rules.dial_in_number:
            raise ProtocolError("no-dial-in", "this server takes no phone calls")
        if on and self.rules.require_e2ee:
            raise ProtocolError(
                "phone-e2ee",
                "this organization requires end-to-end encryption, which a phone cannot do",
            )
        changed = call.phone_allowed != on
        people = call.allow_phone(by, on)
        if not changed:
            return []
        told: list[Event] = [Send(s.id, PhoneAllowed(on)) for s in call.staff()]
        if on:
            return told + self._codes_for(call, people)
        self.phone_codes.revoke(call.id)
        return told + [Send(p.id, PhoneCode()) for p in people]

    def _codes_for(self, call: Call, people: list[Participant]) -> list[Event]:
        """Each of `people` who may hold a code is told theirs, while phones are allowed."""
        if not call.phone_allowed or not self.rules.dial_in_number:
            return []
        holders = {p.id for p in call.code_holders()}
        events: list[Event] = []
        for p in people:
            if p.id in holders:
                call.phone_people[p.id] = (p.role, p.name)
                digits = self.phone_codes.issue(call.id, p.id)
                events.append(Send(p.id, PhoneCode(self.rules.dial_in_number, digits)))
        return events

    def phone_arrives(self, holder: Holder, now: float) -> tuple[str, list[Event]]:
        """A phone entered a valid code: its participant id, and what that sets going."""
        call = self._calls.get(holder.call)
        if call is None or call.ended or call.is_expired(now):
            raise ProtocolError("no-call", "the call of this code has ended")
        if self.rules.require_e2ee:
            raise ProtocolError("e2ee-required", E2EE_REQUIRED)
        leg_id = self._token(ID_BYTES)
        events = call.phone_arrives(leg_id, holder.participant, now)
        self._where[leg_id] = call.id
        return leg_id, events

    def leave(self, participant_id: str, dropped: bool = False) -> list[Event]:
        """Someone leaves (a phone hung up): a person whose phone it was gets a new code."""
        call = self.call_of(participant_id)
        if call is None:
            return []
        person = call.participants.get(participant_id)
        owner = call.participants.get(person.phone_of) if person is not None else None
        events = call.leave(participant_id, dropped)
        if owner is not None:
            events += self._codes_for(call, [owner])
        self.forget(events)
        return events

    def away_too_long(self, now: float, grace: float) -> list[Event]:
        """Everyone gone longer than `grace` seconds without coming back leaves their call."""
        events: list[Event] = []
        for call in list(self._calls.values()):
            events += call.away_too_long(now, grace)
        self.forget(events)
        return events

    def _check_e2ee(self, call: Call, e2ee: bool) -> None:
        """Where the organization requires end to end (`require_e2ee`, as it stands after a
        reload), a page that cannot seal its media is refused, before anyone in the call or
        its lobby is told or counted: one such person would put the whole call in the clear."""
        call.e2ee_required = self.rules.require_e2ee
        if call.e2ee_required and not e2ee:
            raise ProtocolError("e2ee-required", E2EE_REQUIRED)

    def has_invite(self, token: str) -> bool:
        return token in self._invites

    def has_resume(self, secret: str) -> bool:
        return secret in self._resume

    def _new_resume(self, person: Participant) -> str:
        person.resume = self.resume_prefix + self._token(INVITE_BYTES)
        self._resume[person.resume] = person.id
        return person.resume

    def _call_for_invite(self, token: str, now: float) -> Call:
        call_id = self._invites.get(token)
        call = None if call_id is None else self._calls.get(call_id)
        if call is None or call.is_expired(now):
            raise ProtocolError(
                "invalid-invite", "this link is not valid: the call may have ended or expired"
            )
        return call

    def forget(self, events: list[Event]) -> None:
        """Drop index entries for people and calls that the events say are gone."""
        for event in events:
            if isinstance(event, Departed):
                self._where.pop(event.participant, None)
                for secret in [s for s, p in self._resume.items() if p == event.participant]:
                    del self._resume[secret]
            elif isinstance(event, CallGone):
                self._drop(event.call)

    def end(self, call_id: str, by_owner: str, now: float) -> list[Event]:
        """End a call through the staff API (not from inside it)."""
        call = self._calls.get(call_id)
        if call is None or call.owner != by_owner:
            raise ProtocolError("no-call", "there is no such call of yours (it may have ended)")
        events = call.end(None, "ended by staff")
        self.forget(events)
        return events

    def end_all(self, reason: str) -> list[Event]:
        """End every call (the server is stopping or restarting)."""
        events: list[Event] = []
        for call in list(self._calls.values()):
            events += call.end(None, reason)
        self.forget(events)
        return events

    def hours_ending(self, now: float, before: float) -> list[Event]:
        """Staff of calls whose hours end within `before` seconds are reminded, once."""
        events: list[Event] = []
        for call in self._calls.values():
            events += call.hours_ending(self.rules.hours, now, before)
        return events

    def expire(self, now: float) -> list[Event]:
        events: list[Event] = []
        for call in [c for c in self._calls.values() if c.is_expired(now)]:
            events += call.end(None, "the call reached its time limit")
        self.forget(events)
        return events

    def _drop(self, call_id: str) -> None:
        call = self._calls.pop(call_id, None)
        if call is None:
            return
        for token in [t for t, c in self._invites.items() if c == call_id]:
            del self._invites[token]
        self.phone_codes.revoke(call_id)
        for pid in [p for p, c in self._where.items() if c == call_id]:
            del self._where[pid]
            for secret in [s for s, p in self._resume.items() if p == pid]:
                del self._resume[secret]
