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

import numpy as np
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
# The selected ICE pair of the page's connected RTCPeerConnection: each end's candidate type,
# transport protocol and port, and the relay's protocol (TURN) on the page's end.
SELECTED_PAIR_ENDS = """
async () => {
  const pc = (window.__pcs || []).find((c) => c.connectionState === "connected");
  if (!pc) return null;
  const stats = await pc.getStats();
  let pair = null;
  stats.forEach((s) => {
    if (s.type === "transport" && s.selectedCandidatePairId) {
      pair = stats.get(s.selectedCandidatePairId);
    }
    if (s.type === "candidate-pair" && s.selected) pair = s;  // Firefox
  });
  if (!pair) return null;
  const end = (c) => ({
    type: c.candidateType, protocol: c.protocol, port: c.port, relay: c.relayProtocol || "",
  });
  return {
    local: end(stats.get(pair.localCandidateId)),
    remote: end(stats.get(pair.remoteCandidateId)),
  };
}
"""

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


def textured_camera(tmp: Path, frames: int = 30) -> Path:
    """A 640x480 clip for Chromium's fake camera (--use-file-for-fake-video-capture) with
    moving texture and grain: its encoder climbs to about 1 Mbit/s, where the built-in fake
    camera's simple picture stays under 500 kbit/s."""
    width, height = 640, 480
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:height, 0:width]
    path = tmp / "textured.y4m"
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F30:1 Ip A1:1 C420jpeg\n".encode())
        for i in range(frames):
            luma = 128 + 60 * np.sin((x + 4 * i) / 23) * np.cos((y - 3 * i) / 17)
            luma += rng.integers(-12, 13, (height, width))
            chroma_u = 128 + 30 * np.sin((x[::2, ::2] + 2 * i) / 31)
            out.write(b"FRAME\n")
            out.write(np.clip(luma, 0, 255).astype(np.uint8).tobytes())
            out.write(chroma_u.astype(np.uint8).tobytes())
            out.write(np.full((height // 2, width // 2), 128, np.uint8).tobytes())
    return path


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


def confirm_ready(page: Any) -> None:
    """Staff just signed in: confirm the readiness checklist (once per sign-in), which the
    page asks before any call can be joined, once it knows whether this sign-in has."""
    page.wait_for_selector("#calls-view:not([hidden])")
    page.wait_for_selector("#ready-form[data-asked]", state="attached")
    if page.locator("#ready-form").is_hidden():
        return
    for name in ("quiet_place", "headphones", "work_device"):
        page.check(f'#ready-form input[name="{name}"]')
    page.click('#ready-form button[type="submit"]')
    page.wait_for_selector("#ready-form", state="hidden")


def open_page(page: Any, url: str, ready: str) -> None:
    """Load `url` until `ready` shows. Chromium in a namespace it has just started in can
    abort or restart its first load (ERR_NETWORK_CHANGED): what counts is the page."""
    for attempt in range(3):
        try:
            page.goto(url)
        except Exception:
            pass  # aborted or interrupted by the browser's own reload: look at the page
        try:
            page.wait_for_selector(ready, timeout=10000)
            return
        except Exception:
            if attempt == 2:
                raise
