"""The codes that let a phone join a call as someone's voice (issue 15; docs/phone.md), in
memory only, with time passed in.

A code is eight random digits, one per person of a call where staff allowed phone audio,
unique among the server's live codes and used once. Guessing is held back three ways: a
phone call gets three tries; one caller (named here only by an HMAC of their number, under
a key of this process, kept for the window alone) gets ten tries in ten minutes; and the
whole server no more than sixty wrong codes a minute, after which every try waits.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

DIGITS = 8
TRIES_PER_CALL = 3
CALLER_TRIES = 10
CALLER_WINDOW = 600.0
SERVER_WRONG_PER_MINUTE = 60


@dataclass(frozen=True)
class Holder:
    """Whose voice a code is: the call and the participant."""

    call: str
    participant: str


@dataclass
class Attempt:
    """One phone call's tries at a code."""

    caller: str  # the HMAC of its number: never the number
    tries: int = 0


@dataclass
class PhoneCodes:
    key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    codes: dict[str, Holder] = field(default_factory=dict)
    by_holder: dict[Holder, str] = field(default_factory=dict)
    caller_misses: dict[str, list[float]] = field(default_factory=dict)
    server_misses: list[float] = field(default_factory=list)

    def issue(self, call: str, participant: str) -> str:
        """The person's code, made now if they have none."""
        holder = Holder(call, participant)
        if holder in self.by_holder:
            return self.by_holder[holder]
        while True:
            code = "".join(secrets.choice("0123456789") for _ in range(DIGITS))
            if code not in self.codes:
                break
        self.codes[code] = holder
        self.by_holder[holder] = code
        return code

    def revoke(self, call: str, participant: str | None = None) -> None:
        """Forget the codes of a person (they left) or of a whole call (it ended)."""
        for holder in [h for h in self.by_holder if h.call == call]:
            if participant is None or holder.participant == participant:
                del self.codes[self.by_holder.pop(holder)]

    def attempt(self, number: str) -> Attempt:
        """A phone call begins: its tries, counted against its caller too."""
        caller = hmac.new(self.key, number.encode(), hashlib.sha256).hexdigest()
        return Attempt(caller)

    def may_try(self, attempt: Attempt, now: float) -> bool:
        """Whether this phone call may enter a code now."""
        self._forget(now)
        if attempt.tries >= TRIES_PER_CALL:
            return False
        if len(self.caller_misses.get(attempt.caller, [])) >= CALLER_TRIES:
            return False
        return len(self.server_misses) < SERVER_WRONG_PER_MINUTE

    def redeem(self, attempt: Attempt, code: str, now: float) -> Holder | None:
        """The holder of `code`, which is used up; None for a wrong code (counted)."""
        if not self.may_try(attempt, now):
            return None
        attempt.tries += 1
        holder = self.codes.pop(code, None) if len(code) == DIGITS and code.isdigit() else None
        if holder is None:
            self.caller_misses.setdefault(attempt.caller, []).append(now)
            self.server_misses.append(now)
            return None
        del self.by_holder[holder]
        return holder

    def _forget(self, now: float) -> None:
        self.server_misses = [t for t in self.server_misses if now - t < 60.0]
        for caller in list(self.caller_misses):
            kept = [t for t in self.caller_misses[caller] if now - t < CALLER_WINDOW]
            if kept:
                self.caller_misses[caller] = kept
            else:
                del self.caller_misses[caller]
