"""Media worker processes: each call's media runs in one of them, so every core forwards.

The signaling process keeps the calls and the sockets; a worker holds the peer connections
and routers of the calls pinned to it. They talk over the worker's stdin/stdout, one JSON
object a line: requests with an id (offer, candidate, phone, video, drop, drop-call) and their
replies, `streams`, `presence` and `weak` events from the worker's routers, and `load` (the
worker's share of a core, with its counts: packets and bytes forwarded, asyncio tasks) every
second.

New calls go to the first worker that is less than half busy, and only when all are busier
to the least busy one: while one core carries the media, packets meet one process whose
caches are warm (spreading a light load over two processes cost about a fifth more CPU per
packet on a 2-core machine), and a heavy load still uses every core.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import itertools
import json
import logging
import signal
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from media.errors import MediaError
from media.fallback import Thresholds
from media.port_plan import PortPlan
from media.quality import Quality

if TYPE_CHECKING:  # only the worker processes load the media stack (aiortc, PyAV)
    from media.hub import MediaHub
    from media.router import OnPresence, OnStreams, OnWeak

logger = logging.getLogger(__name__)

LINE_LIMIT = 1 << 20
REPLY_SECONDS = 30.0
LOAD_SECONDS = 1.0  # how often a worker reports its load
SPREAD_AT = 0.5  # a worker busier than this share of a core passes new calls on
CALL_LOAD = 0.03  # the load a new call is assumed to add until the next report


class Worker:
    """The signaling side of one worker process."""

    def __init__(
        self,
        index: int,
        on_streams: OnStreams,
        on_presence: OnPresence | None = None,
        on_weak: OnWeak | None = None,
    ) -> None:
        self.index = index
        self.on_streams = on_streams
        self.on_presence = on_presence
        self.on_weak = on_weak
        self.proc: asyncio.subprocess.Process | None = None
        self.calls: set[str] = set()
        self.busy = 0.0  # share of a core, as last reported
        self.placed = 0  # calls placed here since that report
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[None] | None = None
        self.exits = 0  # times this worker's process stopped
        self.forwarded = (0, 0)  # packets and bytes this process forwarded, as last reported
        self.forwarded_before = (0, 0)  # the same, of the processes before it (restarts)
        self.tasks = 0  # asyncio tasks in the process, as last reported
        self.on_exit: Callable[[Worker], None] | None = None  # told when it stops unasked
        self.stopping = False
        self.restarting: asyncio.Task[None] | None = None
        self._args: tuple[PortPlan, str, Thresholds] | None = None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def start(self, plan: PortPlan, log_level: str, thresholds: Thresholds) -> None:
        """Start the process; OSError if it cannot open its media ports."""
        self._args = (plan, log_level, thresholds)
        self.stopping = False
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "server.workers",
            plan.worker(self.index).encode(),
            log_level,
            f"{thresholds.below_bps},{thresholds.above_bps}",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=LINE_LIMIT,
        )
        self._ready = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read())
        # A worker imports aiortc and friends first: wait, so no call waits for it later.
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), REPLY_SECONDS)
        except TimeoutError:
            logger.warning("media worker %d did not start in time", self.index)
        except OSError:
            self.stopping = True  # not started again: the port stays taken
            raise

    async def request(self, op: str, **fields: Any) -> dict[str, Any]:
        if not self.alive or self.proc is None or self.proc.stdin is None:
            raise MediaError("media-unavailable", "the media service is not running")
        rid = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[rid] = future
        self.proc.stdin.write(json.dumps({"op": op, "id": rid, **fields}).encode() + b"\n")
        try:
            await self.proc.stdin.drain()
            reply = await asyncio.wait_for(future, REPLY_SECONDS)
        except (ConnectionError, TimeoutError):
            raise MediaError("media-unavailable", "the media service did not answer") from None
        finally:
            self._waiting.pop(rid, None)
        if "error" in reply:
            raise MediaError(reply["error"]["code"], reply["error"]["reason"])
        return reply

    def restart(self) -> None:
        """Start the process again (it stopped unasked), in the background."""
        if self._args is not None and (self.restarting is None or self.restarting.done()):
            self.restarting = asyncio.ensure_future(self._start_again(*self._args))

    async def _start_again(self, plan: PortPlan, log_level: str, thresholds: Thresholds) -> None:
        try:
            await self.start(plan, log_level, thresholds)
        except OSError as exc:
            logger.warning("media worker %d could not start again: %s", self.index, exc)

    async def ready(self) -> None:
        """Wait for a restart under way, if any."""
        if self.restarting is not None and not self.restarting.done():
            await asyncio.wait_for(asyncio.shield(self.restarting), REPLY_SECONDS)

    async def stop(self) -> None:
        self.stopping = True
        if self.restarting is not None:
            self.restarting.cancel()
        if self.proc is None:
            return
        if self.alive and self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 5)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            message = json.loads(line)
            if message.get("op") == "streams":
                self.on_streams(message["pid"], message["slots"])
            elif message.get("op") == "presence":
                if self.on_presence is not None:
                    self.on_presence(message["pid"], bool(message["away"]))
            elif message.get("op") == "weak":
                if self.on_weak is not None:
                    self.on_weak(message["pid"], bool(message["weak"]))
            elif message.get("op") == "load":
                self.busy, self.placed = float(message["busy"]), 0
                self.forwarded = (int(message["forwarded"][0]), int(message["forwarded"][1]))
                self.tasks = int(message["tasks"])
            elif message.get("op") == "ready":
                if self._ready is not None and not self._ready.done():
                    self._ready.set_result(None)
            elif message.get("op") == "failed":  # its ports could not be opened
                if self._ready is not None and not self._ready.done():
                    self._ready.set_exception(OSError(str(message.get("reason", ""))))
            elif (future := self._waiting.get(message.get("id", 0))) and not future.done():
                future.set_result(message)
        self.exits += 1
        before = self.forwarded_before
        self.forwarded_before = (before[0] + self.forwarded[0], before[1] + self.forwarded[1])
        self.forwarded, self.tasks = (0, 0), 0
        # Stopped when asked (the server is stopping) is no fault.
        (logger.debug if self.stopping else logger.warning)("media worker %d stopped", self.index)
        for future in self._waiting.values():
            if not future.done():
                future.set_result({"error": {"code": "media-unavailable", "reason": "stopped"}})
        if not self.stopping and self.on_exit is not None:
            self.on_exit(self)


class WorkerPool:
    """The same calls as MediaHub, each call pinned to the worker with the fewest calls."""

    def __init__(
        self,
        count: int,
        on_streams: OnStreams,
        on_presence: OnPresence | None = None,
        on_weak: OnWeak | None = None,
        thresholds: Thresholds | None = None,
        spread_at: float = SPREAD_AT,
        on_lost: Callable[[str], None] | None = None,
        plan: PortPlan | None = None,
    ) -> None:
        self.plan = plan or PortPlan()
        self.workers = [Worker(i, on_streams, on_presence, on_weak) for i in range(count)]
        self.thresholds = thresholds or Thresholds()
        self.spread_at = spread_at
        self.on_lost = on_lost
        self._call_of: dict[str, str] = {}  # participant -> call
        for worker in self.workers:
            worker.on_exit = self._lost

    def _lost(self, worker: Worker) -> None:
        """A worker died (killed, crashed): only its calls are hit. It starts again, and each
        of their participants is told to offer anew; their calls go to a live worker."""
        pids = [p for p, c in self._call_of.items() if c in worker.calls]
        worker.calls.clear()
        for pid in pids:
            del self._call_of[pid]
        worker.restart()
        if self.on_lost is not None:
            for pid in pids:
                self.on_lost(pid)

    async def start(self, log_level: str) -> None:
        """Start every worker; OSError if one cannot open its media ports."""
        try:
            await asyncio.gather(
                *(w.start(self.plan, log_level, self.thresholds) for w in self.workers)
            )
        except OSError:
            await asyncio.gather(*(w.stop() for w in self.workers))
            raise
        logger.info("%d media workers started", len(self.workers))

    def _worker(self, call_id: str) -> Worker:
        for pinned in self.workers:
            if call_id in pinned.calls:
                return pinned
        alive = [w for w in self.workers if w.alive] or self.workers

        def load(w: Worker) -> float:
            return w.busy + CALL_LOAD * w.placed

        worker = next((w for w in alive if load(w) < self.spread_at), None)
        if worker is None:
            worker = min(alive, key=load)
        worker.calls.add(call_id)
        worker.placed += 1
        return worker

    async def offer(
        self, call_id: str, pid: str, max_slots: int, sdp: str, echo: bool = False
    ) -> str:
        self._call_of[pid] = call_id
        worker = self._worker(call_id)
        await worker.ready()
        reply = await worker.request(
            "offer", call=call_id, pid=pid, slots=max_slots, sdp=sdp, echo=echo
        )
        return str(reply["answer"])

    async def open_phone(
        self, call_id: str, pid: str, max_slots: int, codec: str, payload_type: int
    ) -> int:
        """A phone leg in the call's worker: the port of its socket on 127.0.0.1."""
        self._call_of[pid] = call_id
        worker = self._worker(call_id)
        await worker.ready()
        reply = await worker.request(
            "phone", call=call_id, pid=pid, slots=max_slots, codec=codec, pt=payload_type
        )
        return int(reply["port"])

    async def candidate(self, pid: str, candidate: str, sdp_mid: str, index: int) -> None:
        call_id = self._call_of.get(pid)
        if call_id is None:
            raise MediaError("no-offer", "send an offer before ICE candidates")
        await self._worker(call_id).request(
            "candidate", pid=pid, candidate=candidate, sdp_mid=sdp_mid, index=index
        )

    async def set_video(self, pid: str, on: bool) -> None:
        call_id = self._call_of.get(pid)
        if call_id is not None:
            with contextlib.suppress(MediaError):
                await self._worker(call_id).request("video", pid=pid, on=on)

    async def drop(self, pid: str) -> None:
        call_id = self._call_of.pop(pid, None)
        if call_id is not None:
            with contextlib.suppress(MediaError):
                await self._worker(call_id).request("drop", pid=pid)

    async def drop_call(self, call_id: str) -> None:
        for pid in [p for p, c in self._call_of.items() if c == call_id]:
            del self._call_of[pid]
        for worker in self.workers:
            if call_id in worker.calls:
                worker.calls.discard(call_id)
                with contextlib.suppress(MediaError):
                    await worker.request("drop-call", call=call_id)

    async def quality(self) -> dict[str, Quality]:
        """Every participant's connection, as each live worker sees its calls."""
        seen: dict[str, Quality] = {}
        for worker in self.workers:
            if not worker.alive or not worker.calls:
                continue
            with contextlib.suppress(MediaError):
                reply = await worker.request("quality")
                seen.update({pid: Quality(**q) for pid, q in reply["quality"].items()})
        return seen

    def forwarded(self) -> tuple[int, int]:
        """Packets and payload bytes every worker forwarded since the server started, as
        last reported (at most a second old)."""
        counts = [w.forwarded_before for w in self.workers] + [w.forwarded for w in self.workers]
        return sum(c[0] for c in counts), sum(c[1] for c in counts)

    def tasks(self) -> int:
        """asyncio tasks in the running workers, as last reported."""
        return sum(w.tasks for w in self.workers if w.alive)

    async def close(self) -> None:
        await asyncio.gather(*(w.stop() for w in self.workers))


# ------------------------------------------------------------------ the worker process


async def serve_requests(thresholds: Thresholds, plan: PortPlan) -> None:
    from media.hub import MediaHub

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=LINE_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    out = sys.stdout.buffer

    def emit(message: dict[str, Any]) -> None:
        try:
            out.write(json.dumps(message).encode() + b"\n")
            out.flush()
        except BrokenPipeError:
            pass  # the signaling process is gone: this process is closing its calls too

    hub = MediaHub(
        on_streams=lambda pid, slots: emit({"op": "streams", "pid": pid, "slots": slots}),
        on_presence=lambda pid, away: emit({"op": "presence", "pid": pid, "away": away}),
        on_weak=lambda pid, weak: emit({"op": "weak", "pid": pid, "weak": weak}),
        thresholds=thresholds,
        plan=plan,
    )
    try:
        await hub.open()
    except (OSError, ValueError) as exc:
        emit({"op": "failed", "reason": str(exc)})
        return
    pending: set[asyncio.Task[None]] = set()
    # Everything imported so far lives as long as the process: the collector need not walk it
    # again, only what calls allocate.
    gc.freeze()
    emit({"op": "ready"})
    reporter = asyncio.create_task(report_load(emit, hub))

    async def handle(message: dict[str, Any]) -> None:
        reply: dict[str, Any] = {"id": message["id"]}
        try:
            op = message["op"]
            if op == "offer":
                reply["answer"] = await hub.offer(
                    message["call"],
                    message["pid"],
                    message["slots"],
                    message["sdp"],
                    message["echo"],
                )
            elif op == "phone":
                reply["port"] = await hub.open_phone(
                    message["call"],
                    message["pid"],
                    message["slots"],
                    message["codec"],
                    message["pt"],
                )
            elif op == "candidate":
                await hub.candidate(
                    message["pid"], message["candidate"], message["sdp_mid"], message["index"]
                )
            elif op == "drop":
                await hub.drop(message["pid"])
            elif op == "video":
                await hub.set_video(message["pid"], bool(message["on"]))
            elif op == "drop-call":
                await hub.drop_call(message["call"])
            elif op == "quality":
                seen = await hub.quality()
                reply["quality"] = {pid: dataclasses.asdict(q) for pid, q in seen.items()}
        except MediaError as exc:
            reply["error"] = {"code": exc.code, "reason": exc.reason}
        except Exception as exc:
            logger.warning("media request failed: %s", type(exc).__name__)
            reply["error"] = {"code": "internal", "reason": "the media service failed"}
        emit(reply)

    try:
        while line := await reader.readline():
            # Requests of one participant arrive in order and are handled in order; a slow
            # offer of one call does not hold up the others.
            task = asyncio.create_task(handle(json.loads(line)))
            pending.add(task)
            task.add_done_callback(pending.discard)
            await asyncio.sleep(0)
    finally:
        reporter.cancel()
        await hub.close()


async def report_load(emit: Callable[[dict[str, Any]], None], hub: MediaHub) -> None:
    """This process's share of a core over each period, for the pool's call placement, and
    its counts for the metrics: packets and bytes forwarded so far, asyncio tasks now."""
    wall, cpu = time.monotonic(), time.process_time()
    while True:
        await asyncio.sleep(LOAD_SECONDS)
        now_wall, now_cpu = time.monotonic(), time.process_time()
        emit(
            {
                "op": "load",
                "busy": round((now_cpu - cpu) / (now_wall - wall), 3),
                "forwarded": hub.forwarded(),
                "tasks": len(asyncio.all_tasks()),
            }
        )
        wall, cpu = now_wall, now_cpu


def worker_main(argv: list[str]) -> int:
    from server.logs import setup

    plan, level, bounds = argv
    below, above = (int(b) for b in bounds.split(","))
    setup(level)
    # Signals sent to the whole process group are for the signaling process: SIGUSR1 (a
    # metrics snapshot, `systemctl kill -s USR1`) must not stop the media, and neither must
    # a terminal's Ctrl-C or a service manager's SIGTERM before the signaling process has
    # told everyone the server is stopping. It stops its workers by closing their input.
    for number in (signal.SIGUSR1, signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_IGN)
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            serve_requests(Thresholds(below_bps=below, above_bps=above), PortPlan.decode(plan))
        )
    return 0


if __name__ == "__main__":
    sys.exit(worker_main(sys.argv[1:]))
