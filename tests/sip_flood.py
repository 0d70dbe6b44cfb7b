"""Bad and too many SIP requests at a server, for test_phone_dial_in: run inside a test's
namespace as

    python sip_flood.py HOST PORT INVITES CALLER

It sends requests a broken trunk or an attacker could (a request line that is not SIP, a
Content-Length that lies, an offer with no audio, one with no codec in common), then INVITEs
as fast as it can, each with its own Call-ID, never acknowledged; and prints one JSON line:
the status of each answer to the bad ones, and how many INVITEs got each status.
"""

from __future__ import annotations

import json
import secrets
import socket
import sys
import time
from collections import Counter

AUDIO = "m=audio {port} RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n"
VIDEO_ONLY = "m=video 5004 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n"
NO_CODEC = "m=audio 5004 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n"


def sdp(media: str, address: str) -> str:
    """An offer whose media is at `address` (ours: nothing is sent anywhere else)."""
    return f"v=0\r\no=- 1 1 IN IP4 {address}\r\ns=-\r\nc=IN IP4 {address}\r\nt=0 0\r\n" + media


def invite(host: str, port: int, me: tuple[str, int], caller: str, body: str,
           length: int | None = None) -> bytes:  # fmt: skip
    lines = [
        f"INVITE sip:dial-in@{host}:{port} SIP/2.0",
        f"Via: SIP/2.0/UDP {me[0]}:{me[1]};branch=z9hG4bK{secrets.token_hex(6)};rport",
        f'From: "{caller}" <sip:{caller}@{me[0]}>;tag={secrets.token_hex(4)}',
        f"To: <sip:dial-in@{host}>",
        f"Call-ID: {secrets.token_hex(8)}",
        "CSeq: 1 INVITE",
        f"Contact: <sip:{caller}@{me[0]}:{me[1]}>",
        "Max-Forwards: 70",
        "Content-Type: application/sdp",
        f"Content-Length: {len(body) if length is None else length}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def call_id(data: bytes) -> str:
    for line in data.split(b"\r\n"):
        if line.lower().startswith(b"call-id:"):
            return line.split(b":", 1)[1].strip().decode()
    return ""


def ack(answer: bytes) -> bytes:
    """The ACK of a final answer that is not 2xx (RFC 3261 17.1.1.3): its Via, From, To and
    Call-ID, CSeq ACK."""
    head = answer.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    keep = [
        h for h in head[1:] if h.lower().split(b":", 1)[0] in (b"via", b"from", b"to", b"call-id")
    ]
    cseq = next(h for h in head if h.lower().startswith(b"cseq:")).split()[1]
    uri = (
        b"sip:dial-in@"
        + next(h for h in head if h.lower().startswith(b"to:")).split(b"@")[1].split(b">")[0]
    )
    lines = [b"ACK " + uri + b" SIP/2.0", *keep, b"CSeq: " + cseq + b" ACK", b"Max-Forwards: 70",
             b"Content-Length: 0"]  # fmt: skip
    return b"\r\n".join(lines) + b"\r\n\r\n"


def answers(sock: socket.socket, wait: float, sent: set[str]) -> dict[str, int]:
    """The final status of each call sent (by Call-ID) that comes within `wait` seconds:
    100 Trying is not one, and a final answer sent again counts once. Refusals are
    acknowledged, as a caller's phone would."""
    got: dict[str, int] = {}
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except TimeoutError:
            break
        if data.startswith(b"SIP/2.0 "):
            code, which = int(data.split(b" ", 2)[1]), call_id(data)
            if code >= 200 and which in sent:
                got[which] = code
            if code >= 300:
                sock.send(ack(data))
    return got


def main() -> int:
    host, port_text, count_text, caller = sys.argv[1:5]
    port, count = int(port_text), int(count_text)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect((host, port))
    me = sock.getsockname()
    audio = sdp(AUDIO.format(port=me[1] + 1), me[0])
    bad = {
        "not-sip": b"HELLO there\r\n\r\n",
        "length-lies": invite(host, port, me, caller, audio, length=999),
        "no-audio": invite(host, port, me, caller, sdp(VIDEO_ONLY, me[0])),
        "no-codec": invite(host, port, me, caller, sdp(NO_CODEC, me[0])),
    }
    report: dict[str, object] = {}
    for name, data in bad.items():
        sock.send(data)
        report[name] = sorted(answers(sock, 1.0, {call_id(data)}).values())
    statuses: Counter[int] = Counter()
    sent = set()
    for _ in range(count):
        data = invite(host, port, me, caller, audio)
        sent.add(call_id(data))
        sock.send(data)
    statuses.update(answers(sock, 3.0, sent).values())
    report["flood"] = {str(k): v for k, v in sorted(statuses.items())}
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
