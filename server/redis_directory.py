"""The cluster's shared state in Redis (docs/scaling.md, and `server.cluster` for what is
kept there and how it is named). Loaded only with --redis: the Redis client is not small."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from typing import Any

from redis.exceptions import RedisError, ResponseError

from server.cluster import (
    AUTH_HEADER,
    NODE_ID_BYTES,
    NODE_SECONDS,
    PREFIX,
    STAFF_HEADER,
    ClusterError,
    ClusterUnavailable,
    NodeReport,
    answer,
    drain_key,
    hashed,
    headroom,
    is_answer,
    node_key,
    node_of_resume,
    redis_reason,
    sign,
    ttl,
    verify,
)
from signaling.sign_in_limits import FORGET_SECONDS, Failures, SignInLimits
from signaling.staff_sessions import StaffSession, StaffSessions

logger = logging.getLogger(__name__)


class Cluster:
    """This node's part in the cluster: its report, the call directory, placement."""

    def __init__(self, redis: Any, address: str, secret: str, node_id: str = "") -> None:
        self.redis = redis
        self.address = address
        self.secret = secret
        self.node_id = node_id or secrets.token_hex(NODE_ID_BYTES)
        self.draining = False
        self._keys: dict[str, tuple[list[str], float]] = {}  # call id -> its keys, its end
        self._writing = asyncio.Lock()  # a call's keys are not written back as they go
        # node id -> (its report's time, calls placed there since that report)
        self._placed: dict[str, tuple[float, int]] = {}

    @classmethod
    async def connect(
        cls, url: str, password: str, address: str, secret: str, allow_persistence: bool
    ) -> Cluster:
        """Reach Redis, and refuse one that keeps data on disk unless allowed."""
        import redis.asyncio as aioredis

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
            reason = redis_reason(exc, bool(password))
            raise ClusterError(f"--redis: cannot use Redis: {reason}") from None
        except ClusterError:
            await client.aclose()
            raise
        return cls(client, address, secret)

    async def close(self, forget_node: bool = True) -> None:
        """Disconnect; a node that stops says so at once (its report goes)."""
        if forget_node:
            with contextlib.suppress(RedisError):
                await self.redis.delete(node_key(self.node_id))
        await self.redis.aclose()

    # ---------------------------------------------------------------- reports

    async def report(self, busy: float, pps: float, us_per_packet: float, calls: int) -> None:
        """This node's load, and its calls' keys again: a Redis that restarted (it keeps
        nothing on disk) has the directory back within one report."""
        key = node_key(self.node_id)
        fields = {
            "address": self.address,
            "busy": f"{busy:.3f}",
            "pps": f"{pps:.0f}",
            "us_per_packet": f"{us_per_packet:.1f}",
            "calls": str(calls),
            "draining": "1" if self.draining else "0",
        }
        now = time.time()
        fields["at"] = f"{now:.3f}"
        try:
            # Asked to drain (`quietroom drain`): the request lives as long as this node
            # renews it, so a node that is gone leaves none behind.
            self.draining = bool(await self.redis.getex(drain_key(self.node_id), ex=NODE_SECONDS))
            fields["draining"] = "1" if self.draining else "0"
            async with self._writing, self.redis.pipeline(transaction=False) as pipe:
                pipe.hset(key, mapping=fields)
                pipe.expire(key, NODE_SECONDS)
                for keys, ends in self._keys.values():
                    for call_key in keys:
                        pipe.set(call_key, self.node_id, ex=ttl(ends, now))
                await pipe.execute()
        except RedisError:
            raise ClusterUnavailable from None

    async def nodes(self) -> list[NodeReport]:
        """Every node that reported within NODE_SECONDS."""
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

    def placed_since(self, report: NodeReport) -> int:
        """Calls placed on a node since its report (a newer report counts them)."""
        at, count = self._placed.get(report.node_id, (0.0, 0))
        return count if at == report.at else 0

    async def place(self) -> NodeReport | None:
        """The node a new call goes to: the one with the most headroom that is not draining
        (None: this node, when it is the best or no other has reported)."""
        reports = [
            r
            for r in await self.nodes()
            if not r.draining and not (r.node_id == self.node_id and self.draining)
        ]
        if not reports:
            if self.draining:
                raise ClusterUnavailable  # this node takes no new calls, and no other does
            return None
        best = max(reports, key=lambda r: (headroom(r, self.placed_since(r)), r.node_id))
        self._placed[best.node_id] = (best.at, self.placed_since(best) + 1)
        return None if best.node_id == self.node_id else best

    # ---------------------------------------------------------------- directory

    async def add_call(self, call_id: str, invites: list[str], seconds: float) -> None:
        """A call of this node, for `seconds` (its life): found by its id and its invites."""
        keys = [self.key("call", call_id), *(self.key("invite", token) for token in invites)]
        ends = time.time() + seconds
        try:
            async with self._writing, self.redis.pipeline(transaction=True) as pipe:
                for key in keys:
                    pipe.set(key, self.node_id, ex=ttl(ends, time.time()))
                await pipe.execute()
        except RedisError:
            raise ClusterUnavailable from None
        self._keys[call_id] = (keys, ends)

    async def drop_call(self, call_id: str) -> None:
        """The call ended: nothing about it stays in Redis."""
        held = self._keys.pop(call_id, None)
        if held is None:
            return
        try:
            async with self._writing:
                await self.redis.delete(*held[0])
        except RedisError:
            logger.warning("Redis did not answer: an ended call's keys go when their time is up")

    def holds(self, call_id: str) -> bool:
        return call_id in self._keys

    async def node_for_invite(self, token: str) -> str | None:
        return await self._node_at(self.key("invite", token))

    async def node_for_call(self, call_id: str) -> str | None:
        return await self._node_at(self.key("call", call_id))

    async def node_for_resume(self, secret: str) -> str | None:
        return await self._node_at(None, node_of_resume(secret))

    async def _node_at(self, key: str | None, node_id: str | None = None) -> str | None:
        """The address of the node `key` names (or `node_id`): None if unknown, gone, or
        this node. Raises ClusterUnavailable when Redis does not answer."""
        try:
            if key is not None:
                node_id = await self.redis.get(key)
            if node_id is None or node_id == self.node_id:
                return None
            address = await self.redis.hget(node_key(node_id), "address")
        except RedisError:
            raise ClusterUnavailable from None
        return str(address) if address else None

    async def drain(self, address: str, on: bool) -> list[NodeReport]:
        """`quietroom drain`: ask the node(s) at `address` to take no new calls (or, with
        `on` false, to take them again); the nodes found there."""
        found = [n for n in await self.nodes() if n.address == address]
        try:
            for node in found:
                if on:
                    await self.redis.set(drain_key(node.node_id), "1", ex=NODE_SECONDS)
                else:
                    await self.redis.delete(drain_key(node.node_id))
        except RedisError:
            raise ClusterUnavailable from None
        return found

    def key(self, kind: str, value: str) -> str:
        return hashed(self.secret, kind, value)

    # ---------------------------------------------------------------- sign-ins

    async def mirror_sign_in(self, sessions: StaffSessions, kind: str, token: str) -> None:
        """A sign-in as the cluster holds it, here too (made, confirmed or ended elsewhere)."""
        fields = await self._read(self.key(kind, token))
        if not fields:
            sessions.install(token, None, False)
            return
        try:
            session = StaffSession(fields["staff"], float(fields["expires"]))
        except (KeyError, ValueError):
            return
        sessions.install(token, session, fields.get("ready") == "1")

    async def flush_sign_ins(self, sessions: StaffSessions, kind: str) -> None:
        """What changed in this node's sign-ins, written where the others read it."""
        changed, sessions.changed = sessions.changed, set()
        if not changed:
            return
        now = time.time()
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                for token in changed:
                    key, held = self.key(kind, token), sessions.get(token)
                    if held is None:
                        pipe.delete(key)
                        continue
                    session, ready = held
                    fields = {"staff": session.staff, "expires": f"{session.expires_at:.0f}"}
                    pipe.hset(key, mapping={**fields, "ready": "1" if ready else "0"})
                    pipe.expire(key, ttl(session.expires_at, now))
                await pipe.execute()
        except RedisError:
            sessions.changed |= changed
            raise ClusterUnavailable from None

    async def mirror_failures(self, limits: SignInLimits, source: str, account: str) -> None:
        """Failed sign-ins of this source and account, as counted by every node."""
        for key in (("source", source), ("account", account)):
            fields = await self._read(self.key(f"failures-{key[0]}", key[1]))
            try:
                entry = Failures(int(fields["count"]), float(fields["last"])) if fields else None
            except (KeyError, ValueError):
                entry = None
            limits.install(key, entry)

    async def flush_failures(self, limits: SignInLimits) -> None:
        changed, limits.changed = limits.changed, set()
        if not changed:
            return
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                for key in changed:
                    redis_key, entry = self.key(f"failures-{key[0]}", key[1]), limits.get(key)
                    if entry is None:
                        pipe.delete(redis_key)
                        continue
                    pipe.hset(redis_key, mapping={"count": entry.count, "last": entry.last})
                    pipe.expire(redis_key, int(FORGET_SECONDS))
                await pipe.execute()
        except RedisError:
            limits.changed |= changed
            raise ClusterUnavailable from None

    async def _read(self, key: str) -> dict[str, str]:
        try:
            fields: dict[str, str] = await self.redis.hgetall(key)
        except RedisError:
            raise ClusterUnavailable from None
        return fields

    def resume_prefix(self) -> str:
        return f"{self.node_id}."

    def signed(self, path: str, staff: str = "") -> dict[str, str]:
        """Headers that prove a request to `path` (for `staff`, if any) comes from a node."""
        headers = {AUTH_HEADER: sign(self.secret, path, time.time(), staff)}
        if staff:
            headers[STAFF_HEADER] = staff
        return headers

    def is_node(self, path: str, header: str, staff: str = "") -> bool:
        return verify(self.secret, path, header, time.time(), staff)

    def answer(self, request_header: str) -> str:
        return answer(self.secret, request_header, time.time())

    def is_answer(self, request_header: str, header: str) -> bool:
        return is_answer(self.secret, request_header, header, time.time())


async def check_persistence(client: Any) -> None:
    """Refuse a Redis that writes to disk: RDB snapshots (`save`) or the append-only file."""
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
