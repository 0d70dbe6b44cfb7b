"""Unit tests of phones in a call (issue 15), through the CallStore: staff allow phone audio,
codes go to everyone but staff, a phone that enters one joins as that person's voice (at
once, or through the lobby), and what leaving means on either side."""

import pytest

from signaling.call import Call
from signaling.events import CallGone, Departed, Entered, Event, PhoneQuiet, Send
from signaling.participant import Participant, Place, Role
from signaling.phone_codes import Holder
from signaling.protocol import (
    Joined,
    LobbyWaiting,
    PeerJoined,
    PeerLeft,
    PhoneAllowed,
    PhoneCode,
    PhoneVoice,
    ProtocolError,
)
from signaling.store import CallRules, CallStore

STAFF = "river.staff"
NUMBER = "+1 555 010 0199"


def invite(call: Call, role: Role) -> str:
    return next(token for token, r in call.invites.items() if r is role)


def to(person: Participant, events: list[Event], kind: type) -> list[object]:
    return [e.message for e in events if isinstance(e, Send) and e.to == person.id
            and isinstance(e.message, kind)]  # fmt: skip


@pytest.fixture
def store() -> CallStore:
    return CallStore(CallRules(max_participants=4, dial_in_number=NUMBER))


@pytest.fixture
def call(store: CallStore) -> Call:
    return store.create(STAFF, now=0)


@pytest.fixture
def staff(store: CallStore, call: Call) -> Participant:
    person, events = store.join_staff(STAFF, call.id, now=1)
    (joined,) = to(person, events, Joined)
    assert isinstance(joined, Joined) and joined.dial_in and not joined.phone
    return person


@pytest.fixture
def survivor(store: CallStore, call: Call, staff: Participant) -> Participant:
    person, _ = store.join_invite(invite(call, Role.SURVIVOR), "Maria", now=2)
    call.admit(staff.id, person.id)
    return person


def code_of(person: Participant, events: list[Event]) -> str:
    (code,) = to(person, events, PhoneCode)
    assert isinstance(code, PhoneCode) and code.number == NUMBER
    return code.digits


def allowed(store: CallStore, call: Call, staff: Participant) -> list[Event]:
    return store.allow_phone(call, staff.id, True)


def test_codes_go_to_everyone_but_staff_in_the_call_and_the_lobby(
    store: CallStore, call: Call, staff: Participant, survivor: Participant
) -> None:
    interpreter, _ = store.join_invite(invite(call, Role.INTERPRETER), "Ines", now=3)
    events = allowed(store, call, staff)
    assert to(staff, events, PhoneAllowed) == [PhoneAllowed(True)]
    codes = {code_of(survivor, events), code_of(interpreter, events)}
    assert len(codes) == 2 and all(len(c) == 8 and c.isdigit() for c in codes)
    assert not to(staff, events, PhoneCode)
    assert store.allow_phone(call, staff.id, True) == []  # already allowed: nothing new
    # Someone arriving later gets theirs at once, after `waiting`.
    late, events = store.join_invite(invite(call, Role.INTERPRETER), "Lou", now=4)
    assert len(code_of(late, events)) == 8
    # Turned off: everyone is told, and the codes no longer work.
    events = store.allow_phone(call, staff.id, False)
    assert to(staff, events, PhoneAllowed) == [PhoneAllowed(False)]
    assert all(to(p, events, PhoneCode) == [PhoneCode()] for p in (survivor, interpreter, late))
    attempt = store.phone_codes.attempt("caller")
    assert store.phone_codes.redeem(attempt, codes.pop(), now=5) is None


def test_only_staff_allow_and_only_where_the_server_takes_phones(
    store: CallStore, call: Call, staff: Participant, survivor: Participant
) -> None:
    with pytest.raises(ProtocolError, match=r"^forbidden:"):
        store.allow_phone(call, survivor.id, True)
    no_phones = CallStore(CallRules())
    other = no_phones.create(STAFF, now=0)
    person, events = no_phones.join_staff(STAFF, other.id, now=1)
    (joined,) = to(person, events, Joined)
    assert isinstance(joined, Joined) and not joined.dial_in
    with pytest.raises(ProtocolError, match=r"^no-dial-in:"):
        no_phones.allow_phone(other, person.id, True)
    strict = CallStore(CallRules(dial_in_number=NUMBER, require_e2ee=True))
    third = strict.create(STAFF, now=0)
    person, events = strict.join_staff(STAFF, third.id, now=1, e2ee=True)
    (joined,) = to(person, events, Joined)
    assert isinstance(joined, Joined) and not joined.dial_in  # no switch that always fails
    with pytest.raises(ProtocolError, match=r"^phone-e2ee:"):
        strict.allow_phone(third, person.id, True)


def test_a_phone_whose_person_is_in_the_call_joins_at_once_as_their_voice(
    store: CallStore, call: Call, staff: Participant, survivor: Participant
) -> None:
    digits = code_of(survivor, allowed(store, call, staff))
    holder = store.phone_codes.redeem(store.phone_codes.attempt("c"), digits, now=5)
    assert holder == Holder(call.id, survivor.id)
    leg_id, events = store.phone_arrives(holder, now=5)
    leg = call.participants[leg_id]
    assert leg.place is Place.CALL and leg.phone and leg.role is Role.SURVIVOR
    (joined,) = to(staff, events, PeerJoined)
    assert isinstance(joined, PeerJoined)
    assert (joined.peer.name, joined.peer.phone, joined.peer.phone_of) == (
        "Maria",
        True,
        survivor.id,
    )
    assert (joined.peer.mode, joined.peer.video, joined.peer.e2ee) == ("audio", False, False)
    assert to(survivor, events, PhoneVoice) == [PhoneVoice(True, leg_id)]
    assert Entered(call.id, leg_id) in events
    assert store.call_of(leg_id) is call
    # A second phone for the same person is refused (its code is used anyway).
    with pytest.raises(ProtocolError, match=r"^phone-taken:"):
        store.phone_arrives(holder, now=6)

    # Their person can't talk now: the phone is hushed both ways, then carries sound again.
    assert PhoneQuiet(call.id, leg_id, True) in call.cant_talk(survivor.id, True)
    assert PhoneQuiet(call.id, leg_id, False) in call.cant_talk(survivor.id, False)

    # The phone hangs up: the page gets its sound back, and a new code.
    events = store.leave(leg_id)
    assert to(survivor, events, PhoneVoice) == [PhoneVoice(False, leg_id)]
    assert len(code_of(survivor, events)) == 8 and code_of(survivor, events) != digits
    assert PeerLeft(leg_id) in to(staff, events, PeerLeft)
    assert store.call_of(leg_id) is None


def test_a_phone_waits_in_the_lobby_when_its_person_does(
    store: CallStore, call: Call, staff: Participant
) -> None:
    allowed(store, call, staff)
    waiting, events = store.join_invite(invite(call, Role.SURVIVOR), "Maria", now=2)
    holder = store.phone_codes.redeem(
        store.phone_codes.attempt("c"), code_of(waiting, events), now=3
    )
    assert holder is not None
    leg_id, events = store.phone_arrives(holder, now=3)
    (notice,) = to(staff, events, LobbyWaiting)
    assert notice == LobbyWaiting(leg_id, "Maria", "survivor", "audio", False, phone=True)
    assert call.participants[leg_id].place is Place.LOBBY
    # Both admitted, in either order: once both are in, the page is told.
    events = call.admit(staff.id, leg_id)
    assert not to(waiting, events, PhoneVoice)
    events = call.admit(staff.id, waiting.id)
    assert to(waiting, events, PhoneVoice) == [PhoneVoice(True, leg_id)]


def test_a_phone_whose_person_has_gone_is_a_phone_caller_in_the_lobby(
    store: CallStore, call: Call, staff: Participant, survivor: Participant
) -> None:
    digits = code_of(survivor, allowed(store, call, staff))
    call.leave(survivor.id)
    holder = store.phone_codes.redeem(store.phone_codes.attempt("c"), digits, now=5)
    assert holder is not None
    leg_id, events = store.phone_arrives(holder, now=5)
    (notice,) = to(staff, events, LobbyWaiting)
    assert isinstance(notice, LobbyWaiting) and notice.name == "" and notice.phone
    assert call.participants[leg_id].phone_of == ""


def test_a_dropped_page_leaves_its_phone_in_the_call_and_one_who_leaves_takes_it(
    store: CallStore, call: Call, staff: Participant, survivor: Participant
) -> None:
    digits = code_of(survivor, allowed(store, call, staff))
    holder = store.phone_codes.redeem(store.phone_codes.attempt("c"), digits, now=5)
    assert holder is not None
    leg_id, _ = store.phone_arrives(holder, now=5)
    call.drop(survivor.id, now=6)
    events = call.away_too_long(now=200, grace=120)
    assert Departed(call.id, survivor.id) in events and Departed(call.id, leg_id) not in events
    leg = call.participants[leg_id]
    assert leg.place is Place.CALL and leg.phone_of == ""  # on phone only

    interpreter, events = store.join_invite(invite(call, Role.INTERPRETER), "Ines", now=7)
    call.admit(staff.id, interpreter.id)
    holder = store.phone_codes.redeem(
        store.phone_codes.attempt("d"), code_of(interpreter, events), now=8
    )
    assert holder is not None
    second, _ = store.phone_arrives(holder, now=8)
    events = call.leave(interpreter.id)  # hangs up on purpose: their phone goes too
    assert Departed(call.id, second) in events


def test_a_full_call_or_an_ended_one_takes_no_phone(
    store: CallStore, call: Call, staff: Participant, survivor: Participant
) -> None:
    call.max_participants = 2  # staff and the survivor: full
    events = allowed(store, call, staff)
    holder = store.phone_codes.redeem(
        store.phone_codes.attempt("c"), code_of(survivor, events), now=4
    )
    assert holder is not None
    with pytest.raises(ProtocolError, match=r"^call-full:"):
        store.phone_arrives(holder, now=4)
    events = call.end(staff.id, "ended by staff")
    store.forget(events)
    assert CallGone(call.id) in events
    assert not store.phone_codes.codes  # every code of the call is gone with it
    with pytest.raises(ProtocolError, match=r"^no-call:"):
        store.phone_arrives(holder, now=5)
