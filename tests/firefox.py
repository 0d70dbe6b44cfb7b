"""Browser-test support: Debian's firefox-esr, headless, driven over WebDriver BiDi.

Playwright cannot drive a stock Firefox and there is no geckodriver here, so this speaks the
protocol itself: JSON commands over the WebSocket that `--remote-debugging-port` opens at
`ws://127.0.0.1:PORT/session`. Firefox gets a throwaway profile whose `user.js` gives it fake
camera and microphone, lets WebRTC use loopback, and turns off every background connection
(telemetry, updates, remote settings, captive portal, prefetching, Safe Browsing...).

Firefox can run on loopback (the test's own namespace) or inside a network namespace of a
NetLab host, like the Chromium pages: its remote agent then listens on that namespace's
127.0.0.1, and the driver reaches it with a socket made in that namespace (`netns_socket`).
`FirefoxPage` drives a tab from synchronous code with the few Playwright `Page` methods the
Chromium helpers call, so a survivor in Firefox joins calls made by those helpers.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ctypes
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import aiohttp
import pytest
from netlab import IP

FIREFOX = "/usr/bin/firefox-esr"
CLONE_NEWNET = 0x40000000
T = TypeVar("T")

PREFS: dict[str, bool | int | str] = {
    # WebRTC: fake camera and microphone, no prompt. `permission.fake` also counts as the user
    # having granted them, without which Firefox gathers only its default-route address
    # ("use only default local addresses") and ignores `ice.loopback`, so the call would run
    # from the machine's LAN address instead of 127.0.0.1.
    "media.navigator.streams.fake": True,
    "media.navigator.permission.disabled": True,
    "media.navigator.permission.fake": True,
    "media.peerconnection.ice.loopback": True,
    "media.peerconnection.ice.obfuscate_host_addresses": False,
    "media.autoplay.default": 0,
    "media.autoplay.blocking_policy": 0,
    # No codec or DRM plugin downloads (OpenH264, Widevine).
    "media.gmp-manager.updateEnabled": False,
    "media.gmp-manager.url": "",
    "media.gmp-gmpopenh264.enabled": False,
    "media.gmp-gmpopenh264.autoupdate": False,
    "media.gmp-widevinecdm.enabled": False,
    "media.gmp-widevinecdm.autoupdate": False,
    "media.eme.enabled": False,
    # Telemetry, studies, health report.
    "toolkit.telemetry.enabled": False,
    "toolkit.telemetry.unified": False,
    "toolkit.telemetry.archive.enabled": False,
    "toolkit.telemetry.server": "",
    "toolkit.telemetry.newProfilePing.enabled": False,
    "toolkit.telemetry.firstShutdownPing.enabled": False,
    "toolkit.telemetry.shutdownPingSender.enabled": False,
    "toolkit.telemetry.updatePing.enabled": False,
    "toolkit.telemetry.bhrPing.enabled": False,
    "datareporting.healthreport.uploadEnabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.policy.firstRunURL": "",
    "app.normandy.enabled": False,
    "app.normandy.api_url": "",
    "app.shield.optoutstudies.enabled": False,
    "nimbus.rollouts.enabled": False,
    "browser.discovery.enabled": False,
    # Updates of the browser, add-ons and search engines.
    "app.update.auto": False,
    "app.update.disabledForTesting": True,
    "app.update.checkInstallTime": False,
    "extensions.update.enabled": False,
    "extensions.update.autoUpdateDefault": False,
    "extensions.getAddons.cache.enabled": False,
    "extensions.blocklist.enabled": False,
    "extensions.systemAddon.update.enabled": False,
    "extensions.systemAddon.update.url": "",
    "browser.search.update": False,
    # Remote settings: a release build ignores this server unless MOZ_DISABLE_NONLOCAL_CONNECTIONS
    # is set (see start()); with both, it skips remote settings altogether.
    "services.settings.server": "data:,#remote-settings-dummy/v1",
    "security.remote_settings.crlite_filters.enabled": False,
    "security.remote_settings.intermediates.enabled": False,
    "browser.translations.enable": False,
    "browser.ml.enable": False,
    # Captive portal and connectivity checks.
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "captivedetect.canonicalURL": "",
    # Prefetching and speculative connections; DNS over HTTPS; proxies.
    "network.prefetch-next": False,
    "network.dns.disablePrefetch": True,
    "network.http.speculative-parallel-limit": 0,
    "browser.urlbar.speculativeConnect.enabled": False,
    "browser.places.speculativeConnect.enabled": False,
    "network.trr.mode": 5,
    "network.proxy.type": 0,
    # Safe Browsing lists and lookups.
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.blockedURIs.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "browser.safebrowsing.downloads.remote.enabled": False,
    "browser.safebrowsing.provider.google.updateURL": "",
    "browser.safebrowsing.provider.google.gethashURL": "",
    "browser.safebrowsing.provider.google4.updateURL": "",
    "browser.safebrowsing.provider.google4.gethashURL": "",
    "browser.safebrowsing.provider.mozilla.updateURL": "",
    "browser.safebrowsing.provider.mozilla.gethashURL": "",
    # Everything else that phones home: push, geolocation, region, OCSP, new-tab content.
    "dom.push.enabled": False,
    "dom.push.connection.enabled": False,
    "geo.enabled": False,
    "geo.provider.network.url": "",
    "browser.region.network.url": "",
    "browser.region.update.enabled": False,
    "security.OCSP.enabled": 0,
    "identity.fxaccounts.enabled": False,
    "browser.newtabpage.enabled": False,
    "browser.newtabpage.activity-stream.feeds.topsites": False,
    "browser.newtabpage.activity-stream.feeds.system.topstories": False,
    "browser.newtabpage.activity-stream.showSponsored": False,
    "browser.newtabpage.activity-stream.showSponsoredTopSites": False,
    "browser.topsites.contile.enabled": False,
    "browser.uitour.enabled": False,
    "browser.backup.enabled": False,
    # A quiet start: blank page, no first-run or default-browser questions, no crash restore.
    "browser.startup.page": 0,
    "browser.startup.homepage": "about:blank",
    "browser.startup.homepage_override.mstone": "ignore",
    "startup.homepage_welcome_url": "",
    "startup.homepage_welcome_url.additional": "",
    "browser.aboutwelcome.enabled": False,
    "browser.shell.checkDefaultBrowser": False,
    "browser.sessionstore.resume_from_crash": False,
    "toolkit.startup.max_resumed_crashes": -1,
}


# WebDriver's codes for keys that are not characters.
KEYS = {
    "ESCAPE": "\ue00c",
    "ENTER": "\ue007",
    "TAB": "\ue004",
    "SHIFT": "\ue008",
    "CONTROL": "\ue009",
    "ALT": "\ue00a",
}


def require_firefox() -> str:
    """The firefox-esr binary; fails the test with what to install if it is missing."""
    if not os.access(FIREFOX, os.X_OK):
        pytest.fail(f"{FIREFOX} is missing: apt-get install firefox-esr (CI installs it)")
    return FIREFOX


def netns_socket(
    netns: str,
    family: int = socket.AF_INET,
    kind: int = socket.SOCK_STREAM,
    proto: int = 0,
) -> socket.socket:
    """A socket of the network namespace `netns` (made by `ip netns add`), usable from here.

    A socket belongs for good to the namespace of the thread that made it, and a thread may
    enter another network namespace alone (setns), so a short-lived thread enters `netns`,
    makes the socket and ends; this process's other threads never leave their namespace.
    """
    made: list[socket.socket] = []
    failed: list[BaseException] = []

    def make() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns into {netns}")
            finally:
                os.close(fd)
            made.append(socket.socket(family, kind, proto))
        except BaseException as exc:
            failed.append(exc)

    thread = threading.Thread(target=make, name=f"setns-{netns}")
    thread.start()
    thread.join()
    if failed:
        raise failed[0]
    return made[0]


def free_port(netns: str = "") -> int:
    """A TCP port on 127.0.0.1 (of network namespace `netns`, if given) that nothing listens
    on right now."""
    made = netns_socket(netns) if netns else socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with made as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def user_js(prefs: dict[str, bool | int | str]) -> str:
    return "".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in prefs.items())


class BidiError(Exception):
    """A WebDriver BiDi command failed, or a page script threw."""


def deserialize(value: dict[str, Any]) -> Any:
    """A BiDi RemoteValue as plain Python (objects become dicts, arrays lists)."""
    kind = value.get("type")
    if kind in ("undefined", "null"):
        return None
    if kind in ("string", "boolean"):
        return value["value"]
    if kind == "number":
        number = value["value"]
        return float(number) if isinstance(number, str) else number
    if kind == "bigint":
        return int(value["value"])
    if kind in ("array", "set") and "value" in value:
        return [deserialize(v) for v in value["value"]]
    if kind in ("object", "map") and "value" in value:
        return {
            (k if isinstance(k, str) else deserialize(k)): deserialize(v) for k, v in value["value"]
        }
    return value  # nodes, windows, functions...: the raw description


class Firefox:
    """One headless firefox-esr with a BiDi session and one tab; an async context manager.

    With `netns`, Firefox runs inside that network namespace (`ip netns exec`) and is driven
    through a socket made there. Every wait is bounded; leaving the context kills Firefox's
    whole process group.
    """

    def __init__(
        self, workdir: Path, prefs: dict[str, bool | int | str] | None = None, netns: str = ""
    ) -> None:
        self.workdir = workdir
        self.prefs = {**PREFS, **(prefs or {})}
        self.netns = netns
        self.proc: asyncio.subprocess.Process | None = None
        self.port = 0
        self.context = ""  # the tab's browsing context id
        self.events: list[dict[str, Any]] = []
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._next_id = 0
        self._closed_because = ""

    @property
    def log(self) -> str:
        """What Firefox printed so far (for failure messages)."""
        path = self.workdir / "firefox.log"
        return path.read_text(errors="replace") if path.exists() else ""

    async def __aenter__(self) -> Firefox:
        try:
            await self.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self, timeout: float = 30.0) -> None:
        binary = require_firefox()
        profile = self.workdir / "profile"
        home = self.workdir / "home"
        profile.mkdir(parents=True, exist_ok=True)
        home.mkdir(parents=True, exist_ok=True)
        (profile / "user.js").write_text(user_js(self.prefs))
        self.port = free_port(self.netns)
        wrapper = [IP, "netns", "exec", self.netns] if self.netns else []
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY")
        }
        env.update(
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_CACHE_HOME=str(home / ".cache"),
            XDG_DATA_HOME=str(home / ".local" / "share"),
            TMPDIR=str(home),
            MOZ_CRASHREPORTER_DISABLE="1",
            # Firefox's own test-harness switch against non-local connections. It is also what
            # makes a release build honour services.settings.server above: without it Firefox
            # ignores that pref and looks up firefox.settings.services.mozilla.com.
            MOZ_DISABLE_NONLOCAL_CONNECTIONS="1",
            MOZ_HEADLESS="1",
        )
        with (self.workdir / "firefox.log").open("wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                *wrapper,  # `ip netns exec` execs Firefox: the same process, its own group
                binary,
                "--headless",
                "--no-remote",
                "--profile",
                str(profile),
                "--remote-debugging-port",
                str(self.port),
                "about:blank",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
                start_new_session=True,  # its own process group, killed as a whole in close()
            )
        connector = None
        if self.netns:
            netns = self.netns
            connector = aiohttp.TCPConnector(
                socket_factory=lambda info: netns_socket(netns, info[0], info[1], info[2])
            )
        self._http = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=10)
        )
        url = f"ws://127.0.0.1:{self.port}/session"
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.returncode is not None:
                raise BidiError(f"firefox-esr exited with {self.proc.returncode}:\n{self.log}")
            try:
                self._ws = await self._http.ws_connect(
                    url,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=5),
                    max_msg_size=64 << 20,
                )
                break
            except (aiohttp.ClientError, OSError):
                if time.monotonic() > deadline:
                    raise BidiError(f"no WebDriver BiDi on {url}:\n{self.log}") from None
                await asyncio.sleep(0.2)
        self._reader = asyncio.create_task(self._read())
        await self.command(
            "session.new", {"capabilities": {"alwaysMatch": {"acceptInsecureCerts": True}}}
        )
        tree = await self.command("browsingContext.getTree", {"maxDepth": 0})
        contexts = tree["contexts"]
        if contexts:
            self.context = contexts[0]["context"]
        else:
            created = await self.command("browsingContext.create", {"type": "tab"})
            self.context = created["context"]

    async def close(self) -> None:
        try:
            if self._ws is not None and not self._ws.closed:
                with contextlib.suppress(Exception):
                    await self.command("session.end", {}, timeout=3)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._ws.close(), 3)
            if self._reader is not None:
                self._reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._reader
            if self._http is not None:
                await self._http.close()
        finally:
            if self.proc is not None:
                # Even when cancelled above: Firefox and its child processes must not outlive us.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                await self._reap()

    async def _reap(self) -> None:
        """Wait (briefly) for Firefox and its content, socket, RDD... processes to be gone."""
        assert self.proc is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.proc.wait(), 10)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                break
            await asyncio.sleep(0.1)

    async def command(
        self, method: str, params: dict[str, Any], timeout: float = 15.0
    ) -> dict[str, Any]:
        """Send one command and return its result."""
        if self._ws is None or self._ws.closed or self._reader is None or self._reader.done():
            raise BidiError(f"{method}: {self._gone()}")
        self._next_id += 1
        ident = self._next_id
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        try:
            await self._ws.send_str(json.dumps({"id": ident, "method": method, "params": params}))
            reply = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise BidiError(f"{method}: no reply within {timeout} s") from None
        finally:
            self._pending.pop(ident, None)
        if reply.get("type") == "error":
            raise BidiError(f"{method}: {reply.get('error')}: {reply.get('message')}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    async def subscribe(self, *events: str) -> None:
        await self.command("session.subscribe", {"events": list(events)})

    async def add_preload_script(self, source: str) -> None:
        """Run `source` (statements) in every page before the page's own scripts."""
        await self.command(
            "script.addPreloadScript", {"functionDeclaration": f"() => {{\n{source}\n}}"}
        )

    async def navigate(self, url: str, timeout: float = 30.0) -> None:
        await self.command(
            "browsingContext.navigate",
            {"context": self.context, "url": url, "wait": "complete"},
            timeout=timeout,
        )

    async def url(self) -> str:
        """The address of the document the tab shows now."""
        tree = await self.command("browsingContext.getTree", {"root": self.context, "maxDepth": 0})
        return str(tree["contexts"][0]["url"])

    async def traverse_history(self, delta: int, timeout: float = 15.0) -> None:
        """Go back (-1) or forward (1) in the tab's history, as the browser's buttons do."""
        await self.command(
            "browsingContext.traverseHistory",
            {"context": self.context, "delta": delta},
            timeout=timeout,
        )

    async def press(self, key: str, *modifiers: str) -> None:
        """Press and release `key` (a character or a WebDriver key such as ESCAPE) while
        holding `modifiers` (e.g. ALT, SHIFT), as real keyboard input to the focused page."""
        codes = [KEYS.get(k, k) for k in (*modifiers, key)]
        actions = [{"type": "keyDown", "value": c} for c in codes]
        actions += [{"type": "keyUp", "value": c} for c in reversed(codes)]
        await self.command(
            "input.performActions",
            {
                "context": self.context,
                "actions": [{"type": "key", "id": "keyboard", "actions": actions}],
            },
        )
        await self.command("input.releaseActions", {"context": self.context})

    async def set_viewport(self, width: int, height: int) -> None:
        await self.command(
            "browsingContext.setViewport",
            {"context": self.context, "viewport": {"width": width, "height": height}},
        )

    async def screenshot(self, path: Path) -> None:
        """A PNG of the tab's viewport."""
        shot = await self.command("browsingContext.captureScreenshot", {"context": self.context})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    async def evaluate(self, expression: str, timeout: float = 15.0) -> Any:
        """The value of a JavaScript expression in the page (promises are awaited)."""
        result = await self.command(
            "script.evaluate",
            {
                "expression": expression,
                "target": {"context": self.context},
                "awaitPromise": True,
                "resultOwnership": "none",
                "serializationOptions": {"maxObjectDepth": 8},
            },
            timeout=timeout,
        )
        return self._value(expression, result)

    async def call(self, function: str, timeout: float = 15.0) -> Any:
        """The result of calling a JavaScript function declaration (no arguments) in the page."""
        result = await self.command(
            "script.callFunction",
            {
                "functionDeclaration": function,
                "target": {"context": self.context},
                "awaitPromise": True,
                "resultOwnership": "none",
                "serializationOptions": {"maxObjectDepth": 8},
            },
            timeout=timeout,
        )
        return self._value(function, result)

    async def wait_for(self, expression: str, timeout: float = 15.0, what: str = "") -> Any:
        """Poll `expression` until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = await self.evaluate(expression, timeout=max(1.0, deadline - time.monotonic()))
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what or expression}")
            await asyncio.sleep(0.1)

    @staticmethod
    def _value(source: str, result: dict[str, Any]) -> Any:
        if result.get("type") == "exception":
            details = result.get("exceptionDetails", {})
            raise BidiError(f"page script threw {details.get('text')!r} in: {source[:200]}")
        return deserialize(result["result"])

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for msg in self._ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    self._closed_because = f"{msg.type.name} {msg.data!r} {msg.extra!r}"
                    break
                data = json.loads(msg.data)
                if data.get("type") == "event":
                    self.events.append(data)
                    continue
                future = self._pending.get(data.get("id"))
                if future is not None and not future.done():
                    future.set_result(data)
        except Exception as exc:
            self._closed_because = repr(exc)
            raise
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(BidiError(self._gone()))

    def _gone(self) -> str:
        return f"the connection to Firefox closed ({self._closed_because or 'no reason'})"


# Playwright's rule for a string given to `evaluate`: the value of the expression, or, if that
# is a function, what calling it returns (promises awaited either way).
EVALUATE_LIKE_PLAYWRIGHT = """async () => {
  const value = (
%s
  );
  return typeof value === "function" ? await value() : await value;
}"""

# Whether the element a selector finds is shown (Playwright's "visible" state).
SHOWN = "(() => { const e = document.querySelector(%s); return !!e && e.checkVisibility(); })()"


class FirefoxPage:
    """A Firefox tab for synchronous tests, answering the Playwright `Page` methods that the
    Chromium helpers call (`goto`, `click`, `fill`, `wait_for_selector`, `evaluate`), so a
    survivor in Firefox joins and is measured by the same code as one in Chromium.

    Firefox is driven by its own event loop on a thread of its own; `preload` scripts run in
    every page before the page's own. A context manager: leaving it closes Firefox.
    """

    def __init__(
        self,
        workdir: Path,
        netns: str = "",
        preload: tuple[str, ...] = (),
        prefs: dict[str, bool | int | str] | None = None,
    ) -> None:
        self.firefox = Firefox(workdir, prefs, netns=netns)
        self._preload = preload
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="firefox-bidi", daemon=True
        )

    def __enter__(self) -> FirefoxPage:
        self._thread.start()
        try:
            self._run(self.firefox.start())
            for source in self._preload:
                self._run(self.firefox.add_preload_script(source))
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._run(self.firefox.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            if not self._thread.is_alive():
                self._loop.close()

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def goto(self, url: str) -> None:
        self._run(self.firefox.navigate(url))

    def evaluate(self, source: str) -> Any:
        """As Playwright's `page.evaluate(source)`: an expression's value, or a function's
        result."""
        return self._run(self.firefox.call(EVALUATE_LIKE_PLAYWRIGHT % source))

    def wait_for_selector(self, selector: str, timeout: float = 30000) -> None:
        """Wait until an element matching `selector` is shown (`timeout` in ms, as Playwright)."""
        self._run(
            self.firefox.wait_for(SHOWN % json.dumps(selector), timeout / 1000, f"{selector}")
        )

    def click(self, selector: str) -> None:
        """Click the element `selector` finds once it is shown."""
        self.wait_for_selector(selector)
        self.evaluate(f"document.querySelector({json.dumps(selector)}).click()")

    def fill(self, selector: str, value: str) -> None:
        """Set a field's value as typing would, with its input and change events."""
        self.wait_for_selector(selector)
        self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            f" e.focus(); e.value = {json.dumps(value)};"
            " e.dispatchEvent(new Event('input', {bubbles: true}));"
            " e.dispatchEvent(new Event('change', {bubbles: true})); })()"
        )
