"""The forwarding path's SRTP calls, against libsrtp sessions keyed alike on both ends."""

from __future__ import annotations

import os

import pylibsrtp
from srtp_sessions import session

from media import rtpraw, srtp


def test_protected_packets_unprotect_to_the_same_bytes() -> None:
    protect = srtp.protector(session(pylibsrtp.Policy.SSRC_ANY_OUTBOUND))
    unprotect = srtp.unprotector(session(pylibsrtp.Policy.SSRC_ANY_INBOUND))
    for seq in range(5):
        plain = rtpraw.build(96, 0, seq, seq * 3000, 77, os.urandom(1100))
        sealed = protect(plain)
        assert sealed is not None and sealed != plain and len(sealed) > len(plain)
        assert unprotect(sealed) == plain


def test_forged_replayed_and_oversized_packets_give_none() -> None:
    protect = srtp.protector(session(pylibsrtp.Policy.SSRC_ANY_OUTBOUND))
    unprotect = srtp.unprotector(session(pylibsrtp.Policy.SSRC_ANY_INBOUND))
    sealed = protect(rtpraw.build(96, 0, 1, 0, 77, b"frame"))
    assert sealed is not None
    forged = bytearray(sealed)
    forged[14] ^= 1
    assert unprotect(bytes(forged)) is None
    assert unprotect(sealed) is not None
    assert unprotect(sealed) is None  # the same packet again
    assert protect(rtpraw.build(96, 0, 2, 0, 77, bytes(srtp.MAX_PACKET))) is None


def test_a_resend_is_protected_again() -> None:
    protect = srtp.protector(session(pylibsrtp.Policy.SSRC_ANY_OUTBOUND))
    plain = rtpraw.build(96, 0, 9, 0, 77, b"frame")
    assert protect(plain) == protect(plain)
