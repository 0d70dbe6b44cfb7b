"""The people of a call through a cluster (tests/test_cluster.py), run inside the lab's
`people` namespace: staff sign in and make a call through node 1, the survivor joins through
node 2 and the interpreter through node 3, each with a real aiortc peer.

    python tests/cluster_people.py NODE1 NODE2 NODE3 STAFF PASSWORD

It prints one JSON object per line: `in-call` once everyone sees and hears both others,
with the call's id and its invite tokens (so the test can look for them where they must
not be); then, each time it reads a line on stdin, what it was asked:
- `media`: the packets each person received from each other, so far;
- `end`: staff end the call through their socket, and everyone is told (`ended`).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.client import Participant, StaffApi
from signaling.protocol import Admit, End, Join, Joined, LobbyWaiting

PEOPLE = ("staff", "survivor", "interpreter")


def say(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def invite_of(call: dict[str, Any], role: str) -> str:
    return str(call["links"][role]).split("#", 1)[1]


async def admitted(staff: Participant, guest: Participant, invite: str, name: str) -> None:
    await guest.connect()
    await guest.send(Join(invite=invite, name=name))
    await guest.expect("waiting")
    waiting = await staff.expect("lobby-waiting")
    assert isinstance(waiting, LobbyWaiting)
    await staff.send(Admit(waiting.participant))
    assert isinstance(await guest.expect("joined"), Joined)


def received(people: dict[str, Participant]) -> dict[str, dict[str, int]]:
    """Packets each person received from each other person, audio and video together."""
    return {
        name: {
            other: sum(
                person.received(kind, people[other].participant) for kind in ("audio", "video")
            )
            for other in PEOPLE
            if other != name
        }
        for name, person in people.items()
    }


async def main(nodes: list[str], staff_name: str, password: str) -> None:
    async with aiohttp.ClientSession() as http:
        api = StaffApi(http, nodes[0])
        await api.sign_in(staff_name, password)
        call = await api.create_call()
        staff = Participant(http, nodes[0], headers=api.headers)
        await staff.connect()
        await staff.send(Join(call=str(call["id"])))
        await staff.expect("joined")
        survivor = Participant(http, nodes[1])
        interpreter = Participant(http, nodes[2])
        await admitted(staff, survivor, invite_of(call, "survivor"), "Sam")
        await admitted(staff, interpreter, invite_of(call, "interpreter"), "Ines")
        people = {"staff": staff, "survivor": survivor, "interpreter": interpreter}
        for person in people.values():
            await person.start_media(max_participants=4)
        deadline = time.monotonic() + 30
        while min(n for seen in received(people).values() for n in seen.values()) < 50:
            if time.monotonic() > deadline:
                raise TimeoutError(f"media did not flow: {received(people)}")
            await asyncio.sleep(0.2)
        say(
            event="in-call",
            call=call["id"],
            invites=[invite_of(call, role) for role in ("survivor", "interpreter")],
            media=received(people),
        )
        loop = asyncio.get_running_loop()
        while True:
            line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
            if line == "media":
                say(event="media", media=received(people))
            elif line == "end":
                await staff.send(End())
                ended = {}
                for name, person in people.items():
                    ended[name] = (await person.expect("ended")).to_json() != ""
                say(event="ended", told=ended)
            else:
                break
        for person in people.values():
            await person.close()


if __name__ == "__main__":
    *bases, staff_arg, password_arg = sys.argv[1:]
    asyncio.run(main(bases, staff_arg, password_arg))
