"""One bench run: set up the calls, let media flow, measure, and tear everything down."""

from __future__ import annotations

import asyncio
import os
import ssl
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench import procstat
from bench.client import Participant, StaffApi
from signaling.protocol import Admit, Join, LobbyWaiting

WARMUP_SECONDS = 2.0
JOIN_TIMEOUT = 20.0


@dataclass(frozen=True)
class Plan:
    url: str
    staff: str
    password: str
    scenario: str  # "call" or "echo"
    participants: int  # people per call ("call" only)
    calls: int
    duration: float
    server_pids: list[int] = field(default_factory=list)


@dataclass
class Group:
    """The simulated people of one call (or one echo test)."""

    people: list[Participant]
    fanout: int  # how many receivers each source's media should reach


def insecure_ssl() -> ssl.SSLContext:
    """The bench talks to servers with self-signed certificates."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


# Whether simulated people offer transport-wide congestion control and send its feedback, as
# browsers do (`--no-transport-cc` turns it off, to see what it costs the server).
TRANSPORT_CC = [True]
# Whether simulated people seal their frames end to end, with a key per call (`--e2ee`).
E2EE = [False]


def call_key() -> bytes | None:
    """A new call's end-to-end key, when the bench runs with it on."""
    return os.urandom(32) if E2EE[0] else None


async def join_call(session: aiohttp.ClientSession, api: StaffApi, plan: Plan) -> Group:
    call, key = await api.create_call(), call_key()
    staff = Participant(
        session, plan.url, headers=api.headers, transport_cc=TRANSPORT_CC[0], e2ee_key=key
    )
    await staff.connect()
    await staff.send(Join(call=call["id"]))
    await staff.expect("joined", JOIN_TIMEOUT)
    people = [staff]
    roles = ["survivor", "interpreter", "interpreter"][: plan.participants - 1]
    for role in roles:
        guest = Participant(session, plan.url, transport_cc=TRANSPORT_CC[0], e2ee_key=key)
        people.append(guest)
        await guest.connect()
        await guest.send(Join(invite=call["links"][role].split("#", 1)[1], name="bench"))
        await guest.expect("waiting", JOIN_TIMEOUT)
        waiting = await staff.expect("lobby-waiting", JOIN_TIMEOUT)
        assert isinstance(waiting, LobbyWaiting)
        await staff.send(Admit(waiting.participant))
        await guest.expect("joined", JOIN_TIMEOUT)
    return Group(people, fanout=plan.participants - 1)


async def join_echo(session: aiohttp.ClientSession, api: StaffApi, plan: Plan) -> Group:
    call = await api.create_call()
    tester = Participant(session, plan.url, transport_cc=TRANSPORT_CC[0], e2ee_key=call_key())
    await tester.connect()
    await tester.send(Join(invite=call["links"]["survivor"].split("#", 1)[1], echo=True))
    await tester.expect("joined", JOIN_TIMEOUT)
    return Group([tester], fanout=1)


async def start(group: Group, max_participants: int) -> list[float]:
    """Start everyone's media; returns each person's join time (start -> first packet)."""
    started = time.monotonic()
    await asyncio.gather(*(p.start_media(max_participants) for p in group.people))
    deadline = started + JOIN_TIMEOUT
    while time.monotonic() < deadline and not all(p.first_packet_at for p in group.people):
        await asyncio.sleep(0.05)
    return [min(p.first_packet_at.values()) - started for p in group.people if p.first_packet_at]


Joiner = Callable[[aiohttp.ClientSession, StaffApi, Plan], Awaitable[Group]]


def joiner(plan: Plan) -> Joiner:
    """How to set up one call (or one echo test) of the plan's scenario."""
    return join_echo if plan.scenario == "echo" else join_call


def media_slots(plan: Plan) -> int:
    """The `max_participants` each person's media starts with in this scenario."""
    return 2 if plan.scenario == "echo" else max(4, plan.participants)


@dataclass
class Counters:
    at: float
    expected_packets: int  # packets sent, times how many should receive each
    sent_octets: int
    received_packets: int
    received_octets: int
    cpu: procstat.Sample


async def snapshot(groups: list[Group], pids: list[int]) -> Counters:
    people = [p for g in groups for p in g.people]
    fanouts = [g.fanout for g in groups for _ in g.people]
    sent = await asyncio.gather(*(p.sent() for p in people))
    return Counters(
        at=time.monotonic(),
        expected_packets=sum(s[0] * f for s, f in zip(sent, fanouts, strict=True)),
        sent_octets=sum(s[1] for s in sent),
        received_packets=sum(sum(p.packets.values()) for p in people),
        received_octets=sum(sum(p.octets.values()) for p in people),
        cpu=procstat.sample(pids),
    )


def report(
    plan: Plan, groups: list[Group], joins: list[float], a: Counters, b: Counters
) -> dict[str, Any]:
    seconds = b.at - a.at
    people = [p for g in groups for p in g.people]
    expected_tracks = sum(len(g.people) * g.fanout * 2 for g in groups)
    received_tracks = sum(1 for p in people for n in p.packets.values() if n > 0)
    delays = [d for p in people for d in p.delays_ms]  # since the first snapshot
    expected = b.expected_packets - a.expected_packets
    received = b.received_packets - a.received_packets
    cpu_seconds = b.cpu.cpu_seconds - a.cpu.cpu_seconds
    return {
        "target": "quietroom",
        "scenario": plan.scenario,
        "calls": len(groups),
        "participants": len(people),
        "duration_s": round(seconds, 2),
        "tracks_expected": expected_tracks,
        "tracks_received": received_tracks,
        "packets_expected": expected,
        "packets_received": received,
        "bitrate_in_kbps": round((b.sent_octets - a.sent_octets) * 8 / seconds / 1000, 1),
        "bitrate_out_kbps": round((b.received_octets - a.received_octets) * 8 / seconds / 1000, 1),
        "packet_loss": round(max(0.0, 1 - received / expected), 5) if expected else 0.0,
        "latency_ms_p50": round(percentile(delays, 50), 3),
        "latency_ms_p95": round(percentile(delays, 95), 3),
        "latency_ms_p99": round(percentile(delays, 99), 3),
        "join_ms_p50": round(percentile(joins, 50) * 1000, 1),
        "join_ms_p95": round(percentile(joins, 95) * 1000, 1),
        "server_cpu_percent": round(cpu_seconds / seconds * 100, 1),
        "server_rss_start_mb": round(a.cpu.rss_bytes / 2**20, 1),
        "server_rss_mb": round(b.cpu.rss_bytes / 2**20, 1),
        "server_cpu_us_per_packet": round(cpu_seconds * 1e6 / received, 2) if received else 0.0,
        "e2ee": E2EE[0],
        "frames_opened": sum(sum(p.opened.values()) for p in people),
        "frames_unopened": sum(sum(p.unopened.values()) for p in people),
    }


def progress(text: str) -> None:
    print(f"\r{text:<78}", end="", file=sys.stderr, flush=True)


async def run(plan: Plan) -> dict[str, Any]:
    pids = plan.server_pids or procstat.find_servers()
    connector = aiohttp.TCPConnector(ssl=insecure_ssl(), limit=0)
    groups: list[Group] = []
    async with aiohttp.ClientSession(connector=connector) as session:
        api = StaffApi(session, plan.url)
        await api.sign_in(plan.staff, plan.password)
        try:
            joins: list[float] = []
            make, slots = joiner(plan), media_slots(plan)
            for n in range(plan.calls):
                progress(f"joining call {n + 1}/{plan.calls}")
                group = await make(session, api, plan)
                groups.append(group)
                joins += await start(group, slots)
            await asyncio.sleep(WARMUP_SECONDS)
            first = await snapshot(groups, pids)
            for person in (p for g in groups for p in g.people):
                person.delays_ms.clear()
            end = first.at + plan.duration
            while time.monotonic() < end:
                await asyncio.sleep(min(1.0, max(0.0, end - time.monotonic())))
                now = await snapshot(groups, pids)
                got = now.received_packets - first.received_packets
                cpu = now.cpu.cpu_seconds - first.cpu.cpu_seconds
                progress(
                    f"{now.at - first.at:5.1f}/{plan.duration:.0f} s  calls {len(groups)}  "
                    f"packets received {got}  server cpu {cpu:.2f} s"
                )
            last = await snapshot(groups, pids)
            progress("")
            print(file=sys.stderr)
            return report(plan, groups, joins, first, last)
        finally:
            await asyncio.gather(
                *(p.close() for g in groups for p in g.people), return_exceptions=True
            )
