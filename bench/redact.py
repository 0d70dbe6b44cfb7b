"""Bench messages carry no addresses: IP addresses in text from other programs are blanked."""

from __future__ import annotations

import ipaddress
import re

ADDRESS_LIKE = re.compile(r"[0-9A-Fa-f:.]*[:.][0-9A-Fa-f:.]*")


def without_addresses(text: str) -> str:
    """`text` with every IP address (and any port after it) blanked out."""

    def blank(match: re.Match[str]) -> str:
        token = match.group(0)
        for candidate in (token, token.rsplit(":", 1)[0], token.strip(":.")):
            try:
                ipaddress.ip_address(candidate)
            except ValueError:
                continue
            return "<address>"
        return token

    return ADDRESS_LIKE.sub(blank, text)
