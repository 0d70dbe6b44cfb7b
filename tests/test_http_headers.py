"""Every response keeps pages private: no caching, no referrer, own-origin scripts only."""

from __future__ import annotations

import aiohttp
import pytest
from conftest import STAFF_NAME, STAFF_PASSWORD, RunningServer

PATHS = ["/staff", "/join", "/static/join.js", "/static/style.css", "/no-such-page", "/api/calls"]


@pytest.mark.parametrize("path", PATHS)
async def test_private_headers_on_every_response(
    server: RunningServer, http: aiohttp.ClientSession, path: str
) -> None:
    async with http.get(server.base + path, allow_redirects=False) as response:
        headers = response.headers
    assert headers["Cache-Control"] == "no-store"
    assert headers["Referrer-Policy"] == "no-referrer"
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "http" not in csp
    for leaky in ("ETag", "Last-Modified", "Server", "Set-Cookie"):
        assert leaky not in headers


async def test_pages_have_no_inline_script(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    for path in ("/staff", "/join"):
        async with http.get(server.base + path) as response:
            html = await response.text()
        assert "<script" in html
        for tag in html.split("<script")[1:]:
            assert tag.split(">", 1)[0].strip().startswith('type="module" src="/static/')
            assert tag.split(">", 1)[1].startswith("</script>")


async def test_static_files_do_not_escape_the_web_root(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    for path in ("/static/../server/app.py", "/static/%2e%2e/pyproject.toml"):
        async with http.get(server.base + path) as response:
            assert response.status in (403, 404)


async def test_websocket_from_another_origin_is_refused(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    url = server.base.replace("https://", "wss://") + "/ws"
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect(url, headers={"Origin": "https://elsewhere.example"})
    assert refused.value.status == 403
    own = await http.ws_connect(url, headers={"Origin": server.base})
    await own.close()


async def test_state_changing_requests_from_another_site_are_refused(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    body = {"name": STAFF_NAME, "password": STAFF_PASSWORD}
    async with http.post(f"{server.base}/api/login", json=body) as r:
        cookie = r.headers["Set-Cookie"].split(";", 1)[0]
    url = f"{server.base}/api/calls"
    for foreign in (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ):
        async with http.post(url, json={}, headers={"Cookie": cookie, **foreign}) as r:
            assert r.status == 403, foreign
            assert (await r.json())["error"] == "forbidden"
        async with http.post(f"{server.base}/api/login", json=body, headers=foreign) as r:
            assert r.status == 403, foreign
    for own in ({"Origin": server.base}, {"Sec-Fetch-Site": "same-origin"}, {}):
        async with http.post(url, json={}, headers={"Cookie": cookie, **own}) as r:
            assert r.status == 201, own
