"""Requests from other sites: the socket and every state-changing request must come from
our own pages (or from a script, which sends no Origin)."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def same_origin(request: web.Request) -> bool:
    """Browsers send Origin on a WebSocket and on every state-changing fetch, and say in
    Sec-Fetch-Site where a request comes from; scripts (the bench, curl) send neither."""
    origin = request.headers.get("Origin")
    if origin is not None:
        return urlsplit(origin).netloc == request.host
    site = request.headers.get("Sec-Fetch-Site")
    return site is None or site in ("same-origin", "none")


def forbidden() -> web.HTTPForbidden:
    return web.HTTPForbidden(
        text='{"error":"forbidden","reason":"this request comes from another site"}',
        content_type="application/json",
    )


@web.middleware
async def own_pages_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method in STATE_CHANGING and not same_origin(request):
        raise forbidden()
    return await handler(request)
