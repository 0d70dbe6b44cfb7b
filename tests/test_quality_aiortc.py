"""Staff hear how each other person's connection looks to the server (issue 12), every few
seconds, with media in the server's process and in a media worker."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from conftest import loopback_config, start_server
from test_call_aiortc import more_media, two_person_call, wait_until

from bench.client import Participant
from signaling.protocol import UNKNOWN, Quality


@pytest.mark.parametrize("workers", [0, 1])
async def test_staff_hear_the_survivors_connection(
    staff_path: Path, http: aiohttp.ClientSession, workers: int
) -> None:
    runner, server = await start_server(loopback_config(staff_path, media_workers=workers))
    people: list[Participant] = []
    try:
        staff, survivor = people = await two_person_call(http, server)
        await wait_until(lambda: more_media(people, {}, 50))

        def latest() -> Quality | None:
            found = [m for m in staff.seen if isinstance(m, Quality)]
            return found[-1] if found else None

        # Good, with the share of video lost measured (bench peers send no LSR in their
        # receiver reports, so the round trip stays unmeasured here; browsers do send it).
        await wait_until(
            lambda: (q := latest()) is not None and q.people[0].loss_permille != UNKNOWN,
            timeout=15,
        )
        report = latest()
        assert report is not None
        (info,) = report.people
        assert info.participant == survivor.participant and info.level == "good"
        assert info.loss_permille < 20 and info.rtt_ms == UNKNOWN and not info.audio_only
        # The survivor hears nothing of the kind: it is for staff.
        assert not any(isinstance(m, Quality) for m in survivor.seen)
    finally:
        for person in people:
            await person.close()
        await runner.cleanup()
