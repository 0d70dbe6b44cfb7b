"""TURN credentials in coturn's use-auth-secret scheme, checked as coturn checks them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from server.turn import credential, ice_servers


def test_credentials_are_the_hmac_of_an_expiring_random_username() -> None:
    expires = time.time() + 3600
    (server,) = ice_servers(["turn:turn.example.org:3478"], "a-shared-secret!", expires)
    assert server.urls == ["turn:turn.example.org:3478"]
    stamp, random_part = server.username.split(":")
    assert int(stamp) == int(expires) and len(random_part) >= 16
    digest = hmac.new(b"a-shared-secret!", server.username.encode(), hashlib.sha1).digest()
    assert base64.b64decode(server.credential) == digest
    # Each call gets its own username, so two credentials never match.
    (other,) = ice_servers(["turn:turn.example.org:3478"], "a-shared-secret!", expires)
    assert other.username != server.username


def test_a_known_vector_and_no_servers_without_urls() -> None:
    # From: echo -n "1700000000:user" | openssl dgst -sha1 -hmac secret -binary | base64
    assert credential("secret", "1700000000:user") == "I/MZeIG6MwzOV8Uubr9liB2556o="
    assert ice_servers([], "secret", 1e10) == []
