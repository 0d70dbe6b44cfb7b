"""What a media request can fail with, light enough for the signaling process to import
(it runs no media itself when media workers do, and so never loads aiortc or PyAV)."""

from __future__ import annotations


class MediaError(Exception):
    """An offer or candidate the server cannot use; `code`/`reason` go back to the browser."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
