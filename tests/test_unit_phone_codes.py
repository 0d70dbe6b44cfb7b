"""The codes that let a phone join a call (signaling/phone_codes.py): one per person, eight
digits, used once; wrong ones held back per phone call, per caller and for the server."""

from __future__ import annotations

from signaling.phone_codes import (
    CALLER_TRIES,
    DIGITS,
    SERVER_WRONG_PER_MINUTE,
    TRIES_PER_CALL,
    Holder,
    PhoneCodes,
)

NUMBER = "+15145550123"


def wrong(codes: PhoneCodes) -> str:
    """A code of the right form that nobody holds."""
    n = 0
    while f"{n:0{DIGITS}d}" in codes.codes:
        n += 1
    return f"{n:0{DIGITS}d}"


def test_a_person_has_one_code_used_once() -> None:
    codes = PhoneCodes()
    code = codes.issue("call-1", "p1")
    assert len(code) == DIGITS and code.isdigit()
    assert codes.issue("call-1", "p1") == code  # asked again: the same
    other = codes.issue("call-1", "p2")
    assert other != code
    attempt = codes.attempt(NUMBER)
    assert codes.redeem(attempt, code, now=0) == Holder("call-1", "p1")
    assert codes.redeem(codes.attempt(NUMBER), code, now=1) is None  # used up
    assert codes.issue("call-1", "p1") != code  # a new one if asked after


def test_codes_go_with_the_person_or_the_call() -> None:
    codes = PhoneCodes()
    a, b = codes.issue("call-1", "p1"), codes.issue("call-1", "p2")
    c = codes.issue("call-2", "p3")
    codes.revoke("call-1", "p1")
    assert a not in codes.codes and b in codes.codes
    codes.revoke("call-1")
    assert codes.codes == {c: Holder("call-2", "p3")}


def test_a_phone_call_gets_three_tries_and_a_caller_ten_in_ten_minutes() -> None:
    codes = PhoneCodes()
    right = codes.issue("call-1", "p1")
    attempt = codes.attempt(NUMBER)
    for _ in range(TRIES_PER_CALL):
        assert codes.redeem(attempt, wrong(codes), now=0) is None
    assert not codes.may_try(attempt, now=0)
    assert codes.redeem(attempt, right, now=0) is None  # no fourth try, even a right one
    # The same caller calls again and again: ten wrong codes in all, then no more tries.
    misses = TRIES_PER_CALL
    while misses < CALLER_TRIES:
        again = codes.attempt(NUMBER)
        while misses < CALLER_TRIES and codes.may_try(again, now=10):
            assert codes.redeem(again, wrong(codes), now=10) is None
            misses += 1
    assert not codes.may_try(codes.attempt(NUMBER), now=20)
    assert codes.may_try(codes.attempt("+15145550999"), now=20)  # another caller may
    assert codes.redeem(codes.attempt(NUMBER), right, now=20 + 600) == Holder("call-1", "p1")


def test_the_server_waits_after_many_wrong_codes_from_anyone() -> None:
    codes = PhoneCodes()
    right = codes.issue("call-1", "p1")
    for n in range(SERVER_WRONG_PER_MINUTE):
        codes.redeem(codes.attempt(f"+1555000{n:04d}"), wrong(codes), now=0)
    assert codes.redeem(codes.attempt("+15550009999"), right, now=30) is None
    assert codes.redeem(codes.attempt("+15550009999"), right, now=61) == Holder("call-1", "p1")


def test_the_number_is_never_kept_and_junk_codes_are_wrong() -> None:
    codes = PhoneCodes()
    codes.issue("call-1", "p1")
    for junk in ("", "12", "abcdefgh", "1234567890", "#" * DIGITS):
        attempt = codes.attempt(NUMBER)
        assert codes.redeem(attempt, junk, now=0) is None and attempt.tries == 1
    assert NUMBER not in repr(codes) and NUMBER not in repr(attempt)
    assert NUMBER.encode() not in repr(codes.caller_misses).encode()
