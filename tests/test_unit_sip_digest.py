"""Digest authentication of a trunk's INVITEs (media/sip_digest.py), on its own and in the
UAS: answers computed as a trunk computes them (MD5 and SHA-256, with and without qop)."""

from __future__ import annotations

import hashlib
import ipaddress
import re

import pytest
from test_unit_sip_uas import SDP, open_scene, request, status

from media.sip_digest import DigestGuard
from media.sip_message import parse_request
from media.sip_uas import Trunk

URI = "sip:svc@127.0.0.1"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def authorization(challenge: str, user: str, password: str, *, algorithm: str = "MD5",
                  qop: bool = True, uri: str = URI, method: str = "INVITE") -> str:  # fmt: skip
    """What a trunk sends back for `challenge` (a WWW-Authenticate value)."""
    realm = re.search(r'realm="([^"]+)"', challenge)
    nonce = re.search(r'nonce="([^"]+)"', challenge)
    assert realm and nonce
    h = hashlib.md5 if algorithm == "MD5" else hashlib.sha256

    def hx(*parts: str) -> str:
        return h(":".join(parts).encode()).hexdigest()

    ha1, ha2 = hx(user, realm[1], password), hx(method, uri)
    if qop:
        response = hx(ha1, nonce[1], "00000001", "c0ffee", "auth", ha2)
        extra = ', qop=auth, nc=00000001, cnonce="c0ffee"'
    else:
        response, extra = hx(ha1, nonce[1], ha2), ""
    return (f'Digest username="{user}", realm="{realm[1]}", nonce="{nonce[1]}", uri="{uri}", '
            f'response="{response}", algorithm={algorithm}{extra}')  # fmt: skip


def with_auth(value: str, cseq: int = 2) -> str:
    base = request("INVITE", cseq=cseq, body=SDP)
    return base.replace("Max-Forwards: 70\r\n", f"Max-Forwards: 70\r\nAuthorization: {value}\r\n")


def check(guard: DigestGuard, raw: str) -> tuple[int, str, list[tuple[str, str]]] | None:
    return guard.check(parse_request(raw.encode()), "192.0.2.1")


@pytest.mark.parametrize(("algorithm", "qop"), [("MD5", True), ("SHA-256", True), ("MD5", False)])
def test_a_right_answer_passes(algorithm: str, qop: bool) -> None:
    guard = DigestGuard("trunk", "s3cret", clock=Clock())
    first = check(guard, request("INVITE", body=SDP))
    assert first is not None and first[0] == 401
    challenges = [value for _, value in first[2]]
    assert [re.search(r"algorithm=([\w-]+)", c)[1] for c in challenges] == ["SHA-256", "MD5"]  # type: ignore[index]
    chosen = next(c for c in challenges if f"algorithm={algorithm}," in c)
    assert (
        check(
            guard, with_auth(authorization(chosen, "trunk", "s3cret", algorithm=algorithm, qop=qop))
        )
        is None
    )


def test_wrong_answers_old_nonces_and_too_many_tries() -> None:
    clock = Clock()
    guard = DigestGuard("trunk", "s3cret", clock=clock)
    old = guard.challenge()[1][1]
    # A nonce of ours that is too old: challenged again, and told it was only stale.
    clock.now += 61
    stale = check(guard, with_auth(authorization(old, "trunk", "s3cret")))
    assert stale is not None and stale[0] == 401 and "stale=true" in stale[2][0][1]
    challenge = guard.challenge()[1][1]
    forged = challenge.replace(guard.nonce(), "1800000061.forged")
    for wrong in (
        authorization(challenge, "trunk", "guess"),
        authorization(challenge, "other", "s3cret"),
        authorization(challenge, "trunk", "s3cret", uri="sip:elsewhere@127.0.0.1"),
        authorization(forged, "trunk", "s3cret"),
        authorization(challenge, "trunk", "s3cret", method="BYE"),
    ):
        refused = check(guard, with_auth(wrong))
        assert refused is not None and refused[0] == 401, wrong
    # Five failures in the minute: this source is refused for the minute, right answer or not.
    right = with_auth(authorization(guard.challenge()[1][1], "trunk", "s3cret"))
    assert check(guard, right) == (403, "Forbidden", [])
    assert (
        check(guard.__class__("trunk", "s3cret", clock=clock, secret=guard.secret), right) is None
    )
    clock.now += 61
    assert (
        check(guard, with_auth(authorization(guard.challenge()[1][1], "trunk", "s3cret"))) is None
    )


async def test_the_uas_challenges_then_takes_the_call() -> None:
    trunk = Trunk([ipaddress.ip_network("127.0.0.0/8")], t1=0.02,
                  guard=DigestGuard("trunk", "s3cret"))  # fmt: skip
    async with open_scene(trunk) as scene:
        phone, answerer = scene.phone, scene.answerer
        scene.send(request("INVITE", body=SDP))
        challenged = await phone.next()
        assert status(challenged) == 401 and not answerer.offered_calls
        header = next(line for line in challenged.split("\r\n") if "algorithm=MD5" in line)
        scene.send(with_auth(authorization(header.split(": ", 1)[1], "trunk", "s3cret")))
        assert status(await phone.next()) == 100
        assert status(await phone.next()) == 200 and len(answerer.offered_calls) == 1
