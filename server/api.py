"""The staff HTTP API (JSON): sign in, create, list and end calls."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import math
import time
from typing import Any

import aiohttp
from aiohttp import web

from server import staff_file, totp
from server.auth import (
    COOKIE,
    SignInBusy,
    check_password,
    is_admin,
    require_staff,
    sign_in_of,
    source_of,
    staff_of,
)
from server.cluster import AUTH_HEADER, NODE_CALLS, RELAYED_STAFF, ClusterUnavailable
from server.org_texts import by_language
from server.state import STATE
from signaling.call import Call, iso_time
from signaling.hours import Window
from signaling.plan import parse_plan
from signaling.protocol import MAX_CHECK_IN_MINUTES, ProtocolError

MAX_BODY = 4096
DRAINING = "this server takes no new calls now (it is being drained), and no other can"
UNSHARED = "signing in is not possible just now (the servers cannot share it): try again soon"
MAX_WINDOW_SECONDS = 7 * 24 * 3600


def error(status: type[web.HTTPException], code: str, reason: str) -> web.HTTPException:
    body = json.dumps({"error": code, "reason": reason})
    if status is web.HTTPRequestEntityTooLarge:
        return web.HTTPRequestEntityTooLarge(
            max_size=MAX_BODY, actual_size=MAX_BODY + 1, text=body, content_type="application/json"
        )
    return status(text=body, content_type="application/json")


async def read_json(
    request: web.Request, fields: dict[str, type], optional: dict[str, type] | None = None
) -> dict[str, Any]:
    """The JSON object body with exactly the expected fields (and maybe `optional` ones)."""
    if request.content_type != "application/json":
        raise error(web.HTTPUnsupportedMediaType, "bad-request", "send JSON (application/json)")
    if (request.content_length or 0) > MAX_BODY:
        raise error(web.HTTPRequestEntityTooLarge, "too-large", "the request body is too large")
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise error(web.HTTPRequestEntityTooLarge, "too-large", "the request body is too large")
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, RecursionError):
        raise error(web.HTTPBadRequest, "bad-json", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise error(web.HTTPBadRequest, "bad-request", "the body must be a JSON object")
    for name, kind in fields.items():
        if not isinstance(body.get(name), kind):
            raise error(web.HTTPBadRequest, "bad-field", f"'{name}' must be a {kind.__name__}")
    for name, kind in (optional or {}).items():
        if name in body and not isinstance(body[name], kind):
            raise error(web.HTTPBadRequest, "bad-field", f"'{name}' must be a {kind.__name__}")
    extra = set(body) - set(fields) - set(optional or {})
    if extra:
        raise error(web.HTTPBadRequest, "bad-field", f"unknown field {sorted(extra)[0][:32]!r}")
    return body


def slow_down(seconds: float, code: str, reason: str) -> web.HTTPException:
    """429 with Retry-After: sign-in is limited for this source or account, or busy."""
    body = json.dumps({"error": code, "reason": reason})
    return web.HTTPTooManyRequests(
        text=body,
        content_type="application/json",
        headers={"Retry-After": str(max(1, math.ceil(seconds)))},
    )


async def credentials(request: web.Request) -> str:
    body = await read_json(request, {"name": str, "password": str}, optional={"code": str})
    name, password = body["name"], body["password"]
    if len(name) > 40 or len(password.encode()) > staff_file.MAX_PASSWORD:
        raise error(web.HTTPUnauthorized, "bad-login", "wrong name or password")
    state, source = request.app[STATE], source_of(request)
    limits = state.sign_in_limits
    if state.cluster is not None:  # failures from every node count
        try:
            await state.cluster.mirror_failures(limits, source, name)
        except ClusterUnavailable:
            raise error(
                web.HTTPServiceUnavailable,
                "cluster-unavailable",
                "signing in is not possible just now (the servers cannot share it): try again soon",
            ) from None
    wait = limits.retry_after(source, name, time.time())
    if wait > 0:
        state.metrics.count("sign_in_failures")
        raise slow_down(wait, "slow-down", "too many failed sign-ins: wait and try again")
    try:
        ok = await check_password(state, name, password, source)
    except SignInBusy:
        state.metrics.count("sign_in_failures")
        raise slow_down(1, "busy", "sign-in is busy: try again in a moment") from None
    except staff_file.StaffFileError as exc:
        raise error(web.HTTPServiceUnavailable, "staff-file", str(exc)) from None
    if not ok:
        state.metrics.count("sign_in_failures")
        limits.failed(source, name, time.time())
        raise error(web.HTTPUnauthorized, "bad-login", "wrong name or password")
    second_factor(request, name, str(body.get("code", "")), source)
    limits.succeeded(source, name)
    return str(name)


def second_factor(request: web.Request, name: str, code: str, source: str) -> None:
    """An account with a second factor also needs the current code of its authenticator
    app, used once."""
    state = request.app[STATE]
    try:
        secret = staff_file.load(state.staff_file).totp.get(name)
    except staff_file.StaffFileError as exc:
        raise error(web.HTTPServiceUnavailable, "staff-file", str(exc)) from None
    if secret is None:
        return
    now = time.time()
    if not code:
        # Counted as a failure: a right password alone must not be cheap to confirm.
        state.sign_in_limits.failed(source, name, now)
        raise error(web.HTTPUnauthorized, "code-needed", "enter the code from your app")
    step = totp.matching_step(secret, code.strip(), now, state.totp_used.get(name, -1))
    if step is None:
        state.metrics.count("sign_in_failures")
        state.sign_in_limits.failed(source, name, now)
        raise error(web.HTTPUnauthorized, "bad-code", "that code is wrong or was used already")
    state.totp_used[name] = step


async def login(request: web.Request) -> web.Response:
    state = request.app[STATE]
    name = await credentials(request)
    token = state.sessions.open(name, time.time())
    response = web.json_response({"staff": name})
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(state.config.staff_session),
        path="/",
        secure=True,
        httponly=True,
        samesite="Strict",
    )
    return response


async def logout(request: web.Request) -> web.Response:
    cookie = request.cookies.get(COOKIE)
    if cookie:
        request.app[STATE].sessions.close(cookie)
    response = web.json_response({})
    response.del_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="Strict")
    return response


async def api_token(request: web.Request) -> web.Response:
    state = request.app[STATE]
    name = await credentials(request)
    token = state.api_tokens.open(name, time.time())
    return web.json_response({"token": token, "expires_in": int(state.config.staff_session)})


async def me(request: web.Request) -> web.Response:
    """Who is signed in, whether an admin, and whether this sign-in confirmed readiness."""
    staff = staff_of(request)
    sign_in = sign_in_of(request)
    if staff is None or sign_in is None:
        raise error(web.HTTPUnauthorized, "unauthorized", "sign in first")
    sessions, token = sign_in
    admin = is_admin(request.app[STATE], staff)
    return web.json_response({"staff": staff, "admin": admin, "ready": sessions.is_ready(token)})


READINESS = ("quiet_place", "headphones", "work_device")


async def ready(request: web.Request) -> web.Response:
    """Staff confirm the readiness checklist, once per sign-in: a quiet, secluded place;
    headphones; the organization's device and account."""
    require_staff(request)
    body = await read_json(request, dict.fromkeys(READINESS, bool))
    unchecked = [name for name in READINESS if not body[name]]
    if unchecked:
        raise error(web.HTTPBadRequest, "not-ready", f"'{unchecked[0]}' is not confirmed")
    sign_in = sign_in_of(request)
    assert sign_in is not None
    sign_in[0].confirm_ready(sign_in[1])
    return web.json_response({"ready": True})


def require_admin(request: web.Request) -> str:
    staff = require_staff(request)
    if not is_admin(request.app[STATE], staff):
        raise error(web.HTTPForbidden, "forbidden", "only an admin account can do this")
    return staff


async def admin_calls(request: web.Request) -> web.Response:
    """How many calls run, for an admin: no owner, no names, no links."""
    require_admin(request)
    state, now = request.app[STATE], time.time()
    calls = [c for c in state.store.all_calls() if not c.echo]
    return web.json_response(
        {
            "running": len(calls),
            "calls": [
                {
                    "id": c.id,
                    "in_call": len(c.in_call()),
                    "waiting": len(c.in_lobby()),
                    "practice": c.practice,
                    "expires_in": max(0, int(c.expires_at - now)),
                }
                for c in calls
            ],
        }
    )


async def admin_end_call(request: web.Request) -> web.Response:
    require_admin(request)
    state = request.app[STATE]
    call = state.store.get(request.match_info["call"])
    if call is None or call.echo:
        raise error(web.HTTPNotFound, "no-call", "there is no such call (it may have ended)")
    await state.apply(state.store.end(call.id, call.owner, time.time()))
    return web.json_response({"ended": True})


def base_url(request: web.Request) -> str:
    configured = request.app[STATE].config.public_url
    return configured or str(request.url.origin())


def describe(request: web.Request, call: Call, now: float) -> dict[str, Any]:
    opens = call.opens_at(request.app[STATE].store.rules.hours, now)
    links = {
        role.value: f"{base_url(request)}/join#{token}" for token, role in call.invites.items()
    }
    return {
        "id": call.id,
        "links": links,
        "expires_at": call.expires_at,
        "expires_in": max(0, int(call.expires_at - now)),
        "in_call": len(call.in_call()),
        "waiting": len(call.in_lobby()),
        "plan": dataclasses.asdict(call.plan),
        "check_in_minutes": call.check_in_minutes,
        "practice": call.practice,
        "window": None
        if call.window is None
        else {"start": iso_time(call.window.start), "end": iso_time(call.window.end)},
        "open_anyway": call.open_anyway,
        "open_now": opens is None,
        "opens_at": "" if opens is None else iso_time(opens),
    }


def moment(value: Any, name: str) -> float:
    """An ISO 8601 time with its offset (e.g. 2026-12-07T14:00:00-05:00) as epoch seconds."""
    try:
        parsed = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise error(
            web.HTTPBadRequest,
            "bad-field",
            f"'{name}' must be a time with its offset, such as 2026-12-07T14:00:00-05:00",
        )
    return parsed.timestamp()


def window(body: dict[str, Any], now: float) -> Window | None:
    """The call's own time, if the body sets one: links open only from start to end."""
    if "window" not in body:
        return None
    value = body["window"]
    if not isinstance(value, dict) or set(value) != {"start", "end"}:
        raise error(web.HTTPBadRequest, "bad-field", "'window' must have a start and an end")
    start, end = moment(value["start"], "window.start"), moment(value["end"], "window.end")
    if not start < end <= start + MAX_WINDOW_SECONDS or end <= now:
        raise error(
            web.HTTPBadRequest,
            "bad-field",
            "'window' must end after it starts, in the future, at most 7 days later",
        )
    return Window(start, end)


def check_in_minutes(body: dict[str, Any]) -> int | None:
    """The call's own check-in reminder interval, if the body sets one."""
    if "check_in_minutes" not in body:
        return None
    value = body["check_in_minutes"]
    if isinstance(value, bool) or not isinstance(value, int):
        raise error(web.HTTPBadRequest, "bad-field", "'check_in_minutes' must be a whole number")
    if not 0 <= value <= MAX_CHECK_IN_MINUTES:
        raise error(
            web.HTTPBadRequest,
            "bad-field",
            f"'check_in_minutes' must be between 0 (no reminder) and {MAX_CHECK_IN_MINUTES}",
        )
    return value


CALL_FIELDS = {"plan": dict, "check_in_minutes": int, "practice": bool, "window": dict}


async def create_call(request: web.Request) -> web.Response:
    staff = require_staff(request)
    state = request.app[STATE]
    body = await read_json(request, {}, optional=CALL_FIELDS)
    if state.cluster is not None:
        elsewhere = await placed_elsewhere(request, staff, body)
        if elsewhere is not None:
            return elsewhere
    return await create_here(request, staff, body)


async def create_here(request: web.Request, staff: str, body: dict[str, Any]) -> web.Response:
    """A new call on this node, from a checked body."""
    state = request.app[STATE]
    try:
        plan = parse_plan(body["plan"]) if "plan" in body else state.config.default_plan
    except ProtocolError as exc:
        raise error(web.HTTPBadRequest, exc.code, exc.reason) from None
    minutes = check_in_minutes(body)
    if state.draining:
        raise error(web.HTTPServiceUnavailable, "server-restarting", "the server is restarting")
    now = time.time()
    practice = bool(body.get("practice", False))
    try:
        call = state.store.create(staff, now, plan, minutes, practice, window(body, now))
    except ProtocolError as exc:
        raise error(web.HTTPTooManyRequests, exc.code, exc.reason) from None
    if state.cluster is not None:
        try:
            await state.cluster.add_call(call.id, list(call.invites), call.expires_at - now)
        except ClusterUnavailable:
            await state.apply(state.store.end(call.id, staff, now))
            raise error(
                web.HTTPServiceUnavailable,
                "cluster-unavailable",
                "calls cannot be made just now (the servers cannot reach each other's "
                "directory): try again in a moment",
            ) from None
    return web.json_response(describe(request, call, now), status=201)


async def placed_elsewhere(
    request: web.Request, staff: str, body: dict[str, Any]
) -> web.Response | None:
    """With many nodes, a new call goes to the one with the most headroom: when that is
    another node, it makes the call and its answer is this one's (None: make it here)."""
    state = request.app[STATE]
    assert state.cluster is not None
    try:
        node = await state.cluster.place()
    except ClusterUnavailable:
        node = None  # no directory to choose from: here, where add_call will say so
    if state.cluster.draining and node is None:
        raise error(web.HTTPServiceUnavailable, "server-restarting", DRAINING)
    if node is None:
        return None
    try:
        data = json.dumps(body).encode()
        return await from_node(request, "POST", node.address, NODE_CALLS, staff, data)
    except (aiohttp.ClientError, OSError, TimeoutError):
        if state.cluster.draining:
            raise error(web.HTTPServiceUnavailable, "server-restarting", DRAINING) from None
        return None  # that node cannot be reached: the call is made here


async def list_calls(request: web.Request) -> web.Response:
    staff = require_staff(request)
    now = time.time()
    state = request.app[STATE]
    calls = [describe(request, c, now) for c in state.store.owned_by(staff)]
    if state.cluster is not None and RELAYED_STAFF not in request:
        calls += await calls_elsewhere(request, staff)
    # What a new call starts with, so the staff page's form shows the organization's defaults.
    defaults = {
        "plan": dataclasses.asdict(state.config.default_plan),
        "check_in_minutes": state.config.check_in_minutes,
    }
    return web.json_response({"calls": calls, "defaults": defaults})


async def from_node(
    request: web.Request, method: str, address: str, path: str, staff: str, data: bytes
) -> web.Response:
    """A request for `staff` to another node, and its answer as this node's, once that node
    proved it is one; raises what a failed request raises."""
    cluster = request.app[STATE].cluster
    assert cluster is not None
    headers = {**cluster.signed(path, staff), "Content-Type": "application/json"}
    async with (
        request.app[STATE]
        .node_session()
        .request(method, address + path, data=data, headers=headers) as reply
    ):
        body = await node_answer(request, headers, reply)
        return web.Response(status=reply.status, body=body, content_type="application/json")


async def node_answer(
    request: web.Request, sent: dict[str, str], reply: aiohttp.ClientResponse
) -> bytes:
    """Another node's answer, once it proved it is one (else ConnectionError)."""
    cluster = request.app[STATE].cluster
    assert cluster is not None
    if not cluster.is_answer(sent[AUTH_HEADER], reply.headers.get(AUTH_HEADER, "")):
        raise ConnectionError("not a node of this cluster")
    return await reply.read()


async def calls_elsewhere(request: web.Request, staff: str) -> list[dict[str, Any]]:
    """With many nodes: this staff member's calls on the other nodes (a node that does not
    answer in time is left out)."""
    state = request.app[STATE]
    assert state.cluster is not None
    try:
        nodes = [n for n in await state.cluster.nodes() if n.node_id != state.cluster.node_id]
    except ClusterUnavailable:
        return []
    headers = state.cluster.signed(NODE_CALLS, staff)

    async def ask(address: str) -> list[dict[str, Any]]:
        try:
            async with state.node_session().get(
                address + NODE_CALLS, headers=headers, timeout=aiohttp.ClientTimeout(total=3)
            ) as reply:
                answer = await node_answer(request, headers, reply)
                body = json.loads(answer) if reply.status == 200 else {}
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError):
            return []
        calls = body.get("calls", []) if isinstance(body, dict) else []
        return [c for c in calls if isinstance(c, dict)]

    found = await asyncio.gather(*(ask(n.address) for n in nodes))
    return [call for calls in found for call in calls]


async def on_the_call_node(request: web.Request, staff: str) -> web.Response | None:
    """With many nodes: a request about a call on another node is that node's to answer
    (None: the call is here, or nowhere)."""
    state = request.app[STATE]
    call_id = request.match_info["call"]
    if state.cluster is None or RELAYED_STAFF in request or state.store.get(call_id):
        return None
    try:
        address = await state.cluster.node_for_call(call_id)
    except ClusterUnavailable:
        address = None
    if address is None:
        return None
    path = f"{NODE_CALLS}/{call_id}"
    try:
        return await from_node(request, request.method, address, path, staff, await request.read())
    except (aiohttp.ClientError, OSError, TimeoutError):
        raise error(
            web.HTTPServiceUnavailable,
            "cluster-unavailable",
            "the server holding this call cannot be reached",
        ) from None


async def change_call(request: web.Request) -> web.Response:
    """Staff open a call's links outside the hours (or close them again)."""
    staff = require_staff(request)
    elsewhere = await on_the_call_node(request, staff)
    if elsewhere is not None:
        return elsewhere
    body = await read_json(request, {"open_anyway": bool})
    state, now = request.app[STATE], time.time()
    call = state.store.get(request.match_info["call"])
    if call is None or call.owner != staff or call.is_expired(now):
        raise error(
            web.HTTPNotFound, "no-call", "there is no such call of yours (it may have ended)"
        )
    call.open_anyway = body["open_anyway"]
    return web.json_response(describe(request, call, now))


async def end_call(request: web.Request) -> web.Response:
    staff = require_staff(request)
    elsewhere = await on_the_call_node(request, staff)
    if elsewhere is not None:
        return elsewhere
    state = request.app[STATE]
    try:
        events = state.store.end(request.match_info["call"], staff, time.time())
    except ProtocolError as exc:
        raise error(web.HTTPNotFound, exc.code, exc.reason) from None
    await state.apply(events)
    return web.json_response({"ended": True})


async def welcome(request: web.Request) -> web.Response:
    """What survivor pages show from the organization: consent and handout texts, where
    the quick exit goes, and whether it requires end to end (so a page that cannot seal its
    media says so before joining). Nothing here is secret or about a call."""
    config = request.app[STATE].config
    return web.json_response(
        {
            "consent": by_language(config.consent_file),
            "handout": by_language(config.handout_file),
            "exit_url": config.exit_url,
            "organization": config.organization,
            "require_e2ee": config.require_e2ee,
        }
    )


def routes() -> list[web.RouteDef]:
    return [
        web.get("/api/welcome", welcome),
        web.post("/api/login", login),
        web.post("/api/logout", logout),
        web.post("/api/token", api_token),
        web.get("/api/me", me),
        web.post("/api/ready", ready),
        web.get("/api/admin/calls", admin_calls),
        web.delete("/api/admin/calls/{call}", admin_end_call),
        web.post("/api/calls", create_call),
        web.get("/api/calls", list_calls),
        web.patch("/api/calls/{call}", change_call),
        web.delete("/api/calls/{call}", end_call),
    ]
