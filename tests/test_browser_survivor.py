"""Browser: the survivor's whole path in Chromium, with each way to talk: consent, the way to
talk, lobby, call, chat, "can't talk now", check-ins and the quick exit; staff's page answers."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from browser import confirm_ready
from conftest import STAFF_NAME, STAFF_PASSWORD
from screens import (
    CONSENT_EN,
    CONSENT_FR,
    EXIT_URL,
    LAPTOP,
    LIVE_TRACKS,
    PHONE,
    Lab,
    admit,
    consent_to,
    join_as,
    lab_with_server,
    open_page,
    release_exit,
    shown,
    staff_in_new_call,
    wait_for,
)

pytestmark = pytest.mark.browser

NEWEST = "#call-status p:first-child"  # staff's latest notice

CHECK_IN_RUNS = 5
SECRET_LINE = "Meet me where we said <b>not bold</b>"

# Every audio and video element of the page is silent.
ALL_MUTED = "() => [...document.querySelectorAll('video, audio')].every(m => m.muted)"
REMOTE_MUTED = "() => [...document.querySelectorAll('audio.remote')].map(m => m.muted)"
# The local microphone tracks the page holds: live and enabled.
MIC_ON = (
    "() => window.__tracks.some(t => t.kind === 'audio' && t.readyState === 'live' && t.enabled)"
)


def text_of(page: Any, selector: str) -> str:
    return str(page.inner_text(selector))


def wait_text(page: Any, selector: str, words: str, timeout: float = 15000) -> None:
    page.wait_for_function(
        "([s, w]) => (document.querySelector(s)?.textContent || '').includes(w)",
        arg=[selector, words],
        timeout=timeout,
    )


def person(staff: Any) -> str:
    return text_of(staff, "#people")


def chat_both_ways(staff: Any, survivor: Any, line: str) -> None:
    """The survivor writes, staff read and answer; both see both lines, as plain text."""
    if survivor.is_hidden("#chat"):
        survivor.click("[data-action=chat]")
    assert survivor.get_attribute("[data-action=chat]", "aria-expanded") == "true"
    survivor.fill("#chat-text", line)
    survivor.keyboard.press("Enter")
    if staff.is_hidden("#chat"):
        staff.click("[data-action=chat]")
    wait_text(staff, "#chat-log", line)
    staff.fill("#chat-text", "Thank you for telling me.")
    staff.click("#chat-send")
    wait_text(survivor, "#chat-log", "Thank you for telling me.")
    assert line in text_of(survivor, "#chat-log")
    # Shown as text: markup typed in a message stays characters, never elements.
    for page in (staff, survivor):
        assert page.locator("#chat-log b").count() == 0


def cant_talk_and_back(staff: Any, survivor: Any, video: bool) -> None:
    """ "I can't talk now" (by its shortcut): mic off, camera stopped, page silent, a plain
    screen; staff told with the plan, their own mic held off. Back restores it all."""
    survivor.keyboard.press("Alt+Shift+H")
    survivor.wait_for_selector(shown("cant-talk"))
    assert survivor.is_hidden("#call")
    assert "video" not in survivor.evaluate(LIVE_TRACKS)
    assert not survivor.evaluate(MIC_ON)
    assert survivor.evaluate(ALL_MUTED)
    wait_text(staff, "#people", "can't talk now")
    wait_text(staff, NEWEST, "can't talk now")
    assert "If the call drops" in text_of(staff, NEWEST)  # the plan, at hand
    assert staff.is_disabled("[data-action=mute]")
    wait_for(lambda: not staff.evaluate(MIC_ON), what="staff's microphone held off")
    # A chat line meanwhile is kept out of sight and out of earshot: no screen reader speaks.
    survivor.evaluate("document.getElementById('announce').replaceChildren()")
    staff.fill("#chat-text", "Whenever you are ready.")
    staff.click("#chat-send")
    wait_text(survivor, "#chat-log", "Whenever you are ready.")
    assert survivor.get_attribute("#chat-log", "aria-live") == "off"
    assert survivor.inner_text("#announce") == ""

    survivor.click("[data-action=back]")
    survivor.wait_for_selector(shown("call"))
    assert survivor.get_attribute("#chat-log", "aria-live") == "polite"
    if video:
        wait_for(lambda: "video" in survivor.evaluate(LIVE_TRACKS), what="the camera again")
        assert survivor.evaluate(MIC_ON)
        assert survivor.evaluate(REMOTE_MUTED) == [False]
    wait_text(staff, NEWEST, "is back")
    assert "can't talk" not in person(staff)
    wait_for(lambda: staff.evaluate(MIC_ON), what="staff's microphone back on")
    assert staff.is_enabled("[data-action=mute]")


def check_in(staff: Any, survivor: Any, answer: str) -> float:
    """Staff check in, the survivor answers; seconds from staff's click to the prompt."""
    assert survivor.is_hidden("#check-in")
    started = time.monotonic()
    staff.click("[data-action=check-in]")
    survivor.wait_for_selector(shown("check-in"), timeout=10000)
    elapsed = time.monotonic() - started
    assert survivor.evaluate("document.querySelector('#announce').textContent")
    # Staff's own page says the question went; the answer replaces that line.
    assert "Check-in sent" in text_of(staff, "#call-status")
    survivor.click(f"[data-answer={answer}]")
    assert survivor.is_hidden("#check-in")
    return elapsed


def quick_exit(
    lab: Lab, staff: Any, survivor: Any, name: str, by_key: bool, words: list[str]
) -> None:
    """Leave quickly: checked in the page's last moment (the exit page is held meanwhile),
    then on the exit page, on Back, and on staff's page."""
    length = survivor.evaluate("history.length")
    if by_key:
        survivor.keyboard.press("Escape")
    else:
        survivor.tap("#quick-exit")
    wait_for(lambda: lab.exit_states or survivor.wait_for_timeout(50), what="the quick exit")
    state = lab.exit_states.pop()
    assert state["live"] == []  # every camera and microphone track stopped
    assert state["open"] == 0  # the peer connection closed
    assert state["media"] == 0
    for word in words:
        assert word not in state["text"]  # chat and names gone from the page
    assert state["history"] == length
    wait_for(lambda: lab.exits or survivor.wait_for_timeout(50), what="the exit page's request")
    release_exit(lab)
    survivor.wait_for_url(EXIT_URL)
    assert survivor.evaluate("history.length") == length  # the call's entry was replaced
    wait_text(staff, NEWEST, f"{name} left quickly")
    assert "If the call drops" in text_of(staff, NEWEST)
    wait_for(lambda: staff.locator("#chat-log li").count() == 0, what="staff's chat cleared")
    assert staff.locator("[data-person]").count() == 0
    survivor.go_back()
    survivor.wait_for_load_state()
    assert "/join" not in survivor.url  # Back goes where the survivor was before the call
    assert survivor.url.endswith("/guide")


def video_survivor(lab: Lab, staff: Any, link: str, timings: list[float]) -> None:
    survivor = lab.page(lab.survivor_browser, LAPTOP)
    open_page(survivor, f"{lab.origin}/guide", "#handout")  # where they were before
    open_page(survivor, link, shown("consent"))
    assert survivor.evaluate("window.__gum") == 0
    wait_text(survivor, "#org-consent", CONSENT_EN.splitlines()[0])
    assert "private window" in text_of(survivor, "#consent")
    # The switch on the page: French, the organization's French text, and back.
    survivor.click("[data-action=language]")
    wait_text(survivor, "#org-consent", CONSENT_FR.splitlines()[0])
    assert survivor.evaluate("document.documentElement.lang") == "fr-CA"
    assert "fenêtre privée" in text_of(survivor, "#consent")
    survivor.click("[data-action=language]")
    wait_text(survivor, "#org-consent", CONSENT_EN.splitlines()[0])
    assert survivor.evaluate("document.documentElement.lang") == "en"
    assert survivor.is_visible("#quick-exit")
    # "No": a calm page with a way back; still nothing asked of camera or microphone.
    survivor.click("[data-safe=no]")
    survivor.wait_for_selector(shown("not-safe"))
    assert "come back later" in text_of(survivor, "#not-safe")
    survivor.click("[data-action=safe-again]")
    survivor.wait_for_selector(shown("consent"))
    survivor.click("[data-safe=yes]")
    survivor.wait_for_selector("#join-form:not([hidden])")
    assert survivor.evaluate("window.__gum") == 0

    # The connection test, then join.
    survivor.check("input[name=mode][value=video]")
    survivor.click("#test")
    wait_text(survivor, "#echo-status", "Your camera, microphone and connection work", 20000)
    # The test's media went sealed end to end and came back opened: it says so.
    survivor.wait_for_selector("#echo-status[data-e2ee=works]")
    assert "End-to-end encryption works" in survivor.inner_text("#echo-status")
    survivor.click("#echo-done")
    survivor.wait_for_selector(shown("consent"))
    join_as(survivor, "video", "Hannah")
    wait_text(staff, "#lobby", "Hannah")
    wait_text(staff, "#announce", "Someone is waiting: Hannah")
    assert "video" in text_of(staff, "#lobby")
    admit(staff)
    survivor.wait_for_selector(shown("call"))
    wait_text(staff, "#people", "Hannah · video")
    wait_text(staff, "#announce", "Hannah joined")
    wait_for(lambda: set(survivor.evaluate(LIVE_TRACKS)) == {"audio", "video"}, what="media")

    chat_both_ways(staff, survivor, SECRET_LINE)
    # Errors come back by code and read in the page's language.
    survivor.fill("#chat-text", "   ")
    survivor.click("#chat-send")
    wait_text(survivor, "#chat-error", "The message is empty")
    survivor.evaluate("document.querySelector('#chat-text').removeAttribute('maxlength')")
    survivor.fill("#chat-text", "x" * 1001)
    survivor.click("#chat-send")
    wait_text(survivor, "#chat-error", "too long")

    cant_talk_and_back(staff, survivor, video=True)
    # The page keeps nothing on the device: no cookie, no storage, no database.
    assert survivor.evaluate("document.cookie") == ""
    assert survivor.evaluate("localStorage.length + sessionStorage.length") == 0
    assert survivor.evaluate("indexedDB.databases().then(d => d.length)") == 0

    # Check-ins: "yes" several times (timed), then "switch to audio only".
    for _ in range(CHECK_IN_RUNS):
        timings.append(check_in(staff, survivor, "ok"))
        wait_text(staff, NEWEST, "Hannah: yes, still comfortable and safe")
    check_in(staff, survivor, "audio")
    wait_text(staff, NEWEST, "Hannah asks to switch to audio only")
    wait_text(staff, "#people", "Hannah · audio only")
    assert survivor.get_attribute("[data-action=mode-audio]", "aria-pressed") == "true"
    wait_for(lambda: survivor.evaluate(LIVE_TRACKS) == ["audio"], what="the camera off")

    quick_exit(
        lab,
        staff,
        survivor,
        "Hannah",
        by_key=True,
        words=["Hannah", "Meet me", "Thank you", STAFF_NAME],
    )
    survivor.context.close()


def text_survivor(lab: Lab, staff: Any, link: str) -> None:
    """Text only, on a phone, in French: never a getUserMedia call, nothing played aloud."""
    survivor = lab.page(lab.survivor_browser, PHONE, touch=True, locale="fr-CA")
    open_page(survivor, f"{lab.origin}/guide", "#handout")
    consent_to(survivor, link)
    assert survivor.evaluate("document.documentElement.lang") == "fr-CA"
    wait_text(survivor, "#org-consent", CONSENT_FR.splitlines()[0])
    survivor.check("input[name=mode][value=text]")
    assert survivor.is_hidden("#test")
    join_as(survivor, "text", "Fern")
    wait_text(staff, "#lobby", "text only")
    admit(staff)
    survivor.wait_for_selector(shown("call"))
    wait_text(staff, "#people", "Fern · text only")
    wait_for(lambda: survivor.locator("video.remote").count() == 1, what="staff's tile")
    assert survivor.evaluate(REMOTE_MUTED) == [True]
    for hidden in ("mute", "camera"):
        assert survivor.is_hidden(f"[data-action={hidden}]")
    # Text only: the chat is open from the start, its box ready to type in.
    survivor.wait_for_selector(shown("chat"))
    survivor.wait_for_function("() => document.activeElement?.id === 'chat-text'")
    # Sound on plays staff's voice; off again silences it.
    survivor.tap("[data-action=sound]")
    assert survivor.evaluate(REMOTE_MUTED) == [False]
    survivor.tap("[data-action=sound]")
    assert survivor.evaluate(REMOTE_MUTED) == [True]
    # A message while the chat panel is closed is read out through the live region.
    survivor.tap("[data-action=chat]")
    assert survivor.is_hidden("#chat")
    staff.fill("#chat-text", "Bonjour Fern")
    staff.click("#chat-send")
    wait_text(survivor, "#announce", "Bonjour Fern")
    assert STAFF_NAME in survivor.evaluate("document.querySelector('#announce').textContent")

    chat_both_ways(staff, survivor, "Je suis dans la cuisine")
    # Too many lines at once: the server's code, read in the page's language (French here).
    for i in range(6):
        survivor.fill("#chat-text", f"ligne {i}")
        survivor.keyboard.press("Enter")
    wait_text(survivor, "#chat-error", "Trop de messages")
    cant_talk_and_back(staff, survivor, video=False)
    assert survivor.evaluate(REMOTE_MUTED) == [True]  # back, still silent: sound was off
    check_in(staff, survivor, "ok")
    wait_text(staff, NEWEST, "Fern: yes")
    assert survivor.evaluate("window.__gum") == 0
    assert survivor.evaluate("window.__tracks.length") == 0
    quick_exit(
        lab,
        staff,
        survivor,
        "Fern",
        by_key=False,
        words=["Fern", "cuisine", "Thank you", STAFF_NAME],
    )
    survivor.context.close()


def audio_survivor(lab: Lab, staff: Any, link: str) -> None:
    """Audio only: the camera is never opened; switching to video opens it, to text closes
    everything; "I need to go" tells staff and leaves."""
    survivor = lab.page(lab.survivor_browser, LAPTOP)
    consent_to(survivor, link)
    survivor.check("input[name=mode][value=audio]")
    assert "microphone" in text_of(survivor, "#test")
    join_as(survivor, "audio", "Ivy")
    admit(staff)
    survivor.wait_for_selector(shown("call"))
    wait_text(staff, "#people", "Ivy · audio only")
    assert survivor.evaluate("window.__tracks.map(t => t.kind)") == ["audio"]
    assert survivor.is_hidden("[data-action=camera]")
    survivor.click("[data-action=mode-video]")
    wait_text(staff, "#people", "Ivy · video")
    wait_for(lambda: "video" in survivor.evaluate(LIVE_TRACKS), what="the camera on")
    survivor.click("[data-action=mode-text]")
    wait_text(staff, "#people", "Ivy · text only")
    wait_for(lambda: survivor.evaluate(LIVE_TRACKS) == [], what="camera and microphone off")
    assert survivor.evaluate(REMOTE_MUTED) == [True]
    check_in(staff, survivor, "go")
    wait_text(staff, "#call-status", "Ivy needs to go")
    wait_text(staff, NEWEST, "Ivy left.")  # an ordinary leave reads as one
    assert "quickly" not in text_of(staff, NEWEST)
    assert "Ivy needs to go" in text_of(staff, "#call-status")  # the answer stays in view
    survivor.wait_for_selector(shown("done"))
    wait_for(lambda: staff.locator("[data-person]").count() == 0, what="Ivy gone")
    survivor.context.close()


def outside_hours(lab: Lab) -> None:
    """A call with its own time, made from staff's form: its link opened before then shows a
    calm page saying when it opens (no consent, no lobby); staff open the links anyway, and
    it works."""
    staff = lab.page(lab.staff_browser, LAPTOP)
    open_page(staff, f"{lab.origin}/staff", shown("sign-in"))
    staff.fill("#staff-name", STAFF_NAME)
    staff.fill("#password", STAFF_PASSWORD)
    staff.click("#sign-in-button")
    confirm_ready(staff)
    start = datetime.now(UTC) + timedelta(days=1)
    staff.click("#window summary")
    staff.fill("#window-start", start.strftime("%Y-%m-%dT%H:%M"))
    staff.fill("#window-end", (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    staff.click("#new-call")
    item = "[data-call]:has([data-action=open-anyway])"
    staff.wait_for_selector(item)
    assert "links open" in text_of(staff, item)
    link = staff.get_attribute(f"{item} [data-link=survivor]", "value")
    assert link

    survivor = lab.page(lab.survivor_browser, PHONE, touch=True)
    open_page(survivor, link, shown("done"))  # said at once, before any consent or choice
    assert "This link opens on" in text_of(survivor, "#notice")
    assert survivor.evaluate("window.__gum") == 0
    assert str(start.year) in text_of(survivor, "#notice")
    survivor.click("[data-action=language]")
    wait_text(survivor, "#notice", "Ce lien ouvrira le")

    staff.click(f"{item} [data-action=open-anyway]")
    wait_text(staff, item, "Keep to the hours again")
    again = survivor.context.new_page()
    consent_to(again, link)
    join_as(again, "text", "Oak")  # the lobby, this time
    survivor.context.close()
    staff.context.close()


def practice_and_hours_ending(lab: Lab) -> None:
    """A practice call is marked on staff's page; a call whose own time ends within ten
    minutes gives staff a notice in the call (the call goes on)."""
    staff = lab.page(lab.staff_browser, LAPTOP)
    open_page(staff, f"{lab.origin}/staff", shown("sign-in"))
    staff.fill("#staff-name", STAFF_NAME)
    staff.fill("#password", STAFF_PASSWORD)
    staff.click("#sign-in-button")
    confirm_ready(staff)
    before = staff.locator("[data-call]").count()
    staff.check("#practice")
    staff.click("#new-call")
    wait_for(lambda: staff.locator("[data-call]").count() == before + 1, what="the new call")
    practice = "[data-call]:has-text('Practice call')"
    staff.click(f"{practice} [data-action=join-call]")
    lab.wait_shown(staff, "call")
    assert staff.is_visible("#call .practice")
    staff.click("[data-action=leave]")
    staff.wait_for_selector(shown("calls-view"))

    now = datetime.now(UTC)
    staff.uncheck("#practice")
    staff.click("#window summary")
    staff.fill("#window-start", (now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M"))
    staff.fill("#window-end", (now + timedelta(minutes=6)).strftime("%Y-%m-%dT%H:%M"))
    staff.click("#new-call")
    wait_for(lambda: staff.locator("[data-call]").count() == before + 2, what="the timed call")
    staff.click("[data-call]:last-child [data-action=join-call]")
    lab.wait_shown(staff, "call")
    assert staff.is_hidden("#call .practice")
    wait_text(staff, NEWEST, "The contact hours end at")
    staff.context.close()


def test_survivor_path_in_chromium(tmp_path: Path, staff_path: Path) -> None:
    timings: list[float] = []
    with lab_with_server(tmp_path, staff_path) as lab:
        staff, links = staff_in_new_call(lab)
        link = links["survivor"]
        video_survivor(lab, staff, link, timings)
        text_survivor(lab, staff, link)
        audio_survivor(lab, staff, link)
        outside_hours(lab)
        practice_and_hours_ending(lab)
        foreign = lab.foreign_requests()
        logs = lab.server.stop()
    assert not foreign, f"pages requested {foreign}"
    for secret in ("Meet me where we said", "Je suis dans la cuisine", "Hannah", "Fern"):
        assert secret not in logs
    median = statistics.median(timings)
    print(
        f"\nstaff's check in -> the survivor's prompt: median {median * 1000:.0f} ms over "
        f"{len(timings)} runs: {[round(t * 1000) for t in timings]} ms"
    )
    assert len(timings) == CHECK_IN_RUNS
