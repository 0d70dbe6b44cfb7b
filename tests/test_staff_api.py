"""The staff HTTP API: sign-in, calls, and what happens when an account is removed."""

from __future__ import annotations

import dataclasses

import aiohttp
from conftest import STAFF_NAME, STAFF_PASSWORD, RunningServer, loopback_config, start_server

from bench.client import Participant, StaffApi
from server import staff_file
from signaling.protocol import Admit, Error, Join, Joined, LobbyWaiting


async def test_create_list_and_end_calls(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    api = StaffApi(http, server.base)
    await api.sign_in(STAFF_NAME, STAFF_PASSWORD)
    call = await api.create_call()
    assert set(call["links"]) == {"survivor", "interpreter"}
    assert call["links"]["survivor"].startswith(f"{server.base}/join#")
    assert 7190 <= call["expires_in"] <= 7200
    async with http.get(f"{server.base}/api/calls", headers=api.headers) as r:
        assert [c["id"] for c in (await r.json())["calls"]] == [call["id"]]
    await api.end_call(call["id"])
    async with http.get(f"{server.base}/api/calls", headers=api.headers) as r:
        assert (await r.json())["calls"] == []
    async with http.delete(f"{server.base}/api/calls/{call['id']}", headers=api.headers) as r:
        assert r.status == 404
        assert (await r.json())["error"] == "no-call"


async def test_cookie_sign_in_is_httponly_secure_strict(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    body = {"name": STAFF_NAME, "password": STAFF_PASSWORD}
    async with http.post(f"{server.base}/api/login", json=body) as r:
        assert r.status == 200
        cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Strict" in cookie
    # (aiohttp's cookie jar keeps no cookies for IP addresses: send it back by hand)
    pair = cookie.split(";", 1)[0]
    async with http.get(f"{server.base}/api/me", headers={"Cookie": pair}) as r:
        assert (await r.json()) == {"staff": STAFF_NAME, "admin": False, "ready": False}


async def test_oversized_body_is_a_json_413(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    body = {"name": "x" * 5000, "password": "y"}
    async with http.post(f"{server.base}/api/login", json=body) as r:
        assert r.status == 413
        assert (await r.json())["error"] == "too-large"


async def test_removed_account_is_signed_out_everywhere(
    tmp_path: object, http: aiohttp.ClientSession
) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    path = tmp_path / "staff.json"
    staff_file.add(path, "temp.worker", "a long enough password")
    runner, server = await start_server(loopback_config(path))
    try:
        api = StaffApi(http, server.base)
        await api.sign_in("temp.worker", "a long enough password")
        await api.create_call()
        staff_file.remove(path, "temp.worker")
        async with http.post(f"{server.base}/api/calls", json={}, headers=api.headers) as r:
            assert r.status == 401
            assert (await r.json())["error"] == "unauthorized"
    finally:
        await runner.cleanup()


async def test_welcome_gives_the_organizations_texts_and_the_exit(
    tmp_path: object, staff_path: object, http: aiohttp.ClientSession
) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path) and isinstance(staff_path, Path)
    config = loopback_config(staff_path)
    config = dataclasses.replace(
        config, consent_file={"fr": "Votre appel reste privé."}, exit_url="https://example.org/"
    )
    runner, server = await start_server(config)
    try:
        async with http.get(f"{server.base}/api/welcome") as r:
            assert r.status == 200
            assert r.headers["Cache-Control"] == "no-store"
            body = await r.json()
        assert body == {
            "consent": {"en": "", "fr": "Votre appel reste privé."},
            "handout": {"en": "", "fr": ""},
            "exit_url": "https://example.org/",
            "organization": "",
            "require_e2ee": False,
        }
    finally:
        await runner.cleanup()


async def test_a_server_requiring_end_to_end_says_so_and_refuses_pages_that_cannot(
    staff_path: object, http: aiohttp.ClientSession
) -> None:
    from pathlib import Path

    assert isinstance(staff_path, Path)
    runner, server = await start_server(loopback_config(staff_path, require_e2ee=True))
    people: list[Participant] = []

    async def person(headers: dict[str, str] | None = None) -> Participant:
        someone = Participant(http, server.base, headers=headers or {})
        people.append(someone)
        await someone.connect()
        return someone

    async def refused(someone: Participant, join: Join) -> None:
        await someone.send(join)
        error = await someone.expect("error")
        assert isinstance(error, Error) and error.code == "e2ee-required", error

    try:
        async with http.get(f"{server.base}/api/welcome") as r:
            assert (await r.json())["require_e2ee"] is True
        api = StaffApi(http, server.base)
        await api.sign_in(STAFF_NAME, STAFF_PASSWORD)
        call = await api.create_call()
        staff = await person(api.headers)
        await refused(staff, Join(call=call["id"]))
        await staff.send(Join(call=call["id"], e2ee=True))  # the same socket, once able
        joined = await staff.expect("joined")
        assert isinstance(joined, Joined) and (joined.e2ee, joined.e2ee_required) == (True, True)
        invite = call["links"]["survivor"].split("#", 1)[1]
        survivor = await person()
        await refused(survivor, Join(invite=invite, name="Sam"))
        await survivor.send(Join(invite=invite, name="Sam", e2ee=True))
        await survivor.expect("waiting")
        waiting = await staff.expect("lobby-waiting")
        assert isinstance(waiting, LobbyWaiting) and waiting.name == "Sam"
        await staff.send(Admit(waiting.participant))
        joined = await survivor.expect("joined")
        assert isinstance(joined, Joined) and [p.e2ee for p in joined.peers] == [True]
        # The connection test runs whatever the browser can: it is how a person learns it.
        tester = await person()
        await tester.send(Join(invite=invite, echo=True))
        echo = await tester.expect("joined")
        assert isinstance(echo, Joined) and echo.echo and echo.e2ee_required
    finally:
        for someone in people:
            await someone.close()
        await runner.cleanup()


async def test_a_call_sets_its_own_check_in_interval(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    api = StaffApi(http, server.base)
    await api.sign_in(STAFF_NAME, STAFF_PASSWORD)
    url = f"{server.base}/api/calls"
    async with http.post(url, json={"check_in_minutes": 5}, headers=api.headers) as r:
        assert r.status == 201
        assert (await r.json())["check_in_minutes"] == 5
    async with http.post(url, json={}, headers=api.headers) as r:
        assert (await r.json())["check_in_minutes"] == 15  # the server's default
    async with http.get(url, headers=api.headers) as r:
        defaults = (await r.json())["defaults"]
    assert defaults == {
        "plan": {"action": "staff-calls-back", "minutes": 10, "note": ""},
        "check_in_minutes": 15,
    }
    for bad in (121, -1, True, "5", 2.5):
        async with http.post(url, json={"check_in_minutes": bad}, headers=api.headers) as r:
            assert r.status == 400, bad
            assert (await r.json())["error"] == "bad-field"
