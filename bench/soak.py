"""Soak: calls join and leave in a loop for minutes while the server's memory, open files and
threads are sampled from /proc; the level after warm-up is set against the level at the end.

A server that leaks a little per call (a socket, a task, a peer connection's buffers) looks
fine in a short run and falls over after a day of calls: here its figures climb from one
window to the next while the number of calls at once stays the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp

from bench import procstat
from bench.client import Participant, StaffApi
from bench.scenario import Group, Plan, insecure_ssl, join_call, progress, start
from signaling.protocol import End

CALL_SECONDS = 5.0  # how long each call carries media before its people leave
MEDIA_PACKETS = 20  # of each kind, each way, for a call to count as having carried media
WARM_FROM, WARM_TO = 0.2, 0.3  # the window after warm-up, as shares of the run
END_FROM = 0.9  # the window at the end
BAR = 0.05  # each figure's end level within 5 % of its level after warm-up
SLOTS = 4  # receive slots each person offers, as the pages do

Extra = Callable[[], dict[str, int]]  # more figures to sample (e.g. asyncio tasks, in-process)


@dataclass(frozen=True)
class SoakPlan:
    url: str
    staff: str
    password: str
    minutes: float
    calls: int  # calls at once
    server_pids: list[int] = field(default_factory=list)
    call_seconds: float = CALL_SECONDS
    every: float = 0.0  # seconds between samples (0: chosen from the run's length)

    @property
    def seconds(self) -> float:
        return self.minutes * 60

    @property
    def interval(self) -> float:
        return self.every or max(1.0, min(5.0, self.seconds / 60))


@dataclass
class CallRecord:
    started_at: float  # seconds into the run
    joined: bool = False
    # packets each person received of each kind from the other: [staff, survivor]
    received: list[dict[str, int]] = field(default_factory=list)
    error: str = ""

    @property
    def carried_media(self) -> bool:
        return len(self.received) == 2 and all(
            got.get(kind, 0) >= MEDIA_PACKETS for got in self.received for kind in KINDS
        )


KINDS = ("audio", "video")


def resources(pids: list[int]) -> dict[str, Any]:
    """Resident memory, open file descriptors and threads of the processes and those below
    them (media workers), from /proc; `rss_by_process` says which process holds what."""
    rss = fds = threads = 0
    each: dict[str, int] = {}
    for pid in procstat.descendants(pids):
        base = procstat.PROC / str(pid)
        try:
            status = (base / "status").read_text()
            open_fds = sum(1 for _ in (base / "fd").iterdir())
        except OSError:
            continue  # it ended
        fds += open_fds
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                each[str(pid)] = int(line.split()[1]) * 1024
                rss += each[str(pid)]
            elif line.startswith("Threads:"):
                threads += int(line.split()[1])
    return {"rss_bytes": rss, "fds": fds, "threads": threads, "rss_by_process": each}


def by_kind(person: Participant) -> dict[str, int]:
    got = dict.fromkeys(KINDS, 0)
    for mid, n in person.packets.items():
        kind = person.kinds.get(mid)
        if kind in got:
            got[kind] += n
    return got


async def one_call(
    session: aiohttp.ClientSession, api: StaffApi, plan: SoakPlan, record: CallRecord
) -> None:
    """A 1:1 call: staff create it and join, the survivor is admitted, both send media for
    `call_seconds`, staff end it and both hang up."""
    group: Group | None = None
    one = Plan(plan.url, plan.staff, plan.password, "call", 2, 1, plan.call_seconds)
    try:
        group = await join_call(session, api, one)
        record.joined = True
        await start(group, SLOTS)
        await asyncio.sleep(plan.call_seconds)
        record.received = [by_kind(p) for p in group.people]
        await group.people[0].send(End())
    except Exception as exc:
        record.error = type(exc).__name__
    finally:
        if group is not None:
            await asyncio.gather(*(p.close() for p in group.people), return_exceptions=True)


def level(samples: list[dict[str, Any]], key: str, start: float, end: float) -> float:
    """The median of `key` over the samples taken between `start` and `end` seconds."""
    values = [s[key] for s in samples if start <= s["t"] <= end and key in s]
    return float(statistics.median(values)) if values else 0.0


def levels(samples: list[dict[str, Any]], seconds: float) -> dict[str, dict[str, Any]]:
    first = samples[0] if samples else {}
    keys = [k for k, v in first.items() if k not in ("t", "calls_done") and isinstance(v, int)]
    out: dict[str, dict[str, Any]] = {}
    for key in keys:
        warm = level(samples, key, WARM_FROM * seconds, WARM_TO * seconds)
        end = level(samples, key, END_FROM * seconds, seconds)
        change = (end - warm) / warm if warm else 0.0
        out[key] = {
            "after_warmup": warm,
            "end": end,
            "change": round(change, 4),
            "within_bar": abs(change) <= BAR,
        }
    return out


async def soak(plan: SoakPlan, extra: Extra | None = None) -> dict[str, Any]:
    """Keep `plan.calls` calls going, one replacing another as it ends, for `plan.minutes`;
    sample the server's processes every `plan.interval` seconds."""
    pids = plan.server_pids or procstat.find_servers()

    def measure(t: float, done: int) -> dict[str, Any]:
        return {
            "t": round(t, 2),
            "calls_done": done,
            **resources(pids),
            **(extra() if extra else {}),
        }

    connector = aiohttp.TCPConnector(ssl=insecure_ssl(), limit=0)
    records: list[CallRecord] = []
    samples: list[dict[str, Any]] = []
    async with aiohttp.ClientSession(connector=connector) as session:
        api = StaffApi(session, plan.url)
        await api.sign_in(plan.staff, plan.password)
        idle_before = measure(0.0, 0)
        began = time.monotonic()
        stop_at = began + plan.seconds

        async def caller(n: int) -> None:
            # staggered, so joins and leaves spread over the run instead of coming in waves
            await asyncio.sleep(n * (plan.call_seconds + 1) / plan.calls)
            while time.monotonic() < stop_at:
                record = CallRecord(round(time.monotonic() - began, 2))
                records.append(record)
                await one_call(session, api, plan, record)
                if record.error:
                    await asyncio.sleep(1.0)  # a refused call is not retried at full speed

        async def sampler() -> None:
            while True:
                now = time.monotonic() - began
                done = sum(1 for r in records if r.received or r.error)
                samples.append(measure(now, done))
                mb = samples[-1]["rss_bytes"] / 2**20
                progress(
                    f"{now:6.0f}/{plan.seconds:.0f} s  calls {done}  RSS {mb:.1f} MB  "
                    f"fds {samples[-1]['fds']}  threads {samples[-1]['threads']}"
                )
                await asyncio.sleep(plan.interval)

        watch = asyncio.create_task(sampler())
        try:
            await asyncio.gather(*(caller(n) for n in range(plan.calls)))
        finally:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
        progress("")
        await asyncio.sleep(2.0)  # the server lets go of the last calls
        idle_after = measure(time.monotonic() - began, len(records))
    ran = samples[-1]["t"] if samples else 0.0
    return {
        "target": "quietroom",
        "scenario": "soak",
        "minutes": plan.minutes,
        "calls_at_once": plan.calls,
        "call_seconds": plan.call_seconds,
        "sample_seconds": plan.interval,
        "calls_started": len(records),
        "calls_joined": sum(r.joined for r in records),
        "calls_with_media": sum(r.carried_media for r in records),
        "failures": [asdict(r) for r in records if r.error or not r.carried_media],
        "server_pids": pids,
        "levels": levels(samples, ran) if pids else {},
        "idle_before": idle_before,
        "idle_after": idle_after,
        "samples": samples,
    }


LABELS = {
    "rss_bytes": ("server RSS", 2**20, "MB"),
    "fds": ("open file descriptors", 1, ""),
    "threads": ("threads", 1, ""),
    "tasks": ("asyncio tasks", 1, ""),
}


def soak_table(result: dict[str, Any]) -> str:
    title = (
        f"{result['target']} · soak · {result['minutes']:g} min · "
        f"{result['calls_at_once']} calls at once · {result['call_seconds']:g} s each"
    )
    calls = f"{result['calls_joined']} / {result['calls_with_media']} / {result['calls_started']}"
    rows = [("calls joined / with media / started", calls, "", "", "", "", "")]
    rows.append(
        ("", "idle before", "after warm-up", "end", "change", f"within {BAR:.0%}", "idle after")
    )

    def shown(key: str, value: float) -> str:
        _, scale, unit = LABELS.get(key, (key, 1, ""))
        text = f"{value / scale:.1f}" if scale != 1 else f"{value:g}"
        return f"{text} {unit}".strip()

    for key, figures in result["levels"].items():
        name = LABELS.get(key, (key, 1, ""))[0]
        rows.append(
            (
                name,
                shown(key, result["idle_before"].get(key, 0)),
                shown(key, figures["after_warmup"]),
                shown(key, figures["end"]),
                f"{figures['change'] * 100:+.1f} %",
                "yes" if figures["within_bar"] else "NO",
                shown(key, result["idle_after"].get(key, 0)),
            )
        )
    widths = [max(len(row[i]) for row in rows[1:]) for i in range(7)]
    lines = [title, "-" * len(title), f"{rows[0][0]}  {rows[0][1]}"]
    for row in rows[1:]:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    if not result["levels"]:
        lines.append("no server process found on this machine (give --server-pid): memory, open")
        lines.append("files and threads were not measured, only the calls")
    return "\n".join(lines)


def passed(result: dict[str, Any]) -> bool:
    """Every call joined and carried media, and every figure stayed within the bar."""
    return (
        result["calls_started"] > 0
        and result["calls_with_media"] == result["calls_started"]
        and all(f["within_bar"] for f in result["levels"].values())
    )
