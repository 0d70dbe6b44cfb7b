"""Staff accounts through the real server and the CLI: a new password, the admin role (how
many calls run, ending any call), the readiness checklist once per sign-in, and removal
signing an account out at once, its open sockets closed."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path

import aiohttp
import pytest
from conftest import loopback_config, start_server
from test_call_aiortc import admitted_guest, invite_of, wait_until

from bench.client import Participant, StaffApi
from server import staff_file, totp
from server.cli import main
from server.proxy import is_trusted
from signaling.protocol import Error, Join, PeerLeft

PASSWORD = "a long enough password"
READY = {"quiet_place": True, "headphones": True, "work_device": True}


@pytest.fixture
def accounts(tmp_path: Path) -> Path:
    path = tmp_path / "staff.json"
    staff_file.add(path, "worker", PASSWORD)
    staff_file.add(path, "boss", PASSWORD, admin=True)
    return path


def test_passwd_and_admin_from_the_command_line(
    accounts: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"QUIETROOM_STAFF_FILE": str(accounts)}
    monkeypatch.setattr("sys.stdin", io.StringIO("a brand new password\n"))
    assert main(["staff", "passwd", "worker", "--password-stdin"], env) == 0
    assert staff_file.verify(accounts, "worker", "a brand new password")
    assert not staff_file.verify(accounts, "worker", PASSWORD)
    assert main(["staff", "passwd", "nobody", "--password-stdin"], env) == 1
    assert main(["staff", "list"], env) == 0
    assert capsys.readouterr().out.splitlines()[-2:] == ["boss (admin)", "worker"]
    # A new password keeps the role; --no-admin takes it away.
    monkeypatch.setattr("sys.stdin", io.StringIO("another long password\n"))
    assert main(["staff", "add", "boss", "--password-stdin"], env) == 0
    assert staff_file.admins(accounts) == {"boss"}
    monkeypatch.setattr("sys.stdin", io.StringIO("another long password\n"))
    assert main(["staff", "add", "boss", "--no-admin", "--password-stdin"], env) == 0
    assert staff_file.admins(accounts) == set()


async def test_an_admin_sees_how_many_calls_run_and_can_end_any(
    accounts: Path, http: aiohttp.ClientSession
) -> None:
    runner, server = await start_server(loopback_config(accounts))
    try:
        worker, boss = StaffApi(http, server.base), StaffApi(http, server.base)
        await worker.sign_in("worker", PASSWORD)
        await boss.sign_in("boss", PASSWORD)
        call = await worker.create_call()
        url = f"{server.base}/api/admin/calls"
        async with http.get(url, headers=worker.headers) as r:
            assert r.status == 403 and (await r.json())["error"] == "forbidden"
        async with http.get(url, headers=boss.headers) as r:
            seen = await r.json()
        assert seen["running"] == 1 and seen["calls"][0]["id"] == call["id"]
        assert "worker" not in str(seen) and "links" not in seen["calls"][0]  # not whose
        async with http.delete(f"{url}/{call['id']}", headers=worker.headers) as r:
            assert r.status == 403
        async with http.delete(f"{url}/{call['id']}", headers=boss.headers) as r:
            assert r.status == 200
        async with http.get(f"{server.base}/api/calls", headers=worker.headers) as r:
            assert (await r.json())["calls"] == []
        async with http.delete(f"{url}/{call['id']}", headers=boss.headers) as r:
            assert r.status == 404
    finally:
        await runner.cleanup()


async def test_readiness_is_confirmed_once_per_sign_in(
    accounts: Path, http: aiohttp.ClientSession
) -> None:
    runner, server = await start_server(loopback_config(accounts))
    try:
        api = StaffApi(http, server.base)
        await api.sign_in("worker", PASSWORD)
        me = f"{server.base}/api/me"
        async with http.get(me, headers=api.headers) as r:
            assert (await r.json()) == {"staff": "worker", "admin": False, "ready": False}
        half = {**READY, "headphones": False}
        async with http.post(f"{server.base}/api/ready", json=half, headers=api.headers) as r:
            assert r.status == 400 and (await r.json())["error"] == "not-ready"
        async with http.post(f"{server.base}/api/ready", json=READY, headers=api.headers) as r:
            assert r.status == 200
        async with http.get(me, headers=api.headers) as r:
            assert (await r.json())["ready"] is True
        again = StaffApi(http, server.base)  # a new sign-in asks again
        await again.sign_in("worker", PASSWORD)
        async with http.get(me, headers=again.headers) as r:
            assert (await r.json())["ready"] is False
    finally:
        await runner.cleanup()


async def test_removing_an_account_closes_its_open_sockets_at_once(
    accounts: Path, http: aiohttp.ClientSession
) -> None:
    runner, server = await start_server(loopback_config(accounts))
    people: list[Participant] = []
    try:
        api = StaffApi(http, server.base)
        await api.sign_in("worker", PASSWORD)
        call = await api.create_call()
        staff = Participant(http, server.base, headers=api.headers)
        people.append(staff)
        await staff.connect()
        await staff.send(Join(call=str(call["id"])))
        await staff.expect("joined")
        idle = Participant(http, server.base, headers=api.headers)  # open, not joined
        people.append(idle)
        await idle.connect()
        survivor = await admitted_guest(http, server, staff, invite_of(call, "survivor"), "Sam")
        people.append(survivor)
        await asyncio.sleep(1.2)  # the server has seen the file as it is

        staff_file.remove(accounts, "worker")
        refused = await staff.expect("error", timeout=5)
        assert isinstance(refused, Error) and refused.code == "unauthorized"
        left = await survivor.expect("peer-left", timeout=5)
        assert isinstance(left, PeerLeft) and not left.dropped  # gone for good, not "away"
        await wait_until(lambda: staff.ws is not None and staff.ws.closed, timeout=5)
        await wait_until(lambda: idle.ws is not None and idle.ws.closed, timeout=5)
        async with http.get(f"{server.base}/api/calls", headers=api.headers) as r:
            assert r.status == 401
    finally:
        for person in people:
            await person.close()
        await runner.cleanup()


async def test_a_second_factor_needs_the_current_code_once(
    accounts: Path, http: aiohttp.ClientSession, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["staff", "totp", "worker"], {"QUIETROOM_STAFF_FILE": str(accounts)}) == 0
    printed = capsys.readouterr().out
    assert "otpauth://totp/Quietroom%3Aworker?secret=" in printed
    secret = staff_file.load(accounts).totp["worker"]
    assert secret in printed
    runner, server = await start_server(loopback_config(accounts))
    url = f"{server.base}/api/token"
    try:

        async def sign_in(**extra: str) -> tuple[int, str]:
            body = {"name": "worker", "password": PASSWORD, **extra}
            async with http.post(url, json=body) as r:
                return r.status, (await r.json()).get("error", "")

        assert await sign_in() == (401, "code-needed")
        code = totp.code_at(secret, int(time.time() // 30))
        wrong = f"{(int(code) + 1) % 10**6:06d}"
        assert await sign_in(code=wrong) == (401, "bad-code")
        assert (await sign_in(code=code))[0] == 200
        assert await sign_in(code=code) == (401, "bad-code")  # a code works once
        # The admin without a second factor signs in as before.
        async with http.post(url, json={"name": "boss", "password": PASSWORD}) as r:
            assert r.status == 200
    finally:
        await runner.cleanup()
    assert main(["staff", "totp", "worker", "--off"], {"QUIETROOM_STAFF_FILE": str(accounts)}) == 0
    assert "worker" not in staff_file.load(accounts).totp
    assert main(["staff", "totp", "nobody"], {"QUIETROOM_STAFF_FILE": str(accounts)}) == 1


async def test_a_new_password_signs_the_account_out_everywhere(
    accounts: Path, http: aiohttp.ClientSession
) -> None:
    runner, server = await start_server(loopback_config(accounts))
    try:
        api = StaffApi(http, server.base)
        await api.sign_in("worker", PASSWORD)
        other = StaffApi(http, server.base)
        await other.sign_in("boss", PASSWORD)
        await asyncio.sleep(1.2)  # the server has seen the file as it is
        staff_file.passwd(accounts, "worker", "a brand new password")
        me = f"{server.base}/api/me"

        async def signed_out() -> bool:
            async with http.get(me, headers=api.headers) as r:
                return r.status == 401

        deadline = time.monotonic() + 5
        while not await signed_out():
            assert time.monotonic() < deadline, "still signed in after a new password"
            await asyncio.sleep(0.2)
        async with http.get(me, headers=other.headers) as r:
            assert r.status == 200  # other accounts are untouched
    finally:
        await runner.cleanup()


def test_trusted_proxies_are_addresses_or_networks() -> None:
    assert is_trusted("10.1.2.3", ["10.0.0.0/8"])
    assert is_trusted("::ffff:127.0.0.1", ["127.0.0.1/32"])
    assert not is_trusted("192.0.2.1", ["10.0.0.0/8", "127.0.0.1/32"])
    assert not is_trusted("not an address", ["0.0.0.0/0"])


async def test_a_browser_sign_in_joins_a_call_only_once_ready(
    accounts: Path, http: aiohttp.ClientSession
) -> None:
    runner, server = await start_server(loopback_config(accounts))
    staff: Participant | None = None
    try:
        body = {"name": "worker", "password": PASSWORD}
        async with http.post(f"{server.base}/api/login", json=body) as r:
            cookie = {"Cookie": r.headers["Set-Cookie"].split(";", 1)[0]}
        async with http.post(f"{server.base}/api/calls", json={}, headers=cookie) as r:
            call_id = (await r.json())["id"]
        staff = Participant(http, server.base, headers=cookie)
        await staff.connect()
        await staff.send(Join(call=call_id))
        refused = await staff.expect("error")
        assert isinstance(refused, Error) and refused.code == "not-ready"
        await staff.send(Join(call=call_id, echo=True))  # the connection test needs no checklist
        assert (await staff.expect("joined")).type == "joined"
        await staff.close()
        async with http.post(f"{server.base}/api/ready", json=READY, headers=cookie) as r:
            assert r.status == 200
        staff = Participant(http, server.base, headers=cookie)
        await staff.connect()
        await staff.send(Join(call=call_id))
        assert (await staff.expect("joined")).type == "joined"
    finally:
        if staff is not None:
            await staff.close()
        await runner.cleanup()
