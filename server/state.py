"""What the running server holds: settings, the call store, staff sign-ins, media, sockets."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from aiohttp import web

from media.fallback import Thresholds
from media.port_plan import PortPlan
from media.quality import Quality
from server import staff_file
from server.config import RELOADABLE, Config
from server.metrics import Metrics
from server.turn import ice_servers
from server.workers import WorkerPool
from signaling.call import Call
from signaling.events import (
    CallGone,
    Departed,
    Entered,
    Event,
    PhoneQuiet,
    Returned,
    Send,
    VideoWanted,
)
from signaling.protocol import UNKNOWN, Joined, MediaRestart, Message, QualityInfo, Streams
from signaling.sign_in_limits import SignInLimits
from signaling.staff_sessions import StaffSessions
from signaling.store import CallRules, CallStore

if TYPE_CHECKING:  # with media workers, this process never loads aiortc
    import aiohttp

    from media.hub import MediaHub
    from server.dial_in import DialIn
    from server.redis_directory import Cluster


class Socket(Protocol):
    """A participant's signaling connection, as the rest of the server sees it."""

    async def send(self, message: Message) -> None: ...

    def departed(self) -> None: ...

    async def close(self) -> None: ...

    async def revoke(self) -> None:
        """Their staff account is gone: leave the call (no coming back) and close."""


@dataclass
class State:
    config: Config
    store: CallStore
    sessions: StaffSessions  # browser sign-ins (cookie)
    api_tokens: StaffSessions  # script sign-ins (bearer)
    hub: MediaHub | WorkerPool
    sockets: dict[str, Socket] = field(default_factory=dict)  # by participant id
    staff_sockets: dict[Socket, str] = field(default_factory=dict)  # open staff sockets
    open_sockets: set[Socket] = field(default_factory=set)  # every open signaling socket
    sign_in_limits: SignInLimits = field(default_factory=SignInLimits)
    totp_used: dict[str, int] = field(default_factory=dict)  # account -> last step used
    draining: bool = False  # the server is stopping: no new calls or joins
    metrics: Metrics = field(default_factory=Metrics)
    sockets_from: Counter[str] = field(default_factory=Counter)  # open sockets per address
    staff_mark: tuple[int, int] | None = None  # the staff file's mtime and size, last seen
    staff_seen: staff_file.Accounts | None = None  # the accounts as last read
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    dial_in: DialIn | None = None  # phones from the SIP trunk, when set (docs/phone.md)
    cluster: Cluster | None = None  # the other nodes, with --redis (docs/scaling.md)
    _node_session: aiohttp.ClientSession | None = None

    def node_session(self) -> aiohttp.ClientSession:
        """HTTP to the other nodes (their private addresses), opened when first needed."""
        if self._node_session is None:
            import aiohttp

            self._node_session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, connect=5.0)
            )
        return self._node_session

    @property
    def staff_file(self) -> Path:
        return Path(self.config.staff_file)

    @classmethod
    def create(cls, config: Config) -> State:
        rules = call_rules(config)
        state: State

        def on_streams(pid: str, slots: dict[str, str]) -> None:
            state.streams_changed(pid, slots)

        def on_presence(pid: str, away: bool) -> None:
            state.apply_soon(pid, lambda call: call.media_presence(pid, away))

        def on_weak(pid: str, weak: bool) -> None:
            if weak:
                state.metrics.count("fallbacks")
            state.apply_soon(pid, lambda call: call.weak_link(pid, weak))

        thresholds = Thresholds(
            below_bps=config.audio_only_below * 1000, above_bps=config.video_back_above * 1000
        )
        hub: MediaHub | WorkerPool

        def on_lost(pid: str) -> None:
            if state.dial_in is None or not state.dial_in.media_lost(pid):
                state.send_soon(pid, MediaRestart())

        plan = PortPlan(tuple(config.ice_addresses), config.media_port, config.media_tcp_port)
        if config.media_workers > 0:
            hub = WorkerPool(
                config.media_workers,
                on_streams,
                on_presence,
                on_weak,
                thresholds,
                on_lost=on_lost,
                plan=plan,
            )
        else:
            from media.hub import MediaHub  # media in this process: aiortc and all

            hub = MediaHub(on_streams, on_presence, on_weak, thresholds, plan)
        state = cls(
            config=config,
            store=CallStore(rules),
            sessions=StaffSessions(config.staff_session),
            api_tokens=StaffSessions(config.staff_session),
            hub=hub,
        )
        return state

    async def check_staff_file(self) -> None:
        """When the staff file changes, accounts removed or given a new password or second
        factor ('quietroom staff remove', 'passwd', 'totp') are signed out everywhere at
        once, and their open sockets leave and close."""
        try:
            stat = self.staff_file.stat()
            mark = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            mark = (0, 0)
        if mark == self.staff_mark:
            return
        self.staff_mark = mark
        try:
            accounts = staff_file.load(self.staff_file)
        except staff_file.StaffFileError:
            return  # a file being rewritten by hand: judge it when it changes again
        seen, self.staff_seen = self.staff_seen, accounts
        if seen is None:
            return
        gone = {
            name
            for name in set(seen.hashes) | set(accounts.hashes)
            if seen.hashes.get(name) != accounts.hashes.get(name)
            or seen.totp.get(name) != accounts.totp.get(name)
        }
        for name in gone:
            self.sessions.close_staff(name)
            self.api_tokens.close_staff(name)
        for socket, name in list(self.staff_sockets.items()):
            if name in gone:
                await socket.revoke()

    async def report_quality(self) -> None:
        """Staff in each call hear how the others' connections look to the server."""
        seen = {pid: quality_info(pid, q) for pid, q in (await self.hub.quality()).items()}
        if not seen:
            return
        for call in self.store.all_calls():
            if not call.echo:
                await self.apply(call.quality_report(seen))

    def reload(self, fresh: Config) -> None:
        """Take the reloadable settings of `fresh` (the org file read again): new calls, pages
        and links follow them; running calls and their media go on as they are."""
        self.config = dataclasses.replace(
            self.config, **{name: getattr(fresh, name) for name in RELOADABLE}
        )
        self.store.rules = call_rules(self.config)

    def measure(self) -> None:
        """Give the metrics what they count, as it stands now (every sweep)."""
        metrics, hub = self.metrics, self.hub
        metrics.observe(calls=len(self.store), participants=self.store.people())
        packets, octets = hub.forwarded()
        metrics.counters["forwarded_packets"] = packets
        metrics.counters["forwarded_bytes"] = octets
        if isinstance(hub, WorkerPool):
            metrics.counters["worker_exits"] = sum(w.exits for w in hub.workers)
        if not self.open_sockets and self.store.people() == 0:
            tasks = {"server": len(asyncio.all_tasks())}
            if isinstance(hub, WorkerPool):
                tasks["media"] = hub.tasks()
            metrics.idle(**tasks)

    def snapshot_metrics(self) -> None:
        """SIGUSR1: renew what /metrics shows at once, rather than at the end of the period."""
        self.measure()
        self.metrics.snapshot(time.time())

    def streams_changed(self, pid: str, slots: dict[str, str]) -> None:
        self.send_soon(pid, Streams(slots))

    def apply_soon(self, pid: str, decide: Callable[[Call], list[Event]]) -> None:
        """What the media learned about `pid` (their media stopped, their link is weak),
        handed to their call's logic from code that cannot wait."""
        call = self.store.call_of(pid)
        if call is not None:
            task = asyncio.ensure_future(self.apply(decide(call)))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    def send_soon(self, pid: str, message: Message) -> None:
        """Send from code that cannot wait (media callbacks)."""
        socket = self.sockets.get(pid)
        if socket is not None:
            task = asyncio.ensure_future(socket.send(message))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def apply(self, events: list[Event]) -> None:
        """Carry out what the call logic decided: deliver messages, open or drop media."""
        self.store.forget(events)
        for event in events:
            if isinstance(event, Send):
                socket = self.sockets.get(event.to)
                if socket is not None:
                    await socket.send(self._with_relays(event.to, event.message))
            elif isinstance(event, Departed):
                socket = self.sockets.pop(event.participant, None)
                if socket is not None:
                    socket.departed()
                if self.dial_in is not None:
                    self.dial_in.departed(event.participant)
                await self.hub.drop(event.participant)
            elif isinstance(event, Entered):
                if self.dial_in is not None:
                    await self.dial_in.entered(event.participant)
            elif isinstance(event, PhoneQuiet):
                if self.dial_in is not None:
                    self.dial_in.quiet(event.participant, event.on)
            elif isinstance(event, VideoWanted):
                await self.hub.set_video(event.participant, event.on)
            elif isinstance(event, Returned):
                await self.hub.drop(event.participant)  # the old connection's media
            elif isinstance(event, CallGone):
                await self.hub.drop_call(event.call)
                if self.cluster is not None:
                    await self.cluster.drop_call(event.call)

    def _with_relays(self, pid: str, message: Message) -> Message:
        """`joined` carries TURN credentials, when TURN is configured, valid for the call."""
        if not isinstance(message, Joined) or not self.config.turn_urls:
            return message
        call = self.store.call_of(pid)
        if call is None:
            return message
        servers = ice_servers(self.config.turn_urls, self.config.turn_secret, call.expires_at)
        return dataclasses.replace(message, ice_servers=servers)


def quality_info(pid: str, q: Quality) -> QualityInfo:
    """The media's view of a connection, as the protocol carries it."""

    def figure(value: float | None) -> int:
        return UNKNOWN if value is None else max(0, min(UNKNOWN - 1, round(value)))

    return QualityInfo(
        participant=pid,
        level=q.level,
        loss_permille=figure(None if q.loss is None else q.loss * 1000),
        rtt_ms=figure(q.rtt_ms),
        kbps=figure(q.kbps),
        audio_only=q.paused,
    )


def call_rules(config: Config) -> CallRules:
    return CallRules(
        ttl_seconds=config.call_expiry,
        max_participants=config.max_participants,
        max_calls_per_staff=config.calls_per_staff,
        check_in_minutes=config.check_in_minutes,
        hours=config.hours,
        knocks_per_minute=config.lobby_knocks,
        chat_limit=config.chat_limit,
        require_e2ee=config.require_e2ee,
        dial_in_number=config.dial_in_number if config.sip_listen else "",
    )


STATE = web.AppKey("state", State)
