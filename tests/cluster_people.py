"""The people of calls through a cluster (tests/test_cluster.py), run inside the lab's
`people` namespace, each with a real aiortc peer.

    python tests/cluster_people.py STAFF PASSWORD NODE... -- CALL...

Each CALL lists the nodes (indexes into NODE...) its people reach, staff first: `0,1,2` has
staff sign in, make the call and join through node 0, the survivor join through node 1 and
the interpreter through node 2; `0,2` is staff and a survivor. Calls are made in order. `b`
instead of a node is a browser the test opens: the script prints `link` (the role and its
link) and staff admit whoever knocks next.

It prints one JSON object per line: `in-call` once everyone of every call sees and hears
everyone else of theirs, with each call's id and invite tokens (so the test can look for them
where they must not be); then, for each line it reads on stdin:
- `media`: the packets each person of each call received from each other, so far;
- `end I`: staff of call I end it through their socket, and everyone is told (`ended`);
- `ended I`: the `ended` code each person of call I was told within 15 s (null: none);
- `new`: staff of the first call ask node 0 for another call: its HTTP status and error code;
- `sign-in`: staff of the first call sign in again through node 0;
- `resume I ROLE N`: that person of call I comes back on a new socket through node N, with
  their resume secret: whether they are the same participant again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.client import Participant, StaffApi
from signaling.protocol import Admit, End, Ended, Join, Joined, LobbyWaiting, Resume

ROLES = ("staff", "survivor", "interpreter")
NAMES = {"survivor": "Sam", "interpreter": "Ines"}


def say(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


class Call:
    def __init__(self, http: aiohttp.ClientSession, nodes: list[str], entries: list[str]) -> None:
        self.http, self.nodes, self.entries = http, nodes, entries
        self.people: dict[str, Participant] = {}
        self.browsers: dict[str, str] = {}  # role -> participant id, for browsers
        self.api: StaffApi | None = None
        self.description: dict[str, Any] = {}
        self.credentials = ("", "")

    async def open(self, staff_name: str, password: str) -> None:
        api = self.api = StaffApi(self.http, self.nodes[int(self.entries[0])])
        self.credentials = (staff_name, password)
        await api.sign_in(staff_name, password)
        self.description = await api.create_call()
        # With a browser in the call, send the clips as they are: the bench's send-time stamp
        # inside each payload would keep a browser from decoding them.
        stamps = "b" not in self.entries
        staff = Participant(self.http, api.base, headers=api.headers, stamps=stamps)
        await staff.connect()
        await staff.send(Join(call=str(self.description["id"])))
        await staff.expect("joined")
        self.people["staff"] = staff
        for role, entry in zip(ROLES[1:], self.entries[1:], strict=False):
            if entry == "b":
                say(event="link", role=role, link=self.description["links"][role])
                waiting = await staff.expect("lobby-waiting", timeout=90)
                assert isinstance(waiting, LobbyWaiting)
                await staff.send(Admit(waiting.participant))
                self.browsers[role] = waiting.participant
                continue
            guest = Participant(self.http, self.nodes[int(entry)], stamps=stamps)
            await guest.connect()
            await guest.send(Join(invite=self.invite(role), name=NAMES[role]))
            await guest.expect("waiting")
            waiting = await staff.expect("lobby-waiting")
            assert isinstance(waiting, LobbyWaiting)
            await staff.send(Admit(waiting.participant))
            assert isinstance(await guest.expect("joined"), Joined)
            self.people[role] = guest
        for person in self.people.values():
            await person.start_media(max_participants=4)

    def invite(self, role: str) -> str:
        return str(self.description["links"][role]).split("#", 1)[1]

    def received(self) -> dict[str, dict[str, int]]:
        """Packets each person received from each other person (browsers included), audio
        and video together."""
        ids = {name: person.participant for name, person in self.people.items()}
        ids.update(self.browsers)
        return {
            name: {
                other: sum(person.received(kind, pid) for kind in ("audio", "video"))
                for other, pid in ids.items()
                if other != name
            }
            for name, person in self.people.items()
        }

    def said(self) -> dict[str, Any]:
        return {
            "call": self.description["id"],
            "invites": [
                self.invite(role)
                for role in ROLES[1:]
                if role in self.people or role in self.browsers
            ],
            "media": self.received(),
        }

    async def ended(self, timeout: float = 15.0) -> dict[str, str | None]:
        async def told(person: Participant) -> str | None:
            with contextlib.suppress(TimeoutError):
                message = await person.expect("ended", timeout)
                assert isinstance(message, Ended)
                return message.code
            return None

        codes = await asyncio.gather(*(told(p) for p in self.people.values()))
        return dict(zip(self.people, codes, strict=True))


async def main(staff_name: str, password: str, nodes: list[str], specs: list[str]) -> None:
    async with aiohttp.ClientSession() as http:
        calls = [Call(http, nodes, spec.split(",")) for spec in specs]
        for call in calls:
            await call.open(staff_name, password)
        deadline = time.monotonic() + 30
        while min(n for c in calls for seen in c.received().values() for n in seen.values()) < 50:
            if time.monotonic() > deadline:
                raise TimeoutError(f"media did not flow: {[c.received() for c in calls]}")
            await asyncio.sleep(0.2)
        say(event="in-call", calls=[c.said() for c in calls])
        loop = asyncio.get_running_loop()
        while True:
            line = (await loop.run_in_executor(None, sys.stdin.readline)).split()
            if line == ["media"]:
                say(event="media", media=[c.received() for c in calls])
            elif len(line) == 2 and line[0] == "end":
                call = calls[int(line[1])]
                await call.people["staff"].send(End())
                say(event="ended", told=await call.ended())
            elif len(line) == 2 and line[0] == "ended":
                say(event="ended", told=await calls[int(line[1])].ended())
            elif line == ["new"]:
                api = calls[0].api
                assert api is not None
                async with http.post(
                    f"{nodes[0]}/api/calls", json={}, headers=api.headers
                ) as reply:
                    body = await reply.json()
                say(event="new", status=reply.status, error=body.get("error", ""))
            elif len(line) == 4 and line[0] == "resume":
                person = calls[int(line[1])].people[line[2]]
                secret = [m for m in person.seen if isinstance(m, Joined)][-1].resume
                back = Participant(http, nodes[int(line[3])], headers=person.headers)
                await back.connect()
                await back.send(Resume(secret))
                joined = await back.expect("joined")
                assert isinstance(joined, Joined)
                say(event="resumed", same=joined.participant == person.participant)
                assert back.ws is not None
                await back.ws.close()
            elif line == ["sign-in"]:
                api = calls[0].api
                assert api is not None
                await api.sign_in(*calls[0].credentials)
                say(event="signed-in")
            else:
                break
        for call in calls:
            for person in call.people.values():
                with contextlib.suppress(Exception):
                    await person.close()


if __name__ == "__main__":
    args = sys.argv[1:]
    split = args.index("--")
    asyncio.run(main(args[0], args[1], args[2:split], args[split + 1 :]))
