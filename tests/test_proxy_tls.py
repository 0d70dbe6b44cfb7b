"""TLS and reverse proxies (issue 13): HSTS when the page is served over HTTPS, forwarded
headers believed only from a trusted proxy, and a renewed certificate taken on SIGHUP."""

from __future__ import annotations

import asyncio
import os
import signal
import ssl
from pathlib import Path

import aiohttp
import serverproc
from aiohttp import web
from conftest import STAFF_NAME, RunningServer, loopback_config
from test_call_aiortc import wait_until

from server.app import create_app
from server.config import Config
from server.tls import self_signed_pem


async def test_pages_over_https_ask_browsers_to_stay_on_https(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{server.base}/staff") as r:
        assert r.headers["Strict-Transport-Security"] == "max-age=31536000"


async def guess(http: aiohttp.ClientSession, base: str, headers: dict[str, str]) -> int:
    body = {"name": STAFF_NAME, "password": "a wrong password"}
    async with http.post(f"{base}/api/login", json=body, headers=headers) as r:
        return r.status


async def test_forwarded_headers_count_only_from_a_trusted_proxy(
    staff_path: Path, http: aiohttp.ClientSession
) -> None:
    """Behind a proxy every request comes from the proxy's address: the client's own, in
    X-Forwarded-For, is what sign-in limits must count, but only if the proxy is trusted."""
    for trusted in ([], ["127.0.0.1"]):
        config = loopback_config(staff_path, plain_http=True, trusted_proxy=trusted)
        app_runner, running = await start_server_plain(config)
        base = running.base
        try:
            first = {"X-Forwarded-For": "203.0.113.5", "X-Forwarded-Proto": "https"}
            other = {"X-Forwarded-For": "198.51.100.7"}
            answers = [await guess(http, base, first) for _ in range(6)]
            assert answers[:5] == [401] * 5 and answers[5] == 429
            # Another client through the same proxy: limited only if nobody trusts the header.
            assert await guess(http, base, other) == (401 if trusted else 429)
            async with http.get(f"{base}/staff", headers=first) as r:
                assert ("Strict-Transport-Security" in r.headers) is bool(trusted)
        finally:
            await app_runner.cleanup()


async def start_server_plain(config: Config) -> tuple[web.AppRunner, RunningServer]:
    """The server without TLS, as behind a proxy (start_server always uses TLS)."""
    app = create_app(config)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    return runner, RunningServer(f"http://127.0.0.1:{port}", app)


async def served_certificate(base: str) -> bytes:
    host, port = base.removeprefix("https://").rsplit(":", 1)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    _reader, writer = await asyncio.open_connection(host, int(port), ssl=context)
    der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    writer.close()
    return bytes(der)


async def test_a_renewed_certificate_is_taken_on_sighup(tmp_path: Path, staff_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    first_cert, first_key = self_signed_pem("127.0.0.1")
    cert.write_bytes(first_cert)
    key.write_bytes(first_key)
    options = ["--port", "0", "--staff-file", str(staff_path), "--media-workers", "0"]
    options += ["--tls-cert", str(cert), "--tls-key", str(key)]
    running = await serverproc.start(
        serverproc.serve_command(*options),
        cwd=tmp_path,
        env=serverproc.clean_environment(),
        stderr_path=tmp_path / "stderr.log",
    )
    try:
        before = await served_certificate(running.base)
        assert ssl.DER_cert_to_PEM_cert(before).encode().strip() == first_cert.strip()
        # A broken renewal is refused; the running certificate stays.
        cert.write_text("not a certificate")
        os.kill(running.server_pid(), signal.SIGHUP)
        await wait_until(lambda: "certificate not reloaded" in running.stderr())
        assert await served_certificate(running.base) == before
        second_cert, second_key = self_signed_pem("127.0.0.1")
        cert.write_bytes(second_cert)
        key.write_bytes(second_key)
        os.kill(running.server_pid(), signal.SIGHUP)
        await wait_until(lambda: "certificate reloaded" in running.stderr())
        after = await served_certificate(running.base)
        assert ssl.DER_cert_to_PEM_cert(after).encode().strip() == second_cert.strip()
    finally:
        await serverproc.interrupt(running)
        await serverproc.kill(running)
