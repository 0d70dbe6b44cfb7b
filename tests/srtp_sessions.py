"""libsrtp sessions keyed alike on both ends, for tests of the forwarding path's SRTP."""

from __future__ import annotations

import os

import pylibsrtp

KEY = os.urandom(30)


def session(direction: int) -> pylibsrtp.Session:
    """A session for `direction` (pylibsrtp.Policy.SSRC_ANY_OUTBOUND or _INBOUND), keyed with
    KEY; it may protect the same packet twice, as a resend does."""
    policy = pylibsrtp.Policy(
        key=KEY, srtp_profile=pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80, ssrc_type=direction
    )
    policy.allow_repeat_tx = True
    return pylibsrtp.Session(policy)
