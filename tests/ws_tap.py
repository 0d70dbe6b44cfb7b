"""A TLS front for a test server that writes down everything the browsers send it.

    python tests/ws_tap.py LISTEN_HOST LISTEN_PORT UPSTREAM_URL RECORD_FILE

Browsers connect over HTTPS (a self-signed certificate made in memory); each request is
passed to the server behind (plain HTTP) with its Host header, and each WebSocket message
is passed both ways. Every request line, header, body and WebSocket message from the
browsers is written to RECORD_FILE as it passed (one JSON object a line), decoded: what the
server was sent, in the clear, for a test to search. Prints "tapping" once it listens.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

import aiohttp
from aiohttp import web

from server.tls import self_signed_pem

HOP_BY_HOP = {"connection", "upgrade", "transfer-encoding", "keep-alive", "content-length"}


def tap_app(upstream: str, record: TextIO) -> web.Application:
    session: aiohttp.ClientSession | None = None

    def write(entry: dict[str, Any]) -> None:
        record.write(json.dumps(entry) + "\n")
        record.flush()

    async def relay(request: web.Request) -> web.StreamResponse:
        nonlocal session
        if session is None:
            session = aiohttp.ClientSession(auto_decompress=False)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["X-Forwarded-Proto"] = "https"
        headers["X-Forwarded-For"] = request.remote or ""
        write({"request": f"{request.method} {request.path_qs}", "headers": dict(headers)})
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await relay_socket(request, headers)
        body = await request.read()
        if body:
            write({"body": body.decode(errors="replace")})
        async with session.request(
            request.method,
            upstream + request.path_qs,
            headers=headers,
            data=body,
            allow_redirects=False,
        ) as answer:
            response = web.Response(
                status=answer.status,
                body=await answer.read(),
                headers={k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP},
            )
            return response

    async def relay_socket(request: web.Request, headers: dict[str, str]) -> web.StreamResponse:
        assert session is not None
        browser = web.WebSocketResponse()
        await browser.prepare(request)
        wanted = {k: v for k, v in headers.items() if not k.lower().startswith("sec-websocket")}
        async with session.ws_connect(
            upstream.replace("http", "ws", 1) + request.path_qs, headers=wanted
        ) as server:

            async def down() -> None:
                async for message in server:
                    if message.type == aiohttp.WSMsgType.TEXT:
                        await browser.send_str(message.data)
                await browser.close()

            task = asyncio.create_task(down())
            async for message in browser:
                if message.type == aiohttp.WSMsgType.TEXT:
                    write({"ws": message.data})
                    await server.send_str(message.data)
            await server.close()
            task.cancel()
        return browser

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", relay)
    return app


async def main(host: str, port: int, upstream: str, path: str) -> None:
    cert, key = self_signed_pem(host)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "cert.pem").write_bytes(cert)
        (Path(folder) / "key.pem").write_bytes(key)
        context.load_cert_chain(Path(folder) / "cert.pem", Path(folder) / "key.pem")
    with open(path, "a", encoding="utf-8") as record:
        runner = web.AppRunner(tap_app(upstream.rstrip("/"), record))
        await runner.setup()
        await web.TCPSite(runner, host, port, ssl_context=context).start()
        print("tapping", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]))
