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
        # With many nodes (docs/scaling.md), sign-ins are shared: what changed here waits in
        # `changed` until the node writes it where the others read it (server.cluster).
        self.shared = False
        self.changed: set[str] = set()

    def open(self, staff: str, now: float) -> str:
        self.sweep(now)
        token = self._token(SESSION_BYTES)
        self._sessions[token] = StaffSession(staff, now + self.ttl_seconds)
        self._change(token)
        return token

    def _change(self, token: str) -> None:
        if self.shared:
            self.changed.add(token)

    def get(self, token: str) -> tuple[StaffSession, bool] | None:
        """A sign-in as held here, and whether its readiness was confirmed."""
        session = self._sessions.get(token)
        return None if session is None else (session, token in self._ready)

    def install(self, token: str, session: StaffSession | None, ready: bool) -> None:
        """A sign-in as the cluster holds it (None: it holds none), over what is held here."""
        if session is None:
            self._sessions.pop(token, None)
            self._ready.discard(token)
            return
        self._sessions[token] = session
        if ready:
            self._ready.add(token)
        else:
            self._ready.discard(token)

    def who(self, token: str, now: float) -> str | None:
        session = self._sessions.get(token)
        if session is None:
            return None
        if now >= session.expires_at:
            self.close(token)
            return None
        return session.staff

    def close(self, token: str) -> None:
        if self._sessions.pop(token, None) is not None:
            self._change(token)
        self._ready.discard(token)

    def confirm_ready(self, token: str) -> None:
        """They confirmed the readiness checklist for this sign-in."""
        if token in self._sessions:
            self._ready.add(token)
            self._change(token)

    def is_ready(self, token: str) -> bool:
        return token in self._ready and token in self._sessions

    def close_staff(self, staff: str) -> None:
        for token in [t for t, s in self._sessions.items() if s.staff == staff]:
            self.close(token)

    def sweep(self, now: float) -> None:
        """Forget expired sign-ins (shared ones expire in the cluster by themselves)."""
        for token in [t for t, s in self._sessions.items() if now >= s.expires_at]:
            self.install(token, None, False)
