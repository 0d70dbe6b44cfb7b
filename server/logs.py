"""Logging that carries event kinds, counts and errors, never who, where or what was said."""

from __future__ import annotations

import itertools
import logging
import sys
import time
from collections.abc import MutableMapping
from typing import Any

OWN_PACKAGES = ("server", "signaling", "media", "bench", "__main__")
# Third-party libraries log addresses, candidates and SDP at DEBUG, and per-connection
# troubles at WARNING: they stay at ERROR, and even then only their logger name and level
# get through.
QUIET_LIBRARIES = ("aioice", "aiortc", "aiohttp", "asyncio", "av", "libav")


def is_own(name: str) -> bool:
    return name.split(".", 1)[0] in OWN_PACKAGES


class PrivacyFilter(logging.Filter):
    """Rewrites records from other libraries to their logger name and level alone."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not is_own(record.name):
            record.msg = "%s reported something at level %s (details withheld)"
            record.args = (record.name, record.levelname.lower())
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return True


def setup(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(PrivacyFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.ERROR, logging.getLevelName(level)))
    logging.getLogger("aiohttp.access").disabled = True


_numbers = itertools.count(1)


class ConnectionLog(logging.LoggerAdapter[logging.Logger]):
    """Prefixes records with a short connection number that means nothing outside this run."""

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__(logger, {"conn": next(_numbers)})

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        assert self.extra is not None
        return f"[c{self.extra['conn']}] {msg}", kwargs


class LogBudget:
    """At most `burst` records, refilled at `rate` a second, for records someone outside
    could cause at will (refused messages): a flood cannot fill the disk through the log."""

    def __init__(self, rate: float = 1.0, burst: float = 20.0) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.at = burst, time.monotonic()
        self.withheld = 0

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            self.withheld += 1
            return False
        self.tokens -= 1
        return True
