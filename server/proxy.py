"""Who a request really comes from when the server runs behind Caddy or nginx: forwarded
headers are believed only from the proxies the admin named (--trusted-proxy)."""

from __future__ import annotations

import ipaddress

from aiohttp import web

from server.state import STATE


def _trusted(request: web.Request) -> bool:
    remote = request.remote or ""
    return bool(remote) and remote in request.app[STATE].config.trusted_proxy


def client_address(request: web.Request) -> str:
    """The client's address: the nearest one in X-Forwarded-For that is not a trusted proxy,
    when the request came through one; otherwise the connection's own peer."""
    remote = request.remote or ""
    if not _trusted(request):
        return remote
    trusted = request.app[STATE].config.trusted_proxy
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")]
    for hop in reversed([h for h in hops if h]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return remote  # a malformed chain: count the proxy itself
        if hop not in trusted:
            return hop
    return remote


def is_https(request: web.Request) -> bool:
    """Served over TLS here, or by a trusted proxy that says it was."""
    if request.secure:
        return True
    return _trusted(request) and request.headers.get("X-Forwarded-Proto", "") == "https"
