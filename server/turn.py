"""Time-limited TURN credentials in coturn's `use-auth-secret` scheme.

The username is "EXPIRY:RANDOM" (EXPIRY in seconds since 1970) and the password is
base64(HMAC-SHA1(secret, username)): coturn, holding the same secret, checks both without
any account list, and refuses the credentials after EXPIRY. The random part names nobody:
coturn's logs learn nothing about who called. Credentials last as long as the call they are
for, since a relay refreshes its allocation with them for the whole call.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from signaling.protocol import IceServer


def credential(secret: str, username: str) -> str:
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def ice_servers(urls: list[str], secret: str, expires_at: float) -> list[IceServer]:
    """What a browser needs to use the TURN servers until `expires_at` (none if no URLs)."""
    if not urls:
        return []
    username = f"{int(expires_at)}:{secrets.token_urlsafe(12)}"
    return [IceServer(list(urls), username, credential(secret, username))]
