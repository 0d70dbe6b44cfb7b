"""SRTP protect and unprotect for the forwarding path, called straight into libsrtp.

pylibsrtp's `Session.protect` checks its argument, allocates a length cell and raises on
failure, for every packet. The forwarding path calls libsrtp per packet thousands of times a
second, so a `Cell` binds one direction of an existing session (the one aiortc keyed after
DTLS) to a buffer and a length cell made once, and failure is reported as None.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import pylibsrtp
from pylibsrtp._binding import ffi, lib

MAX_PACKET = 1500
TRAILER = 4 + 16 + 128  # SRTCP index + longest tag + longest MKI: room for any protect
OK = lib.srtp_err_status_ok

Crypt = Callable[[bytes], "bytes | None"]


class Cell(NamedTuple):
    """One direction of a libsrtp session and the memory its calls work in.

    A packet of up to `room` bytes is copied into `buffer`, its size into `length`, then
    `function(context, data, length)` rewrites it in place and returns OK or an error.
    """

    session: pylibsrtp.Session  # held here: libsrtp's state is freed with it
    function: Any
    context: Any
    data: Any
    buffer: Any
    length: Any
    room: int


def _cell(session: pylibsrtp.Session, function: Any, room: int) -> Cell:
    data = ffi.new("char[]", MAX_PACKET + TRAILER)
    return Cell(session, function, session._srtp[0], data, ffi.buffer(data), ffi.new("int *"), room)


def crypt(cell: Cell) -> Crypt:
    """A function running `cell` over one packet: the result, or None if libsrtp refuses it."""
    _, function, context, data, buffer, length, room = cell

    def crypt(packet: bytes, cell: Cell = cell) -> bytes | None:
        size = len(packet)
        if size > room:
            return None
        buffer[0:size] = packet
        length[0] = size
        if function(context, data, length) != OK:
            return None
        result: bytes = buffer[0 : length[0]]
        return result

    return crypt


def rtp_protect_cell(session: pylibsrtp.Session) -> Cell:
    return _cell(session, lib.srtp_protect, MAX_PACKET)


def rtp_unprotect_cell(session: pylibsrtp.Session) -> Cell:
    return _cell(session, lib.srtp_unprotect, MAX_PACKET + TRAILER)


def rtcp_unprotector(session: pylibsrtp.Session) -> Crypt:
    """Checks and decrypts SRTCP packets; None for a forged, replayed or broken one."""
    return crypt(_cell(session, lib.srtp_unprotect_rtcp, MAX_PACKET + TRAILER))


def protector(session: pylibsrtp.Session) -> Crypt:
    """Encrypts and authenticates RTP packets; None for a packet libsrtp refuses."""
    return crypt(rtp_protect_cell(session))


def rtcp_protector(session: pylibsrtp.Session) -> Crypt:
    return crypt(_cell(session, lib.srtp_protect_rtcp, MAX_PACKET))


def unprotector(session: pylibsrtp.Session) -> Crypt:
    """Checks and decrypts SRTP packets; None for a forged, replayed or broken one."""
    return crypt(rtp_unprotect_cell(session))
