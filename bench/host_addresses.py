"""Which local addresses the bench's (and the tests') own aiortc peers offer in ICE: aioice
gathers every interface but never loopback. The server gathers on its media ports instead
(`media.port`)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import aioice.ice

_stock = aioice.ice.get_host_addresses
_chosen: list[str] = []


def _host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    if not _chosen:
        return list(_stock(use_ipv4=use_ipv4, use_ipv6=use_ipv6))
    return [
        a
        for a in _chosen
        if (use_ipv4 and ipaddress.ip_address(a).version == 4)
        or (use_ipv6 and ipaddress.ip_address(a).version == 6)
    ]


def offer_addresses(addresses: Sequence[str]) -> None:
    """Offer exactly these addresses as host candidates (empty: every interface, as aioice does).

    This applies to every peer connection in the process, which is one server or one bench.
    """
    for address in addresses:
        ipaddress.ip_address(address)  # raises ValueError for anything but an IP address
    _chosen[:] = list(addresses)
    aioice.ice.get_host_addresses = _host_addresses
