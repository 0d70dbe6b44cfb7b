"""Browser: a survivor in Debian's firefox-esr talks with staff (an aiortc peer) via the server."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from browser import INBOUND_STATS, RECORD_PEER_CONNECTIONS
from conftest import RunningServer
from firefox import Firefox, require_firefox
from test_call_aiortc import staff_in_call

from signaling.protocol import Admit, LobbyWaiting, PeerLeft

pytestmark = pytest.mark.browser

MEDIA_TIMEOUT = 30.0  # seconds from admitting the survivor until media flows both ways

# The addresses of the ICE candidate pair the page's connection uses.
SELECTED_PAIR = """
async () => {
  const pc = window.__pcs.find(pc => pc.connectionState !== "closed");
  const stats = await pc.getStats();
  const all = new Map();
  stats.forEach(s => all.set(s.id, s));
  const pair = [...all.values()].find(s => s.type === "candidate-pair" && s.selected);
  if (!pair) return null;
  return {
    local: all.get(pair.localCandidateId).address,
    remote: all.get(pair.remoteCandidateId).address,
  };
}
"""


def shown(section: str) -> str:
    return f"!document.querySelector('#{section}').hidden"


def firefox_receives(rows: list[dict[str, Any]]) -> bool:
    """Video frames decoded, and audio packets with sound in them, from the staff member."""
    video = [r for r in rows if r["kind"] == "video" and r["framesDecoded"] > 10]
    audio = [
        r
        for r in rows
        if r["kind"] == "audio"
        and r["packetsReceived"] > 20
        and r["totalSamplesReceived"] > 0
        and r["totalAudioEnergy"] > 0
    ]
    return bool(video and audio)


async def test_survivor_in_firefox_talks_with_staff(
    server: RunningServer, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    require_firefox()
    _api, call, staff = await staff_in_call(http, server)
    links = call["links"]
    assert isinstance(links, dict)
    link = str(links["survivor"])
    assert link.startswith(f"{server.base}/join#")
    try:
        async with Firefox(tmp_path / "firefox") as firefox:
            await firefox.subscribe("network.beforeRequestSent")
            await firefox.add_preload_script(RECORD_PEER_CONNECTIONS)
            await firefox.navigate(link)
            await firefox.wait_for(shown("consent"), what="the consent page")
            await firefox.evaluate("document.querySelector('[data-safe=yes]').click()")
            await firefox.wait_for(shown("join-form"), what="the join form")
            await firefox.evaluate(
                "document.querySelector('#name').value = 'Fern';"
                " document.querySelector('#join').click()"
            )
            waiting = await staff.expect("lobby-waiting", timeout=15)
            assert isinstance(waiting, LobbyWaiting)
            assert waiting.name == "Fern"
            survivor = waiting.participant
            await firefox.wait_for(shown("lobby"), what="the lobby")

            await staff.send(Admit(survivor))
            await firefox.wait_for(shown("call"), what="the call")
            await staff.start_media(max_participants=4)

            rows: list[dict[str, Any]] = []
            deadline = time.monotonic() + MEDIA_TIMEOUT
            while True:
                rows = await firefox.call(INBOUND_STATS)
                staff_video = staff.received("video", survivor)
                staff_audio = staff.received("audio", survivor)
                if firefox_receives(rows) and staff_video > 20 and staff_audio > 20:
                    break
                if time.monotonic() > deadline:
                    peers = {
                        pid: peer.pc.connectionState for pid, peer in server.state.hub.peers.items()
                    }
                    forwarded = sum(r.forwarded for r in server.state.hub.routers.values())
                    raise AssertionError(
                        f"media did not flow both ways within {MEDIA_TIMEOUT} s: Firefox "
                        f"inbound {rows}; staff got {staff_video} video and {staff_audio} "
                        f"audio packets from the survivor; server peers {peers}, "
                        f"{forwarded} packets forwarded; Firefox said:\n{firefox.log[-3000:]}"
                    )
                await asyncio.sleep(0.25)

            # Media went over loopback only, not from the machine's other addresses.
            pair = await firefox.call(SELECTED_PAIR)
            assert pair == {"local": "127.0.0.1", "remote": "127.0.0.1"}, pair

            # The page keeps nothing on the device, and the invite left the address bar.
            assert await firefox.evaluate("document.cookie") == ""
            assert await firefox.evaluate("localStorage.length + sessionStorage.length") == 0
            assert await firefox.evaluate("location.hash") == ""
            assert "#" not in await firefox.evaluate("location.href")

            # Leaving ends the survivor's call, and staff hears of it.
            await firefox.evaluate("document.querySelector('[data-action=leave]').click()")
            await firefox.wait_for(shown("done"), what="the goodbye notice")
            left = await staff.expect("peer-left", timeout=15)
            assert isinstance(left, PeerLeft) and left.participant == survivor

            # Every request the page made went to the server's own origin.
            urls = [
                e["params"]["request"]["url"]
                for e in firefox.events
                if e["method"] == "network.beforeRequestSent"
            ]
            assert f"{server.base}/static/join.js" in urls, urls
            foreign = [u for u in urls if not u.startswith((f"{server.base}/", "data:", "blob:"))]
            assert not foreign, f"the page requested {foreign}"
    finally:
        await staff.close()
