"""SIP requests as a trunk sends them, read strictly, and the answers to them (RFC 3261).

Only what a trunk-only user agent server needs (see docs/phone.md): a request is read whole
from one UDP datagram or refused with the status to answer (`SipError`); an answer is built
from the request it answers. Nothing here logs, and a message's repr names no one: From,
To and Contact carry callers' numbers, which are never to be written anywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_DATAGRAM = 8192  # larger requests are refused (a trunk's are far smaller)
MAX_HEADERS = 64
REQUIRED = ("via", "from", "to", "call-id", "cseq", "max-forwards")
# RFC 3261 section 7.3.3: the compact forms a request may use.
COMPACT = {
    "v": "via",
    "f": "from",
    "t": "to",
    "i": "call-id",
    "m": "contact",
    "l": "content-length",
    "c": "content-type",
    "k": "supported",
    "s": "subject",
}
# Headers that may hold several values separated by commas on one line (Via, mostly).
LISTS = {"via", "allow", "supported", "require", "record-route", "route"}
TOKEN = re.compile(r"[A-Za-z0-9.!%*_+`'~-]+")
REQUEST_LINE = re.compile(r"([A-Za-z0-9.!%*_+`'~-]+) (\S+) SIP/2\.0")
BRANCH = re.compile(r";\s*branch=([^;,\s]+)", re.IGNORECASE)
TAG = re.compile(r";\s*tag=([^;,\s>]+)", re.IGNORECASE)


class SipError(Exception):
    """A request that cannot be taken: answer `status` if it can be answered at all
    (`answerable`: it has a Via to send the answer along), else drop it."""

    def __init__(self, status: int, reason: str, answerable: bool = True) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason
        self.answerable = answerable
        self.request: SipRequest | None = None  # what was read of it, to answer along


@dataclass
class SipRequest:
    """One request: its method, Request-URI, headers (lower-case names, values in order)
    and body."""

    method: str
    uri: str
    headers: dict[str, list[str]] = field(repr=False)
    body: bytes = field(default=b"", repr=False)

    def __repr__(self) -> str:  # no From, To or Contact: they carry numbers
        return f"SipRequest({self.method})"

    def one(self, name: str) -> str:
        values = self.headers.get(name, [])
        return values[0] if values else ""

    @property
    def call_id(self) -> str:
        return self.one("call-id")

    @property
    def cseq(self) -> tuple[int, str]:
        number, method = self.one("cseq").split()
        return int(number), method

    @property
    def branch(self) -> str:
        """The top Via's branch: names the transaction."""
        found = BRANCH.search(self.one("via"))
        return found.group(1) if found else ""

    @property
    def from_tag(self) -> str:
        found = TAG.search(self.one("from"))
        return found.group(1) if found else ""

    @property
    def to_tag(self) -> str:
        found = TAG.search(self.one("to"))
        return found.group(1) if found else ""


def split_list(value: str) -> list[str]:
    """A header line holding several values, split at commas outside quotes and <>."""
    items: list[str] = []
    depth, quoted, start = 0, False, 0
    for i, char in enumerate(value):
        if char == '"':
            quoted = not quoted
        elif not quoted and char == "<":
            depth += 1
        elif not quoted and char == ">":
            depth = max(0, depth - 1)
        elif not quoted and depth == 0 and char == ",":
            items.append(value[start:i].strip())
            start = i + 1
    items.append(value[start:].strip())
    return [item for item in items if item]


def parse_request(datagram: bytes) -> SipRequest:
    """The request in `datagram`, or SipError. Answers (SIP/2.0 status lines) and keep-alive
    blank lines are refused as not answerable: a UAS answers only requests."""
    if len(datagram) > MAX_DATAGRAM:
        raise SipError(513, "Message Too Large", answerable=False)
    # Lines end in CRLF; a bare LF is taken too (RFC 3261 section 7.5 asks for tolerance).
    blank = re.search(rb"\r?\n\r?\n", datagram)
    if not blank:
        raise SipError(400, "Bad Request", answerable=False)
    head, body = datagram[: blank.start()], datagram[blank.end() :]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise SipError(400, "Bad Request", answerable=False) from None
    # Lines folded onto the next with leading white space belong to the line before.
    lines = re.sub(r"\r?\n[ \t]+", " ", text).replace("\r\n", "\n").split("\n")
    match = REQUEST_LINE.fullmatch(lines[0])
    if not match:
        raise SipError(400, "Bad Request", answerable=False)
    method, uri = match.group(1), match.group(2)
    headers: dict[str, list[str]] = {}
    if len(lines) - 1 > MAX_HEADERS:
        raise SipError(400, "Too Many Headers", answerable=False)
    for line in lines[1:]:
        if any(ord(char) < 32 and char != "\t" for char in line):
            raise SipError(400, "Bad Header", answerable=False)  # a stray CR, NUL, ...
        name, colon, value = line.partition(":")
        name = name.strip().lower()
        if not colon or not TOKEN.fullmatch(name):
            raise SipError(400, "Bad Header", answerable=False)
        name = COMPACT.get(name, name)
        values = split_list(value) if name in LISTS else [value.strip()]
        headers.setdefault(name, []).extend(values)
    request = SipRequest(method, uri, headers, body)
    answerable = bool(request.one("via") and request.branch)
    if not answerable:
        raise SipError(400, "Missing Via", answerable=False)
    try:
        check(request)
    except SipError as error:
        error.request = request
        raise
    return request


def check(request: SipRequest) -> None:
    """What every request must hold, or a 400 that says which part is wrong."""
    for name in REQUIRED:
        if not request.one(name):
            raise SipError(400, f"Missing {name.title()}")
    for name in ("from", "to", "call-id", "cseq", "max-forwards", "content-length"):
        if len(request.headers.get(name, [])) > 1:
            raise SipError(400, f"Repeated {name.title()}")
    parts = request.one("cseq").split()
    if len(parts) != 2 or not parts[0].isdigit() or int(parts[0]) >= 2**31:
        raise SipError(400, "Bad CSeq")
    if parts[1] != request.method and not (request.method == "ACK" and parts[1] == "INVITE"):
        raise SipError(400, "CSeq Method Mismatch")
    forwards = request.one("max-forwards")
    if not forwards.isdigit() or int(forwards) > 255:
        raise SipError(400, "Bad Max-Forwards")
    length = request.one("content-length")
    # Over UDP a body without Content-Length is the rest of the datagram (section 18.3).
    if length and (not length.isdigit() or int(length) != len(request.body)):
        raise SipError(400, "Bad Content-Length")


def answer(
    request: SipRequest,
    status: int,
    reason: str,
    *,
    to_tag: str = "",
    source: tuple[str, int] | None = None,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
) -> bytes:
    """The answer to `request`: its Vias (the top one marked with where it came from,
    RFC 3581), From, To (with our tag), Call-ID and CSeq, then `headers` and `body`."""
    vias = list(request.headers["via"])
    if source is not None:
        host, port = source
        top = re.sub(r";\s*(received|rport)(=[^;]*)?", "", vias[0], flags=re.IGNORECASE)
        vias[0] = f"{top};received={host};rport={port}"
    to = request.one("to")
    if to_tag and not TAG.search(to):
        to = f"{to};tag={to_tag}"
    lines = [f"SIP/2.0 {status} {reason}"]
    lines += [f"Via: {via}" for via in vias]
    lines += [
        f"From: {request.one('from')}",
        f"To: {to}",
        f"Call-ID: {request.call_id}",
        f"CSeq: {request.one('cseq')}",
    ]
    lines += [f"{name}: {value}" for name, value in headers or []]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
