"""Browser: a Chromium page and a Python peer (bench/client.py with the link secret, keys
from bench/e2ee_keys.py) in one end-to-end call through the real server, each in its own
namespace.

- Staff in Chromium, the survivor a Python peer with the link staff's page shows: both say
  the call is end to end with the same safety code; staff's page decodes the peer's video,
  its worker opening frames with none failing; the peer opens staff's audio and video
  frames, none failing.
- Staff a Python peer (it makes the call keys), the survivor in Chromium with a link the
  peer made (the API's link and a secret): the same, the other way round.

The Python peer runs as this file, as a program (`python tests/test_browser_e2ee_python.py
ROLE URL [LINK]`), in the peer's namespace; it prints what it sees, a JSON object a line,
until its standard input closes.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from browser import REPO, ServerProcess, start_server
from conftest import STAFF_NAME, STAFF_PASSWORD
from netlab import Host, NetLab, require_netns
from test_browser_call import (
    frames_decoded,
    join_and_wait,
    new_page,
    staff_joins_new_call,
    wait_for,
)
from test_browser_e2ee_call import e2ee_state

from bench.client import Participant, StaffApi
from bench.e2ee_keys import split_fragment, to_base64url
from bench.encoded import opus_clip, vp8_clip
from bench.scenario import insecure_ssl
from signaling.protocol import Admit, Join, Joined, LobbyWaiting

PEER_SECONDS = 90.0  # the peer hangs up by itself after this, whatever happens


# ---------------------------------------------------------------- the Python peer, as a program


def say(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def by_kind(me: Participant, counts: Counter[str]) -> dict[str, int]:
    out = {"audio": 0, "video": 0}
    for mid, n in counts.items():
        kind = me.kinds.get(mid)
        if kind in out:
            out[kind] += n
    return out


def status(me: Participant) -> dict[str, Any]:
    assert me.keys is not None
    return {
        "participant": me.participant, "state": me.keys.state, "code": me.keys.code,
        "mismatched": me.keys.mismatched(), "sealed": me.sealed,
        "opened": by_kind(me, me.opened), "unopened": by_kind(me, me.unopened),
        "unkeyed": by_kind(me, me.unkeyed),
    }  # fmt: skip


async def python_peer(role: str, url: str, link: str) -> None:
    """Staff (signs in, makes a call and its link secret, admits whoever knocks) or the
    survivor (joins with `link`), end to end with the link secret, until stdin closes."""
    vp8_clip(), opus_clip()  # encoded before joining, not while the call waits
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def watch_stdin() -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    connector = aiohttp.TCPConnector(ssl=insecure_ssl())
    async with aiohttp.ClientSession(connector=connector) as http:
        if role == "staff":
            api = StaffApi(http, url)
            await api.sign_in(STAFF_NAME, STAFF_PASSWORD)
            call = await api.create_call()
            secret = os.urandom(32)
            me = Participant(http, url, headers=api.headers, link_secret=secret, stamps=False)
            await me.connect()
            await me.send(Join(call=str(call["id"])))
            joined = await me.expect("joined")
            say(link=f"{call['links']['survivor']}.{to_base64url(secret)}")
            waiting = await me.expect("lobby-waiting", 60)
            assert isinstance(waiting, LobbyWaiting) and waiting.e2ee
            await me.send(Admit(waiting.participant))
        else:
            token, secret = split_fragment(link.split("#", 1)[1])
            me = Participant(http, url, link_secret=secret, stamps=False)
            await me.connect()
            await me.send(Join(invite=token, name="Python"))
            await me.expect("waiting")
            say(waiting=True)
            joined = await me.expect("joined", 60)
        assert isinstance(joined, Joined)
        me.transport_cc = True  # feedback on what the server sends, as browsers give
        await me.start_media(joined.max_participants)
        deadline = time.monotonic() + PEER_SECONDS
        while not stop.is_set() and time.monotonic() < deadline:
            say(**status(me))
            try:
                await asyncio.wait_for(stop.wait(), 0.5)
            except TimeoutError:
                pass
        say(**status(me))
        await me.close()


# ---------------------------------------------------------------- the test


class Peer:
    """The Python peer's process in `host`'s namespace, and what it said last."""

    def __init__(self, host: Host, tmp: Path, role: str, url: str, link: str = "") -> None:
        self.log = (tmp / f"python-{role}.log").open("wb")
        args = [sys.executable, str(Path(__file__).resolve()), role, url, link]
        self.proc = host.popen(
            args, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log
        )
        self.said: dict[str, Any] = {}
        self.link = ""
        self.waiting = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            message = json.loads(line)
            if "link" in message:
                self.link = message["link"]
            elif "waiting" in message:
                self.waiting.set()
            else:
                self.said = message

    def status(self) -> dict[str, Any]:
        assert self.proc.poll() is None, f"the Python peer ended: {self.said}"
        return self.said

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture
def lab() -> Iterator[NetLab]:
    require_netns()
    with NetLab() as lab:
        yield lab


def staff_page_in_call(p: Any, host: Host, tmp: Path, origin: str) -> tuple[Any, str]:
    """Staff sign in in Chromium, make a call and join it: the page, and the survivor's link."""
    staff = new_page(p, host, tmp, [])
    link = staff_joins_new_call(staff, origin)
    assert len(link.rsplit(".", 1)[1]) == 43, link  # the link secret, in the fragment
    return staff, link


@pytest.mark.browser
@pytest.mark.parametrize("python_is", ["survivor", "staff"])
def test_a_python_peer_and_a_chromium_page_in_one_end_to_end_call(
    lab: NetLab, tmp_path: Path, staff_path: Path, python_is: str
) -> None:
    from playwright.sync_api import sync_playwright

    hosts = {name: lab.add_host(name) for name in ("srv", "staff", "surv")}
    server: ServerProcess = start_server(hosts["srv"], staff_path)
    peer: Peer | None = None
    try:
        with sync_playwright() as p:
            if python_is == "survivor":
                page, link = staff_page_in_call(p, hosts["staff"], tmp_path, server.url)
                peer = Peer(hosts["surv"], tmp_path, "survivor", server.url, link)
                assert peer.waiting.wait(30), "the Python peer did not reach the lobby"
                page.wait_for_selector("[data-waiting]")
                page.click("[data-waiting] [data-action=admit]")
            else:
                peer = Peer(hosts["staff"], tmp_path, "staff", server.url)
                wait_for(lambda: peer is not None and bool(peer.link), 30, "the peer's link")
                page = new_page(p, hosts["surv"], tmp_path, [])
                join_and_wait(page, peer.link, "Hannah")
            python = peer

            # Both end to end, with one safety code (each shows its own as soon as it is
            # on: the page alone in the call is, under its own key).
            def both_on() -> bool:
                mine, theirs = e2ee_state(page), python.status()
                on = mine["state"] == "on" and theirs.get("state") == "on"
                return on and mine["code"] == theirs["code"] != ""

            wait_for(both_on, timeout=30, what="the page and the peer end to end, one code")

            # The page decodes the peer's video, its worker opening every frame; the peer
            # opens the page's audio and video.
            decoded = frames_decoded(page)

            def flowing() -> bool:
                mine, theirs = e2ee_state(page), python.status()
                return (
                    frames_decoded(page) > decoded + 60
                    and int(mine["opened"]) > 100
                    and min(theirs["opened"].values()) > 50
                )

            wait_for(flowing, timeout=30, what="media both ways, sealed and opened")
            mine, theirs = e2ee_state(page), python.status()
            print(f"\npage: {mine}\npython: {theirs}")
            assert mine["state"] == "on" and mine["failed"] == "0", mine
            assert theirs["sealed"] > 100 and theirs["mismatched"] == [], theirs
            assert theirs["unopened"] == {"audio": 0, "video": 0}, theirs
            assert e2ee_state(page)["code"] == theirs["code"]
            page.context.browser.close()
    finally:
        if peer is not None:
            peer.stop()
        (tmp_path / "server.log").write_text(server.stop())


if __name__ == "__main__":
    asyncio.run(python_peer(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else ""))
