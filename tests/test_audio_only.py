"""Audio only by choice, with real aiortc peers: video to that person stops, audio goes on,
everyone is told, and video comes back when they ask for it again."""

from __future__ import annotations

import asyncio

import aiohttp
from conftest import RunningServer
from test_call_aiortc import two_person_call, wait_until

from signaling.protocol import AudioOnly, VideoPaused


async def test_audio_only_stops_video_to_that_person_only(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    staff, survivor = await two_person_call(http, server)
    try:

        def got(viewer: object, kind: str) -> int:
            source = staff if viewer is survivor else survivor
            return int(viewer.received(kind, source.participant))  # type: ignore[attr-defined]

        await wait_until(lambda: min(got(survivor, "video"), got(staff, "video")) > 20)
        await survivor.send(AudioOnly(True))
        for person in (staff, survivor):
            paused = await person.expect("video-paused")
            assert paused == VideoPaused(survivor.participant, True, "chosen")
        await asyncio.sleep(0.5)  # packets already on their way
        video, audio, theirs = got(survivor, "video"), got(survivor, "audio"), got(staff, "video")
        await asyncio.sleep(1.5)
        assert got(survivor, "video") == video  # no video to the survivor
        assert got(survivor, "audio") > audio + 30  # audio goes on (50 packets a second)
        assert got(staff, "video") > theirs + 20  # staff still get the survivor's video

        await survivor.send(AudioOnly(False))
        resumed = await survivor.expect("video-paused")
        assert resumed == VideoPaused(survivor.participant, False, "chosen")
        await wait_until(lambda: got(survivor, "video") > video + 20)
    finally:
        for person in (staff, survivor):
            await person.close()
