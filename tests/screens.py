"""Survivor-page test support: one server in a namespace, one Chromium per host (a context per
person), the staff page in a call, and a survivor page driven through its states."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from browser import (
    CHROMIUM_FLAGS,
    RECORD_PEER_CONNECTIONS,
    ServerProcess,
    confirm_ready,
    open_page,
    start_server,
)
from conftest import STAFF_NAME, STAFF_PASSWORD
from netlab import NetLab, require_netns

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"

# Where the quick exit goes in tests: answered by the test itself (route), never fetched.
EXIT_URL = "https://weather.example/today"
ORG_CHECK_IN = 25  # the server's default check-in interval in these tests

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}

CONSENT_EN = "Our own consent text.\nWe keep no notes with your name."
CONSENT_FR = "Notre texte de consentement.\nNous ne gardons aucune note à votre nom."
HANDOUT_EN = "Call us at the usual number if the link does not work."
HANDOUT_FR = "Appelez-nous au numéro habituel si le lien ne fonctionne pas."

# Counts getUserMedia calls and keeps every track it handed out, to check what the page did.
RECORD_MEDIA = """
(() => {
  window.__gum = 0;
  window.__tracks = [];
  const devices = navigator.mediaDevices;
  if (!devices) return;
  const original = devices.getUserMedia.bind(devices);
  devices.getUserMedia = async (constraints) => {
    window.__gum += 1;
    const stream = await original(constraints);
    window.__tracks.push(...stream.getTracks());
    return stream;
  };
})();
"""

# When the quick exit empties the page (just before it leaves), report what is left to the
# test through the __exitState binding: live tracks, text, open connections, history length.
REPORT_EXIT = """
document.addEventListener("DOMContentLoaded", () => {
  const observer = new MutationObserver(() => {
    if (document.body.childElementCount !== 0) return;
    observer.disconnect();
    window.__exitState({
      live: window.__tracks.filter(t => t.readyState === "live").map(t => t.kind),
      text: document.documentElement.textContent,
      open: (window.__pcs || []).filter(pc => pc.connectionState !== "closed").length,
      history: history.length,
      media: [...document.querySelectorAll("video, audio")].length,
    });
  });
  observer.observe(document.body, { childList: true });
});
"""

LIVE_TRACKS = "() => window.__tracks.filter(t => t.readyState === 'live').map(t => t.kind)"


def shown(section: str) -> str:
    return f"#{section}:not([hidden])"


def message_type(frame: Any) -> str:
    """The type of a signaling message (and an error's code), not its content."""
    try:
        message = json.loads(frame if isinstance(frame, str) else frame.decode())
        return f"{message.get('type')} {message.get('code', '')}".strip()
    except (ValueError, AttributeError, UnicodeDecodeError):
        return "(not a message)"


def wait_for(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Lab:
    """The server, a Chromium for staff and one for survivors, and every request made."""

    server: ServerProcess
    staff_browser: Any
    survivor_browser: Any
    hosts: dict[str, Any]
    requests: list[str] = field(default_factory=list)
    exits: list[Any] = field(default_factory=list)  # quick-exit navigations held by the test
    exit_states: list[dict[str, Any]] = field(default_factory=list)  # from REPORT_EXIT
    trace: list[str] = field(default_factory=list)  # what pages said: told when a wait fails

    @property
    def origin(self) -> str:
        return self.server.url

    def context(
        self, browser: Any, size: dict[str, int], touch: bool = False, locale: str = "en-CA"
    ) -> Any:
        context = browser.new_context(
            ignore_https_errors=True, viewport=size, has_touch=touch, locale=locale
        )
        context.add_init_script(RECORD_PEER_CONNECTIONS)
        context.add_init_script(RECORD_MEDIA)
        context.expose_binding("__exitState", lambda _source, state: self.exit_states.append(state))
        context.add_init_script(REPORT_EXIT)
        context.set_default_timeout(20000)
        context.on("request", lambda r: self.requests.append(r.url))
        # The quick exit's page is answered here when the test lets it go (see release_exit).
        context.route(f"{EXIT_URL}*", lambda route: self.exits.append(route))
        context.on("page", self._trace_page)
        return context

    def _trace_page(self, page: Any) -> None:
        """Keep what a page logs, throws and says on its sockets (message types only)."""
        note = self.trace.append
        page.on("console", lambda m: note(f"console {m.type}: {m.text}"))
        page.on("pageerror", lambda e: note(f"page error: {e}"))

        def socket(ws: Any) -> None:
            ws.on("framesent", lambda f: note(f"sent {message_type(f)}"))
            ws.on("framereceived", lambda f: note(f"received {message_type(f)}"))
            ws.on("close", lambda _: note("socket closed"))

        page.on("websocket", socket)

    def wait_shown(self, page: Any, section: str) -> None:
        """Wait for a section of the page to show; if it does not, say what the pages did."""
        try:
            page.wait_for_selector(shown(section))
        except Exception as exc:
            recent = "\n".join(self.trace[-40:])
            raise AssertionError(f"#{section} did not show; the pages said:\n{recent}") from exc

    def page(
        self,
        browser: Any,
        size: dict[str, int] = LAPTOP,
        touch: bool = False,
        locale: str = "en-CA",
    ) -> Any:
        return self.context(browser, size, touch, locale).new_page()

    def foreign_requests(self) -> list[str]:
        own = (self.origin + "/", "data:", "blob:", EXIT_URL)
        return [u for u in self.requests if not u.startswith(own)]


def release_exit(lab: Lab) -> None:
    """Let the held quick-exit navigation(s) complete with a plain page."""
    while lab.exits:
        lab.exits.pop().fulfill(
            status=200, content_type="text/html", body="<!doctype html><title>Weather</title>"
        )


@contextmanager
def lab_with_server(tmp: Path, staff_file: Path) -> Iterator[Lab]:
    """A namespace lab, the server (with consent and handout texts in both languages and a
    test exit address) and two Chromiums; everything is stopped on the way out."""
    from playwright.sync_api import sync_playwright

    require_netns()
    texts = {}
    for name, words in {
        "consent-en": CONSENT_EN,
        "consent-fr": CONSENT_FR,
        "handout-en": HANDOUT_EN,
        "handout-fr": HANDOUT_FR,
    }.items():
        texts[name] = tmp / f"{name}.txt"
        texts[name].write_text(words, encoding="utf-8")
    with NetLab() as net:
        hosts = {name: net.add_host(name) for name in ("srv", "staff", "surv")}
        server = start_server(
            hosts["srv"],
            staff_file,
            "--consent-file",
            f"en={texts['consent-en']},fr={texts['consent-fr']}",
            "--handout-file",
            f"en={texts['handout-en']},fr={texts['handout-fr']}",
            "--exit-url",
            EXIT_URL,
            "--check-in-minutes",
            str(ORG_CHECK_IN),
        )
        try:
            with sync_playwright() as p:

                def launch(host: str) -> Any:
                    wrapper = hosts[host].chromium_wrapper(tmp)
                    return p.chromium.launch(executable_path=str(wrapper), args=CHROMIUM_FLAGS)

                lab = Lab(server, launch("staff"), launch("surv"), hosts)
                yield lab
                lab.staff_browser.close()
                lab.survivor_browser.close()
        finally:
            if server.proc.poll() is None:
                server.stop()


def staff_in_new_call(
    lab: Lab, size: dict[str, int] = LAPTOP, check_in: int = 15
) -> tuple[Any, dict[str, str]]:
    """Staff sign in, create a call and join it; the page and the call's links."""
    staff = lab.page(lab.staff_browser, size)
    open_page(staff, f"{lab.origin}/staff", shown("sign-in"))
    staff.fill("#staff-name", STAFF_NAME)
    staff.fill("#password", STAFF_PASSWORD)
    staff.click("#sign-in-button")
    confirm_ready(staff)
    # The form starts from the organization's own defaults.
    assert staff.input_value("#check-in-minutes") == str(ORG_CHECK_IN)
    staff.fill("#check-in-minutes", str(check_in))
    staff.click("#new-call")
    staff.wait_for_selector("[data-call] [data-link=survivor]")
    links = {
        role: staff.get_attribute(f"[data-link={role}]", "value") or ""
        for role in ("survivor", "interpreter")
    }
    staff.click("[data-action=join-call]")
    staff.wait_for_selector(shown("call"))
    return staff, links


def consent_to(page: Any, link: str) -> None:
    """Open the link and answer "yes" to the safety question."""
    open_page(page, link, shown("consent"))
    page.click("[data-safe=yes]")
    page.wait_for_selector("#join-form:not([hidden])")


def join_as(page: Any, mode: str, name: str) -> None:
    """On the consent page: choose the way to talk, type a name, join; waits for the lobby."""
    page.check(f"input[name=mode][value={mode}]")
    page.fill("#name", name)
    page.click("#join")
    page.wait_for_selector(shown("lobby"))


def admit(staff: Any) -> None:
    staff.wait_for_selector("[data-waiting] [data-action=admit]")
    staff.click("[data-waiting] [data-action=admit]")


def set_language(page: Any, code: str) -> None:
    """Switch the page to `code` ("en" or "fr") with its own button, if it is not already."""
    if not page.evaluate("document.documentElement.lang").startswith(code):
        page.click("[data-action=language]")
    page.wait_for_function("c => document.documentElement.lang.startsWith(c)", arg=code)
