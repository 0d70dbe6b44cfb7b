"""Who a request really comes from when the server runs behind Caddy or nginx: forwarded
headers are believed only from the proxies the admin named (--trusted-proxy)."""

from __future__ import annotations

import ipaddress

from aiohttp import web

from server.state import STATE


def is_trusted(address: str, proxies: list[str]) -> bool:
    """Whether `address` is one of the trusted proxies (addresses or networks); an IPv4
    address written as IPv6 (::ffff:10.0.0.5) counts as itself."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in ipaddress.ip_network(net) for net in proxies)


def _trusted(request: web.Request) -> bool:
    return is_trusted(request.remote or "", request.app[STATE].config.trusted_proxy)


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
        if not is_trusted(hop, trusted):
            return hop
    return remote


def is_https(request: web.Request) -> bool:
    """Served over TLS here, or by a trusted proxy that says it was."""
    if request.secure:
        return True
    return _trusted(request) and request.headers.get("X-Forwarded-Proto", "") == "https"
