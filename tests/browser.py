"""Browser-test support: the server in its own namespace, Chromium pages in theirs."""

from __future__ import annotations

import re
import selectors
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netlab import Host

from bench.local import stop_gently

REPO = Path(__file__).resolve().parent.parent

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--ignore-certificate-errors",
]

# Records every RTCPeerConnection a page makes, so the test can read its getStats().
RECORD_PEER_CONNECTIONS = """
(() => {
  const Original = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Original {
    constructor(...args) { super(...args); window.__pcs.push(this); }
  };
})();
"""

# Which RTCP-derived stats the page's live connection has: from the server's sender reports
# ("remote-outbound-rtp") and receiver reports ("remote-inbound-rtp").
REPORT_STATS = """
async () => {
  const pcs = (window.__pcs || []).filter(pc => pc.connectionState !== "closed");
  const kinds = [];
  for (const pc of pcs) {
    (await pc.getStats()).forEach(s => {
      if (s.type === "remote-outbound-rtp" || s.type === "remote-inbound-rtp") {
        kinds.push({type: s.type, kind: s.kind, packets: s.packetsSent ?? s.packetsLost ?? -1});
      }
    });
  }
  return kinds;
}
"""

# Inbound media figures of the page's live connection, by kind and track.
INBOUND_STATS = """
async () => {
  const pcs = (window.__pcs || []).filter(pc => pc.connectionState !== "closed");
  const rows = [];
  for (const pc of pcs) {
    const stats = await pc.getStats();
    stats.forEach(s => {
      if (s.type === "inbound-rtp") rows.push({
        kind: s.kind, mid: s.mid, framesDecoded: s.framesDecoded || 0,
        packetsReceived: s.packetsReceived || 0,
        totalSamplesReceived: s.totalSamplesReceived || 0,
        totalAudioEnergy: s.totalAudioEnergy || 0,
      });
    });
  }
  return rows;
}
"""


@dataclass
class ServerProcess:
    host: Host
    proc: subprocess.Popen[bytes]
    url: str
    stderr: list[str] = field(default_factory=list)

    def stop(self) -> str:
        """Stop the server; returns everything it logged."""
        stop_gently(self.proc)
        assert self.proc.stderr is not None
        self.stderr.append(self.proc.stderr.read().decode(errors="replace"))
        return "".join(self.stderr)


def start_server(host: Host, staff_file: Path, *extra: str) -> ServerProcess:
    args = [
        sys.executable,
        "-m",
        "server.cli",
        "serve",
        "--host",
        host.address,
        "--port",
        "8443",
        "--ice-addresses",
        host.address,
        "--staff-file",
        str(staff_file),
        "--log-level",
        "debug",
        *extra,
    ]
    proc = host.popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + 30
    line = b""
    while time.monotonic() < deadline and proc.poll() is None:
        if selector.select(timeout=0.5):
            line = proc.stdout.readline()
            if b"sign in at" in line:
                break
    match = re.search(rb"(https://\S+)/staff", line)
    if not match:
        proc.kill()
        raise RuntimeError("the server did not start")
    return ServerProcess(host, proc, match.group(1).decode())


def inbound(page: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = page.evaluate(INBOUND_STATS)
    return rows
