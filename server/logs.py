"""Logging that carries event kinds, counts and errors, never who, where or what was said."""

from __future__ import annotations

import itertools
import logging
import sys
from collections.abc import MutableMapping
from typing import Any

OWN_PACKAGES = ("server", "signaling", "media", "bench", "__main__")
# Third-party libraries log addresses, candidates and SDP at DEBUG: they stay at WARNING, and
# even then only their logger name and level get through.
QUIET_LIBRARIES = ("aioice", "aiortc", "aiohttp", "asyncio", "av", "libav")


def is_own(name: str) -> bool:
    return name.split(".", 1)[0] in OWN_PACKAGES


class PrivacyFilter(logging.Filter):
    """Rewrites records from other libraries to their logger name and level alone."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not is_own(record.name):
            record.msg = "%s reported a %s (details withheld)"
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
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
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
