"""Browser: a three-way call end to end (issue 14), staff and interpreter in Chromium, the
survivor in Firefox ESR, each in its own namespace, through the real server.

The server runs in plain HTTP behind a TLS front (tests/ws_tap.py) that writes down every
request line, header, body and WebSocket message the browsers sent it: the link secret, from
which every key of the call is protected, must appear in none of it, nor in the server's log.

- Everyone decodes both others' video and hears their audio, every page says the call is
  end to end with the same safety code, and every page's worker sealed and opened frames
  with none failing.
- A fourth page opens the interpreter's link with another secret: it decodes nothing and
  says its link does not match; staff's page names it; the others go on.
- Staff reload their page and join again: the same links, everyone end to end again under
  a new safety code.
- An older Chromium, whose only way is createEncodedStreams, and a current one: end to end.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import RECORD_PEER_CONNECTIONS, REPO, ServerProcess, inbound, start_server
from firefox import FirefoxPage, require_firefox
from netlab import Host, NetLab, require_netns
from test_browser_call import (
    join_and_wait,
    new_page,
    receiving_from,
    staff_joins_new_call,
    wait_for,
)
from test_browser_recovery import three_way_call

pytestmark = pytest.mark.browser

TAP_PORT = 8443
SERVER_PORT = 8080


@pytest.fixture
def lab() -> Iterator[NetLab]:
    require_netns()
    with NetLab() as lab:
        yield lab


def start_tapped_server(
    host: Host, staff_path: Path, record: Path
) -> tuple[ServerProcess, subprocess.Popen[bytes]]:
    """The server on the namespace's loopback in plain HTTP, and the tap in front of it on
    the namespace's address, where the browsers reach it."""
    public = f"https://{host.address}:{TAP_PORT}"
    server = start_server(
        host, staff_path,
        "--host", "127.0.0.1", "--port", str(SERVER_PORT), "--plain-http",
        "--public-url", public, "--trusted-proxy", "127.0.0.1",
    )  # fmt: skip
    tap = host.popen(
        [sys.executable, "tests/ws_tap.py", host.address, str(TAP_PORT),
         f"http://127.0.0.1:{SERVER_PORT}", str(record)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    assert tap.stdout is not None
    if b"tapping" not in tap.stdout.readline():
        tap.kill()
        server.stop()
        raise RuntimeError("the tap did not start")
    server.url = public
    return server, tap


def e2ee_state(page: Any) -> dict[str, str]:
    """What the page's end-to-end line says: its state, safety code and frame counts."""
    state: dict[str, str] = page.evaluate(
        """() => {
          const root = document.getElementById("e2ee");
          const code = root.querySelector("[data-safety-code]");
          return {state: root.dataset.e2ee || "", code: code ? code.dataset.safetyCode : "",
                  sealed: root.dataset.sealed || "0", opened: root.dataset.opened || "0",
                  failed: root.dataset.failed || "0", unkeyed: root.dataset.unkeyed || "0",
                  text: root.textContent};
        }"""
    )
    return state


def video_decoded(page: Any) -> int:
    return sum(r["framesDecoded"] for r in inbound(page) if r["kind"] == "video")


def other_secret(link: str) -> str:
    """The same link with another secret of the same form."""
    token, secret = link.rsplit(".", 1)
    flipped = ("A" if secret[0] != "A" else "B") + secret[1:]
    return f"{token}.{flipped}"


def test_three_way_call_end_to_end_in_chromium_and_firefox(
    lab: NetLab, tmp_path: Path, staff_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    require_firefox()
    hosts = {name: lab.add_host(name) for name in ("srv", "staff", "surv", "interp", "other")}
    record = tmp_path / "sent-to-server.jsonl"
    server, tap = start_tapped_server(hosts["srv"], staff_path, record)
    secrets: list[str] = []
    try:
        with (
            sync_playwright() as p,
            FirefoxPage(
                tmp_path / "firefox", hosts["surv"].netns, preload=(RECORD_PEER_CONNECTIONS,)
            ) as firefox,
        ):
            staff, survivor, interpreter = three_way_call(p, hosts, tmp_path, server.url, firefox)
            pages = {"staff": staff, "survivor": survivor, "interpreter": interpreter}
            links = [staff.get_attribute(f"[data-link={r}]", "value") or "" for r in
                     ("survivor", "interpreter")]  # fmt: skip
            secrets = [link.rsplit(".", 1)[1] for link in links]
            assert all(len(s) == 43 for s in secrets) and secrets[0] == secrets[1], links

            # Everyone end to end, with one safety code, and frames sealed and opened.
            def all_on() -> bool:
                states = [e2ee_state(page) for page in pages.values()]
                return all(
                    s["state"] == "on" and s["code"] and int(s["opened"]) > 50
                    and int(s["sealed"]) > 50 for s in states
                )  # fmt: skip

            wait_for(all_on, timeout=30, what="every page end to end, sealing and opening")
            states = {name: e2ee_state(page) for name, page in pages.items()}
            print(f"\nend to end: {states}")
            codes = {s["code"] for s in states.values()}
            assert len(codes) == 1 and len(codes.pop().replace(" ", "")) == 10, states
            assert all(s["failed"] == "0" for s in states.values()), states

            # A page whose link holds another secret: it decodes nothing and says so.
            wrong = new_page(p, hosts["other"], tmp_path, [])
            join_and_wait(wrong, other_secret(links[1]), "Wrong")
            staff.wait_for_selector("[data-waiting]")
            staff.click("[data-waiting] [data-action=admit]")
            wrong.wait_for_selector("#e2ee[data-e2ee=bad-link]", timeout=20000)
            assert "does not match" in e2ee_state(wrong)["text"]
            staff.wait_for_selector("#e2ee [data-e2ee-why=mismatch]", timeout=20000)
            time.sleep(5)
            assert video_decoded(wrong) == 0
            samples = [r for r in inbound(wrong) if r["kind"] == "audio"]
            assert sum(r["totalAudioEnergy"] for r in samples) == 0, samples
            # The others still see and hear each other, end to end.
            for page in pages.values():
                before = video_decoded(page)
                wait_for(lambda: video_decoded(page) > before + 30, what="video going on")  # noqa: B023
                assert receiving_from(page, 2)
                assert e2ee_state(page)["state"] == "on"
            wrong.context.browser.close()

            # Staff reload their page: the same links (the secret kept in that tab), and
            # back in the call end to end, with a new code the same on every page.
            staff.reload()
            staff.wait_for_selector("[data-call] [data-link=survivor]")
            again = [staff.get_attribute(f"[data-link={r}]", "value") for r in
                     ("survivor", "interpreter")]  # fmt: skip
            assert again == links
            staff.click("[data-action=join-call]")
            staff.wait_for_selector("#call:not([hidden])")
            for page in pages.values():
                wait_for(lambda: receiving_from(page, 2), what="both others again")  # noqa: B023
            wait_for(lambda: len({e2ee_state(pg)["code"] for pg in pages.values()}) == 1,
                     what="one safety code again")  # fmt: skip
            time.sleep(3)  # staff's frames under the new key reach the others
            rejoined = {name: e2ee_state(page) for name, page in pages.items()}
            assert all(s["state"] == "on" for s in rejoined.values()), rejoined
            # Staff's page sealed anew, and nobody failed to open a frame of it.
            assert int(rejoined["staff"]["sealed"]) > 50, rejoined
            assert all(s["failed"] == "0" for s in rejoined.values()), rejoined
            assert rejoined["staff"]["code"] != states["staff"]["code"], rejoined
            for page in (staff, interpreter):
                page.context.browser.close()
    finally:
        log = server.stop()
        tap.kill()
        tap.wait()
        (tmp_path / "server.log").write_text(log)

    # What the server was sent and logged: the invite tokens, never the link secret.
    sent = record.read_text()
    entries = [json.loads(line) for line in sent.splitlines()]
    assert any('"type":"join"' in e.get("ws", "") for e in entries), "the tap saw no join"
    assert any('"type":"e2ee"' in e.get("ws", "") for e in entries), "no e2ee message relayed"
    tokens = [link.rsplit("#", 1)[1].split(".")[0] for link in links]
    assert all(token in sent for token in tokens), "the tap did not see the invites"
    for secret in secrets:
        assert secret not in sent
        assert secret not in log
    assert not any("#" in e.get("request", "") for e in entries)


# An older Chromium: encoded frames only through createEncodedStreams.
STREAMS_ONLY = "delete window.RTCRtpScriptTransform;"


def test_an_older_chromium_with_encoded_streams_only_is_end_to_end_too(
    lab: NetLab, tmp_path: Path, staff_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    hosts = {name: lab.add_host(name) for name in ("srv", "staff", "surv")}
    server = start_server(hosts["srv"], staff_path)
    try:
        with sync_playwright() as p:
            staff = new_page(p, hosts["staff"], tmp_path, [])
            link = staff_joins_new_call(staff, server.url)
            survivor = new_page(p, hosts["surv"], tmp_path, [])
            survivor.context.add_init_script(STREAMS_ONLY)
            join_and_wait(survivor, link, "Hannah")
            assert survivor.evaluate("typeof RTCRtpScriptTransform") == "undefined"
            staff.wait_for_selector("[data-waiting]")
            staff.click("[data-waiting] [data-action=admit]")
            for page in (staff, survivor):
                wait_for(lambda: receiving_from(page, 1), what="media both ways")  # noqa: B023
            wait_for(
                lambda: all(int(e2ee_state(pg)["opened"]) > 50 for pg in (staff, survivor)),
                what="frames opened on both sides",
            )
            states = [e2ee_state(page) for page in (staff, survivor)]
            assert all(s["state"] == "on" and s["failed"] == "0" for s in states), states
            assert states[0]["code"] == states[1]["code"]
    finally:
        server.stop()
