"""Browser: phone audio in the pages (issue 15; docs/phone.md). Staff and a survivor in
Chromium, each in a namespace of their own; sipp in another plays the organization's SIP
trunk and the survivor's phone.

Staff allow phone audio; the survivor's page shows the number and a code, in the lobby and
then in the call; the phone dials, enters the code read from the page and speaks (a tone):
staff hear it from a tile named "Hannah (phone)", which makes the call not end to end; the
survivor's page says its phone carries its sound, sends no sound and plays none, and keeps
its video; the phone hears the call. The phone hangs up: the page's sound comes back and a
new code shows. The phone calls again with it; the survivor's link is cut for 10 s and the
voice goes on both ways through the phone, and the page comes back to it; then the survivor's
browser goes: staff see "on phone only". Each state
is checked with axe-core and photographed (tests/screenshots/phone-*), at phone and laptop
size, in English and French.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from a11y import available, describe
from browser import CHROMIUM_FLAGS, RECORD_PEER_CONNECTIONS, start_server
from netlab import NetLab, require_netns
from screens import LAPTOP, PHONE, SCREENSHOTS
from sip_phone import CALLER, Caller, dial, level_between, require_sipp
from test_browser_a11y import Results, check, fits_phone
from test_browser_call import (
    frames_decoded,
    join_and_wait,
    new_page,
    receiving_from,
    staff_joins_new_call,
    wait_for,
)

pytestmark = pytest.mark.browser

NUMBER = "+1 555 010 0199"
SIZES = ("phone", "laptop")
SIP_PORT = 5060
CODE_LINE = re.compile(r"call (\+[0-9 ]+), then enter ([0-9]{4}) ([0-9]{4})\.")
HEARD = 0.02  # audio energy gained in a few seconds of the phone's tone (silence: ~0)
PHONE_HEARD = 100.0  # RMS the phone is sent of Chromium's fake microphone (silence: 0 to 8)
HERE = Path(__file__).resolve().parent

# The audio energy the page played from one participant's tile, and whether that tile's
# sound element plays (not muted, not paused).
TILE_SOUND = """
async (pid) => {
  const tile = document.querySelector(`.tile[data-participant="${pid}"]`);
  const audio = tile && tile.querySelector("audio");
  const track = audio && audio.srcObject && audio.srcObject.getAudioTracks()[0];
  if (!track) return {energy: -1, playing: false};
  let energy = 0;
  for (const pc of (window.__pcs || []).filter(c => c.connectionState !== "closed")) {
    (await pc.getStats()).forEach(s => {
      if (s.type === "inbound-rtp" && s.trackIdentifier === track.id) {
        energy += s.totalAudioEnergy || 0;
      }
    });
  }
  return {energy, playing: !audio.muted && !audio.paused};
}
"""

# What this page sends and plays of sound: its audio sender's track (null: nothing sent),
# the audio bytes sent so far, whether each remote <audio> and <video> is muted, and what its
# mute button says (the person's own choice).
OWN_SOUND = """
async () => {
  const pc = (window.__pcs || []).find(c => c.connectionState === "connected");
  if (!pc) return null;
  const sender = pc.getTransceivers().find(t => t.direction === "sendonly"
    && t.receiver.track.kind === "audio").sender;
  let sent = 0;
  (await pc.getStats()).forEach(s => {
    if (s.type === "outbound-rtp" && s.kind === "audio") sent += s.bytesSent;
  });
  const muted = (tag) => [...document.querySelectorAll(`.tile[data-participant] ${tag}`)]
    .map(m => m.muted);
  return {
    track: sender.track ? {enabled: sender.track.enabled, state: sender.track.readyState} : null,
    sent,
    audio: muted("audio"),
    video: muted("video"),
    mute: document.querySelector('#controls [data-action="mute"]').textContent,
  };
}
"""

# The staff page's tiles: each participant's caption.
CAPTIONS = """
() => Object.fromEntries([...document.querySelectorAll(".tile[data-participant]")]
  .map(t => [t.dataset.participant, t.querySelector("figcaption").textContent]))
"""


@pytest.fixture
def lab() -> Iterator[NetLab]:
    require_netns()
    require_sipp()
    with NetLab() as lab:
        yield lab


def at_sizes(page: Any, state: str, results: Results, sizes: tuple[str, ...] = SIZES) -> None:
    """axe and screenshots (tests/screenshots/) of the page as it is, at each size, in
    English and French (only screenshots in English when axe-core is not installed: cd
    tests && npm ci); back at laptop size, in English, after."""
    for size in sizes:
        page.set_viewport_size({"phone": PHONE, "laptop": LAPTOP}[size])
        time.sleep(0.2)  # the layout settles
        if size == "phone" and state != "phone-lobby":
            fits_phone(page)  # the phone line takes room from the videos, not the controls
        if available():
            check(page, state, size, results)
        else:
            page.screenshot(path=str(SCREENSHOTS / f"{state}-{size}-en.png"))
    page.set_viewport_size(LAPTOP)


def code_shown(page: Any, where: str = "#phone") -> tuple[str, str]:
    """The number and the code (eight digits) the page shows, read from its text."""
    line = page.inner_text(f"{where} [data-phone=code]")
    match = CODE_LINE.search(line)
    assert match, line
    return match.group(1), match.group(2) + match.group(3)


def sending(page: Any) -> int:
    """Audio bytes the page sent in the next second."""
    before = page.evaluate(OWN_SOUND)["sent"]
    time.sleep(1.0)
    after: int = page.evaluate(OWN_SOUND)["sent"]
    return after - before


class Dialing:
    """sipp placing one call in its namespace, on a thread of its own."""

    def __init__(self, *args: Any) -> None:
        self.result: tuple[int, str] | None = None
        self.thread = threading.Thread(target=self._run, args=args, daemon=True)
        self.thread.start()

    def _run(self, *args: Any) -> None:
        self.result = asyncio.run(dial(*args))

    def wait(self, timeout: float) -> tuple[int, str]:
        self.thread.join(timeout)
        assert self.result is not None, "sipp did not finish"
        return self.result


def test_a_phone_carries_the_survivors_sound_and_hands_it_back(
    lab: NetLab, tmp_path: Path, staff_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    hosts = {name: lab.add_host(name) for name in ("srv", "staff", "surv", "phone")}
    srv, phone = hosts["srv"], hosts["phone"]
    server = start_server(
        srv, staff_path, "--media-workers", "1",
        "--sip-listen", f"{srv.address}:{SIP_PORT}", "--sip-trunk", f"{phone.address}/32",
        "--dial-in-number", NUMBER,
    )  # fmt: skip
    SCREENSHOTS.mkdir(exist_ok=True)
    work = tmp_path / "sipp"
    work.mkdir()
    requests: list[str] = []
    results: Results = {}
    try:
        with sync_playwright() as p:
            staff = new_page(p, hosts["staff"], tmp_path, requests)
            link = staff_joins_new_call(staff, server.url)
            browser = p.chromium.launch(
                executable_path=str(hosts["surv"].chromium_wrapper(tmp_path)),
                args=CHROMIUM_FLAGS,
            )
            context = browser.new_context(ignore_https_errors=True, viewport=LAPTOP)
            context.add_init_script(RECORD_PEER_CONNECTIONS)
            survivor = context.new_page()
            survivor.on("request", lambda r: requests.append(r.url))

            # Staff allow phone audio, before anyone came.
            toggle = staff.locator("#controls [data-action=phone]")
            assert toggle.inner_text() == "Allow phone audio"
            toggle.click()
            staff.wait_for_function(
                "() => document.querySelector('#controls [data-action=phone]').textContent"
                " === 'Stop phone audio'"
            )
            assert "Phone audio allowed" in staff.inner_text("#call-status")

            # The survivor is given the number and a code while waiting, and keeps it in
            # the call.
            join_and_wait(survivor, link, "Hannah")
            survivor.wait_for_selector("#lobby-phone [data-phone=code]")
            number, code = code_shown(survivor, "#lobby-phone")
            assert number == NUMBER and len(code) == 8
            at_sizes(survivor, "phone-lobby", results, ("phone",))
            staff.wait_for_selector("[data-waiting]")
            staff.click("[data-waiting] [data-action=admit]")
            for page in (staff, survivor):
                wait_for(lambda: receiving_from(page, 1), what="media both ways")  # noqa: B023
            staff.wait_for_selector("#e2ee[data-e2ee=on]")
            assert code_shown(survivor) == (NUMBER, code)
            at_sizes(survivor, "phone-code", results)

            # The phone dials, enters the code and speaks; what it is sent is caught in its
            # own namespace.
            caller = Caller().keys(code).voice(8.0)
            hold_ms = int(caller.seconds * 1000) + 8000  # the checks below, before it ends
            listening = phone.popen(
                [sys.executable, str(HERE / "sip_phone.py"), "listen", phone.dev, phone.address,
                 str(caller.seconds + 12)], stdout=subprocess.PIPE,
            )  # fmt: skip
            dialing = Dialing(phone.netns, phone.address, srv.address, SIP_PORT, work,
                              caller, hold_ms)  # fmt: skip

            # Staff: a tile named after the survivor, with "(phone)", whose sound plays.
            def phone_tile() -> str:
                tiles = staff.evaluate(CAPTIONS)
                return next((pid for pid, c in tiles.items() if c == "Hannah (phone)"), "")

            wait_for(phone_tile, timeout=20, what="the phone's tile on staff's page")
            pid = phone_tile()
            start, since = staff.evaluate(TILE_SOUND, pid), time.monotonic()
            in_call = since
            wait_for(
                lambda: staff.evaluate(TILE_SOUND, pid)["energy"] > start["energy"] + HEARD,
                timeout=8, what="staff to hear the phone",
            )  # fmt: skip
            heard = staff.evaluate(TILE_SOUND, pid)
            print(f"\nstaff heard the phone: audio energy {heard['energy'] - start['energy']:.3f} "
                  f"in {time.monotonic() - since:.1f} s")  # fmt: skip
            assert heard["playing"]
            assert "Hannah (phone)" in staff.inner_text("#people")
            # The phone cannot seal: the call is not end to end, and staff are told why.
            staff.wait_for_selector("#e2ee[data-e2ee=clear]")
            reason = staff.inner_text(f'#e2ee [data-e2ee-person="{pid}"]')
            assert reason.startswith("Hannah (phone) cannot encrypt end to end"), reason

            # The survivor's page: its phone carries its sound; it sends none and plays
            # none, and it still receives video; its own mute is untouched.
            survivor.wait_for_selector("#phone [data-phone=voice]")
            assert survivor.inner_text("#phone") == (
                "Your phone carries your sound. Hang up the phone to use this device's sound again."
            )
            assert survivor.locator("#phone [data-phone=code]").count() == 0
            # Its own phone has no tile there (it would only ever be silent), and is named
            # as its own where the page says why the call is not end to end.
            assert pid not in survivor.evaluate(CAPTIONS)
            survivor.wait_for_selector("#e2ee[data-e2ee=clear]")
            mine = survivor.inner_text(f'#e2ee [data-e2ee-person="{pid}"]')
            assert mine.startswith("Your phone cannot encrypt end to end"), mine
            own = survivor.evaluate(OWN_SOUND)
            assert own["track"] is None, own
            assert own["audio"] and all(own["audio"]) and all(own["video"]), own
            assert own["mute"] == "Mute", own
            time.sleep(0.5)  # what was on its way is sent
            assert sending(survivor) == 0
            frames = frames_decoded(survivor)
            wait_for(lambda: frames_decoded(survivor) > frames + 10, what="video still")
            captions = staff.evaluate(CAPTIONS)
            assert not any("muted" in c for c in captions.values()), captions
            at_sizes(survivor, "phone-voice", results)
            at_sizes(staff, "phone-staff", results, ("laptop",))

            # The phone heard the call: staff's page (the survivor's sends nothing now).
            heard_until = time.monotonic()
            # The phone hangs up: the tile goes, the page's sound comes back, a new code.
            status, screen = dialing.wait(30)
            assert status == 0, screen
            out, _ = listening.communicate(timeout=30)
            phone_heard = level_between(json.loads(out), in_call + 1.0, heard_until)
            print(f"the phone heard the call at RMS {phone_heard:.0f}")
            assert phone_heard > PHONE_HEARD
            wait_for(lambda: pid not in staff.evaluate(CAPTIONS), what="the phone's tile gone")
            survivor.wait_for_selector("#phone [data-phone=code]")
            assert survivor.locator("#phone [data-phone=voice]").count() == 0
            again = code_shown(survivor)
            assert again[0] == NUMBER and again[1] != code, (code, again)
            wait_for(
                lambda: (survivor.evaluate(OWN_SOUND)["track"] or {}).get("enabled"),
                what="the microphone sent again",
            )
            own = survivor.evaluate(OWN_SOUND)
            assert own["track"]["state"] == "live", own
            assert own["audio"] and not any(own["audio"]), own
            assert sending(survivor) > 0
            hannah = next(pid for pid, c in staff.evaluate(CAPTIONS).items() if c == "Hannah")
            before = staff.evaluate(TILE_SOUND, hannah)["energy"]
            wait_for(lambda: staff.evaluate(TILE_SOUND, hannah)["energy"] > before,
                     what="staff to hear the survivor's page again")  # fmt: skip

            # The phone calls again with the new code. The survivor's link is cut for 10 s:
            # the voice goes on both ways through the phone; the page comes back to it.
            caller = Caller().keys(again[1]).voice(16.0)
            hold_ms = int(caller.seconds * 1000) + 2000
            listening = phone.popen(
                [sys.executable, str(HERE / "sip_phone.py"), "listen", phone.dev, phone.address,
                 str(caller.seconds + 6)], stdout=subprocess.PIPE,
            )  # fmt: skip
            dialing = Dialing(phone.netns, phone.address, srv.address, SIP_PORT, work,
                              caller, hold_ms)  # fmt: skip
            wait_for(phone_tile, timeout=20, what="the phone's tile again")
            pid = phone_tile()
            survivor.wait_for_selector("#phone [data-phone=voice]")
            hosts["surv"].set_link(False)
            cut = time.monotonic()
            start = staff.evaluate(TILE_SOUND, pid)["energy"]
            time.sleep(10.0)
            during = staff.evaluate(TILE_SOUND, pid)["energy"] - start
            cut_until = time.monotonic()
            hosts["surv"].set_link(True)
            print(f"survivor's link cut for 10 s: staff heard the phone (energy {during:.3f})")
            assert during > HEARD
            survivor.wait_for_selector("#phone [data-phone=voice]", timeout=30_000)
            wait_for(lambda: receiving_from(survivor, 1), timeout=30, what="the page back")

            # Then the survivor's browser goes for good: the phone stays, and staff see the
            # voice is on the phone only.
            survivor.context.close()
            staff.wait_for_function(
                "pid => document.querySelector(`[data-participant='${pid}'] figcaption`)"
                ".textContent === 'Hannah (phone) (on phone only)'", arg=pid,
            )  # fmt: skip
            people = staff.inner_text(f'#people [data-person="{pid}"]')
            assert people.startswith("Hannah (phone) · on phone only"), people
            at_sizes(staff, "phone-only-staff", results, ("laptop",))
            status, screen = dialing.wait(30)
            assert status == 0, screen
            wait_for(lambda: pid not in staff.evaluate(CAPTIONS), what="the phone gone again")
            out, _ = listening.communicate(timeout=30)
            phone_heard = level_between(json.loads(out), cut + 1.0, cut_until)
            print(f"the phone heard staff while the page was cut off at RMS {phone_heard:.0f}")
            assert phone_heard > PHONE_HEARD
    finally:
        log = server.stop()

    bad = {name: found for name, found in results.items() if found}
    assert not bad, "\n".join(f"{name}:\n{describe(found)}" for name, found in bad.items())
    foreign = [u for u in requests if not u.startswith((server.url + "/", "data:", "blob:"))]
    assert not foreign, foreign
    for secret in (CALLER, CALLER[1:], code):
        assert secret not in log
