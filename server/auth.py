"""Who a request comes from: a signed-in staff member (cookie or bearer token), or nobody."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from server import staff_file
from server.cluster import RELAYED_STAFF
from server.proxy import client_address
from server.state import STATE, State
from signaling.staff_sessions import StaffSessions

COOKIE = "qr_staff"
# argon2id is deliberately slow and memory-hungry: check one password at a time, with a
# short queue in front, where each source holds at most one place: a flood is refused early
# and cannot make a real sign-in wait behind it.
QUEUE_LENGTH = 8
_checking = asyncio.Semaphore(1)
_queued: dict[str, int] = {}


class SignInBusy(Exception):
    """No place in the queue for this source now: try again in a moment."""


def sign_in_of(request: web.Request) -> tuple[StaffSessions, str] | None:
    """Where the request's sign-in lives (browser sessions or API tokens) and its token."""
    state = request.app[STATE]
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return state.api_tokens, header[7:].strip()
    cookie = request.cookies.get(COOKIE)
    return (state.sessions, cookie) if cookie else None


def is_admin(state: State, staff: str) -> bool:
    try:
        return staff in staff_file.admins(state.staff_file)
    except staff_file.StaffFileError:
        return False


def staff_of(request: web.Request) -> str | None:
    """The signed-in staff member, if their account still exists in the staff file."""
    state = request.app[STATE]
    now = time.time()
    header = request.headers.get("Authorization", "")
    relayed = request.get(RELAYED_STAFF)  # a node's request (server.nodes), already checked
    if relayed is not None:
        staff = str(relayed) or None
    elif header.startswith("Bearer "):
        staff = state.api_tokens.who(header[7:].strip(), now)
    else:
        cookie = request.cookies.get(COOKIE)
        staff = state.sessions.who(cookie, now) if cookie else None
    if staff is None:
        return None
    try:
        still_there = staff in staff_file.read(state.staff_file)
    except staff_file.StaffFileError:
        still_there = False
    if not still_there:
        # The account was removed with 'quietroom staff remove': sign it out everywhere.
        state.sessions.close_staff(staff)
        state.api_tokens.close_staff(staff)
        return None
    return staff


def require_staff(request: web.Request) -> str:
    staff = staff_of(request)
    if staff is None:
        raise web.HTTPUnauthorized(
            text='{"error":"unauthorized","reason":"sign in first"}',
            content_type="application/json",
        )
    return staff


def source_of(request: web.Request) -> str:
    """The address a request comes from, for limits only (in memory, never logged)."""
    return client_address(request)


async def check_password(state: State, name: str, password: str, source: str = "") -> bool:
    if sum(_queued.values()) >= QUEUE_LENGTH or _queued.get(source, 0) >= 1:
        raise SignInBusy
    _queued[source] = _queued.get(source, 0) + 1
    try:
        async with _checking:
            loop = asyncio.get_running_loop()
            ok = await loop.run_in_executor(
                None, staff_file.verify, state.staff_file, name, password
            )
    finally:
        _queued[source] -= 1
        if not _queued[source]:
            del _queued[source]
    if not ok:
        await asyncio.sleep(0.5)  # slows guessing a little more
    return ok
