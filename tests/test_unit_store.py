"""Unit tests of signaling/store.py: creation, invites, limits, expiry, ending, clean_name."""

import itertools
from contextlib import AbstractContextManager

import pytest

from signaling.events import CallGone, Departed, Send
from signaling.participant import Role
from signaling.protocol import Ended, ProtocolError
from signaling.store import CallRules, CallStore, TokenFactory, clean_name

STAFF = "river.staff"


def refused(code: str) -> AbstractContextManager[pytest.ExceptionInfo[ProtocolError]]:
    return pytest.raises(ProtocolError, match=f"^{code}:")


def counter_tokens() -> TokenFactory:
    numbers = itertools.count()
    return lambda nbytes: f"t{nbytes}-{next(numbers)}"


# ---------------------------------------------------------------- create


def test_create_makes_one_invite_per_invited_role() -> None:
    call = CallStore(CallRules()).create(STAFF, now=100)
    assert sorted(call.invites.values()) == sorted([Role.SURVIVOR, Role.INTERPRETER])
    assert call.owner == STAFF
    assert call.created_at == 100
    assert call.expires_at == 100 + CallRules().ttl_seconds


def test_invite_tokens_have_at_least_128_bits_and_are_distinct() -> None:
    store = CallStore(CallRules())
    tokens = [t for _ in range(20) for t in store.create(STAFF, now=0).invites]
    assert len(set(tokens)) == len(tokens) == 40
    # secrets.token_urlsafe(24): 24 random bytes = 192 bits, 32 base64url characters
    assert all(len(t) >= 32 for t in tokens)


def test_token_factory_is_used_with_the_right_sizes() -> None:
    call = CallStore(CallRules(), token=counter_tokens()).create(STAFF, now=0)
    assert all(t.startswith("t24-") for t in call.invites)
    assert call.id.startswith("t12-")


def test_call_ids_are_distinct() -> None:
    store = CallStore(CallRules())
    ids = {store.create(STAFF, now=0).id for _ in range(20)}
    assert len(ids) == 20 == len(store)


def test_max_calls_per_staff() -> None:
    store = CallStore(CallRules(max_calls_per_staff=2))
    store.create(STAFF, now=0)
    store.create(STAFF, now=0)
    with refused("too-many-calls"):
        store.create(STAFF, now=0)
    store.create("other.staff", now=0)
    assert len(store.owned_by(STAFF)) == 2


def test_ending_a_call_frees_a_per_staff_slot() -> None:
    store = CallStore(CallRules(max_calls_per_staff=1))
    call = store.create(STAFF, now=0)
    store.end(call.id, STAFF, now=1)
    store.create(STAFF, now=1)


def test_max_calls_in_total() -> None:
    store = CallStore(CallRules(max_calls=2))
    store.create("a", now=0)
    store.create("b", now=0)
    with refused("busy"):
        store.create("c", now=0)


# ---------------------------------------------------------------- joining


def test_join_staff_with_another_staffs_call_is_refused() -> None:
    store = CallStore(CallRules())
    call = store.create("other.staff", now=0)
    with refused("no-call"):
        store.join_staff(STAFF, call.id, now=1)
    assert call.participants == {}


def test_join_staff_with_unknown_call_is_refused() -> None:
    with refused("no-call"):
        CallStore(CallRules()).join_staff(STAFF, "nope", now=1)


def test_join_with_unknown_invite_is_refused() -> None:
    store = CallStore(CallRules())
    call = store.create(STAFF, now=0)
    for token in ("", "nope", call.id):
        with refused("invalid-invite"):
            store.join_invite(token, "", now=1)


# ---------------------------------------------------------------- expiry


def test_join_before_expiry_works_and_at_expiry_is_refused() -> None:
    store = CallStore(CallRules(ttl_seconds=100))
    call = store.create(STAFF, now=0)
    token = next(iter(call.invites))
    store.join_invite(token, "", now=99.9)
    with refused("invalid-invite"):
        store.join_invite(token, "", now=100)
    with refused("no-call"):
        store.join_staff(STAFF, call.id, now=100)


def test_expire_ends_only_expired_calls() -> None:
    store = CallStore(CallRules(ttl_seconds=100))
    old = store.create(STAFF, now=0)
    young = store.create(STAFF, now=50)
    person, _ = store.join_staff(STAFF, old.id, now=10)

    events = store.expire(now=100)

    assert CallGone(old.id) in events
    assert CallGone(young.id) not in events
    assert Send(person.id, Ended("the call reached its time limit", "expired")) in events
    assert Departed(old.id, person.id) in events
    assert store.get(old.id) is None
    assert store.get(young.id) is young
    assert store.call_of(person.id) is None
    assert len(store) == 1


def test_expire_with_nothing_expired_is_nothing() -> None:
    store = CallStore(CallRules(ttl_seconds=100))
    store.create(STAFF, now=0)
    assert store.expire(now=99) == []
    assert len(store) == 1


def test_expired_invites_stay_rejected_after_expire() -> None:
    store = CallStore(CallRules(ttl_seconds=100))
    call = store.create(STAFF, now=0)
    tokens = list(call.invites)
    store.expire(now=200)
    for token in tokens:
        with refused("invalid-invite"):
            store.join_invite(token, "", now=0)


# ---------------------------------------------------------------- end through the API


def test_store_end_by_owner_leaves_no_trace() -> None:
    store = CallStore(CallRules())
    call = store.create(STAFF, now=0)
    token = next(t for t, r in call.invites.items() if r is Role.SURVIVOR)
    staff, _ = store.join_staff(STAFF, call.id, now=1)
    guest, _ = store.join_invite(token, "", now=2)

    events = store.end(call.id, STAFF, now=3)

    assert events[-1] == CallGone(call.id)
    assert {e.to for e in events if isinstance(e, Send)} == {staff.id, guest.id}
    assert len(store) == 0
    assert store.call_of(staff.id) is None
    assert store.call_of(guest.id) is None
    with refused("invalid-invite"):
        store.join_invite(token, "", now=4)


def test_store_end_by_someone_else_is_refused() -> None:
    store = CallStore(CallRules())
    call = store.create(STAFF, now=0)
    with refused("no-call"):
        store.end(call.id, "other.staff", now=1)
    with refused("no-call"):
        store.end("nope", STAFF, now=1)
    assert store.get(call.id) is call


def test_forget_of_unknown_call_is_harmless() -> None:
    store = CallStore(CallRules())
    store.create(STAFF, now=0)
    store.forget([CallGone("nope"), Departed("nope", "nobody")])
    assert len(store) == 1


# ---------------------------------------------------------------- clean_name


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("Maria", "Maria"),
        ("  Maria  ", "Maria"),
        ("Ma\x00ri\x1ba", "Maria"),
        ("Maria\n\tLopez", "Maria Lopez"),
        ("Maria    Lopez", "Maria Lopez"),
        ("Zoë 李", "Zoë 李"),
        ("\u200bAna\u202e", "Ana"),
        ("", ""),
        ("\x00\x01 \x7f", ""),
        ("y" * 41, "y" * 40),
    ],
)
def test_clean_name(typed: str, kept: str) -> None:
    assert clean_name(typed) == kept


def test_clean_name_has_no_trailing_space_after_cutting() -> None:
    assert clean_name("a" * 39 + " bcd") == "a" * 39


def test_ending_every_call_says_the_server_is_restarting_to_pages_too() -> None:
    store = CallStore(CallRules())
    call = store.create("river.staff", now=0)
    staff, _ = store.join_staff("river.staff", call.id, now=1)
    events = store.end_all("the server is restarting")
    assert Send(staff.id, Ended("the server is restarting", "server-restarting")) in events
