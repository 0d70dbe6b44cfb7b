"""Junk datagrams at media ports, for test_media_junk: run inside a test's namespace.

    python junk_sender.py HOST PORT[,PORT...] PER_KIND USERNAME[,USERNAME...] PASSWORD[,...]

Sends PER_KIND datagrams of each kind to each port, paced, and prints one JSON line: what was
sent and how many datagrams came back to it (the server answers none: nothing of it is a valid
check). USERNAME is `server-ufrag:client-ufrag`, so some binding requests name a real ICE
session and fail only on their integrity. Then, from another socket, one valid binding request
per USERNAME, signed with the server's PASSWORD for it: the server answers those, which shows
that the junk reached the same socket and address.
"""

from __future__ import annotations

import json
import os
import random
import socket
import struct
import sys
import time
from typing import Any

COOKIE = 0x2112A442
KINDS = ("random", "stun-truncated", "stun-bad-integrity", "dtls", "rtp", "rtcp")


def stun(kind: int, attributes: bytes) -> bytes:
    return struct.pack("!HHI", kind, len(attributes), COOKIE) + os.urandom(12) + attributes


def attribute(kind: int, value: bytes) -> bytes:
    padding = b"\x00" * (-len(value) % 4)
    return struct.pack("!HH", kind, len(value)) + value + padding


def junk(kind: str, rng: random.Random, usernames: list[str]) -> bytes:
    if kind == "random":
        return os.urandom(rng.randint(1, 1400))
    if kind == "stun-truncated":
        body = attribute(0x0006, b"x" * rng.randint(1, 60)) + attribute(0x0024, os.urandom(4))
        whole = stun(rng.choice([0x0001, 0x0101, 0x0111, 0x0003]), body)
        if rng.random() < 0.5:  # a header that lies about its length
            whole = whole[:2] + struct.pack("!H", rng.randint(0, 65535)) + whole[4:]
        return whole[: rng.randint(1, len(whole) - 1)]
    if kind == "stun-bad-integrity":
        user = rng.choice(usernames).encode()
        body = attribute(0x0006, user) + attribute(0x0024, os.urandom(4))
        body += attribute(0x802A if rng.random() < 0.5 else 0x8029, os.urandom(8))
        if rng.random() < 0.5:
            body += attribute(0x0025, b"")  # USE-CANDIDATE
        body += attribute(0x0008, os.urandom(20))  # MESSAGE-INTEGRITY that cannot be right
        return stun(0x0001, body)
    if kind == "dtls":
        content = rng.choice([20, 21, 22, 23, rng.randint(20, 63)])
        body = os.urandom(rng.randint(0, 300))
        if content == 22 and rng.random() < 0.5:  # a ClientHello-shaped handshake
            body = b"\x01" + struct.pack("!I", len(body))[1:] + b"\x00\x00" + body
        header = struct.pack("!BHHHI", content, 0xFEFD, rng.randint(0, 3), 0, rng.randint(0, 9))
        return header + struct.pack("!H", len(body) + rng.choice([0, 0, 7, 300])) + body
    if kind == "rtp":
        pt = rng.choice([96, 97, 111, 100, rng.randint(0, 127)])
        header = struct.pack(
            "!BBHII",
            0x80 | rng.choice([0, 0, 0x10, 0x20, 0x0F]),
            pt | rng.choice([0, 0x80]),
            rng.randint(0, 65535),
            rng.randint(0, 2**32 - 1),
            rng.randint(0, 2**32 - 1),  # random SSRC
        )
        return header + os.urandom(rng.randint(0, 1200))
    # rtcp: sender/receiver reports, feedback, with random SSRCs and lengths
    pt = rng.choice([200, 201, 202, 203, 204, 205, 206])
    words = rng.randint(0, 40)
    header = struct.pack("!BBHI", 0x80 | rng.randint(0, 31), pt, words, rng.randint(0, 2**32 - 1))
    return header + os.urandom(rng.randint(0, 160))


def binding_request(username: str, password: str) -> Any:
    """A binding request as a browser sends it (the controlling side), signed with `password`."""
    from aioice import stun as aioice_stun

    request = aioice_stun.Message(
        message_method=aioice_stun.Method.BINDING, message_class=aioice_stun.Class.REQUEST
    )
    request.attributes["USERNAME"] = username
    request.attributes["PRIORITY"] = 1853824767
    request.attributes["ICE-CONTROLLING"] = random.getrandbits(64)
    request.add_message_integrity(password.encode())
    request.add_fingerprint()
    return request


def valid_checks(host: str, ports: list[int], usernames: list[str], passwords: list[str]) -> int:
    """Binding requests as a browser sends them; how many were answered with success."""
    from aioice import stun as aioice_stun

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(2.0)
    answered = 0
    for port in ports:
        for username, password in zip(usernames, passwords, strict=True):
            request = binding_request(username, password)
            sock.sendto(bytes(request), (host, port))
            try:
                while True:
                    data, _ = sock.recvfrom(4096)
                    reply = aioice_stun.parse_message(data)
                    if reply.transaction_id == request.transaction_id:
                        answered += reply.message_class == aioice_stun.Class.RESPONSE
                        break
            except TimeoutError:
                pass
    sock.close()
    return answered


def main() -> int:
    host, ports_text, per_kind_text, users_text, passwords_text = sys.argv[1:6]
    ports = [int(p) for p in ports_text.split(",")]
    per_kind = int(per_kind_text)
    usernames = users_text.split(",")
    rng = random.Random(int(os.environ.get("JUNK_SEED", "13")))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    plan = [(port, kind) for port in ports for kind in KINDS for _ in range(per_kind)]
    rng.shuffle(plan)
    sent = dict.fromkeys(KINDS, 0)
    replies: dict[int, int] = dict.fromkeys(ports, 0)
    started = time.monotonic()
    rate = 1500.0  # datagrams a second, all ports together
    for n, (port, kind) in enumerate(plan):
        sock.sendto(junk(kind, rng, usernames), (host, port))
        sent[kind] += 1
        while True:
            try:
                _, (_, source_port) = sock.recvfrom(4096)
            except BlockingIOError:
                break
            replies[source_port] = replies.get(source_port, 0) + 1
        delay = started + (n + 1) / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        try:
            _, (_, source_port) = sock.recvfrom(4096)
            replies[source_port] = replies.get(source_port, 0) + 1
        except BlockingIOError:
            time.sleep(0.01)
    checks = valid_checks(host, ports, usernames, passwords_text.split(","))
    report = {"sent": sent, "replies": {str(k): v for k, v in replies.items()}, "checks": checks}
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
