"""Unit tests of signaling/sign_in_limits.py: backoff per source and per account."""

from signaling.sign_in_limits import Backoff, SignInLimits


def test_a_guessing_source_waits_twice_as_long_after_each_failure() -> None:
    limits = SignInLimits(Backoff(free=2, first=1.0, longest=8.0), Backoff(20, 1.0, 60.0))
    now = 100.0
    for _ in range(2):
        assert limits.retry_after("a", "alex", now) == 0
        limits.failed("a", "alex", now)
    waits = []
    for _ in range(5):
        wait = limits.retry_after("a", "alex", now)
        waits.append(wait)
        now += wait
        limits.failed("a", "alex", now)
    assert waits == [1.0, 2.0, 4.0, 8.0, 8.0]
    # Another source is not slowed by this one, for the same account.
    assert limits.retry_after("b", "alex", now) == 0


def test_an_account_is_slowed_only_after_many_failures_from_everywhere() -> None:
    limits = SignInLimits(Backoff(5, 1.0, 300.0), Backoff(free=4, first=2.0, longest=60.0))
    for i in range(4):
        limits.failed(f"source-{i}", "alex", 10.0)
    assert limits.retry_after("source-9", "alex", 10.0) == 2.0
    assert limits.retry_after("source-9", "sam", 10.0) == 0


def test_success_clears_and_old_failures_are_forgotten() -> None:
    limits = SignInLimits(Backoff(1, 1.0, 8.0), Backoff(1, 1.0, 8.0))
    limits.failed("a", "alex", 0.0)
    assert limits.retry_after("a", "alex", 0.0) == 1.0
    limits.succeeded("a", "alex")
    assert limits.retry_after("a", "alex", 0.0) == 0
    limits.failed("a", "alex", 0.0)
    limits.sweep(3599.0)
    assert len(limits) == 2
    limits.sweep(3600.0)
    assert len(limits) == 0
