"""Throwaway virtual networks of Linux network namespaces joined by a bridge, for tests."""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import re
import shutil
import signal
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

IP = "ip"
CHROMIUM = "/usr/bin/chromium"
TIMEOUT = 30.0  # seconds, default for every subprocess call made here
_NAME_RE = re.compile(r"^[A-Za-z0-9_]+$")
_counter = itertools.count()
_subnets_in_use: set[int] = set()


def require_netns() -> None:
    """Skip the calling test unless we are root and `ip` is installed."""
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    if shutil.which(IP) is None:
        pytest.skip("iproute2 `ip` is not installed")


def _run(cmd: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command in the current namespace with a timeout, capturing output."""
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=TIMEOUT)


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `ip ARGS` with a timeout, capturing output."""
    return _run([IP, *args], check=check)


def _shape(netns: str, dev: str, kbit: int | None) -> None:
    """A tbf qdisc of `kbit` kbit/s on the egress of `dev` in `netns`, or none when None."""
    tc = ["tc", "-n", netns, "qdisc"]
    if kbit is None:
        _ip("-n", netns, "link", "show", dev)  # fail loudly if the dev is gone
        _run([*tc, "del", "dev", dev, "root"], check=False)  # none installed is fine
        return
    _run([*tc, "replace", "dev", dev, "root", *_tbf(kbit)])


def _tbf(kbit: int) -> list[str]:
    """A tbf qdisc's arguments: `kbit` kbit/s, a queue of 50 ms, then drops."""
    if kbit <= 0:
        raise ValueError("kbit must be positive")
    burst = max(3200, kbit * 125 // 50)  # bytes: at least ~20 ms at full rate, >= 2 MTUs
    return ["tbf", "rate", f"{kbit}kbit", "burst", str(burst), "latency", "50ms"]


@contextlib.contextmanager
def loopback_port_capped(port: int, kbit: int) -> Any:
    """While inside: UDP that loopback delivers to `port` is shaped to `kbit` kbit/s (tbf),
    everything else on loopback passes as before. For aiortc peers of the test process,
    which live in the root namespace and talk over loopback."""
    if not 0 < port < 65536:
        raise ValueError("not a port")
    shape = _tbf(kbit)
    tc = ["tc", "qdisc"]
    # htb (prio is not in every kernel): class 1:10 for everything, 1:20 for the port.
    _run([*tc, "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "10", "r2q", "1000"])
    try:
        for cls, rate in (("1:10", "10gbit"), ("1:20", f"{kbit}kbit")):
            _run(["tc", "class", "add", "dev", "lo", "parent", "1:", "classid", cls, "htb",
                  "rate", rate, "ceil", rate])  # fmt: skip
        _run([*tc, "add", "dev", "lo", "parent", "1:20", "handle", "20:", *shape])
        match = ["match", "ip", "protocol", "17", "0xff", "match", "ip", "dport", str(port)]
        _run(["tc", "filter", "add", "dev", "lo", "parent", "1:", "protocol", "ip", "prio",
              "1", "u32", *match, "0xffff", "flowid", "1:20"])  # fmt: skip
        yield
    finally:
        _run([*tc, "del", "dev", "lo", "root"], check=False)


@dataclass
class VethLink:
    """A namespace of a test's own joined to this one by a veth pair, a /30 between them."""

    netns: str
    server_address: str  # this namespace's end
    peer_address: str  # the other namespace's end
    here: str  # this namespace's interface
    there: str  # the other namespace's interface

    def add_peer_address(self, address: str) -> None:
        """One more address for the other namespace, reached from here by a route."""
        _ip("-n", self.netns, "addr", "add", f"{address}/32", "dev", self.there)
        _ip("route", "add", f"{address}/32", "dev", self.here)


def free_subnet(tag: int) -> str:
    """A 10.233.X /24 prefix no address here uses yet (other test runs may hold one)."""
    used = subprocess.run(
        [IP, "-o", "-4", "addr", "show"], capture_output=True, text=True, timeout=TIMEOUT
    ).stdout
    for step in range(250):
        prefix = f"10.233.{(tag + step) % 250 + 1}"
        if f" {prefix}." not in used:
            return prefix
    raise RuntimeError("no free 10.233.X subnet")


@contextlib.contextmanager
def veth_link(name: str) -> Any:
    """A VethLink, removed afterwards; `name` (a few letters) tells tests' links apart."""
    require_netns()
    tag = os.getpid() % 100000
    netns, here, there = f"qr{name}{tag}", f"q{name}h{tag}", f"q{name}t{tag}"
    subnet = free_subnet(tag)
    _ip("netns", "add", netns)
    try:
        _ip("-n", netns, "link", "set", "lo", "up")
        _ip("link", "add", here, "type", "veth", "peer", "name", there, "netns", netns)
        _ip("addr", "add", f"{subnet}.1/30", "dev", here)
        _ip("link", "set", here, "up")
        _ip("-n", netns, "addr", "add", f"{subnet}.2/30", "dev", there)
        _ip("-n", netns, "link", "set", there, "up")
        yield VethLink(netns, f"{subnet}.1", f"{subnet}.2", here, there)
    finally:
        _ip("link", "del", here, check=False)  # takes its peer with it
        _ip("netns", "del", netns, check=False)


@dataclass
class Host:
    """One host of a lab: its own namespace with one interface on the lab bridge."""

    name: str
    netns: str
    address: str
    dev: str
    hub: str = ""  # the lab's hub namespace, where this host's bridge port lives
    port: str = ""  # the host's veth end on the bridge: its egress is the host's downlink

    def _wrap(self, args: list[str]) -> list[str]:
        return [IP, "netns", "exec", self.netns, *args]

    def run(self, args: list[str], **kw: Any) -> subprocess.CompletedProcess[Any]:
        """Run a command inside the host's namespace (check=True, timeout 30s by default)."""
        kw.setdefault("check", True)
        kw.setdefault("timeout", TIMEOUT)
        return subprocess.run(self._wrap(args), **kw)

    def popen(self, args: list[str], **kw: Any) -> subprocess.Popen[Any]:
        """Start a command inside the host's namespace; the caller must kill and wait for it."""
        return subprocess.Popen(self._wrap(args), **kw)

    def set_link(self, up: bool) -> None:
        """Bring the host's interface up or down (down cuts it off from the bridge)."""
        _ip("-n", self.netns, "link", "set", self.dev, "up" if up else "down")

    def limit_rate(self, kbit: int | None) -> None:
        """Shape the host's egress with a tbf qdisc of `kbit` kbit/s, or remove it when None."""
        _shape(self.netns, self.dev, kbit)

    def limit_downlink(self, kbit: int | None) -> None:
        """Shape what reaches the host (its bridge port's egress), or remove it when None."""
        _shape(self.hub, self.port, kbit)

    def chromium_wrapper(self, tmp_dir: Path) -> Path:
        """Write an executable script that runs Chromium inside this host's namespace."""
        ip = shutil.which(IP) or IP
        path = Path(tmp_dir) / f"chromium-{self.netns}"
        path.write_text(f'#!/bin/sh\nexec {ip} netns exec {self.netns} {CHROMIUM} "$@"\n')
        path.chmod(0o755)
        return path


class NetLab:
    """A hub namespace with a bridge plus one namespace per host, on 10.231.X.0/24.

    Nothing is configured in the root namespace and no host has a default route, so
    traffic can only flow between the lab's hosts.  Use as a context manager or call
    close(); an atexit hook cleans up if neither happens.
    """

    def __init__(self, prefix: str | None = None) -> None:
        if prefix is None:
            while True:
                prefix = f"qr{os.getpid() % 10000}x{next(_counter)}"
                if not Path("/run/netns", f"{prefix}-hub").exists():
                    break
        if not _NAME_RE.match(prefix) or len(prefix) > 11:
            raise ValueError("prefix must be 1-11 chars of [A-Za-z0-9_]")
        self.prefix = prefix
        self.hub = f"{prefix}-hub"
        self.bridge = f"{prefix}br"
        self.hosts: dict[str, Host] = {}
        self._namespaces: list[str] = []
        self._closed = False
        self.subnet_id = self._pick_subnet(prefix)
        self.subnet = f"10.231.{self.subnet_id}.0/24"
        atexit.register(self.close)
        try:
            self._add_netns(self.hub)
            _ip("-n", self.hub, "link", "add", self.bridge, "type", "bridge")
            _ip("-n", self.hub, "link", "set", self.bridge, "up")
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _pick_subnet(prefix: str) -> int:
        """Derive X (1..254) from the prefix, avoiding values other labs here already use."""
        start = zlib.crc32(prefix.encode())
        for i in range(254):
            x = (start + i) % 254 + 1
            if x not in _subnets_in_use:
                _subnets_in_use.add(x)
                return x
        raise RuntimeError("too many NetLabs open in this process")

    def _add_netns(self, ns: str) -> None:
        _ip("netns", "add", ns)
        self._namespaces.append(ns)
        _ip("-n", ns, "link", "set", "lo", "up")

    def add_host(self, name: str) -> Host:
        """Create a host namespace wired to the bridge and give it the next free address."""
        if self._closed:
            raise RuntimeError("NetLab is closed")
        if not _NAME_RE.match(name) or name in self.hosts:
            raise ValueError(f"bad or duplicate host name: {name!r}")
        index = len(self.hosts)
        if index > 252:
            raise RuntimeError("subnet is full")
        ns = f"{self.prefix}-{name}"
        dev, port = f"{self.prefix}h{index}", f"{self.prefix}p{index}"
        address = f"10.231.{self.subnet_id}.{index + 2}"
        self._add_netns(ns)
        # Create the pair inside the hub so nothing ever appears in the root namespace.
        _ip("-n", self.hub, "link", "add", dev, "type", "veth", "peer", "name", port)
        _ip("-n", self.hub, "link", "set", dev, "netns", ns)
        _ip("-n", self.hub, "link", "set", port, "master", self.bridge)
        _ip("-n", self.hub, "link", "set", port, "up")
        _ip("-n", ns, "addr", "add", f"{address}/24", "dev", dev)
        _ip("-n", ns, "link", "set", dev, "up")
        host = Host(name=name, netns=ns, address=address, dev=dev, hub=self.hub, port=port)
        self.hosts[name] = host
        return host

    def close(self) -> None:
        """Kill leftover processes in the lab's namespaces and delete them; idempotent."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        for ns in reversed(self._namespaces):
            pids = _ip("netns", "pids", ns, check=False).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            _ip("netns", "del", ns, check=False)  # already gone is fine
        self._namespaces.clear()
        _subnets_in_use.discard(self.subnet_id)

    def __enter__(self) -> NetLab:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
