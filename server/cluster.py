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

Requests between nodes carry `X-Quietroom-Node`: a time and an HMAC of it and the path under
the cluster's shared secret, valid for `AUTH_SECONDS`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

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
NODE_ID_BYTES = 6
CALL_LOAD = 0.03  # the share of a core a new call is taken to add until the next report


class ClusterError(Exception):
    """Redis cannot be used as asked; the message says why and what to do."""


class ClusterUnavailable(Exception):
    """Redis did not answer in time: a new call or a relayed join waits for it."""


def hashed(kind: str, secret: str) -> str:
    """The Redis key for an invite token or a call id: its SHA-256, never the value."""
    return f"{PREFIX}{kind}:{hashlib.sha256(secret.encode()).hexdigest()}"


def node_key(node_id: str) -> str:
    return f"{PREFIX}node:{node_id}"


def sign(secret: str, path: str, now: float) -> str:
    stamp = str(int(now))
    mac = hmac.new(secret.encode(), f"{stamp} {path}".encode(), hashlib.sha256).hexdigest()
    return f"{stamp}.{mac}"


def verify(secret: str, path: str, header: str, now: float) -> bool:
    """Whether `header` is a node's signature of `path`, made within AUTH_SECONDS."""
    stamp, _, mac = header.partition(".")
    if not stamp.isdigit() or abs(now - int(stamp)) > AUTH_SECONDS:
        return False
    expected = hmac.new(secret.encode(), f"{stamp} {path}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, mac)


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
            )
        except (KeyError, ValueError):
            return None


def headroom(report: NodeReport, placed: int = 0) -> float:
    """How much more a node can take: the share of its cores still free, less what calls
    placed on it since its report are taken to add."""
    return 1.0 - report.busy - CALL_LOAD * placed


class Cluster:
    """This node's part in the cluster: its report, the call directory, placement."""

    def __init__(self, redis: Any, address: str, secret: str, node_id: str = "") -> None:
        self.redis = redis
        self.address = address
        self.secret = secret
        self.node_id = node_id or secrets.token_hex(NODE_ID_BYTES)
        self.draining = False
        self._keys: dict[str, list[str]] = {}  # call id -> its keys in Redis
        self._placed: dict[str, int] = {}  # node id -> calls placed there since its report

    @classmethod
    async def connect(
        cls, url: str, password: str, address: str, secret: str, allow_persistence: bool
    ) -> Cluster:
        """Reach Redis, and refuse one that keeps data on disk unless allowed."""
        import redis.asyncio as aioredis
        from redis.exceptions import RedisError

        client = aioredis.Redis.from_url(
            url,
            password=password or None,
            decode_responses=True,
            socket_timeout=2.0,
            socket_connect_timeout=2.0,
        )
        try:
            await client.ping()
            if not allow_persistence:
                await check_persistence(client)
        except RedisError as exc:
            await client.aclose()
            raise ClusterError(f"--redis: cannot use Redis: {redis_reason(exc)}") from None
        except ClusterError:
            await client.aclose()
            raise
        return cls(client, address, secret)

    async def close(self) -> None:
        from redis.exceptions import RedisError

        try:
            await self.redis.delete(node_key(self.node_id))
        except RedisError:
            pass
        await self.redis.aclose()

    # ---------------------------------------------------------------- reports

    async def report(self, busy: float, pps: float, us_per_packet: float, calls: int) -> None:
        key = node_key(self.node_id)
        fields = {
            "address": self.address,
            "busy": f"{busy:.3f}",
            "pps": f"{pps:.0f}",
            "us_per_packet": f"{us_per_packet:.1f}",
            "calls": str(calls),
            "draining": "1" if self.draining else "0",
        }
        from redis.exceptions import RedisError

        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hset(key, mapping=fields)
                pipe.expire(key, NODE_SECONDS)
                await pipe.execute()
        except RedisError:
            raise ClusterUnavailable from None

    async def nodes(self) -> list[NodeReport]:
        """Every node that reported within NODE_SECONDS."""
        from redis.exceptions import RedisError

        found: list[NodeReport] = []
        try:
            async for key in self.redis.scan_iter(match=f"{PREFIX}node:*", count=100):
                node_id = key.rpartition(":")[2]
                report = NodeReport.read(node_id, await self.redis.hgetall(key))
                if report is not None:
                    found.append(report)
        except RedisError:
            raise ClusterUnavailable from None
        return found

    def reported(self, node_id: str) -> None:
        """A node's new report counts what was placed on it: start counting again."""
        self._placed.pop(node_id, None)

    async def place(self) -> NodeReport | None:
        """The node a new call goes to: the one with the most headroom that is not draining
        (None: this node, when it is the best or no other has reported)."""
        reports = [r for r in await self.nodes() if not r.draining]
        if not reports:
            return None
        best = max(reports, key=lambda r: (headroom(r, self._placed.get(r.node_id, 0)), r.node_id))
        self._placed[best.node_id] = self._placed.get(best.node_id, 0) + 1
        return None if best.node_id == self.node_id else best

    # ---------------------------------------------------------------- directory

    async def add_call(self, call_id: str, invites: list[str], seconds: float) -> None:
        """A call of this node, for `seconds` (its life): found by its id and its invites."""
        from redis.exceptions import RedisError

        keys = [hashed("call", call_id), *(hashed("invite", token) for token in invites)]
        ttl = max(1, int(seconds) + 1)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                for key in keys:
                    pipe.set(key, self.node_id, ex=ttl)
                await pipe.execute()
        except RedisError:
            raise ClusterUnavailable from None
        self._keys[call_id] = keys

    async def drop_call(self, call_id: str) -> None:
        """The call ended: nothing about it stays in Redis."""
        from redis.exceptions import RedisError

        keys = self._keys.pop(call_id, None)
        if not keys:
            return
        try:
            await self.redis.delete(*keys)
        except RedisError:
            logger.warning("Redis did not answer: an ended call's keys go when their time is up")

    def holds(self, call_id: str) -> bool:
        return call_id in self._keys

    async def node_for_invite(self, token: str) -> str | None:
        return await self._node_at(hashed("invite", token))

    async def node_for_call(self, call_id: str) -> str | None:
        return await self._node_at(hashed("call", call_id))

    async def node_for_resume(self, secret: str) -> str | None:
        return await self._node_at(None, node_of_resume(secret))

    async def _node_at(self, key: str | None, node_id: str | None = None) -> str | None:
        """The address of the node `key` names (or `node_id`): None if unknown, gone, or
        this node. Raises ClusterUnavailable when Redis does not answer."""
        from redis.exceptions import RedisError

        try:
            if key is not None:
                node_id = await self.redis.get(key)
            if node_id is None or node_id == self.node_id:
                return None
            address = await self.redis.hget(node_key(node_id), "address")
        except RedisError:
            raise ClusterUnavailable from None
        return str(address) if address else None

    def resume_prefix(self) -> str:
        return f"{self.node_id}."

    def signed(self, path: str) -> dict[str, str]:
        return {AUTH_HEADER: sign(self.secret, path, time.time())}

    def is_node(self, path: str, header: str) -> bool:
        return verify(self.secret, path, header, time.time())


async def check_persistence(client: Any) -> None:
    """Refuse a Redis that writes to disk: RDB snapshots (`save`) or the append-only file."""
    from redis.exceptions import ResponseError

    try:
        save = (await client.config_get("save")).get("save", "")
        appendonly = (await client.config_get("appendonly")).get("appendonly", "no")
    except ResponseError:
        raise ClusterError(
            "--redis: Redis refused CONFIG GET, so whether it writes to disk cannot be "
            'checked; make sure it runs with save "" and appendonly no, then start with '
            "--redis-allow-persistence"
        ) from None
    found = []
    if save.strip():
        found.append(f'RDB snapshots (save "{save}")')
    if appendonly.strip().lower() == "yes":
        found.append("the append-only file (appendonly yes)")
    if found:
        raise ClusterError(
            "--redis: this Redis keeps data on disk: "
            + " and ".join(found)
            + '; run it with --save "" --appendonly no (Quietroom records nothing), or '
            "start with --redis-allow-persistence if its disk is yours to trust"
        )


def redis_reason(exc: Exception) -> str:
    """What went wrong, without the address or password."""
    name = type(exc).__name__
    reasons = {
        "AuthenticationError": "the password was refused",
        "AuthenticationWrongNumberOfArgsError": "it asks for no password, or another",
        "ConnectionError": "it cannot be reached",
        "TimeoutError": "it did not answer in time",
        "ResponseError": "it refused a command",
    }
    return reasons.get(name, f"it answered with an error ({name})")
