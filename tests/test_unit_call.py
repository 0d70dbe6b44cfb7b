"""Unit tests of signaling/call.py through the CallStore: lobby, admit, deny, leave, mute, end."""

import pytest

from signaling.call import Call
from signaling.events import CallGone, Departed, Entered, Event, Returned, Send, VideoWanted
from signaling.participant import Participant, Role
from signaling.protocol import (
    Denied,
    Ended,
    Joined,
    LobbyLeft,
    LobbyWaiting,
    PeerAway,
    PeerBack,
    PeerJoined,
    PeerLeft,
    PeerMode,
    PeerMuted,
    ProtocolError,
    SendVideo,
    VideoPaused,
    Waiting,
)
from signaling.store import CallRules, CallStore

STAFF = "river.staff"


def invite(call: Call, role: Role) -> str:
    return next(token for token, r in call.invites.items() if r is role)


def sent(events: list[Event]) -> list[tuple[str, object]]:
    return [(e.to, e.message) for e in events if isinstance(e, Send)]


def code(exc: pytest.ExceptionInfo[ProtocolError]) -> str:
    return exc.value.code


@pytest.fixture
def store() -> CallStore:
    return CallStore(CallRules(ttl_seconds=3600, max_participants=3))


@pytest.fixture
def call(store: CallStore) -> Call:
    return store.create(STAFF, now=0)


@pytest.fixture
def staff(store: CallStore, call: Call) -> Participant:
    person, _ = store.join_staff(STAFF, call.id, now=1)
    return person


@pytest.fixture
def guest(store: CallStore, call: Call, staff: Participant) -> Participant:
    """A survivor waiting in the lobby, with staff already in the call."""
    person, _ = store.join_invite(invite(call, Role.SURVIVOR), "Maria", now=2)
    return person


@pytest.fixture
def admitted(call: Call, staff: Participant, guest: Participant) -> Participant:
    call.admit(staff.id, guest.id)
    return guest


# ---------------------------------------------------------------- arrivals


def test_staff_join_enters_the_call(store: CallStore, call: Call) -> None:
    person, events = store.join_staff(STAFF, call.id, now=1)
    assert person.role is Role.STAFF
    assert events == [
        Send(
            person.id,
            Joined(person.id, "staff", 3, [], resume=person.resume, check_in_minutes=15),
        ),
        Entered(call.id, person.id),
    ]
    assert store.call_of(person.id) is call


def test_survivor_join_waits_and_staff_sees_the_cleaned_name(
    store: CallStore, call: Call, staff: Participant
) -> None:
    person, events = store.join_invite(invite(call, Role.SURVIVOR), "\x07 Maria\x1b \t Lopez\n", 2)
    assert person.role is Role.SURVIVOR
    assert person.name == "Maria Lopez"
    assert sent(events) == [
        (person.id, Waiting(person.id)),
        (staff.id, LobbyWaiting(person.id, "Maria Lopez", "survivor")),
    ]
    assert not any(isinstance(e, Entered) for e in events)


def test_interpreter_invite_gives_interpreter_role(
    store: CallStore, call: Call, staff: Participant
) -> None:
    person, events = store.join_invite(invite(call, Role.INTERPRETER), "Lee", now=2)
    assert person.role is Role.INTERPRETER
    assert (staff.id, LobbyWaiting(person.id, "Lee", "interpreter")) in sent(events)


def test_long_name_is_cut_to_40(store: CallStore, call: Call, staff: Participant) -> None:
    person, _ = store.join_invite(invite(call, Role.SURVIVOR), "x" * 100, now=2)
    assert person.name == "x" * 40


def test_staff_arriving_later_is_shown_the_lobby(store: CallStore, call: Call) -> None:
    waiting, events = store.join_invite(invite(call, Role.SURVIVOR), "Maria", now=1)
    assert sent(events) == [(waiting.id, Waiting(waiting.id))]
    person, events = store.join_staff(STAFF, call.id, now=2)
    assert (person.id, LobbyWaiting(waiting.id, "Maria", "survivor")) in sent(events)


# ---------------------------------------------------------------- admit and deny


def test_admit_sends_joined_peer_joined_and_entered(
    call: Call, staff: Participant, guest: Participant
) -> None:
    events = call.admit(staff.id, guest.id)
    assert events == [
        Send(staff.id, LobbyLeft(guest.id)),
        Send(guest.id, Joined(guest.id, "survivor", 3, [staff.info()], resume=guest.resume)),
        Send(staff.id, PeerJoined(guest.info())),
        Entered(call.id, guest.id),
    ]
    assert guest in call.in_call()


def test_deny_sends_denied_and_departs(
    store: CallStore, call: Call, staff: Participant, guest: Participant
) -> None:
    events = call.deny(staff.id, guest.id)
    assert events == [
        Send(guest.id, Denied()),
        Send(staff.id, LobbyLeft(guest.id)),
        Departed(call.id, guest.id),
    ]
    store.forget(events)
    assert store.call_of(guest.id) is None
    assert guest.id not in call.participants


def test_survivor_in_call_cannot_admit(store: CallStore, call: Call, admitted: Participant) -> None:
    other, _ = store.join_invite(invite(call, Role.INTERPRETER), "Lee", now=3)
    with pytest.raises(ProtocolError) as exc:
        call.admit(admitted.id, other.id)
    assert code(exc) == "forbidden"
    with pytest.raises(ProtocolError) as exc:
        call.deny(admitted.id, other.id)
    assert code(exc) == "forbidden"


def test_waiting_guest_cannot_admit_themselves(call: Call, guest: Participant) -> None:
    with pytest.raises(ProtocolError) as exc:
        call.admit(guest.id, guest.id)
    assert code(exc) == "forbidden"


def test_admitting_someone_not_waiting_is_refused(
    call: Call, staff: Participant, admitted: Participant
) -> None:
    for target in (admitted.id, "nobody"):
        with pytest.raises(ProtocolError) as exc:
            call.admit(staff.id, target)
        assert code(exc) == "not-waiting"


def test_admit_into_full_call_is_refused() -> None:
    store = CallStore(CallRules(max_participants=2))
    call = store.create(STAFF, now=0)
    staff, _ = store.join_staff(STAFF, call.id, now=0)
    first, _ = store.join_invite(invite(call, Role.SURVIVOR), "", now=0)
    second, _ = store.join_invite(invite(call, Role.INTERPRETER), "", now=0)
    call.admit(staff.id, first.id)
    with pytest.raises(ProtocolError) as exc:
        call.admit(staff.id, second.id)
    assert code(exc) == "call-full"
    assert second in call.in_lobby()
    with pytest.raises(ProtocolError) as exc:
        store.join_staff(STAFF, call.id, now=0)
    assert code(exc) == "call-full"


def test_lobby_holds_twice_max_participants(store: CallStore, call: Call) -> None:
    token = invite(call, Role.SURVIVOR)
    for _ in range(call.lobby_limit):
        store.join_invite(token, "", now=1)
    with pytest.raises(ProtocolError) as exc:
        store.join_invite(token, "", now=1)
    assert code(exc) == "lobby-full"
    assert len(call.in_lobby()) == 6


# ---------------------------------------------------------------- leave and mute


def test_leave_from_lobby_tells_staff(call: Call, staff: Participant, guest: Participant) -> None:
    assert call.leave(guest.id) == [
        Send(staff.id, LobbyLeft(guest.id)),
        Departed(call.id, guest.id),
    ]
    assert call.in_lobby() == []


def test_leave_from_call_tells_the_others(
    call: Call, staff: Participant, admitted: Participant
) -> None:
    assert call.leave(admitted.id) == [
        Send(staff.id, PeerLeft(admitted.id)),
        Departed(call.id, admitted.id),
    ]
    assert call.in_call() == [staff]


def test_leave_twice_or_unknown_is_nothing(call: Call, guest: Participant) -> None:
    call.leave(guest.id)
    assert call.leave(guest.id) == []
    assert call.leave("nobody") == []


def test_leave_then_forget_drops_the_index(
    store: CallStore, call: Call, admitted: Participant
) -> None:
    store.forget(call.leave(admitted.id))
    assert store.call_of(admitted.id) is None
    assert len(store) == 1


def test_mute_is_broadcast_to_others_only(
    call: Call, staff: Participant, admitted: Participant
) -> None:
    assert call.set_mute(admitted.id, audio=False, video=True) == [
        Send(staff.id, PeerMuted(admitted.id, False, True))
    ]
    assert admitted.info().audio is False


def test_mute_state_is_shown_to_later_arrivals(
    store: CallStore, call: Call, staff: Participant
) -> None:
    call.set_mute(staff.id, audio=False, video=False)
    guest, _ = store.join_invite(invite(call, Role.SURVIVOR), "", now=2)
    joined = call.admit(staff.id, guest.id)[1]
    assert isinstance(joined, Send) and isinstance(joined.message, Joined)
    assert joined.message.peers[0].audio is False
    assert joined.message.peers[0].video is False


def test_mute_from_lobby_is_refused(call: Call, guest: Participant) -> None:
    with pytest.raises(ProtocolError) as exc:
        call.set_mute(guest.id, audio=False, video=False)
    assert code(exc) == "not-in-call"


# ---------------------------------------------------------------- end


def test_staff_end_tells_everyone_and_leaves_no_trace(
    store: CallStore, call: Call, staff: Participant, admitted: Participant
) -> None:
    waiting, _ = store.join_invite(invite(call, Role.INTERPRETER), "Lee", now=3)
    tokens = list(call.invites)
    everyone = {staff.id, admitted.id, waiting.id}

    events = call.end(staff.id, "ended by staff")
    store.forget(events)

    assert {e.to for e in events if isinstance(e, Send)} == everyone
    assert all(
        e.message == Ended("ended by staff", "ended-by-staff")
        for e in events
        if isinstance(e, Send)
    )
    assert {e.participant for e in events if isinstance(e, Departed)} == everyone
    assert events[-1] == CallGone(call.id)
    assert call.ended
    assert len(store) == 0
    assert store.get(call.id) is None
    assert all(store.call_of(pid) is None for pid in everyone)
    for token in tokens:
        with pytest.raises(ProtocolError) as exc:
            store.join_invite(token, "", now=4)
        assert code(exc) == "invalid-invite"


def test_survivor_cannot_end_the_call(call: Call, admitted: Participant) -> None:
    with pytest.raises(ProtocolError) as exc:
        call.end(admitted.id, "bye")
    assert code(exc) == "forbidden"
    assert not call.ended


# ---------------------------------------------------------------- dropped connections


def test_a_dropped_member_keeps_their_place_and_comes_back_with_a_new_secret(
    store: CallStore, call: Call, staff: Participant, admitted: Participant
) -> None:
    first_secret = admitted.resume
    assert len(first_secret) >= 32
    events = call.drop(admitted.id, now=10)
    assert sent(events) == [(staff.id, PeerAway(admitted.id))]
    assert admitted.id in call.participants and store.call_of(admitted.id) is call

    person, events = store.resume(first_secret, now=20)
    assert person is admitted and person.resume != first_secret and person.away_since is None
    (joined,) = [m for to, m in sent(events) if to == admitted.id]
    assert isinstance(joined, Joined) and joined.resumed and joined.resume == person.resume
    assert joined.peers == [staff.info()]
    assert Returned(call.id, admitted.id) in events
    assert (staff.id, PeerBack(admitted.id)) in sent(events)
    with pytest.raises(ProtocolError) as used:  # a secret works once
        store.resume(first_secret, now=21)
    assert code(used) == "invalid-resume"


def test_after_the_grace_period_a_dropped_member_has_left(
    store: CallStore, call: Call, staff: Participant, admitted: Participant
) -> None:
    call.drop(admitted.id, now=10)
    assert store.away_too_long(now=10 + 119, grace=120) == []
    events = store.away_too_long(now=10 + 120, grace=120)
    assert sent(events) == [(staff.id, PeerLeft(admitted.id, dropped=True))]
    assert Departed(call.id, admitted.id) in events
    assert store.call_of(admitted.id) is None
    with pytest.raises(ProtocolError) as late:
        store.resume(admitted.resume, now=131)
    assert code(late) == "invalid-resume"


def test_a_drop_from_the_lobby_is_leaving_and_resume_needs_a_member(
    store: CallStore, call: Call, staff: Participant, guest: Participant
) -> None:
    secret = guest.resume
    events = call.drop(guest.id, now=5)
    assert sent(events) == [(staff.id, LobbyLeft(guest.id))]
    with pytest.raises(ProtocolError) as gone:
        store.resume(secret, now=6)
    assert code(gone) == "invalid-resume"
    with pytest.raises(ProtocolError) as unknown:
        store.resume("", now=6)
    assert code(unknown) == "invalid-resume"


def test_audio_only_is_told_to_everyone_and_asks_media_for_no_video(
    call: Call, staff: Participant, admitted: Participant
) -> None:
    events = call.set_audio_only(admitted.id, True)
    assert VideoWanted(call.id, admitted.id, False) in events
    notice = VideoPaused(admitted.id, True, "chosen")
    # Staff's only viewer takes no video: staff's browser may stop sending it.
    told = [(staff.id, PeerMode(admitted.id, "audio")), (staff.id, notice), (admitted.id, notice)]
    assert sorted(sent(events), key=str) == sorted([*told, (staff.id, SendVideo(False))], key=str)
    assert call.set_audio_only(admitted.id, True) == []  # nothing changes
    back = call.set_audio_only(admitted.id, False)
    assert VideoWanted(call.id, admitted.id, True) in back
    assert (staff.id, SendVideo(True)) in sent(back)
    with pytest.raises(ProtocolError) as lobby:
        call.set_audio_only("nobody", True)
    assert code(lobby) == "not-in-call"


def test_a_weak_link_pauses_video_for_everyone_to_see_and_stops_a_sender_nobody_can_watch(
    call: Call, staff: Participant, admitted: Participant
) -> None:
    paused = VideoPaused(admitted.id, True, "weak-connection")
    events = call.weak_link(admitted.id, True)
    assert sorted(sent(events), key=str) == sorted(
        [(staff.id, paused), (admitted.id, paused), (staff.id, SendVideo(False))], key=str
    )
    assert not any(isinstance(e, VideoWanted) for e in events)  # the media decided it
    assert call.weak_link(admitted.id, True) == []  # said once
    resumed = VideoPaused(admitted.id, False, "weak-connection")
    assert sorted(sent(call.weak_link(admitted.id, False)), key=str) == sorted(
        [(staff.id, resumed), (admitted.id, resumed), (staff.id, SendVideo(True))], key=str
    )
    assert call.weak_link("nobody", True) == []


def test_a_choice_of_audio_only_and_a_weak_link_do_not_contradict_each_other(
    call: Call, staff: Participant, admitted: Participant
) -> None:
    call.set_audio_only(admitted.id, True)
    # Paused by choice already: a weak link (or its recovery) changes nothing anyone sees.
    assert call.weak_link(admitted.id, True) == []
    # "Video again" while the link is still weak: paused it stays, now for the link.
    again = call.set_audio_only(admitted.id, False)
    assert VideoWanted(call.id, admitted.id, True) in again
    weak = VideoPaused(admitted.id, True, "weak-connection")
    mode = (staff.id, PeerMode(admitted.id, "video"))
    assert sent(again) == [mode, (staff.id, weak), (admitted.id, weak)]  # staff still stopped
    assert not staff.sending_video


def test_a_sender_keeps_sending_while_someone_can_watch_and_a_return_is_judged_afresh(
    store: CallStore, call: Call, staff: Participant, admitted: Participant
) -> None:
    interpreter, _ = store.join_invite(invite(call, Role.INTERPRETER), "", now=3)
    call.admit(staff.id, interpreter.id)
    one = call.weak_link(admitted.id, True)
    assert not any(isinstance(m, SendVideo) for _, m in sent(one))  # the interpreter watches
    both = call.weak_link(interpreter.id, True)
    # Staff's viewers are both on audio only; staff still watch the other two.
    assert [(to, m) for to, m in sent(both) if isinstance(m, SendVideo)] == [
        (staff.id, SendVideo(False))
    ]
    # The survivor's connection drops and comes back: the new one starts with video.
    call.drop(admitted.id, now=10)
    back = call.back(admitted.id, resume="fresh")
    assert (interpreter.id, VideoPaused(admitted.id, False, "weak-connection")) in sent(back)
    assert (staff.id, SendVideo(True)) in sent(back)
    # The survivor leaves: the interpreter is the only viewer left, and takes no video.
    gone = call.leave(admitted.id)
    assert (staff.id, SendVideo(False)) in sent(gone)


def test_someone_who_joins_or_returns_learns_whose_video_is_paused_already(
    store: CallStore, call: Call, staff: Participant, admitted: Participant
) -> None:
    call.set_audio_only(admitted.id, True)
    interpreter, _ = store.join_invite(invite(call, Role.INTERPRETER), "", now=3)
    entered = call.admit(staff.id, interpreter.id)
    assert (interpreter.id, VideoPaused(admitted.id, True, "chosen")) in sent(entered)
    call.weak_link(interpreter.id, True)
    call.drop(staff.id, now=4)
    back = call.back(staff.id, resume="again")
    told = [m for to, m in sent(back) if to == staff.id and isinstance(m, VideoPaused)]
    assert sorted(told, key=str) == sorted(
        [
            VideoPaused(admitted.id, True, "chosen"),
            VideoPaused(interpreter.id, True, "weak-connection"),
        ],
        key=str,
    )
