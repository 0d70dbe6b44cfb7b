"""Browser: the survivor's whole path in Debian's firefox-esr, with staff as an aiortc peer.

Consent -> a way to talk (video, audio only, text only) -> lobby -> admitted -> call -> chat
both ways -> "I can't talk now" and back -> check-in answers -> quick exit. Firefox is
driven over WebDriver BiDi (tests/firefox.py) on loopback; the quick exit goes to a page on
a second loopback server of the test, which holds its answer until the test has looked at
the call page that is being left.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from browser import INBOUND_STATS, RECORD_PEER_CONNECTIONS
from conftest import STAFF_NAME, RunningServer, loopback_config, start_server
from firefox import Firefox, require_firefox
from test_call_aiortc import staff_in_call
from test_firefox_call import firefox_receives

from bench.client import Participant
from server.tls import server_context
from signaling.protocol import Admit, LobbyWaiting, Message

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
SCREENSHOTS = REPO / "tests" / "screenshots"
MEDIA_TIMEOUT = 30.0  # seconds from admitting the survivor until media flows
PHONE, LAPTOP = (390, 844), (1280, 800)
CONSENT = {
    "en": "Riverside Shelter: <b>we</b> keep nothing.\nCall us back on the usual number.",
    "fr": "Refuge Riverside : <b>nous</b> ne gardons rien.\nRappelez-nous au numéro habituel.",
}

# Counts every request for camera or microphone, whatever API the page uses, and keeps the
# tracks it got, so the test can tell which are still live.
RECORD_GET_USER_MEDIA = """
(() => {
  window.__gum = [];
  window.__tracks = [];
  const keep = (constraints) => {
    try { window.__gum.push(JSON.parse(JSON.stringify(constraints ?? null))); }
    catch (e) { window.__gum.push("?"); }
  };
  if (window.MediaDevices) {
    const original = MediaDevices.prototype.getUserMedia;
    MediaDevices.prototype.getUserMedia = async function (constraints) {
      keep(constraints);
      const stream = await original.call(this, constraints);
      window.__tracks.push(...stream.getTracks());
      return stream;
    };
  }
  for (const name of ["getUserMedia", "mozGetUserMedia", "webkitGetUserMedia"]) {
    if (navigator[name]) {
      const old = navigator[name];
      navigator[name] = function (constraints, ...rest) {
        keep(constraints);
        return old.call(this, constraints, ...rest);
      };
    }
  }
})();
"""

# Every track the page holds: from getUserMedia, its senders, its receivers, its media elements,
# and every one it held when this last ran (a closed connection may list no receiver).
TRACKS = """
() => {
  const all = window.__held = new Set([...(window.__held || []), ...(window.__tracks || [])]);
  const remote = new Set();
  for (const pc of window.__pcs || []) {
    for (const s of pc.getSenders()) if (s.track) all.add(s.track);
    for (const r of pc.getReceivers()) if (r.track) { all.add(r.track); remote.add(r.track); }
  }
  for (const m of document.querySelectorAll("audio, video")) {
    if (m.srcObject) for (const t of m.srcObject.getTracks()) all.add(t);
  }
  return [...all].map(t => ({
    kind: t.kind, state: t.readyState, enabled: t.enabled,
    local: (window.__tracks || []).includes(t), remote: remote.has(t),
  }));
}
"""

# The media elements that play what comes from the server (the other people).
REMOTE_MEDIA = """
() => {
  const remote = new Set();
  for (const pc of window.__pcs || []) {
    for (const r of pc.getReceivers()) if (r.track) remote.add(r.track);
  }
  return [...document.querySelectorAll("audio, video")]
    .filter(m => m.srcObject && m.srcObject.getTracks().some(t => remote.has(t)))
    .map(m => ({tag: m.tagName.toLowerCase(), muted: m.muted, volume: m.volume}));
}
"""


# The text a person looking at the screen can see: rendered, not clipped to a pixel (as the
# live region for screen readers is), not transparent.
VISIBLE_TEXT = """
() => {
  const seen = (el) => {
    if (!el.checkVisibility({opacityProperty: true, visibilityProperty: true})) return false;
    for (let e = el; e && e !== document.body; e = e.parentElement) {
      const r = e.getBoundingClientRect();
      if ((r.width <= 1 || r.height <= 1) && getComputedStyle(e).overflow !== "visible") {
        return false;
      }
    }
    return true;
  };
  const parts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.textContent.trim() && n.parentElement && seen(n.parentElement)) {
      parts.push(n.textContent.trim());
    }
  }
  return parts.join(" ");
}
"""


# Which of the shown elements matching each selector are not wholly on screen (unscrolled).
OUT_OF_VIEW = """
(selectors) => {
  const out = [];
  for (const selector of selectors) {
    const all = [...document.querySelectorAll(selector)].filter(e => e.checkVisibility());
    if (!all.length) out.push(selector + ": none shown");
    for (const e of all) {
      const r = e.getBoundingClientRect();
      if (r.width < 1 || r.height < 1 || r.left < 0 || r.top < 0 ||
          r.right > innerWidth || r.bottom > innerHeight) {
        out.push(`${selector} at ${Math.round(r.left)},${Math.round(r.top)} ` +
                 `${Math.round(r.width)}x${Math.round(r.height)} in ${innerWidth}x${innerHeight}`);
      }
    }
  }
  return out;
}
"""


def shown(selector: str) -> str:
    """JS: the element exists, is not hidden (nor inside something hidden) and has a box."""
    return (
        f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
        " return !!e && !e.closest('[hidden]') && e.getClientRects().length > 0; })()"
    )


def click(selector: str) -> str:
    return f"document.querySelector({json.dumps(selector)}).click()"


@dataclass
class ExitSite:
    """The neutral page the quick exit goes to (https on loopback): it answers only once the
    test lets it, so the test can look at the call page while it is being left."""

    url: str = ""
    asked: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    headers: list[dict[str, str]] = field(default_factory=list)

    async def page(self, request: web.Request) -> web.Response:
        self.headers.append(dict(request.headers))
        self.asked.set()
        try:
            await asyncio.wait_for(self.release.wait(), 20)
        except TimeoutError:
            pass
        body = "<!doctype html><html lang=en><title>Weather</title><p>Sunny, 21 degrees.</p>"
        return web.Response(text=body, content_type="text/html")


@asynccontextmanager
async def exit_site() -> AsyncIterator[ExitSite]:
    site = ExitSite()
    app = web.Application()
    app.router.add_get("/weather", site.page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context("", "", "127.0.0.1"))
    await tcp.start()
    site.url = f"https://127.0.0.1:{runner.addresses[0][1]}/weather?q=today"
    try:
        yield site
    finally:
        site.release.set()
        await runner.cleanup()


@pytest.fixture
async def exit_page() -> AsyncIterator[ExitSite]:
    async with exit_site() as site:
        yield site


@pytest.fixture
async def welcoming_server(staff_path: Path, exit_page: ExitSite) -> AsyncIterator[RunningServer]:
    """The server with the organization's consent text and the test's exit page."""
    config = loopback_config(staff_path, consent_file=CONSENT, exit_url=exit_page.url)
    runner, running = await start_server(config)
    try:
        yield running
    finally:
        await runner.cleanup()


async def seen(
    person: Participant,
    kind: str,
    since: int = 0,
    timeout: float = 10.0,
    where: Callable[[Any], bool] = lambda m: True,
) -> Message:
    """The first message of type `kind` this participant got after its `since`-th, for which
    `where` holds (messages are not consumed: tests can look for several in any order)."""
    deadline = time.monotonic() + timeout
    while True:
        for message in person.seen[since:]:
            if message.type == kind and where(message):
                return message
        if time.monotonic() > deadline:
            got = [m.type for m in person.seen[since:]]
            raise AssertionError(f"staff got no matching {kind!r} within {timeout} s: {got}")
        await asyncio.sleep(0.05)


class Survivor:
    """The survivor's page in Firefox, with what the test checks on it."""

    def __init__(self, firefox: Firefox, name: str, shots: str) -> None:
        self.ff = firefox
        self.name = name
        self.shots = shots

    async def shot(self, state: str) -> None:
        await self.ff.screenshot(SCREENSHOTS / f"firefox-{self.shots}-{state}.png")

    async def wait_shown(self, selector: str, what: str, timeout: float = 15.0) -> None:
        await self.ff.wait_for(shown(selector), timeout=timeout, what=what)

    async def out_of_view(self, *selectors: str) -> list[str]:
        out: list[str] = await self.ff.call(f"() => ({OUT_OF_VIEW})({json.dumps(list(selectors))})")
        return out

    async def gum_calls(self) -> list[Any]:
        calls: list[Any] = await self.ff.evaluate("window.__gum")
        return calls

    async def tracks(self) -> list[dict[str, Any]]:
        tracks: list[dict[str, Any]] = await self.ff.call(TRACKS)
        return tracks

    async def remote_media(self) -> list[dict[str, Any]]:
        media: list[dict[str, Any]] = await self.ff.call(REMOTE_MEDIA)
        return media

    async def consent_and_join(self, mode: str) -> None:
        """Read the consent page, say it is safe to talk, choose `mode`, type a name, join."""
        await self.wait_shown("#consent", "the consent page")
        await self.shot("consent")
        # Nothing touches the camera or microphone before the survivor chooses.
        assert await self.gum_calls() == []
        await self.ff.evaluate(click('[data-safe="yes"]'))
        await self.wait_shown(f'input[name="mode"][value="{mode}"]', f"the {mode} choice")
        await self.ff.evaluate(click(f'input[name="mode"][value="{mode}"]'))
        assert await self.ff.evaluate(
            f'document.querySelector(\'input[name="mode"][value="{mode}"]\').checked'
        )
        if mode == "text":
            # No connection test in text: it would need the camera and microphone.
            test_usable = await self.ff.evaluate(
                "(() => { const t = document.querySelector('#test');"
                " return !!t && !t.disabled && !t.closest('[hidden]')"
                " && t.getClientRects().length > 0; })()"
            )
            assert not test_usable, "the connection test is offered in text only"
        await self.ff.evaluate(
            "(() => { const n = document.querySelector('#name');"
            f" n.value = {json.dumps(self.name)};"
            " n.dispatchEvent(new Event('input', {bubbles: true})); })()"
        )
        await self.shot(f"consent-{mode}")
        assert await self.gum_calls() == []
        await self.ff.evaluate(click("#join"))

    async def open_chat(self) -> None:
        if not await self.ff.evaluate(shown("#chat-text")):
            await self.ff.evaluate(click('[data-action="chat"]'))
        await self.wait_shown("#chat-text", "the chat panel")

    async def say(self, text: str) -> None:
        await self.open_chat()
        await self.ff.evaluate(
            "(() => { const t = document.querySelector('#chat-text');"
            f" t.focus(); t.value = {json.dumps(text)};"
            " t.dispatchEvent(new Event('input', {bubbles: true}));"
            " document.querySelector('#chat-send').click(); })()"
        )

    async def chat_log(self) -> str:
        text: str = await self.ff.evaluate("document.querySelector('#chat-log')?.textContent ?? ''")
        return text


async def chat_both_ways(page: Survivor, staff: Participant, survivor_id: str) -> list[str]:
    """The survivor writes to staff, staff writes back with markup that must stay text."""
    mine = f"Hello from {page.shots}, the kids are asleep"
    mark = len(staff.seen)
    await page.say(mine)
    line = await seen(staff, "chat", mark, where=lambda m: m.text == mine)
    assert line.participant == survivor_id  # type: ignore[attr-defined]
    await page.ff.wait_for(
        f"document.querySelector('#chat-log')?.textContent.includes({json.dumps(mine)})",
        what="the survivor's own line in the chat",
    )
    theirs = "<img src=/nope.png> Take your time <b>please</b>"
    await staff.send(json.dumps({"type": "chat", "text": theirs}))
    await page.ff.wait_for(
        f"document.querySelector('#chat-log')?.textContent.includes({json.dumps(theirs)})",
        what="staff's line in the survivor's chat",
    )
    # Shown as text: no element came from the message.
    assert await page.ff.evaluate("document.querySelector('#chat-log img, #chat-log b') === null")
    await page.shot("chat")
    return [mine, theirs]


async def check_in(
    page: Survivor, staff: Participant, survivor_id: str, answer: str
) -> tuple[float, Message]:
    """Staff checks in, the survivor answers; returns the time to the prompt and the answer
    staff got."""
    mark = len(staff.seen)
    assert not await page.ff.evaluate(shown("#check-in")), "a check-in prompt before asking"
    started = time.monotonic()
    await staff.send(json.dumps({"type": "check-in"}))
    await page.wait_shown("#check-in", "the check-in prompt", timeout=10)
    elapsed = time.monotonic() - started
    said = await page.ff.evaluate(
        "import(`/static/i18n/${document.documentElement.lang.split('-')[0]}.js`)"
        ".then(m => m.default.announce.checkIn)"
    )
    await page.ff.wait_for(
        f"document.querySelector('#announce').textContent.includes({json.dumps(said)})",
        what="the check-in said in the live region",
    )
    if answer == "ok":
        await page.shot("check-in")
    await page.ff.evaluate(click(f'#check-in [data-answer="{answer}"]'))
    got = await seen(
        staff,
        "check-in-answer",
        mark,
        where=lambda m: m.participant == survivor_id and m.answer == answer,
    )
    await page.ff.wait_for(f"!{shown('#check-in')}", what="the check-in prompt to go once answered")
    return elapsed, got


async def quick_exit(
    page: Survivor,
    staff: Participant,
    survivor_id: str,
    exit: ExitSite,
    server: RunningServer,
    secrets: list[str],
    by_key: bool,
    told: str = "peer-left",
) -> None:
    """Leave quickly (Esc or the button) and check what is left: no live track, no chat and
    no name in the page, a replaced history entry, Back not returning, staff told."""
    ff = page.ff
    await page.wait_shown("#quick-exit", "the quick exit button")
    length = await ff.evaluate("history.length")
    held = await page.tracks()  # noted, to be checked again once the page is left
    mark = len(staff.seen)
    if by_key:
        await ff.press("ESCAPE")
    else:
        await ff.evaluate(click("#quick-exit"))
    await asyncio.wait_for(exit.asked.wait(), 10)
    # The exit page is on its way: the call page is still there, being left.
    left = await seen(staff, told, mark, where=lambda m: m.participant == survivor_id)
    assert left.quick is True, left  # type: ignore[attr-defined]
    deadline = time.monotonic() + 5
    while True:
        tracks = await page.tracks()
        live = [t for t in tracks if t["state"] != "ended"]
        text = await ff.evaluate(
            "document.documentElement.outerHTML + document.documentElement.textContent"
            " + [...document.querySelectorAll('input, textarea')].map(e => e.value).join(' ')"
        )
        kept = [s for s in [*secrets, page.name, STAFF_NAME] if s in text]
        if not live and not kept:
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"after the quick exit: live tracks {live}, page still has {kept}")
        await asyncio.sleep(0.1)
    assert held and len(tracks) >= len(held), (held, tracks)
    exit.release.set()
    deadline = time.monotonic() + 15
    while (url := await ff.url()) != exit.url:
        if time.monotonic() > deadline:
            raise AssertionError(f"the quick exit did not reach {exit.url}: at {url}")
        await asyncio.sleep(0.1)
    await ff.wait_for("document.readyState === 'complete'", what="the exit page")
    assert await ff.evaluate("history.length") == length, "the quick exit added a history entry"
    # The exit site is not told where the person came from.
    assert all("Referer" not in h for h in exit.headers), exit.headers
    # Back goes to what was before the call page, not to it.
    try:
        await ff.traverse_history(-1)
    except Exception as exc:  # no earlier entry at all: Back cannot return either
        assert "no such history entry" in str(exc), exc
    await asyncio.sleep(1.0)
    back = await ff.url()
    assert not back.startswith(server.base), f"Back returned to {back}"


def page_requests(firefox: Firefox) -> list[str]:
    return [
        e["params"]["request"]["url"]
        for e in firefox.events
        if e["method"] == "network.beforeRequestSent"
    ]


@asynccontextmanager
async def survivor_in_call(
    server: RunningServer,
    http: aiohttp.ClientSession,
    tmp_path: Path,
    mode: str,
    language: str,
    exit_url: str,
    viewport: tuple[int, int] = LAPTOP,
    admit: bool = True,
) -> AsyncIterator[tuple[Survivor, Participant, str]]:
    """Firefox (in `language`) on the survivor link, through consent and the lobby, admitted
    by staff (an aiortc peer sending audio and video); yields the page, staff and the
    survivor's participant id."""
    require_firefox()
    _api, call, staff = await staff_in_call(http, server)
    link = str(call["links"]["survivor"])  # type: ignore[index]
    prefs: dict[str, bool | int | str] = {"intl.accept_languages": language}
    try:
        async with Firefox(tmp_path / "firefox", prefs) as firefox:
            await firefox.subscribe("network.beforeRequestSent")
            await firefox.add_preload_script(RECORD_PEER_CONNECTIONS)
            await firefox.add_preload_script(RECORD_GET_USER_MEDIA)
            await firefox.set_viewport(*viewport)
            size = "phone" if viewport == PHONE else "laptop"
            page = Survivor(firefox, "Fern" if language == "en" else "Fougère", f"{mode}-{size}")
            await firefox.navigate(link)
            lang = await firefox.evaluate("document.documentElement.lang")
            assert lang.split("-")[0] == language, lang
            org = await firefox.wait_for(
                "document.querySelector('#org-consent')?.textContent", what="the org's text"
            )
            assert CONSENT[language] in org
            assert await firefox.evaluate("document.querySelector('#org-consent b') === null")
            # The switch on the page changes the language, the org's text with it, and back.
            other = "fr" if language == "en" else "en"
            for now in (other, language):
                await firefox.evaluate(click('[data-action="language"]'))
                lang = await firefox.evaluate("document.documentElement.lang")
                assert lang.split("-")[0] == now, lang
                org = await firefox.evaluate("document.querySelector('#org-consent').textContent")
                assert CONSENT[now] in org, org
            mark = len(staff.seen)
            await page.consent_and_join(mode)
            waiting = await seen(staff, "lobby-waiting", mark, timeout=15)
            assert isinstance(waiting, LobbyWaiting) and waiting.name == page.name
            assert waiting.mode == mode, waiting  # staff know before admitting
            survivor_id = waiting.participant
            await page.wait_shown("#lobby", "the lobby")
            await page.shot("lobby")
            if admit:
                await staff.send(Admit(survivor_id))
                await page.wait_shown("#call", "the call")
                joined = await seen(
                    staff, "peer-joined", mark, where=lambda m: m.peer.participant == survivor_id
                )
                assert joined.peer.mode == mode, joined  # type: ignore[attr-defined]
                await staff.start_media(max_participants=4)
            yield page, staff, survivor_id
            # Every request the page made went to the server or to the exit page.
            urls = page_requests(firefox)
            assert f"{server.base}/static/join.js" in urls, urls
            exit_origin = exit_url.split("/weather", 1)[0] + "/"
            allowed = (f"{server.base}/", exit_origin, "data:", "blob:")
            foreign = [u for u in urls if not u.startswith(allowed)]
            assert not foreign, f"the page requested {foreign}"
    finally:
        await staff.close()


async def until(check: Callable[[], Any], what: str, timeout: float = MEDIA_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.25)


async def test_survivor_path_in_firefox_with_video(
    welcoming_server: RunningServer,
    http: aiohttp.ClientSession,
    tmp_path: Path,
    exit_page: ExitSite,
) -> None:
    server = welcoming_server
    async with survivor_in_call(server, http, tmp_path, "video", "en", exit_page.url, PHONE) as (
        page,
        staff,
        sid,
    ):
        ff = page.ff
        gum = await page.gum_calls()
        assert gum and all(c and c.get("video") for c in gum), gum

        async def flowing() -> bool:
            rows = await ff.call(INBOUND_STATS)
            return (
                firefox_receives(rows)
                and staff.received("video", sid) > 20
                and staff.received("audio", sid) > 20
            )

        await until(flowing, "media both ways")

        async def video_frames() -> int:
            rows = await ff.call(INBOUND_STATS)
            return sum(int(r["framesDecoded"]) for r in rows if r["kind"] == "video")

        await page.shot("call")
        # On a phone: the other person's video, every control and the quick exit, unscrolled.
        await ff.evaluate("document.activeElement?.blur(); window.scrollTo(0, 0)")
        remote_video = (
            "#tiles video:not([hidden])"  # the tiles; the survivor's own is checked with them
        )
        out = await page.out_of_view("#quick-exit", "#controls button", remote_video)
        assert not out, f"not on screen at phone size: {out}"
        secrets = await chat_both_ways(page, staff, sid)

        # I can't talk now: staff told, a neutral screen, nothing heard, camera off, mic muted.
        mark = len(staff.seen)
        await ff.evaluate(click('#controls [data-action="cant-talk"]'))
        got = await seen(staff, "peer-cant-talk", mark, where=lambda m: m.participant == sid)
        assert got.on is True  # type: ignore[attr-defined]
        await page.wait_shown("#cant-talk", "the neutral screen")
        assert not await ff.evaluate(shown("#call")), "the call still shows under can't-talk"
        await page.shot("cant-talk")
        # A plain screen: someone looking over the shoulder sees no name and no chat.
        visible = await ff.call(VISIBLE_TEXT)
        assert visible.strip(), "nothing at all on the neutral screen"
        shows = [s for s in [*secrets, page.name, STAFF_NAME] if s in visible]
        assert not shows, f"the can't-talk screen shows {shows}: {visible!r}"
        remote = await page.remote_media()
        assert remote and all(m["muted"] for m in remote), remote
        local = [t for t in await page.tracks() if t["local"]]
        assert all(t["state"] == "ended" for t in local if t["kind"] == "video"), local
        assert all(
            t["state"] == "ended" or not t["enabled"] for t in local if t["kind"] == "audio"
        ), local
        await asyncio.sleep(1.0)  # what was in flight
        before = staff.received("video", sid)
        await asyncio.sleep(2.0)
        assert staff.received("video", sid) - before < 5, "video still sent while can't-talk"
        # Back: staff told, the camera and microphone come back, video flows again.
        calls = len(await page.gum_calls())
        mark = len(staff.seen)
        await ff.evaluate(click('#cant-talk [data-action="back"]'))
        got = await seen(staff, "peer-cant-talk", mark, where=lambda m: m.participant == sid)
        assert got.on is False  # type: ignore[attr-defined]
        await page.wait_shown("#call", "the call again")
        assert len(await page.gum_calls()) > calls, "the camera was not asked for again"
        base = staff.received("video", sid)

        async def video_again() -> bool:
            return staff.received("video", sid) > base + 20

        await until(video_again, "the survivor's video to staff again", timeout=15)
        local = [t for t in await page.tracks() if t["local"] and t["state"] == "live"]
        assert {t["kind"] for t in local} == {"audio", "video"}, local
        assert all(t["enabled"] for t in local if t["kind"] == "audio"), local
        remote = await page.remote_media()
        assert any(not m["muted"] for m in remote), remote

        # Check-ins: each answer reaches staff; "audio" and "text" switch the page too.
        times = []
        elapsed, _ = await check_in(page, staff, sid, "ok")
        times.append(elapsed)
        mark = len(staff.seen)
        elapsed, _ = await check_in(page, staff, sid, "audio")
        times.append(elapsed)
        await seen(
            staff, "peer-mode", mark, where=lambda m: m.participant == sid and m.mode == "audio"
        )
        # Audio only: the survivor's camera is off and no video comes to the page any more.
        await ff.wait_for(
            f"({TRACKS})().every(t => !t.local || t.kind !== 'video' || t.state === 'ended')",
            what="the camera to stop on audio only",
        )
        await asyncio.sleep(1.0)
        frames = await video_frames()
        await asyncio.sleep(2.0)
        assert await video_frames() - frames < 5, "video still comes to an audio-only page"
        mark = len(staff.seen)
        elapsed, _ = await check_in(page, staff, sid, "text")
        times.append(elapsed)
        await seen(
            staff, "peer-mode", mark, where=lambda m: m.participant == sid and m.mode == "text"
        )
        # Text only: no microphone or camera, and nothing plays out loud.
        await ff.wait_for(
            f"({TRACKS})().every(t => !t.local || t.state === 'ended')",
            what="the microphone and camera to stop on text only",
        )
        remote = await page.remote_media()
        assert all(m["muted"] for m in remote), remote
        print(f"check-in to prompt: {[round(t * 1000) for t in times]} ms")

        await quick_exit(page, staff, sid, exit_page, server, secrets, by_key=True)


@pytest.mark.parametrize(("mode", "language"), [("audio", "en"), ("text", "fr")])
async def test_survivor_path_in_firefox_without_video(
    welcoming_server: RunningServer,
    http: aiohttp.ClientSession,
    tmp_path: Path,
    exit_page: ExitSite,
    mode: str,
    language: str,
) -> None:
    server = welcoming_server
    async with survivor_in_call(server, http, tmp_path, mode, language, exit_page.url) as (
        page,
        staff,
        sid,
    ):
        ff = page.ff

        if mode == "audio":
            gum = await page.gum_calls()
            assert gum and all(c and c.get("audio") and not c.get("video") for c in gum), gum

            async def flowing() -> bool:
                return staff.received("audio", sid) > 20

            await until(flowing, "the survivor's audio to staff")
            rows = await ff.call(INBOUND_STATS)
            # Audio only: the server forwards no video to the survivor.
            assert not [r for r in rows if r["kind"] == "video" and r["framesDecoded"] > 0], rows
            assert staff.received("video", sid) == 0
        else:
            # Text only: remote sound plays only once the survivor turns it on.
            async def playing() -> bool:
                return bool(await page.remote_media())

            await until(playing, "the media elements for staff")
            remote = await page.remote_media()
            assert all(m["muted"] for m in remote), remote
            await ff.evaluate(click('#controls [data-action="sound"]'))
            await ff.wait_for(
                f"({REMOTE_MEDIA})().some(m => !m.muted)", what="sound on after pressing it"
            )
        await page.shot("call")
        secrets = await chat_both_ways(page, staff, sid)
        if mode == "audio":
            # Can't talk now from the keyboard (Alt+Shift+H), and back.
            mark = len(staff.seen)
            await ff.press("H", "ALT", "SHIFT")
            got = await seen(staff, "peer-cant-talk", mark, where=lambda m: m.participant == sid)
            assert got.on is True  # type: ignore[attr-defined]
            await page.wait_shown("#cant-talk", "the neutral screen")
            remote = await page.remote_media()
            assert remote and all(m["muted"] for m in remote), remote
            local = [t for t in await page.tracks() if t["local"] and t["state"] == "live"]
            assert not [t for t in local if t["enabled"]], local
            mark = len(staff.seen)
            await ff.evaluate(click('#cant-talk [data-action="back"]'))
            got = await seen(staff, "peer-cant-talk", mark, where=lambda m: m.participant == sid)
            assert got.on is False  # type: ignore[attr-defined]
            await page.wait_shown("#call", "the call again")
            local = [t for t in await page.tracks() if t["local"] and t["state"] == "live"]
            assert [t["kind"] for t in local if t["enabled"]] == ["audio"], local
            # "I need to go": staff get the answer, and the page hangs up.
            mark = len(staff.seen)
            await check_in(page, staff, sid, "go")
            left = await seen(staff, "peer-left", mark, where=lambda m: m.participant == sid)
            assert left.quick is False, left  # type: ignore[attr-defined]
            await page.wait_shown("#done", "the goodbye page")
            await page.shot("done")
            live = [t for t in await page.tracks() if t["state"] != "ended"]
            assert not live, live
        else:
            # Too many lines at once: the server refuses, the page says so in its language.
            mark = len(staff.seen)
            burst = [f"ligne {i} du message" for i in range(6)]
            for line in burst:
                await page.say(line)
            await ff.wait_for(
                "document.querySelector('#chat-error').textContent.trim()",
                what="the chat error",
            )
            shown_error = await ff.evaluate("document.querySelector('#chat-error').textContent")
            expected = await ff.evaluate(
                "import('/static/i18n/fr.js').then(m => m.default.errors['chat-rate'])"
            )
            assert expected and shown_error.strip() == expected, (shown_error, expected)
            relayed = [m for m in staff.seen[mark:] if m.type == "chat"]
            assert 4 <= len(relayed) <= 5, relayed  # 5 in 10 s (maybe the first line too)
            secrets += burst
            await check_in(page, staff, sid, "ok")
            assert await page.gum_calls() == [], "text only asked for camera or microphone"
            await quick_exit(page, staff, sid, exit_page, server, secrets, by_key=False)


async def test_quick_exit_from_the_lobby_in_firefox(
    welcoming_server: RunningServer,
    http: aiohttp.ClientSession,
    tmp_path: Path,
    exit_page: ExitSite,
) -> None:
    """Waiting to be let in, with the camera preview on: Esc leaves as quickly, staff are
    told it was the quick exit, and the camera is off."""
    server = welcoming_server
    async with survivor_in_call(
        server, http, tmp_path, "video", "en", exit_page.url, PHONE, admit=False
    ) as (page, staff, sid):
        await page.ff.wait_for(
            f"({TRACKS})().some(t => t.local && t.kind === 'video' && t.state === 'live')",
            what="the camera preview in the lobby",
        )
        out = await page.out_of_view("#quick-exit")
        assert not out, f"not on screen at phone size: {out}"
        await quick_exit(page, staff, sid, exit_page, server, [], by_key=True, told="lobby-left")
