"""What the call logic asks the server to do: deliver a message, connect or drop media."""

from __future__ import annotations

from dataclasses import dataclass

from signaling.protocol import Message


@dataclass(frozen=True)
class Send:
    """Deliver `message` to participant `to`."""

    to: str
    message: Message


@dataclass(frozen=True)
class Entered:
    """`participant` is now in call `call` (admitted, or staff joined): media may flow."""

    call: str
    participant: str


@dataclass(frozen=True)
class Departed:
    """`participant` has left call `call` (or the lobby): close its connection and media."""

    call: str
    participant: str


@dataclass(frozen=True)
class CallGone:
    """Call `call` ended or expired and is wiped from memory."""

    call: str


@dataclass(frozen=True)
class Returned:
    """`participant` came back on a new connection: drop the media of the old one."""

    call: str
    participant: str


@dataclass(frozen=True)
class VideoWanted:
    """Forward video to `participant`, or (False) only audio."""

    call: str
    participant: str
    on: bool


@dataclass(frozen=True)
class PhoneQuiet:
    """Carry no sound either way for phone `participant` (its person can't talk now), or
    carry it again."""

    call: str
    participant: str
    on: bool


Event = Send | Entered | Departed | Returned | VideoWanted | CallGone | PhoneQuiet
