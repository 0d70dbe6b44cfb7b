"""Unit tests of the ways to talk, chat, "can't talk now", check-ins and the quick exit
(signaling/call.py through the CallStore, time passed in)."""

import pytest

from signaling.call import Call, ChatLimit
from signaling.events import Event, Send, VideoWanted
from signaling.participant import Participant, Role
from signaling.protocol import (
    ChatLine,
    CheckInAsk,
    CheckInReply,
    Joined,
    LobbyLeft,
    LobbyWaiting,
    PeerCantTalk,
    PeerJoined,
    PeerLeft,
    PeerMode,
    ProtocolError,
    VideoPaused,
)
from signaling.store import CallRules, CallStore

STAFF = "river.staff"


def sent(events: list[Event]) -> list[tuple[str, object]]:
    return [(e.to, e.message) for e in events if isinstance(e, Send)]


def invite(call: Call, role: Role) -> str:
    return next(token for token, r in call.invites.items() if r is role)


@pytest.fixture
def store() -> CallStore:
    return CallStore(CallRules(ttl_seconds=3600, max_participants=3, check_in_minutes=20))


@pytest.fixture
def call(store: CallStore) -> Call:
    return store.create(STAFF, now=0)


@pytest.fixture
def staff(store: CallStore, call: Call) -> Participant:
    return store.join_staff(STAFF, call.id, now=1)[0]


def admit(store: CallStore, call: Call, staff: Participant, role: Role, mode: str) -> Participant:
    person, _ = store.join_invite(invite(call, role), "Maria", now=2, mode=mode)
    call.admit(staff.id, person.id)
    return person


@pytest.fixture
def survivor(store: CallStore, call: Call, staff: Participant) -> Participant:
    return admit(store, call, staff, Role.SURVIVOR, "video")


@pytest.fixture
def interpreter(store: CallStore, call: Call, staff: Participant) -> Participant:
    return admit(store, call, staff, Role.INTERPRETER, "video")


def refused(action: object) -> str:
    with pytest.raises(ProtocolError) as info:
        action()  # type: ignore[operator]
    return info.value.code


# ---------------------------------------------------------------- ways to talk


@pytest.mark.parametrize("mode", ["audio", "text"])
def test_joining_by_audio_or_text_gets_no_video_and_staff_see_the_choice(
    store: CallStore, call: Call, staff: Participant, mode: str
) -> None:
    person, waiting = store.join_invite(invite(call, Role.SURVIVOR), "", now=2, mode=mode)
    assert (staff.id, LobbyWaiting(person.id, "", "survivor", mode)) in sent(waiting)
    events = call.admit(staff.id, person.id)
    joined = next(m for to, m in sent(events) if to == person.id and isinstance(m, Joined))
    assert joined.mode == mode
    assert joined.check_in_minutes == 0  # the reminder is for staff
    peer_joined = next(m for to, m in sent(events) if isinstance(m, PeerJoined))
    assert peer_joined.peer.mode == mode
    assert (staff.id, VideoPaused(person.id, True, "chosen")) in sent(events)
    # Staff's own joined says how often to check in; a newcomer sees the survivor's way.
    again = store.join_staff(STAFF, call.id, now=3)[1]
    staff_joined = next(m for _, m in sent(again) if isinstance(m, Joined))
    assert staff_joined.check_in_minutes == 20
    assert [p.mode for p in staff_joined.peers if p.participant == person.id] == [mode]


def test_switching_the_way_to_talk_tells_the_others_and_media(
    call: Call, staff: Participant, survivor: Participant
) -> None:
    to_text = call.set_mode(survivor.id, "text")
    assert (staff.id, PeerMode(survivor.id, "text")) in sent(to_text)
    assert VideoWanted(call.id, survivor.id, False) in to_text
    assert (survivor.id, VideoPaused(survivor.id, True, "chosen")) in sent(to_text)
    # Text to audio only: still no video, so media hears nothing new; the others do.
    to_audio = call.set_mode(survivor.id, "audio")
    assert sent(to_audio) == [(staff.id, PeerMode(survivor.id, "audio"))]
    assert call.set_mode(survivor.id, "audio") == []
    back = call.set_mode(survivor.id, "video")
    assert VideoWanted(call.id, survivor.id, True) in back
    assert (staff.id, VideoPaused(survivor.id, False, "chosen")) in sent(back)
    assert call.set_audio_only(survivor.id, True) and survivor.mode == "audio"


# ---------------------------------------------------------------- chat


def test_chat_reaches_everyone_in_the_call_now_and_keeps_nothing(
    store: CallStore, call: Call, staff: Participant, survivor: Participant
) -> None:
    waiting, _ = store.join_invite(invite(call, Role.INTERPRETER), "", now=3)
    events = call.chat(survivor.id, "  are you\x00 there?\r\n\n  ", now=10)
    line = ChatLine(survivor.id, "Maria", "survivor", "are you there?", 1)
    assert sorted(sent(events), key=str) == sorted([(staff.id, line), (survivor.id, line)], key=str)
    assert waiting.id not in {to for to, _ in sent(events)}  # the lobby sees nothing
    second = call.chat(staff.id, "yes\nhere", now=11)
    assert {m.id for _, m in sent(second)} == {2}  # type: ignore[attr-defined]
    assert "are you" not in repr(call)  # no text is kept in the call's state


def test_chat_refuses_empty_long_and_fast_lines_and_the_lobby(
    store: CallStore, call: Call, staff: Participant, survivor: Participant
) -> None:
    assert refused(lambda: call.chat(survivor.id, " \n\t ", now=1)) == "chat-empty"
    assert refused(lambda: call.chat(survivor.id, "x" * 1001, now=1)) == "chat-too-long"
    burst, window = ChatLimit().lines, ChatLimit().seconds  # the default: 5 in 10 s
    assert (burst, window) == (5, 10.0)
    for i in range(burst):
        call.chat(survivor.id, f"line {i}", now=1 + i)
    assert refused(lambda: call.chat(survivor.id, "one more", now=1 + burst)) == "chat-rate"
    assert call.chat(staff.id, "staff is not slowed by others", now=1 + burst)
    assert call.chat(survivor.id, "later", now=1 + window + 0.5)
    waiting, _ = store.join_invite(invite(call, Role.INTERPRETER), "", now=3)
    assert refused(lambda: call.chat(waiting.id, "hi", now=30)) == "not-in-call"


def test_the_chat_limit_of_the_rules_applies_to_calls_made_under_them() -> None:
    store = CallStore(CallRules(chat_limit=ChatLimit(lines=2, seconds=60.0)))
    call = store.create(STAFF, now=0)
    staff = store.join_staff(STAFF, call.id, now=1)[0]
    call.chat(staff.id, "one", now=10)
    call.chat(staff.id, "two", now=20)
    with pytest.raises(ProtocolError, match="at most 2 messages in 60 seconds") as refusal:
        call.chat(staff.id, "three", now=69)
    assert refusal.value.code == "chat-rate"
    assert call.chat(staff.id, "a minute after the first", now=70.5)
    # New rules (a reload) are for new calls; this one keeps the limit it was made with.
    store.rules = CallRules(chat_limit=ChatLimit(lines=50, seconds=1.0))
    with pytest.raises(ProtocolError):
        call.chat(staff.id, "still two a minute", now=71)


# ---------------------------------------------------------------- can't talk now


def test_cant_talk_now_tells_the_others_at_once_and_shows_to_newcomers(
    store: CallStore, call: Call, staff: Participant, survivor: Participant
) -> None:
    events = call.cant_talk(survivor.id, True)
    assert sent(events) == [(staff.id, PeerCantTalk(survivor.id, True))]
    assert call.cant_talk(survivor.id, True) == []
    interpreter, _ = store.join_invite(invite(call, Role.INTERPRETER), "", now=3)
    entered = call.admit(staff.id, interpreter.id)
    joined = next(m for to, m in sent(entered) if to == interpreter.id and isinstance(m, Joined))
    assert [p.cant_talk for p in joined.peers if p.participant == survivor.id] == [True]
    back = call.cant_talk(survivor.id, False)
    assert sorted(sent(back), key=str) == sorted(
        [
            (staff.id, PeerCantTalk(survivor.id, False)),
            (interpreter.id, PeerCantTalk(survivor.id, False)),
        ],
        key=str,
    )
    assert refused(lambda: call.cant_talk(staff.id, True)) == "forbidden"


# ---------------------------------------------------------------- check-ins


def test_staff_check_in_reaches_everyone_else_and_answers_reach_staff(
    call: Call, staff: Participant, survivor: Participant, interpreter: Participant
) -> None:
    asked = call.check_in(staff.id)
    assert sorted(sent(asked), key=str) == sorted(
        [(survivor.id, CheckInAsk()), (interpreter.id, CheckInAsk())], key=str
    )
    for answer in ("ok", "text", "audio", "go"):
        assert sent(call.answer_check_in(survivor.id, answer)) == [
            (staff.id, CheckInReply(survivor.id, answer))
        ]
    assert refused(lambda: call.check_in(survivor.id)) == "forbidden"
    assert refused(lambda: call.answer_check_in(staff.id, "ok")) == "forbidden"


def test_a_check_in_with_nobody_to_ask_is_refused(call: Call, staff: Participant) -> None:
    assert refused(lambda: call.check_in(staff.id)) == "nobody-to-ask"


def test_a_call_may_set_its_own_check_in_interval(store: CallStore) -> None:
    assert store.create("a", now=0).check_in_minutes == 20
    assert store.create("a", now=0, check_in_minutes=0).check_in_minutes == 0


# ---------------------------------------------------------------- quick exit


def test_quick_exit_is_told_apart_from_an_ordinary_leave(
    store: CallStore,
    call: Call,
    staff: Participant,
    survivor: Participant,
    interpreter: Participant,
) -> None:
    quick = call.leave(survivor.id, quick=True)
    assert (staff.id, PeerLeft(survivor.id, False, True)) in sent(quick)
    assert (interpreter.id, PeerLeft(survivor.id, False, True)) in sent(quick)
    plain = call.leave(interpreter.id)
    assert sent(plain) == [(staff.id, PeerLeft(interpreter.id, False, False))]


def test_quick_exit_from_the_lobby_is_told_to_staff_too(
    store: CallStore, call: Call, staff: Participant
) -> None:
    person, _ = store.join_invite(invite(call, Role.SURVIVOR), "", now=2)
    assert sent(call.leave(person.id, quick=True)) == [(staff.id, LobbyLeft(person.id, True))]


def test_knocks_at_a_lobby_are_limited_per_minute() -> None:
    store = CallStore(CallRules(max_participants=8, knocks_per_minute=3))
    call = store.create(STAFF, now=0)
    token = invite(call, Role.SURVIVOR)
    people = [store.join_invite(token, "", now=10 + i)[0] for i in range(3)]
    with pytest.raises(ProtocolError) as info:
        store.join_invite(token, "", now=20)
    assert info.value.code == "lobby-busy"
    store.forget(call.leave(people[0].id))  # leaving frees no knock: they are per minute
    with pytest.raises(ProtocolError):
        store.join_invite(token, "", now=69)
    assert store.join_invite(token, "", now=71)[0].id
