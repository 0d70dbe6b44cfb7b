"""The encoded-transform worker in real browsers: two connections in one page of the real
server, the sender's frames sealed by client_web/e2ee_worker.js and the receiver's opened by
it. With the same call key the receiver decodes video and plays audio; with another key it
opens nothing, decodes no video, and the worker counts every frame that failed. Chromium
both ways it may have (RTCRtpScriptTransform, createEncodedStreams), Firefox ESR its one."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from browser import CHROMIUM_FLAGS
from conftest import RunningServer
from firefox import Firefox, require_firefox

pytestmark = pytest.mark.browser

SECONDS = 4

# Sends the fake camera and microphone from one connection to another in the page, through
# the worker, and returns what the receiver decoded and what the workers counted.
LOOP = """
(async () => {
  const { FrameCrypto, connectionOptions, transformSupport } = await import("/static/e2ee.js");
  const args = ARGS;
  const bytes = (h) => new Uint8Array((h.match(/../g) || []).map((x) => parseInt(x, 16)));
  const mode = args.mode || transformSupport();
  if (!mode) return JSON.stringify({ mode: null });
  const a = new RTCPeerConnection(connectionOptions(mode));
  const b = new RTCPeerConnection(connectionOptions(mode));
  const sending = new FrameCrypto(mode);
  const receiving = new FrameCrypto(mode);
  await sending.key(0, bytes(args.sendKey));
  await receiving.key(0, bytes(args.receiveKey));
  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
  const players = [];
  b.ontrack = (e) => {
    receiving.attachReceiver(e.receiver, e.track.kind);
    if (e.track.kind !== "audio") return;
    const player = new Audio(); // played out, so the browser counts what it decodes
    player.srcObject = new MediaStream([e.track]);
    player.play().catch(() => {});
    players.push(player);
  };
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: true, video: { width: 320, height: 240 },
  });
  for (const track of stream.getTracks()) {
    sending.attachSender(a.addTrack(track, stream), track.kind);
  }
  const codecs = RTCRtpReceiver.getCapabilities("video").codecs;
  const vp8 = codecs.filter((c) => c.mimeType === "video/VP8");
  for (const t of a.getTransceivers()) {
    if (t.sender.track?.kind === "video") t.setCodecPreferences(vp8);
  }
  await a.setLocalDescription();
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription();
  await a.setRemoteDescription(b.localDescription);
  await new Promise((r) => setTimeout(r, args.seconds * 1000));
  const found = { mode, framesDecoded: 0, videoPackets: 0, samples: 0, concealed: 0, codec: "" };
  const sent = await a.getStats();
  sent.forEach((s) => {
    if (s.type !== "outbound-rtp" || s.kind !== "video") return;
    found.codec = sent.get(s.codecId)?.mimeType;
  });
  (await b.getStats()).forEach((s) => {
    if (s.type !== "inbound-rtp") return;
    if (s.kind === "video") {
      found.framesDecoded = s.framesDecoded || 0;
      found.videoPackets = s.packetsReceived || 0;
    } else {
      found.samples = s.totalSamplesReceived || 0;
      found.concealed = s.concealedSamples || 0;
    }
  });
  await new Promise((r) => setTimeout(r, 1100)); // the workers' counts, a second apart
  found.sent = sending.counts;
  found.received = receiving.counts;
  stream.getTracks().forEach((t) => t.stop());
  players.forEach((p) => p.pause());
  a.close(); b.close(); sending.close(); receiving.close();
  return JSON.stringify(found);
})()
"""


def loop(mode: str | None, same_key: bool) -> str:
    key = os.urandom(32)
    args = {
        "mode": mode,
        "sendKey": key.hex(),
        "receiveKey": (key if same_key else os.urandom(32)).hex(),
        "seconds": SECONDS,
    }
    return LOOP.replace("ARGS", json.dumps(args))


def check(answer: Any, same_key: bool, mode: str | None = None) -> None:
    found = json.loads(answer)
    assert found["mode"] is not None, "this browser has no encoded transforms"
    if mode is not None:
        assert found["mode"] == mode
    assert found["codec"] == "video/VP8" and found["videoPackets"] > 50, found
    assert found["sent"]["sealed"] > 100 and found["sent"]["failed"] == 0, found
    if same_key:
        assert found["framesDecoded"] > 30, found
        assert found["received"]["opened"] > 100 and found["received"]["failed"] == 0, found
        assert found["samples"] > 0 and found["concealed"] < 0.2 * found["samples"], found
    else:
        assert found["framesDecoded"] == 0, found
        assert found["received"]["opened"] == 0 and found["received"]["failed"] > 100, found
        # Nothing audible: no samples decoded (Firefox), or all of them concealed (Chromium).
        assert found["concealed"] >= 0.9 * found["samples"], found


@pytest.mark.parametrize("mode", ["script", "streams"])
async def test_chromium_seals_and_opens_frames_in_a_worker(
    server: RunningServer, mode: str
) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
        try:
            page = await (await browser.new_context(ignore_https_errors=True)).new_page()
            await page.goto(f"{server.base}/join")
            for same_key in (True, False):
                check(await page.evaluate(loop(mode, same_key)), same_key, mode)
        finally:
            await browser.close()


async def test_firefox_seals_and_opens_frames_in_a_worker(
    server: RunningServer, tmp_path: Path
) -> None:
    require_firefox()
    async with Firefox(tmp_path / "firefox") as firefox:
        await firefox.navigate(f"{server.base}/join")
        for same_key in (True, False):
            answer = await firefox.evaluate(loop(None, same_key), timeout=SECONDS + 20)
            check(answer, same_key, "script")
