"""Digest authentication of a trunk's INVITEs, when the admin sets credentials (RFC 3261
section 22, RFC 7616 for SHA-256).

The challenge's nonce is stateless: the time it was made and an HMAC of it under a secret
of this process, so nothing is kept per caller but a count of recent failures per source.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from media.sip_message import SipRequest

NONCE_SECONDS = 60.0
FAILURES = 5  # bad answers from one source within a minute, then 403 for the minute
ALGORITHMS = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}
PARAM = re.compile(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]+))')


def digest(algorithm: str, *parts: str) -> str:
    return ALGORITHMS[algorithm](":".join(parts).encode()).hexdigest()


@dataclass
class DigestGuard:
    """Who may INVITE: those who answer the challenge with the trunk's user and password."""

    user: str
    password: str
    realm: str = "quietroom"
    clock: Callable[[], float] = time.time
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    failures: dict[str, list[float]] = field(default_factory=dict)

    def nonce(self) -> str:
        made = str(int(self.clock()))
        mac = hmac.new(self.secret, made.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{made}.{mac}"

    def nonce_state(self, nonce: str) -> str:
        """ "fresh", "stale" (ours, but old: challenge again) or "bad"."""
        made, _, mac = nonce.partition(".")
        if not made.isdigit():
            return "bad"
        expected = hmac.new(self.secret, made.encode(), hashlib.sha256).hexdigest()[:32]
        if not hmac.compare_digest(mac, expected):
            return "bad"
        return "fresh" if self.clock() - int(made) <= NONCE_SECONDS else "stale"

    def challenge(self, stale: bool = False) -> list[tuple[str, str]]:
        nonce = self.nonce()
        extra = ", stale=true" if stale else ""
        return [
            ("WWW-Authenticate",
             f'Digest realm="{self.realm}", nonce="{nonce}", algorithm={name}, qop="auth"{extra}')
            for name in ("SHA-256", "MD5")
        ]  # fmt: skip

    def check(
        self, request: SipRequest, host: str
    ) -> tuple[int, str, list[tuple[str, str]]] | None:
        """None if the request carries a right answer; else the status to send: 401 with a
        challenge, or 403 once a source has failed too often."""
        now = self.clock()
        recent = [t for t in self.failures.get(host, []) if now - t < 60.0]
        self.failures[host] = recent
        if len(recent) >= FAILURES:
            return 403, "Forbidden", []
        header = request.one("authorization")
        if not header.lower().startswith("digest "):
            return 401, "Unauthorized", self.challenge()
        params = {
            m.group(1).lower(): m.group(2) or m.group(3) or "" for m in PARAM.finditer(header[7:])
        }
        state = self.nonce_state(params.get("nonce", ""))
        if state == "stale":
            return 401, "Unauthorized", self.challenge(stale=True)
        if state == "fresh" and self.answers(request, params):
            return None
        self.failures[host].append(now)
        return 401, "Unauthorized", self.challenge()

    def answers(self, request: SipRequest, params: dict[str, str]) -> bool:
        algorithm = params.get("algorithm", "MD5").upper()
        if algorithm not in ALGORITHMS or params.get("realm") != self.realm:
            return False
        if not hmac.compare_digest(params.get("username", ""), self.user):
            return False
        if params.get("uri") != request.uri:  # the answer is for this request (RFC 7616 3.4.6)
            return False
        ha1 = digest(algorithm, self.user, self.realm, self.password)
        ha2 = digest(algorithm, request.method, params.get("uri", ""))
        qop = params.get("qop", "")
        if qop == "auth":
            parts = [params.get("nc", ""), params.get("cnonce", ""), qop]
            expected = digest(algorithm, ha1, params.get("nonce", ""), *parts, ha2)
        elif not qop:
            expected = digest(algorithm, ha1, params.get("nonce", ""), ha2)
        else:
            return False
        return hmac.compare_digest(params.get("response", "").lower(), expected)
