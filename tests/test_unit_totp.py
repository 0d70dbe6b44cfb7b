"""Unit tests of server/totp.py against RFC 6238's own test vectors."""

import base64

from server import totp

# RFC 6238 appendix B: the SHA-1 secret is the ASCII "12345678901234567890".
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


def test_rfc_6238_vectors() -> None:
    for seconds, code in [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
    ]:
        # The RFC lists 8 digits; ours are the last 6 of the same value.
        assert totp.code_at(RFC_SECRET, seconds // 30) == code[-6:]


def test_a_code_matches_near_now_once() -> None:
    secret = totp.new_secret()
    now = 1_800_000_000.0
    step = int(now // 30)
    code = totp.code_at(secret, step)
    assert totp.matching_step(secret, code, now) == step
    assert totp.matching_step(secret, code, now + 30) == step  # a step of drift
    assert totp.matching_step(secret, code, now + 60) is None
    assert totp.matching_step(secret, code, now, used=step) is None  # used already
    assert totp.matching_step(secret, "12345", now) is None
    assert totp.matching_step(secret, "abcdef", now) is None


def test_the_address_for_authenticator_apps() -> None:
    address = totp.uri("alex", "JBSWY3DPEHPK3PXP")
    assert address == (
        "otpauth://totp/Quietroom%3Aalex?secret=JBSWY3DPEHPK3PXP&issuer=Quietroom&digits=6"
    )
