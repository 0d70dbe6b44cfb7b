"""Staff of a cluster (tests/test_cluster.py), run inside the lab's `people` namespace: what a
staff page and a script see when each request reaches whichever node.

    python tests/cluster_staff.py STAFF PASSWORD NODE0 NODE1 NODE2 (sign-ins | calls N)

`sign-ins` prints one JSON object: what each step below was answered (HTTP status, or the
type of the first message on a socket):
- an API token from node 0 used on node 1, a call made through node 2 and two through
  node 1, the list through node 1 (the ids it shows) and the end of the first call through
  node 0, then the list through node 2;
- a browser sign-in (cookie) on node 1 seen by node 2, the readiness checklist confirmed
  there, a join by call id through node 0, then sign-out on node 2 seen by node 0;
- six wrong passwords from this address, one to each node in turn, then a seventh.
`calls N` makes N calls through node 0 and prints their ids.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.client import Participant, StaffApi
from signaling.protocol import Join

READY = {"quiet_place": True, "headphones": True, "work_device": True}


async def status(
    http: aiohttp.ClientSession, method: str, url: str, **kw: Any
) -> tuple[int, dict[str, Any]]:
    async with http.request(method, url, **kw) as reply:
        body = await reply.json() if reply.content_type == "application/json" else {}
        return reply.status, body


async def sign_ins(http: aiohttp.ClientSession, nodes: list[str], name: str, pw: str) -> None:
    said: dict[str, Any] = {}
    api = StaffApi(http, nodes[0])
    await api.sign_in(name, pw)
    bearer = api.headers
    said["me_on_1"], _ = await status(http, "GET", f"{nodes[1]}/api/me", headers=bearer)
    made = []
    for node in (2, 1, 1):
        code, body = await status(http, "POST", f"{nodes[node]}/api/calls", json={}, headers=bearer)
        assert code == 201, (code, body)
        made.append(body["id"])
    said["made"] = made
    _, listed = await status(http, "GET", f"{nodes[1]}/api/calls", headers=bearer)
    said["listed_on_1"] = sorted(c["id"] for c in listed["calls"])
    said["end_on_0"], _ = await status(
        http, "DELETE", f"{nodes[0]}/api/calls/{made[0]}", headers=bearer
    )
    _, listed = await status(http, "GET", f"{nodes[2]}/api/calls", headers=bearer)
    said["listed_on_2"] = sorted(c["id"] for c in listed["calls"])

    # A browser's sign-in: the cookie (sent by hand: it is Secure, and this is plain HTTP).
    async with http.post(f"{nodes[1]}/api/login", json={"name": name, "password": pw}) as r:
        cookie = {"Cookie": f"qr_staff={r.cookies['qr_staff'].value}"}
    code, body = await status(http, "GET", f"{nodes[2]}/api/me", headers=cookie)
    said["cookie_on_2"] = [code, body.get("ready")]
    said["ready_on_2"], _ = await status(
        http, "POST", f"{nodes[2]}/api/ready", json=READY, headers=cookie
    )
    page = Participant(http, nodes[0], headers=cookie)
    await page.connect()
    await page.send(Join(call=made[1]))
    said["join_on_0"] = (await page.inbox.get()).type
    await page.close()
    said["logout_on_2"], _ = await status(http, "POST", f"{nodes[2]}/api/logout", headers=cookie)
    said["cookie_on_0_after"], _ = await status(http, "GET", f"{nodes[0]}/api/me", headers=cookie)

    # Guessing: each node counts what the others refused.
    wrong = {"name": name, "password": "not the password"}
    answers = []
    for attempt in range(7):
        code, _ = await status(http, "POST", f"{nodes[attempt % 3]}/api/token", json=wrong)
        answers.append(code)
    said["guesses"] = answers
    print(json.dumps(said), flush=True)


async def calls(http: aiohttp.ClientSession, nodes: list[str], name: str, pw: str, n: int) -> None:
    api = StaffApi(http, nodes[0])
    await api.sign_in(name, pw)
    print(json.dumps([(await api.create_call())["id"] for _ in range(n)]), flush=True)


async def main(args: list[str]) -> None:
    name, pw, nodes, what = args[0], args[1], args[2:5], args[5:]
    async with aiohttp.ClientSession() as http:
        if what == ["sign-ins"]:
            await sign_ins(http, nodes, name, pw)
        else:
            await calls(http, nodes, name, pw, int(what[1]))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
