"""How long from staff's "check in" to the prompt on the survivor's page (rerunnable figure).

A real server on loopback, staff as an aiortc client, the survivor in Chromium (fake camera
and microphone, text only so no media is needed). Staff send `check-in` RUNS times; the page
notes when `#check-in` becomes visible; the script prints every run and the median, in ms,
both clocks being this machine's.

    sudo .venv/bin/python tests/measure_check_in.py [RUNS]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import aiohttp
from browser import CHROMIUM_FLAGS
from conftest import STAFF_NAME, STAFF_PASSWORD, client_ssl, loopback_config, start_server
from playwright.async_api import async_playwright
from test_call_aiortc import invite_of, staff_in_call

from server import staff_file
from signaling.protocol import Admit, CheckIn, CheckInReply, LobbyWaiting

# Records (epoch ms) each time the check-in prompt becomes visible.
WATCH_PROMPT = """
() => {
  window.__shown = [];
  const prompt = document.getElementById("check-in");
  const seen = () => prompt && !prompt.hidden && prompt.offsetParent !== null;
  let was = seen();
  new MutationObserver(() => {
    const now = seen();
    if (now && !was) window.__shown.push(performance.timeOrigin + performance.now());
    was = now;
  }).observe(document.body, {attributes: true, subtree: true, childList: true});
}
"""


async def measure(runs: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "staff.json"
        staff_file.add(path, STAFF_NAME, STAFF_PASSWORD)
        runner, server = await start_server(loopback_config(path))
        connector = aiohttp.TCPConnector(ssl=client_ssl())
        try:
            async with aiohttp.ClientSession(connector=connector) as http, async_playwright() as p:
                _api, call, staff = await staff_in_call(http, server)
                browser = await p.chromium.launch(
                    executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS
                )
                page = await (await browser.new_context(ignore_https_errors=True)).new_page()
                await page.goto(f"{server.base}/join#{invite_of(call, 'survivor')}")
                await page.click('[data-safe="yes"]')
                await page.check('input[name="mode"][value="text"]')
                await page.click("#join")
                waiting = await staff.expect("lobby-waiting")
                assert isinstance(waiting, LobbyWaiting)
                await staff.send(Admit(waiting.participant))
                await page.wait_for_selector("#call", state="visible")
                await page.evaluate(WATCH_PROMPT)
                figures = []
                for run in range(runs):
                    sent_at = time.time() * 1000
                    await staff.send(CheckIn())
                    await page.wait_for_function("(n) => window.__shown.length > n", arg=run)
                    shown = await page.evaluate("(n) => window.__shown[n]", run)
                    figures.append(shown - sent_at)
                    await page.click('[data-answer="ok"]')
                    reply = await staff.expect("check-in-answer")
                    assert isinstance(reply, CheckInReply) and reply.answer == "ok"
                    await asyncio.sleep(0.3)
                await browser.close()
                await staff.close()
        finally:
            await runner.cleanup()
    return figures


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    figures = asyncio.run(measure(runs))
    print("check-in to prompt, ms:", ", ".join(f"{f:.1f}" for f in figures))
    print(f"median of {runs}: {statistics.median(figures):.1f} ms")


if __name__ == "__main__":
    main()
