"""Unit tests of signaling/staff_sessions.py with explicit times."""

import itertools

import pytest

from signaling.staff_sessions import SESSION_BYTES, StaffSessions


@pytest.fixture
def sessions() -> StaffSessions:
    numbers = itertools.count()
    return StaffSessions(ttl_seconds=100, token=lambda nbytes: f"s{nbytes}-{next(numbers)}")


def test_open_then_who_names_the_staff(sessions: StaffSessions) -> None:
    token = sessions.open("anna", now=0)
    assert token == f"s{SESSION_BYTES}-0"
    assert sessions.who(token, now=99.9) == "anna"


def test_unknown_token_is_nobody(sessions: StaffSessions) -> None:
    sessions.open("anna", now=0)
    assert sessions.who("nope", now=1) is None
    assert sessions.who("", now=1) is None


def test_session_expires_at_ttl(sessions: StaffSessions) -> None:
    token = sessions.open("anna", now=10)
    assert sessions.who(token, now=110) is None
    # once expired it is gone, even if asked with an earlier time
    assert sessions.who(token, now=20) is None


def test_close_ends_one_session(sessions: StaffSessions) -> None:
    first = sessions.open("anna", now=0)
    second = sessions.open("anna", now=0)
    sessions.close(first)
    sessions.close("nope")
    assert sessions.who(first, now=1) is None
    assert sessions.who(second, now=1) == "anna"


def test_close_staff_ends_every_session_of_that_staff_only(sessions: StaffSessions) -> None:
    anna = [sessions.open("anna", now=0) for _ in range(3)]
    ben = sessions.open("ben", now=0)
    sessions.close_staff("anna")
    assert [sessions.who(t, now=1) for t in anna] == [None, None, None]
    assert sessions.who(ben, now=1) == "ben"


def test_sweep_drops_expired_sessions_only(sessions: StaffSessions) -> None:
    old = sessions.open("anna", now=0)
    young = sessions.open("ben", now=50)
    sessions.sweep(now=100)
    assert sessions.who(old, now=0) is None
    assert sessions.who(young, now=100) == "ben"


def test_open_sweeps_expired_sessions(sessions: StaffSessions) -> None:
    old = sessions.open("anna", now=0)
    sessions.open("ben", now=200)
    assert sessions.who(old, now=0) is None


def test_default_tokens_are_long_and_distinct() -> None:
    sessions = StaffSessions(ttl_seconds=100)
    tokens = {sessions.open("anna", now=0) for _ in range(20)}
    assert len(tokens) == 20
    assert all(len(t) >= 43 for t in tokens)  # token_urlsafe(32): 256 bits
