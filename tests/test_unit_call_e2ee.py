"""Unit tests of the end-to-end encryption relay (signaling/call.py through the CallStore,
time passed in): messages the pages exchange for their keys, which the server passes on as
they came, to one person in the call or to everyone else in it, and never reads or keeps.
Then the honest fallback: who said at `join` that their page seals its media, as everyone
sees it, and the organization's requirement (`require_e2ee`), which refuses the others."""

from dataclasses import dataclass

import pytest
from test_unit_call import invite

from signaling.call import E2EE_MESSAGES, E2EE_SECONDS, Call
from signaling.events import Event, Send
from signaling.participant import Participant, Place, Role
from signaling.protocol import E2eeFrom, Joined, LobbyWaiting, PeerJoined, ProtocolError, Waiting
from signaling.store import E2EE_REQUIRED, CallRules, CallStore

STAFF = "river.staff"
PUBLIC = "q2Vhc0FfcHVibGljX2tleV9vZl8zMl9ieXRlc19fX18"
SEALED = "c2VhbGVkLWNhbGwta2V5LWZvci1vbmUtcmVhZGVy-_"


def sent(events: list[Event]) -> list[tuple[str, object]]:
    return sorted(((e.to, e.message) for e in events if isinstance(e, Send)), key=str)


def refused(action: object) -> str:
    with pytest.raises(ProtocolError) as refusal:
        action()  # type: ignore[operator]
    return refusal.value.code


@dataclass
class Scene:
    """A call with staff, a survivor and an interpreter in it."""

    store: CallStore
    call: Call
    staff: Participant
    survivor: Participant
    interpreter: Participant


@pytest.fixture
def scene() -> Scene:
    store = CallStore(CallRules(ttl_seconds=3600, max_participants=3))
    call = store.create(STAFF, now=0)
    staff = store.join_staff(STAFF, call.id, now=1)[0]
    guests = []
    for role in (Role.SURVIVOR, Role.INTERPRETER):
        person, _ = store.join_invite(invite(call, role), "Maria", now=2)
        call.admit(staff.id, person.id)
        guests.append(person)
    return Scene(store, call, staff, guests[0], guests[1])


def test_a_message_to_everyone_reaches_the_others_in_the_call_as_it_came(scene: Scene) -> None:
    call, staff, survivor, interpreter = scene.call, scene.staff, scene.survivor, scene.interpreter
    events = call.e2ee(survivor.id, "", PUBLIC, now=10)
    from_survivor = E2eeFrom(survivor.id, PUBLIC)
    assert sent(events) == sorted(
        [(staff.id, from_survivor), (interpreter.id, from_survivor)], key=str
    )
    assert PUBLIC not in repr(call)  # nothing of it is kept


def test_a_message_to_one_person_reaches_only_them(scene: Scene) -> None:
    call, staff, survivor, interpreter = scene.call, scene.staff, scene.survivor, scene.interpreter
    assert sent(call.e2ee(staff.id, survivor.id, SEALED, now=10)) == [
        (survivor.id, E2eeFrom(staff.id, SEALED))
    ]
    assert sent(call.e2ee(staff.id, interpreter.id, SEALED, now=10)) == [
        (interpreter.id, E2eeFrom(staff.id, SEALED))
    ]


def test_the_lobby_is_neither_reached_nor_heard(scene: Scene) -> None:
    store, call, staff, interpreter = scene.store, scene.call, scene.staff, scene.interpreter
    call.leave(interpreter.id)
    waiting, _ = store.join_invite(invite(call, Role.INTERPRETER), "Ines", now=6)
    assert waiting.id not in {to for to, _ in sent(call.e2ee(staff.id, "", PUBLIC, now=10))}
    assert refused(lambda: call.e2ee(staff.id, waiting.id, SEALED, now=10)) == "not-in-call"
    assert refused(lambda: call.e2ee(waiting.id, "", PUBLIC, now=10)) == "not-in-call"
    assert refused(lambda: call.e2ee(waiting.id, staff.id, SEALED, now=10)) == "not-in-call"


def test_bad_data_unknown_readers_and_oneself_are_refused(scene: Scene) -> None:
    call, staff = scene.call, scene.staff
    for data in ("", "not base64url!", "a+b/c==", "line\nbreak", "é"):
        assert refused(lambda data=data: call.e2ee(staff.id, "", data, now=10)) == "bad-field"
    assert refused(lambda: call.e2ee(staff.id, "nobody", SEALED, now=10)) == "not-in-call"
    assert refused(lambda: call.e2ee(staff.id, staff.id, SEALED, now=10)) == "not-in-call"
    # Nothing refused counts toward the rate.
    assert not staff.e2ee_sent


def test_each_person_is_held_to_a_rate_and_others_are_not_slowed(scene: Scene) -> None:
    call, staff, survivor = scene.call, scene.staff, scene.survivor
    for i in range(E2EE_MESSAGES):
        call.e2ee(survivor.id, "", PUBLIC, now=10 + i * 0.01)
    assert refused(lambda: call.e2ee(survivor.id, "", PUBLIC, now=10.5)) == "e2ee-rate"
    assert call.e2ee(staff.id, survivor.id, SEALED, now=10.5)
    assert call.e2ee(survivor.id, "", PUBLIC, now=10 + E2EE_SECONDS + 0.5)


# ---------------------------------------------------------------- the honest fallback


def joined_of(events: list[Event], pid: str) -> Joined:
    (joined,) = [m for to, m in sent(events) if to == pid and isinstance(m, Joined)]
    return joined


def e2ee_refusal(action: object) -> ProtocolError:
    with pytest.raises(ProtocolError) as refusal:
        action()  # type: ignore[operator]
    assert refusal.value.code == "e2ee-required"
    return refusal.value


def test_whether_each_page_seals_shows_in_joined_and_to_everyone() -> None:
    store = CallStore(CallRules(max_participants=3))
    call = store.create(STAFF, now=0)
    staff, events = store.join_staff(STAFF, call.id, now=1, e2ee=True)
    assert (joined_of(events, staff.id).e2ee, joined_of(events, staff.id).e2ee_required) == (
        True,
        False,
    )
    survivor, _ = store.join_invite(invite(call, Role.SURVIVOR), "Maria", now=2, e2ee=False)
    events = call.admit(staff.id, survivor.id)
    joined = joined_of(events, survivor.id)
    assert joined.e2ee is False and [(p.participant, p.e2ee) for p in joined.peers] == [
        (staff.id, True)
    ]
    (told,) = [m for to, m in sent(events) if to == staff.id and isinstance(m, PeerJoined)]
    assert (told.peer.participant, told.peer.e2ee) == (survivor.id, False)
    interpreter, _ = store.join_invite(invite(call, Role.INTERPRETER), "", now=3, e2ee=True)
    events = call.admit(staff.id, interpreter.id)
    peers = {p.participant: p.e2ee for p in joined_of(events, interpreter.id).peers}
    assert peers == {staff.id: True, survivor.id: False}
    assert joined_of(events, interpreter.id).e2ee is True
    told_e2ee = {to: m.peer.e2ee for to, m in sent(events) if isinstance(m, PeerJoined)}
    assert told_e2ee == {staff.id: True, survivor.id: True}


@pytest.fixture
def required() -> Scene:
    """Required: staff and a survivor in the call, an interpreter waiting, all able."""
    store = CallStore(CallRules(max_participants=3, knocks_per_minute=3, require_e2ee=True))
    call = store.create(STAFF, now=0)
    staff, events = store.join_staff(STAFF, call.id, now=1, e2ee=True)
    assert joined_of(events, staff.id).e2ee_required is True
    survivor, _ = store.join_invite(invite(call, Role.SURVIVOR), "Maria", now=2, e2ee=True)
    assert joined_of(call.admit(staff.id, survivor.id), survivor.id).e2ee_required is True
    interpreter, _ = store.join_invite(invite(call, Role.INTERPRETER), "Ines", now=3, e2ee=True)
    return Scene(store, call, staff, survivor, interpreter)


def test_when_required_a_page_that_cannot_seal_is_refused_and_nothing_changes(
    required: Scene,
) -> None:
    store, call = required.store, required.call
    before = (repr(call.participants), list(call.knocks), store.people())
    refusal = e2ee_refusal(
        lambda: store.join_invite(invite(call, Role.SURVIVOR), "Sam", now=4, e2ee=False)
    )
    assert refusal.reason == E2EE_REQUIRED
    assert refusal.reason == (
        "this organization requires end-to-end encryption: this browser or link cannot do it"
    )
    # Nobody was told, nobody was added, and the refusal used up no knock of the lobby:
    # the one knock of three left lets in a page that can.
    assert (repr(call.participants), list(call.knocks), store.people()) == before
    person, events = store.join_invite(invite(call, Role.SURVIVOR), "Sam", now=5, e2ee=True)
    assert (person.id, Waiting(person.id)) in sent(events)


def test_when_required_staff_who_cannot_seal_are_refused_too(required: Scene) -> None:
    store, call = required.store, required.call
    before = (repr(call.participants), store.people())
    e2ee_refusal(lambda: store.join_staff(STAFF, call.id, now=4))
    assert (repr(call.participants), store.people()) == before


def test_connection_tests_are_never_refused_for_it(required: Scene) -> None:
    """The test must run to tell the person their browser cannot."""
    store, call = required.store, required.call
    for person, events in (
        store.join_echo(invite(call, Role.SURVIVOR), now=4),
        store.join_echo_staff(STAFF, call.id, now=4),
    ):
        joined = joined_of(events, person.id)
        assert joined.echo and joined.e2ee is False and joined.e2ee_required is True


def test_a_comeback_keeps_what_its_join_said_and_is_let_in_after_a_reload() -> None:
    store = CallStore(CallRules())
    call = store.create(STAFF, now=0)
    staff, _ = store.join_staff(STAFF, call.id, now=1, e2ee=True)
    survivor, _ = store.join_invite(invite(call, Role.SURVIVOR), "", now=2, e2ee=False)
    call.admit(staff.id, survivor.id)
    store.rules = CallRules(require_e2ee=True)  # a reload: new joins must seal
    for person, said in ((staff, True), (survivor, False)):
        call.drop(person.id, now=3)
        back, events = store.resume(person.resume, now=4)
        joined = joined_of(events, back.id)
        assert joined.resumed and (joined.e2ee, joined.e2ee_required) == (said, True)
    assert {p.id: p.info().e2ee for p in call.in_call()} == {staff.id: True, survivor.id: False}
    # ... while a new join through the same link is refused.
    e2ee_refusal(lambda: store.join_invite(invite(call, Role.SURVIVOR), "", now=5))


def test_staff_see_in_the_lobby_whether_someone_waiting_can_seal() -> None:
    """Before admitting: a page that cannot seal would end end to end for the whole call."""
    store = CallStore(CallRules(max_participants=3))
    call = store.create(STAFF, now=0)
    store.join_staff(STAFF, call.id, now=1, e2ee=True)
    able, events = store.join_invite(invite(call, Role.SURVIVOR), "Maria", now=2, e2ee=True)
    unable, later = store.join_invite(invite(call, Role.INTERPRETER), "Ines", now=3)
    notices = {
        m.participant: m.e2ee for to, m in sent(events + later) if isinstance(m, LobbyWaiting)
    }
    assert notices == {able.id: True, unable.id: False}
    # Staff who come in later are shown the same.
    second = Participant("second", Role.STAFF, STAFF, Place.CALL)
    again = [m for _, m in sent(call.add_staff(second))]
    assert {m.participant: m.e2ee for m in again if isinstance(m, LobbyWaiting)} == notices
