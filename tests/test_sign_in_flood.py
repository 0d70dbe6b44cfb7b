"""Sign-in under a flood of wrong passwords (issue 13): limits engage for the guessing source
(429 with Retry-After), few passwords are ever checked, and a real staff member signing in
from another address meanwhile gets in within 2 s."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
from conftest import STAFF_NAME, STAFF_PASSWORD, client_ssl, loopback_config, start_server

FLOOD = 150
AT_ONCE = 15


async def test_a_password_flood_is_refused_early_and_a_real_sign_in_gets_through(
    staff_path: Path,
) -> None:
    runner, server = await start_server(loopback_config(staff_path))
    url = f"{server.base}/api/login"
    statuses: list[int] = []
    retry_after: list[str] = []
    try:
        guesser = aiohttp.TCPConnector(ssl=client_ssl(), limit=AT_ONCE)
        # The real staff member comes from another address (127.0.0.2 is loopback too).
        staff = aiohttp.TCPConnector(ssl=client_ssl(), local_addr=("127.0.0.2", 0))
        async with (
            aiohttp.ClientSession(connector=guesser) as flood,
            aiohttp.ClientSession(connector=staff) as real,
        ):

            async def guess(i: int) -> None:
                body = {"name": STAFF_NAME, "password": f"guess number {i:04d}"}
                async with flood.post(url, json=body) as r:
                    statuses.append(r.status)
                    if r.status == 429:
                        retry_after.append(r.headers.get("Retry-After", ""))

            async def flood_all() -> None:
                for start in range(0, FLOOD, AT_ONCE):
                    await asyncio.gather(*(guess(i) for i in range(start, start + AT_ONCE)))

            flooding = asyncio.create_task(flood_all())
            await asyncio.sleep(1.0)  # the flood is under way
            assert not flooding.done()
            started = time.monotonic()
            body = {"name": STAFF_NAME, "password": STAFF_PASSWORD}
            async with real.post(url, json=body) as r:
                assert r.status == 200, await r.text()
            took = time.monotonic() - started
            await flooding
    finally:
        await runner.cleanup()
    print(
        f"\nreal sign-in during the flood: {took:.2f} s; flood answers: "
        f"{statuses.count(401)} checked, {statuses.count(429)} refused early"
    )
    assert took < 2.0
    assert len(statuses) == FLOOD and set(statuses) <= {401, 429}
    assert statuses.count(401) <= 8  # few passwords were ever checked
    assert retry_after and all(v.isdigit() and int(v) >= 1 for v in retry_after)
