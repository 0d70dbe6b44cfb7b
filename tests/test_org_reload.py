"""The org file through a real `quietroom serve` process: SIGHUP takes a changed file for the
next page load while a running call's media goes on; a broken file is refused, logged
without its content, and the previous settings stay."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from types import SimpleNamespace

import aiohttp
import serverproc
from test_call_aiortc import media_counts, more_media, two_person_call, wait_until

FIRST = 'exit_url = "https://first.example.org/"\n[consent]\nen = "We keep nothing."\n'
SECOND = 'exit_url = "https://second.example.org/"\n[consent]\nen = "Nothing is kept, ever."\n'
BROKEN = '[consent]\nen = "A private sentence of the shelter"\n[hours]\nmonday = ["late"]\n'


async def welcome(http: aiohttp.ClientSession, base: str) -> dict[str, object]:
    async with http.get(f"{base}/api/welcome") as response:
        assert response.status == 200
        body = await response.json()
    assert isinstance(body, dict)
    return body


async def test_sighup_reloads_the_org_file_and_keeps_calls(
    tmp_path: Path, staff_path: Path, http: aiohttp.ClientSession
) -> None:
    org = tmp_path / "org.toml"
    org.write_text(FIRST, encoding="utf-8")
    options = ["--port", "0", "--ice-addresses", "127.0.0.1", "--media-workers", "0"]
    options += ["--staff-file", str(staff_path), "--org-file", str(org)]
    running = await serverproc.start(
        serverproc.serve_command(*options),
        cwd=tmp_path,
        env=serverproc.clean_environment(),
        stderr_path=tmp_path / "stderr.log",
    )
    people = []
    try:
        assert (await welcome(http, running.base))["exit_url"] == "https://first.example.org/"
        people = await two_person_call(http, SimpleNamespace(base=running.base))

        await wait_until(lambda: more_media(people, {}))

        org.write_text(SECOND, encoding="utf-8")
        os.kill(running.server_pid(), signal.SIGHUP)
        await wait_until(lambda: "settings reloaded" in running.stderr())
        body = await welcome(http, running.base)
        assert body["exit_url"] == "https://second.example.org/"
        assert body["consent"] == {"en": "Nothing is kept, ever.", "fr": ""}
        # The call went on through the reload: more media arrives, both ways.
        now = media_counts(people)
        await wait_until(lambda: more_media(people, now))

        org.write_text(BROKEN, encoding="utf-8")
        os.kill(running.server_pid(), signal.SIGHUP)
        await wait_until(lambda: "settings not reloaded" in running.stderr())
        await asyncio.sleep(0.2)
        assert (await welcome(http, running.base))["exit_url"] == "https://second.example.org/"
        log = running.stderr()
        refusal = next(line for line in log.splitlines() if "settings not reloaded" in line)
        assert "line 3: hours: monday:" in refusal, refusal
        assert "private sentence" not in log and "late" not in log
    finally:
        for person in people:
            await person.close()
        await serverproc.interrupt(running)
        await serverproc.kill(running)
