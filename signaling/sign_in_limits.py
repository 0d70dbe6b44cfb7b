"""Sign-in failures, counted per source address and per account, in memory only (time passed
in): each key allows a few failures, then waits twice as long after every further one."""

from __future__ import annotations

from dataclasses import dataclass

FORGET_SECONDS = 3600.0  # a key with no failure for this long starts afresh


@dataclass(frozen=True)
class Backoff:
    free: int  # failures allowed before any wait
    first: float  # seconds of the first wait
    longest: float  # the wait never grows beyond this

    def wait(self, failures: int) -> float:
        over = failures - self.free
        return 0.0 if over < 0 else min(self.longest, self.first * 2.0**over)


# A source that guesses is slowed hard; an account only after many failures from everywhere,
# so one guessing source cannot lock a real staff member out (its refused attempts do not
# count, since they are never checked).
SOURCE = Backoff(free=5, first=1.0, longest=300.0)
ACCOUNT = Backoff(free=20, first=1.0, longest=60.0)


@dataclass
class Failures:
    count: int = 0
    last: float = 0.0


class SignInLimits:
    def __init__(self, source: Backoff = SOURCE, account: Backoff = ACCOUNT) -> None:
        self.rules = {"source": source, "account": account}
        self._failures: dict[tuple[str, str], Failures] = {}
        # With many nodes (docs/scaling.md), failures are counted across the cluster: what
        # changed here waits in `changed` until the node writes it there (server.cluster).
        self.shared = False
        self.changed: set[tuple[str, str]] = set()

    def get(self, key: tuple[str, str]) -> Failures | None:
        return self._failures.get(key)

    def install(self, key: tuple[str, str], entry: Failures | None) -> None:
        """Failures as the cluster counts them (None: none), over what is counted here."""
        if entry is None:
            self._failures.pop(key, None)
        else:
            self._failures[key] = entry

    def retry_after(self, source: str, account: str, now: float) -> float:
        """Seconds until this source may try this account again (0: now)."""
        waits = [0.0]
        for key in (("source", source), ("account", account)):
            entry = self._failures.get(key)
            if entry is not None:
                waits.append(entry.last + self.rules[key[0]].wait(entry.count) - now)
        return max(waits)

    def failed(self, source: str, account: str, now: float) -> None:
        for key in (("source", source), ("account", account)):
            entry = self._failures.setdefault(key, Failures())
            entry.count += 1
            entry.last = now
            if self.shared:
                self.changed.add(key)

    def succeeded(self, source: str, account: str) -> None:
        for key in (("source", source), ("account", account)):
            self._failures.pop(key, None)
            if self.shared:
                self.changed.add(key)

    def sweep(self, now: float) -> None:
        for key in [k for k, f in self._failures.items() if now - f.last >= FORGET_SECONDS]:
            del self._failures[key]

    def __len__(self) -> int:
        return len(self._failures)
