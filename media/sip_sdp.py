"""The audio a trunk offers in SDP (RFC 4566, RFC 3264), and the answer to it.

A phone leg takes one audio stream: G.711 u-law (PCMU, payload type 0) or A-law (PCMA, 8),
or Opus if the trunk offers it, and RFC 4733 telephone-events for the code's digits. An
offer without an audio stream, or without a codec of these, is refused (`SdpError`, which
a UAS answers with 488).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

PCMU, PCMA = 0, 8
# What a phone leg takes, best first: Opus (wideband) where offered, else G.711.
WANTED = ("opus/48000", "pcmu/8000", "pcma/8000")
STATIC = {PCMU: "pcmu/8000", PCMA: "pcma/8000"}
MAX_SDP = 4096


class SdpError(ValueError):
    """An offer a phone leg cannot take: the reason, for the 488's Warning."""


@dataclass(frozen=True)
class AudioOffer:
    """What the trunk's offer says of its audio: where to send it, the codec chosen
    (payload type and name) and the telephone-event payload type (None: none offered)."""

    address: str
    port: int
    payload_type: int
    codec: str  # "opus/48000", "pcmu/8000" or "pcma/8000"
    events: int | None
    ptime: int  # ms of audio per packet the trunk asks for (20 if it does not say)
    direction: str  # sendrecv, sendonly, recvonly or inactive, as offered


def parse_offer(body: bytes) -> AudioOffer:
    """The audio of an SDP offer, or SdpError."""
    if len(body) > MAX_SDP:
        raise SdpError("the offer is too long")
    try:
        lines = body.decode("ascii").replace("\r\n", "\n").split("\n")
    except UnicodeDecodeError:
        raise SdpError("the offer is not ASCII text") from None
    session_address = ""
    media: list[list[str]] = []
    for line in (line.strip() for line in lines):
        if not line:
            continue
        if not re.fullmatch(r"[a-z]=.*", line):
            raise SdpError("a line of the offer is not type=value")
        if line.startswith("m="):
            media.append([line])
        elif media:
            media[-1].append(line)
        elif line.startswith("c="):
            session_address = connection_address(line)
    for section in media:
        fields = section[0][2:].split()
        if len(fields) < 4 or fields[0] != "audio" or fields[2] != "RTP/AVP":
            continue
        if not fields[1].isdigit() or not 0 < int(fields[1]) < 65536:
            continue  # port 0: a stream turned down
        return audio_of(section, fields, session_address)
    raise SdpError("no audio stream over RTP/AVP")


def connection_address(line: str) -> str:
    fields = line[2:].split()
    if len(fields) != 3 or fields[0] != "IN" or fields[1] not in ("IP4", "IP6"):
        raise SdpError("a connection line is not IN IP4 or IN IP6")
    try:
        return str(ipaddress.ip_address(fields[2]))
    except ValueError:
        raise SdpError("a connection address is not an IP address") from None


def audio_of(section: list[str], fields: list[str], session_address: str) -> AudioOffer:
    address = session_address
    names: dict[int, str] = {}
    ptime = 20
    direction = "sendrecv"
    for line in section[1:]:
        if line.startswith("c="):
            address = connection_address(line)
        elif match := re.fullmatch(r"a=rtpmap:(\d{1,3}) ([\w.-]+)/(\d+)(?:/\d+)?", line):
            names[int(match.group(1))] = f"{match.group(2).lower()}/{match.group(3)}"
        elif match := re.fullmatch(r"a=ptime:(\d{1,3})", line):
            ptime = min(max(int(match.group(1)), 10), 60)
        elif line[2:] in ("sendrecv", "sendonly", "recvonly", "inactive"):
            direction = line[2:]
    if not address:
        raise SdpError("the offer says no address for its audio")
    types = [int(t) for t in fields[3:] if t.isdigit() and int(t) < 128]
    named = {t: names.get(t, STATIC.get(t, "")) for t in types}
    chosen = next(((t, n) for w in WANTED for t, n in named.items() if n == w), None)
    if chosen is None:
        raise SdpError("no codec in common: PCMU, PCMA or Opus")
    events = next((t for t, n in named.items() if n == "telephone-event/8000"), None)
    return AudioOffer(address, int(fields[1]), chosen[0], chosen[1], events, ptime, direction)


def answer_sdp(offer: AudioOffer, address: str, port: int, session: int) -> bytes:
    """Our answer: the codec chosen and telephone-events, both ways, at `address`:`port`."""
    family = "IP6" if ":" in address else "IP4"
    types = [offer.payload_type] + ([offer.events] if offer.events is not None else [])
    name, rate = offer.codec.split("/")
    codec = name.upper() if name != "opus" else "opus"
    lines = [
        "v=0",
        f"o=quietroom {session} {session} IN {family} {address}",
        "s=-",
        f"c=IN {family} {address}",
        "t=0 0",
        f"m=audio {port} RTP/AVP {' '.join(map(str, types))}",
        f"a=rtpmap:{offer.payload_type} {codec}/{rate}" + ("/2" if name == "opus" else ""),
    ]
    if offer.events is not None:
        lines += [f"a=rtpmap:{offer.events} telephone-event/8000", f"a=fmtp:{offer.events} 0-15"]
    mirrored = {"sendonly": "recvonly", "recvonly": "sendonly"}.get(offer.direction)
    lines += [f"a=ptime:{offer.ptime}", f"a={mirrored or offer.direction}"]
    return ("\r\n".join(lines) + "\r\n").encode()
