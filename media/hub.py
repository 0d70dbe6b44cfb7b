"""All media of the server: one router per call, one peer per participant."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from media import fallback
from media.errors import MediaError
from media.feedback_queue import FeedbackQueue
from media.peer import ServerPeer
from media.phone_leg import LegSocket, PhoneLeg, open_leg_socket
from media.port import MediaPorts
from media.port_plan import PortPlan
from media.quality import Quality
from media.router import OnPresence, OnStreams, OnWeak, Router

logger = logging.getLogger(__name__)


PRESENCE_SECONDS = 1.0


class MediaHub:
    def __init__(
        self,
        on_streams: OnStreams,
        on_presence: OnPresence | None = None,
        on_weak: OnWeak | None = None,
        thresholds: fallback.Thresholds | None = None,
        plan: PortPlan | None = None,
    ) -> None:
        self.on_streams = on_streams
        self.on_presence = on_presence
        self.on_weak = on_weak
        self.thresholds = thresholds or fallback.Thresholds()
        self.routers: dict[str, Router] = {}
        self.peers: dict[str, ServerPeer] = {}
        self.legs: dict[str, LegSocket] = {}  # phone legs, by their participant id
        self._call_of: dict[str, str] = {}
        self._watch: asyncio.Task[None] | None = None
        self._probe: asyncio.Task[None] | None = None
        self._forwarded_before = (0, 0)  # packets and bytes of routers already let go
        self.plan = plan or PortPlan()
        self.ports = MediaPorts()  # every peer connection's sockets, opened once
        self.feedback = FeedbackQueue()  # every viewer's transport-cc feedback, read together

    async def open(self) -> None:
        """Open the media ports (OSError if one cannot be had); the first offer would."""
        if not self.ports.is_open:
            await self.ports.open(self.plan)

    def forwarded(self) -> tuple[int, int]:
        """Packets and payload bytes forwarded since the hub started (each viewer counts)."""
        packets, octets = self._forwarded_before
        for router in self.routers.values():
            packets, octets = packets + router.forwarded, octets + router.forwarded_bytes
        return packets, octets

    def _let_go(self, call_id: str) -> None:
        """The call's router is no longer needed: keep only what it forwarded."""
        router = self.routers.pop(call_id, None)
        if router is not None:
            packets, octets = self._forwarded_before
            self._forwarded_before = (
                packets + router.forwarded,
                octets + router.forwarded_bytes,
            )

    async def offer(
        self, call_id: str, pid: str, max_slots: int, sdp: str, echo: bool = False
    ) -> str:
        peer = self.peers.get(pid)
        if peer is not None and peer.broken:
            await self.drop(pid)
            peer = None
        if peer is None:
            await self.open()
            router = self._router(call_id, echo)
            peer = ServerPeer(pid, router, max_slots, self.ports, feedback=self.feedback)
            self.peers[pid] = peer
            self._call_of[pid] = call_id
            logger.debug("peer connection opened (%d in all)", len(self.peers))
            if self._watch is None or self._watch.done():
                self._watch = asyncio.create_task(self._watch_links())
        return await peer.answer(sdp)

    def _router(self, call_id: str, echo: bool = False) -> Router:
        router = self.routers.get(call_id)
        if router is None:
            router = Router(self.on_streams, echo=echo, thresholds=self.thresholds)
            self.routers[call_id] = router
        return router

    async def open_phone(
        self, call_id: str, pid: str, max_slots: int, codec: str, payload_type: int
    ) -> int:
        """A phone leg in the call's router (docs/phone.md), on a socket of 127.0.0.1 that
        the signaling process relays the phone's RTP to and from: that socket's port."""
        if pid in self.legs or pid in self.peers:
            raise MediaError("phone-taken", "this participant has media already")
        router = self._router(call_id)

        def make_leg(send: Callable[[bytes], None]) -> PhoneLeg:
            return PhoneLeg(router, pid, codec, payload_type, send, max_slots)

        leg, port = await open_leg_socket(make_leg)
        self.legs[pid] = leg
        self._call_of[pid] = call_id
        logger.debug("phone leg opened (%d in all)", len(self.legs))
        return port

    async def candidate(self, pid: str, candidate: str, sdp_mid: str, index: int) -> None:
        peer = self.peers.get(pid)
        if peer is not None and peer.broken:
            await self.drop(pid)
            peer = None
        if peer is None:
            raise MediaError("no-offer", "send an offer before ICE candidates")
        await peer.add_candidate(candidate, sdp_mid, index)

    async def set_video(self, pid: str, on: bool) -> None:
        """Forward video to `pid` or only audio (their choice)."""
        call_id = self._call_of.get(pid)
        router = self.routers.get(call_id) if call_id is not None else None
        if router is not None:
            await router.set_video(pid, on)

    async def quality(self) -> dict[str, Quality]:
        """Every participant's connection as the server sees it."""
        seen: dict[str, Quality] = {}
        for router in self.routers.values():
            seen.update(router.quality())
        return seen

    async def drop(self, pid: str) -> None:
        peer = self.peers.pop(pid, None)
        leg = self.legs.pop(pid, None)
        call_id = self._call_of.pop(pid, None)
        if peer is not None:
            await peer.close()
            logger.debug("peer connection closed (%d in all)", len(self.peers))
        if leg is not None:
            leg.close()
            logger.debug("phone leg closed (%d in all)", len(self.legs))
        if call_id is not None and not any(c == call_id for c in self._call_of.values()):
            self._let_go(call_id)

    async def drop_call(self, call_id: str) -> None:
        pids = [p for p, c in self._call_of.items() if c == call_id]
        await asyncio.gather(*(self.drop(p) for p in pids))
        self._let_go(call_id)

    async def close(self) -> None:
        for task in (self._watch, self._probe):
            if task is not None:
                task.cancel()
        await asyncio.gather(*(self.drop(p) for p in [*self.peers, *self.legs]))
        self.feedback.close()
        self.ports.close()

    async def _watch_links(self) -> None:
        """Once a second, while anyone is connected: who lost (or regained) their media, and
        whose link became too weak for video (or recovered)."""
        while self.peers:
            await asyncio.sleep(PRESENCE_SECONDS)
            self.feedback.read_all()  # the checks judge every estimate as of now
            for router in list(self.routers.values()):
                for pid, away in router.check_presence():
                    if self.on_presence is not None:
                        self.on_presence(pid, away)
                for pid, weak in await router.check_links():
                    logger.debug("video %s for a weak link", "paused" if weak else "resumed")
                    if self.on_weak is not None:
                        self.on_weak(pid, weak)
                    if weak and (self._probe is None or self._probe.done()):
                        self._probe = asyncio.create_task(self._pad_weak_links())

    async def _pad_weak_links(self) -> None:
        """Pad paused viewers' video (see `media.fallback`), while there are any."""
        probing = True
        while probing:
            await asyncio.sleep(fallback.PROBE_SECONDS)
            probing = False
            for router in list(self.routers.values()):
                probing = router.probe() or probing
