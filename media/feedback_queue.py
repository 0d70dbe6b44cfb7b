"""Transport-cc feedback of every viewer of a process, read together a few times a second.

A viewer's browser sends feedback about ten times a second. Read as each packet comes, between
forwarded packets, the code that reads it (SRTCP, the report, the estimate) runs cold every
time: in a media worker it took several times what it takes in a warm loop. Held here, still
sealed, and read in one go every `delay` seconds, for every viewer at once, it runs warm.

Each packet keeps the time it came and is read with that time, so the estimate is the same
as if it had been read at once, only up to `delay` later: less than a browser waits between
two feedback packets, and far less than the fallback's checks (once a second) take to act.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

DELAY_SECONDS = 0.1

Read = Callable[[bytes, float], None]  # reads one packet that came at the given time


class FeedbackQueue:
    def __init__(self, delay: float = DELAY_SECONDS) -> None:
        self.delay = delay
        self._pending: list[tuple[Read, bytes, float]] = []
        self._handle: asyncio.TimerHandle | None = None

    def put(self, read: Read, packet: bytes, at: float) -> None:
        """`packet` came `at` (monotonic seconds): `read` gets it within `delay` seconds."""
        self._pending.append((read, packet, at))
        if self._handle is None:
            self._handle = asyncio.get_running_loop().call_later(self.delay, self.read_all)

    def read_all(self) -> None:
        """Read everything held now, in the order it came."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        pending, self._pending = self._pending, []
        for read, packet, at in pending:
            try:
                read(packet, at)
            except Exception as exc:  # one viewer's packet: the others are still read
                logger.warning("a feedback packet could not be read (%s)", type(exc).__name__)

    def close(self) -> None:
        """Drop what is held (the process's media is stopping)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._pending.clear()

    def __len__(self) -> int:
        return len(self._pending)
