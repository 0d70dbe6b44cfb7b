"""Unit tests of the end-to-end encryption relay (signaling/call.py through the CallStore,
time passed in): messages the pages exchange for their keys, which the server passes on as
they came, to one person in the call or to everyone else in it, and never reads or keeps."""

from dataclasses import dataclass

import pytest
from test_unit_call import invite

from signaling.call import E2EE_MESSAGES, E2EE_SECONDS, Call
from signaling.events import Event, Send
from signaling.participant import Participant, Role
from signaling.protocol import E2eeFrom, ProtocolError
from signaling.store import CallRules, CallStore

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
