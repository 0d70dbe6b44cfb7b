"""Signed-in staff: browser sessions and API tokens, in memory, with expiry (time passed in)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from signaling.store import TokenFactory

SESSION_BYTES = 32


@dataclass(frozen=True)
class StaffSession:
    staff: str
    expires_at: float


class StaffSessions:
    def __init__(self, ttl_seconds: float, token: TokenFactory = secrets.token_urlsafe) -> None:
        self.ttl_seconds = ttl_seconds
        self._token = token
        self._sessions: dict[str, StaffSession] = {}
        self._ready: set[str] = set()  # sign-ins whose readiness checklist was confirmed

    def open(self, staff: str, now: float) -> str:
        self.sweep(now)
        token = self._token(SESSION_BYTES)
        self._sessions[token] = StaffSession(staff, now + self.ttl_seconds)
        return token

    def who(self, token: str, now: float) -> str | None:
        session = self._sessions.get(token)
        if session is None:
            return None
        if now >= session.expires_at:
            self.close(token)
            return None
        return session.staff

    def close(self, token: str) -> None:
        self._sessions.pop(token, None)
        self._ready.discard(token)

    def confirm_ready(self, token: str) -> None:
        """They confirmed the readiness checklist for this sign-in."""
        if token in self._sessions:
            self._ready.add(token)

    def is_ready(self, token: str) -> bool:
        return token in self._ready and token in self._sessions

    def close_staff(self, staff: str) -> None:
        for token in [t for t, s in self._sessions.items() if s.staff == staff]:
            self.close(token)

    def sweep(self, now: float) -> None:
        for token in [t for t, s in self._sessions.items() if now >= s.expires_at]:
            self.close(token)
