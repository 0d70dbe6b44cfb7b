"""The bench against Janus: a throwaway Janus on this machine and aiortc peers on its HTTP API.

The peers are the bench's own participants (same pre-encoded, stamped media, same counting
without decoding), signalled through Janus's EchoTest plugin (echo) or VideoCall plugin
(1:1 call), so the figures compare with Quietroom's field for field. Janus's API listens on
127.0.0.1; its media uses one of the machine's own addresses (see `host_address`).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.rtcconfiguration import RTCBundlePolicy

from bench import isolation
from bench.client import Participant
from bench.encoded import opus_clip, vp8_clip
from bench.redact import without_addresses
from bench.scenario import (
    JOIN_TIMEOUT,
    WARMUP_SECONDS,
    Counters,
    Group,
    Plan,
    call_key,
    progress,
    report,
    snapshot,
)
from media.router import FORWARDED_CODECS

# Runs that might be an address (IPv4, IPv6, either with a port); ipaddress decides
INSTALL_HINT = "janus is not installed: run `apt-get install -y janus` (Debian's Janus 1.1.2)"
ECHOTEST = "janus.plugin.echotest"
VIDEOCALL = "janus.plugin.videocall"
KEPT_PLUGINS = {"libjanus_echotest.so", "libjanus_videocall.so"}
KEPT_TRANSPORTS = {"libjanus_http.so"}
LIB_FOLDERS = ["/usr/lib/*/janus", "/usr/lib/janus", "/usr/local/lib/janus", "/opt/janus/lib/janus"]

START_TIMEOUT = 30.0  # Janus answering its API after launch
STOP_TIMEOUT = 10.0  # Janus ending after SIGINT, before it is killed
REQUEST_TIMEOUT = 10.0  # one Janus API request
POLL_SECONDS = 30  # Janus answers a long poll with a keepalive after this long at most
KEEPALIVE_SECONDS = 20.0  # Janus drops sessions silent for 60 s
LOG_LEVEL = 3  # Janus's 0-7 scale: warnings and errors only
SIOCGIFFLAGS, SIOCGIFADDR = 0x8913, 0x8915  # Linux ioctls: an interface's flags, IPv4 address
IFF_UP, IFF_LOOPBACK, IFF_RUNNING = 0x1, 0x8, 0x40


class JanusError(RuntimeError):
    """Janus refused a request, or did not start."""


def lib_folder() -> Path:
    """Where Janus's plugins and transports are installed (Debian: /usr/lib/<triplet>/janus)."""
    for pattern in LIB_FOLDERS:
        for folder in sorted(Path("/").glob(pattern.lstrip("/"))):
            if (folder / "plugins" / "libjanus_echotest.so").exists():
                return folder
    raise JanusError(f"no Janus plugins folder found ({INSTALL_HINT})")


def binary() -> str:
    """The `janus` executable, or JanusError saying how to install it."""
    found = shutil.which("janus")
    if found is None:
        raise JanusError(INSTALL_HINT)
    return found


def host_address() -> str:
    """The namespace's first IPv4 address on an interface that is up, loopback excepted.

    Janus 1.1.2 never gathers ICE candidates on a loopback interface (its gathering loop skips
    IFF_LOOPBACK, whatever `ice_enforce_list` says), so its media goes to the veth interface
    of the namespace the bench runs in (bench/isolation.py), which has no route out.
    """
    if not isolation.inside():
        raise JanusError("Janus runs only inside the bench's own network namespace")
    for _, name in socket.if_nameindex():
        request = struct.pack("256s", name[:15].encode())
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                flags = struct.unpack("H", fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, request)[16:18])[0]
                address = socket.inet_ntoa(fcntl.ioctl(s.fileno(), SIOCGIFADDR, request)[20:24])
            except OSError:
                continue  # no IPv4 address
        if flags & IFF_UP and flags & IFF_RUNNING and not flags & IFF_LOOPBACK:
            return address
    raise JanusError("Janus needs an IPv4 address besides loopback for ICE, and there is none")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def others(folder: Path, kept: set[str]) -> str:
    """Every library in `folder` but the kept ones, for a `disable = "..."` line."""
    return ",".join(sorted(p.name for p in folder.glob("libjanus_*.so") if p.name not in kept))


def main_config(configs: Path, lib: Path, ice_address: str) -> str:
    return f"""general: {{
\tconfigs_folder = "{configs}"
\tplugins_folder = "{lib / "plugins"}"
\ttransports_folder = "{lib / "transports"}"
\tevents_folder = "{lib / "events"}"
\tloggers_folder = "{lib / "loggers"}"
\tdebug_level = {LOG_LEVEL}
\tdebug_colors = false
\tinterface = "{ice_address}"
\tsession_timeout = 60
}}
certificates: {{
}}
media: {{
\tipv6 = false
}}
nat: {{
\tnice_debug = false
\tignore_mdns = true
\tice_enforce_list = "{ice_address}"
}}
plugins: {{
\tdisable = "{others(lib / "plugins", KEPT_PLUGINS)}"
}}
transports: {{
\tdisable = "{others(lib / "transports", KEPT_TRANSPORTS)}"
}}
loggers: {{
\tdisable = "{others(lib / "loggers", set())}"
}}
events: {{
\tbroadcast = false
\tdisable = "{others(lib / "events", set())}"
}}
"""


def http_config(port: int) -> str:
    return f"""general: {{
\tjson = "compact"
\tbase_path = "/janus"
\thttp = true
\tport = {port}
\tip = "127.0.0.1"
\thttps = false
}}
admin: {{
\tadmin_http = false
\tadmin_https = false
}}
"""


class LocalJanus:
    """Debian's `janus` with EchoTest, VideoCall and the HTTP API (on 127.0.0.1) only.

    No admin API, no STUN or TURN, no event handlers; ICE on `ice_address` alone. Its log
    (warnings and errors, on its stdout) goes to `log_path`, and ends error messages.
    """

    def __init__(self) -> None:
        self.dir = tempfile.TemporaryDirectory(prefix="quietroom-bench-janus-")
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.ice_address = ""  # where Janus's media is: see `host_address`

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/janus"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def log_path(self) -> Path:
        return Path(self.dir.name) / "janus.log"

    def log_tail(self, lines: int = 20) -> str:
        """The end of Janus's log, for error messages, with every address blanked."""
        with contextlib.suppress(OSError):
            tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
            return without_addresses(tail)
        return ""

    def __enter__(self) -> LocalJanus:
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self) -> None:
        configs = Path(self.dir.name)
        lib = lib_folder()
        self.port = free_port()
        self.ice_address = host_address()
        (configs / "janus.jcfg").write_text(main_config(configs, lib, self.ice_address))
        (configs / "janus.transport.http.jcfg").write_text(http_config(self.port))
        for plugin in ("echotest", "videocall"):
            (configs / f"janus.plugin.{plugin}.jcfg").write_text("general: {\n}\n")
        with self.log_path.open("wb") as log:  # Janus logs to its stdout: this file
            self.proc = subprocess.Popen(
                [binary(), "-C", str(configs / "janus.jcfg"), "-F", str(configs)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise JanusError(f"janus exited with {self.proc.returncode}:\n{self.log_tail()}")
            if self._answers_info():
                return
            time.sleep(0.1)
        raise JanusError(f"janus did not answer within {START_TIMEOUT:.0f} s:\n{self.log_tail()}")

    def _answers_info(self) -> bool:
        body = json.dumps({"janus": "info", "transaction": "bench-start"}).encode()
        request = urllib.request.Request(self.url, data=body, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=1) as r:
                reply: dict[str, Any] = json.loads(r.read())
        except (OSError, ValueError):
            return False
        return reply.get("janus") == "server_info"

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.send_signal(signal.SIGINT)
                try:
                    self.proc.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=5)
        finally:
            self.dir.cleanup()


def plugin_data(event: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = event.get("plugindata", {}).get("data", {})
    return data


def plugin_event(name: str) -> Callable[[dict[str, Any]], bool]:
    """Matches a VideoCall event such as `registered` or `incomingcall`."""

    def test(event: dict[str, Any]) -> bool:
        result = plugin_data(event).get("result")
        return isinstance(result, dict) and result.get("event") == name

    return test


def with_jsep(event: dict[str, Any]) -> bool:
    return "jsep" in event


class JanusSession:
    """One Janus API session holding one plugin handle, as a page holds it over HTTP.

    Events arrive by long-polling the session; a keepalive goes out every 20 s. Both loops
    end when the session is closed, or after `lifetime` seconds at most.
    """

    def __init__(self, http: aiohttp.ClientSession, base: str, lifetime: float) -> None:
        self.http, self.base, self.lifetime = http, base, lifetime
        self.session = 0
        self.handle = 0
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.seen: list[dict[str, Any]] = []  # every event but keepalives, for diagnosis
        self._tasks: list[asyncio.Task[None]] = []

    async def open(self, plugin: str) -> None:
        created = await self._post(self.base, {"janus": "create"})
        self.session = created["data"]["id"]
        self._tasks.append(asyncio.create_task(self._poll()))
        self._tasks.append(asyncio.create_task(self._keepalive()))
        attached = await self._post(self._session_url, {"janus": "attach", "plugin": plugin})
        self.handle = attached["data"]["id"]

    async def message(self, body: dict[str, Any], jsep: dict[str, Any] | None = None) -> None:
        request: dict[str, Any] = {"janus": "message", "body": body}
        if jsep is not None:
            request["jsep"] = jsep
        await self._post(f"{self._session_url}/{self.handle}", request)

    async def event(
        self, test: Callable[[dict[str, Any]], bool], timeout: float = JOIN_TIMEOUT
    ) -> dict[str, Any]:
        """The next event from this handle that passes `test`; plugin errors raise."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                kinds = [e.get("janus", "?") for e in self.seen]  # not their SDP or ids
                raise TimeoutError(f"no awaited Janus event within {timeout} s (seen: {kinds})")
            event = await asyncio.wait_for(self.events.get(), remaining)
            data = plugin_data(event)
            if "error" in data:
                raise JanusError(f"Janus plugin error {data.get('error_code')}: {data['error']}")
            if event.get("janus") == "error":
                raise JanusError(f"Janus error: {event.get('error')}")
            if test(event):
                return event

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.session:
            with contextlib.suppress(JanusError, aiohttp.ClientError, TimeoutError):
                await self._post(self._session_url, {"janus": "destroy"})
            self.session = 0

    @property
    def _session_url(self) -> str:
        return f"{self.base}/{self.session}"

    async def _post(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        request = {**body, "transaction": secrets.token_hex(8)}
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
        async with self.http.post(url, json=request, timeout=timeout) as r:
            reply: dict[str, Any] = await r.json(content_type=None)
        if reply.get("janus") == "error":
            error = reply.get("error", {})
            raise JanusError(f"Janus refused {body['janus']!r}: {error.get('reason', error)}")
        return reply

    async def _poll(self) -> None:
        end = time.monotonic() + self.lifetime
        timeout = aiohttp.ClientTimeout(total=POLL_SECONDS + REQUEST_TIMEOUT)
        while time.monotonic() < end:
            url = f"{self._session_url}?maxev=10&rid={time.time_ns()}"
            try:
                async with self.http.get(url, timeout=timeout) as r:
                    reply: Any = await r.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError, ValueError):
                await asyncio.sleep(0.5)
                continue
            for event in reply if isinstance(reply, list) else [reply]:
                if not isinstance(event, dict) or event.get("janus") == "keepalive":
                    continue
                self.seen.append(event)
                await self.events.put(event)
                if event.get("janus") == "error":
                    return  # the session is gone: polling again would only repeat this

    async def _keepalive(self) -> None:
        end = time.monotonic() + self.lifetime
        while time.monotonic() < end:
            await asyncio.sleep(min(KEEPALIVE_SECONDS, max(0.0, end - time.monotonic())))
            with contextlib.suppress(JanusError, aiohttp.ClientError, TimeoutError):
                await self._post(self._session_url, {"janus": "keepalive"})


@dataclass
class JanusPeer(Participant):
    """A bench participant whose peer connection is signalled through a Janus plugin.

    Its audio and video go both ways on the same two m-lines (`sendrecv`), as Janus's
    EchoTest and VideoCall plugins expect; received RTP is counted by `Participant`'s own
    counter, without decoding.
    """

    janus: JanusSession | None = None
    lifetime: float = 3600.0

    async def open(self, plugin: str) -> None:
        self.janus = JanusSession(self.session, self.base, self.lifetime)
        await self.janus.open(plugin)

    def _new_pc(self) -> RTCPeerConnection:
        # No STUN or TURN server: host candidates only, on the addresses
        # `bench.host_addresses` offers.
        config = RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        self.pc = RTCPeerConnection(config)
        return self.pc

    async def offer(self) -> dict[str, Any]:
        """Own audio and video, sent and received on the same m-lines; Opus and VP8 only."""
        pc = self._new_pc()
        for kind in ("audio", "video"):
            transceiver = pc.addTransceiver(kind, direction="sendrecv")
            wanted = FORWARDED_CODECS[kind]
            codecs = RTCRtpSender.getCapabilities(kind).codecs
            kept = [c for c in codecs if c.mimeType.lower() == wanted]
            kept += [c for c in codecs if c.mimeType.lower().endswith("/rtx")]
            transceiver.setCodecPreferences(kept)
        await pc.setLocalDescription(await pc.createOffer())
        return self._jsep()

    async def apply_answer(self, jsep: dict[str, Any]) -> None:
        assert self.pc is not None
        await self.pc.setRemoteDescription(RTCSessionDescription(jsep["sdp"], "answer"))
        self.media_on_connect(jsep["sdp"])

    async def answer(self, jsep: dict[str, Any]) -> dict[str, Any]:
        """Answer Janus's offer with own audio and video on its m-lines."""
        pc = self._new_pc()
        await pc.setRemoteDescription(RTCSessionDescription(jsep["sdp"], "offer"))
        for transceiver in pc.getTransceivers():
            transceiver.direction = "sendrecv"
        await pc.setLocalDescription(await pc.createAnswer())
        self.media_on_connect(jsep["sdp"])
        return self._jsep()

    def _jsep(self) -> dict[str, Any]:
        assert self.pc is not None
        local = self.pc.localDescription
        return {"type": local.type, "sdp": local.sdp, "trickle": False}

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(super().close(), REQUEST_TIMEOUT)
        if self.janus is not None:
            await asyncio.wait_for(self.janus.close(), REQUEST_TIMEOUT * 2)


@dataclass
class Call:
    """The people of one Janus call, and when their media was started."""

    group: Group
    started: float = field(default_factory=time.monotonic)


async def connect_echo(call: Call, n: int) -> None:
    """EchoTest: offer audio and video, get them back on the same m-lines."""
    (tester,) = call.group.people
    assert isinstance(tester, JanusPeer)
    await tester.open(ECHOTEST)
    assert tester.janus is not None
    call.started = time.monotonic()
    await tester.janus.message({"audio": True, "video": True}, await tester.offer())
    answer = await tester.janus.event(with_jsep)
    await tester.apply_answer(answer["jsep"])


async def connect_call(call: Call, n: int) -> None:
    """VideoCall: both register, the first calls the second, who accepts."""
    caller, callee = call.group.people
    assert isinstance(caller, JanusPeer) and isinstance(callee, JanusPeer)
    tag = secrets.token_hex(4)
    names = [f"bench-{n}-{tag}-a", f"bench-{n}-{tag}-b"]
    for person, name in zip((caller, callee), names, strict=True):
        await person.open(VIDEOCALL)
        assert person.janus is not None
        await person.janus.message({"request": "register", "username": name})
        await person.janus.event(plugin_event("registered"))
    assert caller.janus is not None and callee.janus is not None
    call.started = time.monotonic()
    await caller.janus.message({"request": "call", "username": names[1]}, await caller.offer())
    incoming = await callee.janus.event(lambda e: plugin_event("incomingcall")(e) and with_jsep(e))
    await callee.janus.message({"request": "accept"}, await callee.answer(incoming["jsep"]))
    accepted = await caller.janus.event(lambda e: plugin_event("accepted")(e) and with_jsep(e))
    await caller.apply_answer(accepted["jsep"])


async def first_packets(call: Call) -> list[float]:
    """Each person's join time (media started -> first packet received), as Quietroom's."""
    people = call.group.people
    deadline = call.started + JOIN_TIMEOUT
    while time.monotonic() < deadline and not all(p.first_packet_at for p in people):
        await asyncio.sleep(0.05)
    return [min(p.first_packet_at.values()) - call.started for p in people if p.first_packet_at]


async def run(plan: Plan) -> dict[str, Any]:
    """The same run and figures as `bench.scenario.run`, against Janus at `plan.url`."""
    if plan.scenario == "call" and plan.participants != 2:
        raise ValueError("Janus's VideoCall plugin carries 1:1 calls only (participants = 2)")
    lifetime = plan.calls * 4 * JOIN_TIMEOUT + WARMUP_SECONDS + plan.duration + 60
    echo = plan.scenario == "echo"
    connect = connect_echo if echo else connect_call
    calls: list[Call] = []
    opus_clip(), vp8_clip()  # encoded once, before any join is timed
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        try:
            joins: list[float] = []
            for n in range(plan.calls):
                progress(f"joining janus call {n + 1}/{plan.calls}")
                key = call_key()  # with --e2ee, the same for both ends of a call
                people: list[Participant] = [
                    JanusPeer(http, plan.url, lifetime=lifetime, e2ee_key=key)
                    for _ in range(1 if echo else 2)
                ]
                calls.append(Call(Group(people, fanout=1)))  # closed in `finally` from here on
                await connect(calls[-1], n)
                joins += await first_packets(calls[-1])
            groups = [c.group for c in calls]
            await asyncio.sleep(WARMUP_SECONDS)
            first = await snapshot(groups, plan.server_pids)
            for person in (p for g in groups for p in g.people):
                person.delays_ms.clear()
            last = await measure(groups, plan, first)
            progress("")
            print(file=sys.stderr)
            return {**report(plan, groups, joins, first, last), "target": "janus"}
        finally:
            await asyncio.gather(
                *(p.close() for c in calls for p in c.group.people), return_exceptions=True
            )


async def measure(groups: list[Group], plan: Plan, first: Counters) -> Counters:
    """Let media flow for the plan's duration, showing progress; the closing snapshot."""
    end = first.at + plan.duration
    while time.monotonic() < end:
        await asyncio.sleep(min(1.0, max(0.0, end - time.monotonic())))
        now = await snapshot(groups, plan.server_pids)
        got = now.received_packets - first.received_packets
        cpu = now.cpu.cpu_seconds - first.cpu.cpu_seconds
        progress(
            f"{now.at - first.at:5.1f}/{plan.duration:.0f} s  janus calls {len(groups)}  "
            f"packets received {got}  server cpu {cpu:.2f} s"
        )
    return await snapshot(groups, plan.server_pids)
