"""Many nodes behind one address (docs/scaling.md): what they share through Redis.

Each call lives on one node. Through Redis, with persistence off, nodes share only what must
be shared, each key with a time to live no longer than the thing it describes:

- `node:<id>`: where the node is reached and its load, renewed every few seconds (a node
  that stops renewing is gone within `NODE_SECONDS`);
- `call:<hash of the call id>` and `invite:<hash of an invite token>`: the node a call is on,
  for the call's life, deleted when it ends.

Invite tokens and call ids are stored only as SHA-256 hashes: whoever reads Redis learns how
many calls each node holds, never a way into one. A resume secret names its node in the
clear before a dot (`<node id>.<secret>`), so a page that comes back through another node is
relayed without asking Redis.

Requests between nodes carry `X-Quietroom-Node`: a time and an HMAC of it, the path and the
staff member the request is for (`X-Quietroom-Staff`) under the cluster's shared secret, valid
for `AUTH_SECONDS`. Answers carry one too, over the request's: a node sends a page's messages,
or takes an answer as another node's, only once that node has proved it holds the secret, so
an address written into Redis by someone else receives nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass

logger = logging.getLogger(__name__)

PREFIX = "quietroom:"
NODE_SECONDS = 15  # a node's report outlives its last renewal by this much
REPORT_SECONDS = 5.0  # how often a node renews its report
AUTH_SECONDS = 60  # how long a node's signed request stays valid
AUTH_HEADER = "X-Quietroom-Node"
STAFF_HEADER = "X-Quietroom-Staff"  # who a relayed staff socket belongs to (checked at entry)
NODE_SOCKET = "/node/ws"  # a page's socket, relayed by the node it reached
NODE_CALLS = "/node/calls"  # a new call placed on this node by another
RELAYED_STAFF = "quietroom.relayed_staff"  # a node request's staff, as the other node said
ANSWER = "answer"  # what a node signs in its answers (see `answer`)
NODE_ID_BYTES = 6
CALL_LOAD = 0.03  # the share of a core a new call is taken to add until the next report


class ClusterError(Exception):
    """Redis cannot be used as asked; the message says why and what to do."""


class ClusterUnavailable(Exception):
    """Redis did not answer in time: a new call or a relayed join waits for it."""


def hashed(cluster_secret: str, kind: str, value: str) -> str:
    """The Redis key for an invite token, a call id, a sign-in or an address: an HMAC of it
    under the cluster's secret, never the value (nor a hash anyone could test guesses on)."""
    mac = hmac.new(cluster_secret.encode(), f"{kind}:{value}".encode(), hashlib.sha256)
    return f"{PREFIX}{kind}:{mac.hexdigest()}"


def ttl(ends: float, now: float) -> int:
    """Seconds a key lives: to the end of what it describes, at least one."""
    return max(1, int(ends - now) + 1)


def node_key(node_id: str) -> str:
    return f"{PREFIX}node:{node_id}"


def drain_key(node_id: str) -> str:
    return f"{PREFIX}drain:{node_id}"


def sign(secret: str, path: str, now: float, staff: str = "") -> str:
    """A node's signature of a request: its time, path and the staff member it names."""
    stamp = str(int(now))
    return f"{stamp}.{_mac(secret, stamp, path, staff)}"


def verify(secret: str, path: str, header: str, now: float, staff: str = "") -> bool:
    """Whether `header` is a node's signature of `path` and `staff`, made within
    AUTH_SECONDS."""
    stamp, _, mac = header.partition(".")
    if not stamp.isdigit() or abs(now - int(stamp)) > AUTH_SECONDS:
        return False
    return hmac.compare_digest(_mac(secret, stamp, path, staff), mac)


def _mac(secret: str, stamp: str, path: str, staff: str) -> str:
    message = "\n".join((stamp, path, staff)).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def answer(secret: str, request_header: str, now: float) -> str:
    """A node's proof that it is one, in its answer to a node's signed request: another
    signature, over that request's own (so it cannot be replayed for another request)."""
    return sign(secret, ANSWER, now, request_header)


def is_answer(secret: str, request_header: str, header: str, now: float) -> bool:
    return verify(secret, ANSWER, header, now, request_header)


def node_of_resume(secret: str) -> str | None:
    """The node a resume secret was made on, if it names one."""
    node, dot, _ = secret.partition(".")
    return node if dot and len(node) == 2 * NODE_ID_BYTES else None


@dataclass(frozen=True)
class NodeReport:
    """One node as it last said of itself."""

    node_id: str
    address: str
    busy: float  # share of one core its processes used, per core of the machine
    packets_per_second: float
    cpu_per_packet_us: float
    calls: int
    draining: bool
    at: float  # when it reported (its own clock)

    @classmethod
    def read(cls, node_id: str, fields: dict[str, str]) -> NodeReport | None:
        try:
            return cls(
                node_id=node_id,
                address=fields["address"],
                busy=float(fields["busy"]),
                packets_per_second=float(fields["pps"]),
                cpu_per_packet_us=float(fields["us_per_packet"]),
                calls=int(fields["calls"]),
                draining=fields["draining"] == "1",
                at=float(fields["at"]),
            )
        except (KeyError, ValueError):
            return None


def headroom(report: NodeReport, placed: int = 0) -> float:
    """How much more a node can take: the share of its cores still free, less what calls
    placed on it since its report are taken to add."""
    return 1.0 - report.busy - CALL_LOAD * placed


def redis_reason(exc: Exception, password_given: bool = True) -> str:
    """What went wrong, without the address or password."""
    name = type(exc).__name__
    if name == "AuthenticationError" and not password_given:
        return "it asks for a password: set QUIETROOM_REDIS_PASSWORD"
    reasons = {
        "AuthenticationError": "the password was refused",
        "AuthenticationWrongNumberOfArgsError": "it asks for no password, or another",
        "ConnectionError": "it cannot be reached",
        "TimeoutError": "it did not answer in time",
        "ResponseError": "it refused a command",
    }
    return reasons.get(name, f"it answered with an error ({name})")
