"""A ramp: add calls step by step, measure each step, and stop where the server gives way.

Each step adds `step_calls` calls of the plan's scenario, lets them settle, then measures a
window of `step_seconds` with the same figures as a fixed run (`scenario.report`). The ramp
stops at the first step over a limit (packet loss, added latency p95), at `max_calls`, or when
a call cannot be set up. Meanwhile a separate /ws connection sends a message the server
refuses (`{"type":"ping"}` -> `error` `unknown-type`) every 200 ms: a real round trip through
the signaling handler, reported per step as `ws_rtt_ms_p50` / `ws_rtt_ms_p99`. Those cover
the whole step (its joins, settling and window), since setting calls up is when signaling is
busiest; the other figures cover the window only.

A server lets one staff account hold a limited number of calls (`quietroom serve
--calls-per-staff`, 20 by default; `LocalServer` raises it): past it, creating a call answers
429 and the ramp stops with "setup-failed".
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import aiohttp

from bench import procstat
from bench.client import Participant, StaffApi
from bench.encoded import opus_clip, vp8_clip
from bench.scenario import (
    WARMUP_SECONDS,
    Group,
    Plan,
    insecure_ssl,
    joiner,
    media_slots,
    percentile,
    progress,
    report,
    snapshot,
    start,
)

PROBE_MESSAGE = '{"type":"ping"}'
PROBE_INTERVAL = 0.2  # seconds between signaling round trips
PROBE_TIMEOUT = 2.0  # a reply later than this counts as this long, and the socket is renewed
CALL_SETUP_TIMEOUT = 90.0  # one call's joins and first packets, whatever the scenario


class WsProbe:
    """Times `{"type":"ping"}` -> `error` round trips on its own /ws connection.

    One probe is in flight at a time, so a reply always belongs to the last message; after a
    timeout the connection is replaced, so a late reply cannot be taken for the next one.
    It also notes how late its own timer fires: the bench's event-loop lag, which inflates
    every figure the bench measures (packet latency too) once the bench itself is saturated.
    """

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session, self.url = session, url
        self.rtts_ms: list[float] = []
        self.lags_ms: list[float] = []
        self.timeouts = 0
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            # a probe that failed must not hide the ramp's figures: its steps show no round trips
            await asyncio.gather(self._task, return_exceptions=True)

    def take(self) -> tuple[list[float], list[float], int]:
        """The round trips, timer lags and timeouts since the last take."""
        taken = self.rtts_ms, self.lags_ms, self.timeouts
        self.rtts_ms, self.lags_ms, self.timeouts = [], [], 0
        return taken

    async def _run(self) -> None:
        socket: Participant | None = None
        due = time.monotonic()
        try:
            while not self._stop.is_set():
                sent = time.monotonic()
                try:
                    if socket is None:
                        socket = Participant(self.session, self.url)
                        await socket.connect()
                        sent = time.monotonic()
                    await socket.send(PROBE_MESSAGE)
                    await socket.expect("error", PROBE_TIMEOUT)
                    self.rtts_ms.append((time.monotonic() - sent) * 1000)
                except (TimeoutError, OSError, aiohttp.ClientError):
                    self.rtts_ms.append(PROBE_TIMEOUT * 1000)
                    self.timeouts += 1
                    if socket is not None:
                        await socket.close()
                    socket = None
                due += PROBE_INTERVAL
                wait = due - time.monotonic()
                if wait <= 0:  # behind schedule: go on at once, from now
                    due = time.monotonic()
                    continue
                await asyncio.sleep(wait)
                self.lags_ms.append(max(0.0, time.monotonic() - due) * 1000)
        finally:
            if socket is not None:
                await socket.close()


def verdict(figures: dict[str, Any], loss_limit: float, latency_p95_limit_ms: float) -> str | None:
    """Why a step is over the limits ("loss" first, then "latency"), or None."""
    if figures["packet_loss"] > loss_limit:
        return "loss"
    if figures["latency_ms_p95"] > latency_p95_limit_ms:
        return "latency"
    return None


async def ramp(
    plan: Plan,
    step_calls: int,
    step_seconds: float,
    max_calls: int,
    loss_limit: float = 0.01,
    latency_p95_limit_ms: float = 50.0,
    *,
    settle_seconds: float = WARMUP_SECONDS,
) -> dict[str, Any]:
    """Add `step_calls` calls per step up to `max_calls`; one figures dict per step.

    `plan.calls` and `plan.duration` are not used. Each step's dict adds `step`,
    `ws_rtt_ms_p50`, `ws_rtt_ms_p99` (None without any round trip), `ws_probes`, `ws_timeouts`
    and `bench_loop_lag_ms_p99` (how late the bench's own timers fire: when that is high, so
    are all its latencies, whatever the server does). `knee_calls` is the call count of the last
    step within both limits (0 if the first step was already over). `stopped_because` is
    "loss", "latency", "max-calls", or "setup-failed" when a call could not be set up in
    time (then `error` says why, and that step has no figures).
    """
    if step_calls < 1 or max_calls < 1:
        raise ValueError("step_calls and max_calls must be at least 1")
    if step_seconds <= 0 or settle_seconds < 0:
        raise ValueError("step_seconds must be positive and settle_seconds not negative")
    pids = plan.server_pids or procstat.find_servers()
    opus_clip(), vp8_clip()  # encoded before the first step, so no join time includes it
    groups: list[Group] = []  # every call set up so far, complete or not
    steps: list[dict[str, Any]] = []
    result: dict[str, Any] = {
        "target": "quietroom",
        "scenario": plan.scenario,
        "participants_per_call": plan.participants if plan.scenario == "call" else 1,
        "step_calls": step_calls,
        "step_seconds": step_seconds,
        "max_calls": max_calls,
        "loss_limit": loss_limit,
        "latency_p95_limit_ms": latency_p95_limit_ms,
        "steps": steps,
        "knee_calls": 0,
        "stopped_because": "max-calls",
    }
    connector = aiohttp.TCPConnector(ssl=insecure_ssl(), limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        api = StaffApi(session, plan.url)
        await api.sign_in(plan.staff, plan.password)
        probe = WsProbe(session, plan.url)
        try:
            probe.start()
            number = 0
            while len(groups) < max_calls:
                number += 1
                target = min(max_calls, len(groups) + step_calls)
                probe.take()  # round trips from here on belong to this step
                try:
                    joins = await add_calls(session, api, plan, groups, target, number)
                except (TimeoutError, OSError, aiohttp.ClientError) as exc:
                    problem = f"{type(exc).__name__} {exc} (with {len(groups)} calls set up)"
                    if isinstance(exc, aiohttp.ClientResponseError) and exc.status == 429:
                        problem += (
                            "; the staff account holds as many calls as the server allows one "
                            "account: raise it with `quietroom serve --calls-per-staff N`"
                        )
                    progress("")
                    print(f"\rstep {number}: not set up: {problem}", file=sys.stderr)
                    result.update(stopped_because="setup-failed", error=problem)
                    break
                await asyncio.sleep(settle_seconds)
                figures = await measure(plan, groups, joins, pids, step_seconds, number)
                rtts, lags, timeouts = probe.take()
                figures.update(
                    step=number,
                    ws_rtt_ms_p50=round(percentile(rtts, 50), 2) if rtts else None,
                    ws_rtt_ms_p99=round(percentile(rtts, 99), 2) if rtts else None,
                    ws_probes=len(rtts),
                    ws_timeouts=timeouts,
                    bench_loop_lag_ms_p99=round(percentile(lags, 99), 2) if lags else None,
                )
                steps.append(figures)
                reason = verdict(figures, loss_limit, latency_p95_limit_ms)
                progress("")
                print(f"\r{step_line(figures, reason)}", file=sys.stderr, flush=True)
                if reason is not None:
                    result["stopped_because"] = reason
                    break
                result["knee_calls"] = figures["calls"]
        finally:
            await probe.stop()
            await asyncio.gather(
                *(p.close() for g in groups for p in g.people), return_exceptions=True
            )
    return result


async def add_calls(
    session: aiohttp.ClientSession,
    api: StaffApi,
    plan: Plan,
    groups: list[Group],
    target: int,
    number: int,
) -> list[float]:
    """Set up calls until there are `target`; their people's join times (scenario.start)."""
    make, slots = joiner(plan), media_slots(plan)
    joins: list[float] = []
    while len(groups) < target:
        progress(f"step {number}: joining call {len(groups) + 1}/{target}")
        async with asyncio.timeout(CALL_SETUP_TIMEOUT):
            group = await make(session, api, plan)
            # in the list before its media starts: torn down by ramp() whatever happens next
            groups.append(group)
            joins += await start(group, slots)
    return joins


async def measure(
    plan: Plan,
    groups: list[Group],
    joins: list[float],
    pids: list[int],
    seconds: float,
    number: int,
) -> dict[str, Any]:
    """One window of `seconds` over every call so far: the same dict as a fixed run's."""
    first = await snapshot(groups, pids)
    people = [p for g in groups for p in g.people]
    for person in people:
        person.delays_ms.clear()  # report() takes every delay as within the window
    start_count = sum(sum(p.packets.values()) for p in people)
    end = first.at + seconds
    while time.monotonic() < end:
        await asyncio.sleep(min(1.0, max(0.0, end - time.monotonic())))
        got = sum(sum(p.packets.values()) for p in people) - start_count
        progress(
            f"step {number}: {len(groups)} calls  {time.monotonic() - first.at:5.1f}/"
            f"{seconds:.0f} s  packets received {got}"
        )
    last = await snapshot(groups, pids)
    return report(plan, groups, joins, first, last)


def step_line(figures: dict[str, Any], reason: str | None) -> str:
    verdict_text = f"  OVER ({reason})" if reason else ""
    return (
        f"step {figures['step']}: {figures['calls']} calls  "
        f"loss {figures['packet_loss'] * 100:.2f} %  "
        f"latency p95 {figures['latency_ms_p95']} ms  "
        f"cpu {figures['server_cpu_percent']} %  "
        f"ws p99 {figures['ws_rtt_ms_p99'] or '-'} ms{verdict_text}"
    )


COLUMNS: list[tuple[str, str]] = [
    ("calls", "{calls}"),
    ("participants", "{participants}"),
    ("loss %", "{loss_percent:.2f}"),
    ("lat p50 ms", "{latency_ms_p50:.2f}"),
    ("p95 ms", "{latency_ms_p95:.2f}"),
    ("p99 ms", "{latency_ms_p99:.2f}"),
    ("CPU %", "{server_cpu_percent:.1f}"),
    ("RSS MB", "{server_rss_mb:.1f}"),
    ("CPU us/pkt", "{server_cpu_us_per_packet:.1f}"),
    ("WS p99 ms", "{ws_p99}"),
]


def ramp_table(result: dict[str, Any]) -> str:
    """One row per step, then the knee. A fixed run's result gives a one-row table."""
    steps: list[dict[str, Any]] = result.get("steps", [result])
    rows = [[name for name, _ in COLUMNS]]
    for step in steps:
        ws = step.get("ws_rtt_ms_p99")
        values = {
            **step,
            "loss_percent": step["packet_loss"] * 100,
            "ws_p99": "-" if ws is None else f"{ws:.2f}",
        }
        rows.append([form.format(**values) for _, form in COLUMNS])
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    if "steps" in result:
        title = (
            f"{result['target']} · {result['scenario']} ramp · +{result['step_calls']} calls "
            f"every {result['step_seconds']:g} s · limits: loss "
            f"{result['loss_limit'] * 100:g} %, latency p95 {result['latency_p95_limit_ms']:g} ms"
        )
    else:
        title = f"{result['target']} · {result['scenario']} · fixed run"
    lines = [title, "-" * len(title)]
    lines += ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    if "steps" in result:
        last = steps[-1]["calls"] if steps else 0
        lines.append(
            f"knee: {result['knee_calls']} calls within both limits "
            f"(stopped: {result['stopped_because']}, last step {last} calls)"
        )
        if "error" in result:
            lines.append(f"setup failed: {result['error']}")
    return "\n".join(lines)
