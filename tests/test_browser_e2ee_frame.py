"""Browsers seal end-to-end encrypted frames byte for byte as Python peers do, and each opens
the other's (client_web/e2ee_frame.js against bench/e2ee_frame.py), in Chromium and in
Firefox ESR, through WebCrypto in a page of the real server."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from browser import CHROMIUM_FLAGS
from conftest import RunningServer
from firefox import Firefox, require_firefox

from bench.e2ee_frame import Opener, Sealer

pytestmark = pytest.mark.browser

KEY = os.urandom(32)
SENDER, EPOCH = 0xC0FFEE01, 4
FRAMES = [
    (
        "video",
        bytes([0x50, 0x42, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0xE0, 0x01]) + os.urandom(1200),
    ),
    ("video", bytes([0x31, 0x07, 0x00]) + os.urandom(400)),
    ("audio", bytes([0x78]) + os.urandom(80)),
    ("audio", b""),
    ("video", bytes([0x00, 0x01])),  # shorter than a keyframe's clear bytes
]

# Seals FRAMES as a browser sender would, opens what Python sealed, and tries that with the
# wrong call key: the page's answers, as hex.
ROUND_TRIP = """
(async () => {
  const m = await import("/static/e2ee_frame.js");
  const args = ARGS;
  const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");
  const bytes = (h) => new Uint8Array((h.match(/../g) || []).map((x) => parseInt(x, 16)));
  const key = bytes(args.key);
  const sealer = await m.Sealer.create(key, args.sender, args.epoch);
  const sealed = [];
  for (const [kind, frame] of args.frames) sealed.push(hex(await sealer.seal(kind, bytes(frame))));
  const opener = new m.Opener();
  opener.hold(args.epoch, key);
  const opened = [];
  for (const [kind, frame] of args.python) opened.push(hex(await opener.open(kind, bytes(frame))));
  const wrong = new m.Opener();
  wrong.hold(args.epoch, bytes(args.wrong));
  const refused = [];
  for (const [kind, frame] of args.python) {
    try {
      await wrong.open(kind, bytes(frame));
      refused.push("opened");
    } catch (e) {
      refused.push(e instanceof m.FrameError ? "refused" : String(e));
    }
  }
  return JSON.stringify({sealed, opened, refused});
})()
"""


def script() -> tuple[str, list[bytes]]:
    """The page's script, and what Python seals of FRAMES (as another sender)."""
    python = Sealer(KEY, sender=0x12345678, epoch=EPOCH)
    sealed = [python.seal(kind, frame) for kind, frame in FRAMES]
    args = {
        "key": KEY.hex(),
        "wrong": os.urandom(32).hex(),
        "sender": SENDER,
        "epoch": EPOCH,
        "frames": [[kind, frame.hex()] for kind, frame in FRAMES],
        "python": [[kind, s.hex()] for (kind, _), s in zip(FRAMES, sealed, strict=True)],
    }
    return ROUND_TRIP.replace("ARGS", json.dumps(args)), sealed


def check(answer: Any) -> None:
    result = json.loads(answer)
    # Byte for byte what a Python sender with the same key, sender and counters writes.
    same = Sealer(KEY, sender=SENDER, epoch=EPOCH)
    assert result["sealed"] == [same.seal(kind, frame).hex() for kind, frame in FRAMES]
    opener = Opener()
    opener.hold(EPOCH, KEY)
    pairs = zip(FRAMES, result["sealed"], strict=True)
    opened = [opener.open(kind, bytes.fromhex(sealed)) for (kind, _), sealed in pairs]
    assert opened == [frame for _, frame in FRAMES]
    assert result["opened"] == [frame.hex() for _, frame in FRAMES]  # Python's, opened
    assert result["refused"] == ["refused"] * len(FRAMES)  # not with the wrong key


async def test_chromium_seals_and_opens_frames_as_python_peers_do(server: RunningServer) -> None:
    from playwright.async_api import async_playwright

    source, _ = script()
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
        try:
            page = await (await browser.new_context(ignore_https_errors=True)).new_page()
            await page.goto(f"{server.base}/join")
            check(await page.evaluate(source))
        finally:
            await browser.close()


async def test_firefox_seals_and_opens_frames_as_python_peers_do(
    server: RunningServer, tmp_path: Path
) -> None:
    require_firefox()
    source, _ = script()
    async with Firefox(tmp_path / "firefox") as firefox:
        await firefox.navigate(f"{server.base}/join")
        check(await firefox.evaluate(source))
