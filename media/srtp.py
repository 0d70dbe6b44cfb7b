"""SRTP protect and unprotect for the forwarding path, called straight into libsrtp.

pylibsrtp's `Session.protect` checks its argument, allocates a length cell and raises on
failure, for every packet. The forwarding path calls libsrtp per packet thousands of times a
second, so `Crypt` binds one direction of an existing session (the one aiortc keyed after
DTLS) to a buffer and a length cell made once, and reports failure as None.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pylibsrtp
from pylibsrtp._binding import ffi, lib

MAX_PACKET = 1500
TRAILER = 4 + 16 + 128  # SRTCP index + longest tag + longest MKI: room for any protect

Crypt = Callable[[bytes], "bytes | None"]


def _bind(session: pylibsrtp.Session, function: Any, room: int) -> Crypt:
    cdata = ffi.new("char[]", MAX_PACKET + TRAILER)
    buffer = ffi.buffer(cdata)
    length = ffi.new("int *")
    srtp = session._srtp[0]
    ok = lib.srtp_err_status_ok

    def crypt(packet: bytes, session: pylibsrtp.Session = session) -> bytes | None:
        # `session` is held here: libsrtp's state is freed with it
        size = len(packet)
        if size > room:
            return None
        buffer[0:size] = packet
        length[0] = size
        if function(srtp, cdata, length) != ok:
            return None
        result: bytes = buffer[0 : length[0]]
        return result

    return crypt


def protector(session: pylibsrtp.Session) -> Crypt:
    """Encrypts and authenticates RTP packets; None for a packet libsrtp refuses."""
    return _bind(session, lib.srtp_protect, MAX_PACKET)


def rtcp_protector(session: pylibsrtp.Session) -> Crypt:
    return _bind(session, lib.srtp_protect_rtcp, MAX_PACKET)


def unprotector(session: pylibsrtp.Session) -> Crypt:
    """Checks and decrypts SRTP packets; None for a forged, replayed or broken one."""
    return _bind(session, lib.srtp_unprotect, MAX_PACKET + TRAILER)
