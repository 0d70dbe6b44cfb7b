"""The keys of an end-to-end encrypted call as Python peers hold them (bench/e2ee_keys.py),
exchanged directly between objects (no server), and against the pages' own
`client_web/e2ee_keys.js`, run in Node: the same safety code, next key and split links for
fixed inputs, and calls mixing JavaScript and Python peers that agree on every key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import shutil
import subprocess
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest

from bench.client import LinkFrames
from bench.e2ee_frame import FrameError, Opener, Sealer
from bench.e2ee_keys import (
    CallKeys,
    Outgoing,
    from_base64url,
    hkdf,
    next_key,
    safety_code,
    split_fragment,
    to_base64url,
)
from bench.sender import Reassembler, vp8_descriptor_size
from signaling.protocol import PeerInfo

REPO = Path(__file__).resolve().parent.parent
SECRET = bytes(range(32))
OTHER_SECRET = bytes(range(1, 33))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Member(Protocol):
    """One page or peer in a test call, Python or JavaScript."""

    id: str
    role: str

    def enter(self, peers: list[PeerInfo]) -> list[Outgoing]: ...
    def peer_joined(self, info: PeerInfo) -> list[Outgoing]: ...
    def peer_left(self, participant: str) -> list[Outgoing]: ...
    def receive(self, sender: str, data: str) -> list[Outgoing]: ...
    def status(self) -> dict[str, Any]: ...


class Py:
    def __init__(self, id_: str, role: str, secret: bytes = SECRET, clock: Clock | None = None):
        self.id, self.role = id_, role
        self.keys = CallKeys(secret, clock or Clock())

    def enter(self, peers: list[PeerInfo]) -> list[Outgoing]:
        return self.keys.enter(self.id, self.role, peers)

    def peer_joined(self, info: PeerInfo) -> list[Outgoing]:
        return self.keys.peer_joined(info)

    def peer_left(self, participant: str) -> list[Outgoing]:
        return self.keys.peer_left(participant)

    def receive(self, sender: str, data: str) -> list[Outgoing]:
        return self.keys.receive(sender, data)

    def status(self) -> dict[str, Any]:
        k = self.keys
        key = to_base64url(k.key) if k.key else None
        return {"state": k.state, "code": k.code, "key": key, "epoch": k.epoch,
                "mismatch": k.mismatch, "mismatched": k.mismatched()}  # fmt: skip


def info(member: Member, e2ee: bool = True) -> PeerInfo:
    return PeerInfo(member.id, member.id, member.role, e2ee=e2ee)


class Call:
    """Relays `e2ee` messages between members as the server does: to one, or to everyone
    else in the call; every message relayed is kept in `log` (sender, to, data)."""

    def __init__(self) -> None:
        self.members: dict[str, Member] = {}
        self.log: list[tuple[str, str, str]] = []

    def join(self, member: Member) -> None:
        for other in self.members.values():
            assert other.peer_joined(info(member)) == []
        peers = [info(m) for m in self.members.values()]
        self.members[member.id] = member
        self.relay(member.id, member.enter(peers))

    def leave(self, id_: str) -> None:
        del self.members[id_]
        for member in list(self.members.values()):
            self.relay(member.id, member.peer_left(id_))

    def relay(self, sender: str, out: list[Outgoing]) -> None:
        queue = deque((sender, to, data) for to, data in out)
        while queue:
            source, to, data = queue.popleft()
            self.log.append((source, to, data))
            readers = [to] if to else [m for m in self.members if m != source]
            for reader in readers:
                if reader in self.members:
                    replies = self.members[reader].receive(source, data)
                    queue.extend((reader, t, d) for t, d in replies)


def decoded(data: str) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(from_base64url(data))
    return message


def key_messages(call: Call, to: str) -> list[str]:
    return [d for _, t, d in call.log if t == to and decoded(d)["t"] == "key"]


# ---------------------------------------------------------------- Python peers alone


def test_links_split_into_the_token_and_the_secret() -> None:
    secret = to_base64url(SECRET)
    assert len(secret) == 43
    assert split_fragment(f"t0ken.{secret}") == ("t0ken", SECRET)
    assert split_fragment("t0ken") == ("t0ken", None)
    # A secret that is not 32 bytes of base64url is kept, wrong, as its text.
    assert split_fragment("t0ken.") == ("t0ken", b"-")
    assert split_fragment("t0ken.abc") == ("t0ken", b"abc")
    assert split_fragment("t0ken.a+b/") == ("t0ken", b"a+b/")
    assert split_fragment(f"t0ken.{secret}x") == ("t0ken", f"{secret}x".encode())


def test_two_peers_agree_keys_and_staff_gives_the_call_key() -> None:
    clock = Clock()
    staff, survivor = Py("S", "staff", clock=clock), Py("V", "survivor", clock=clock)
    call = Call()
    call.join(staff)
    assert staff.keys.state == "on" and staff.keys.leads()  # its own key, alone
    first = staff.keys.sealing()
    assert first is not None and first == (staff.keys.epoch, staff.keys.key)
    call.join(survivor)

    # The hello went to everyone; staff answered; the key moved forward and reached them.
    hellos = [(s, t, decoded(d)) for s, t, d in call.log if decoded(d)["t"] == "hello"]
    assert [(s, t, m["re"]) for s, t, m in hellos] == [("S", "", False), ("V", "", False),
                                                      ("S", "V", True)]  # fmt: skip
    assert list(hellos[0][2]) == ["t", "pub", "mac", "re"]
    assert survivor.keys.state == staff.keys.state == "on"
    assert survivor.keys.code == staff.keys.code != ""
    assert survivor.keys.key == staff.keys.key == next_key(first[1])
    assert survivor.keys.epoch == staff.keys.epoch == (first[0] + 1) % 256
    # The survivor seals under it at once (its first key); staff one second later, and
    # opens under both meanwhile, then five seconds more under the one before.
    now = (staff.keys.epoch, staff.keys.key)
    assert survivor.keys.sealing() == now and staff.keys.sealing() == first
    assert staff.keys.opening() == {first[0]: first[1], now[0]: now[1]}
    clock.now += 1.0
    assert staff.keys.sealing() == now
    clock.now += 3.5
    assert first[0] in staff.keys.opening()
    clock.now += 1.0
    assert staff.keys.opening() == {now[0]: now[1]} == survivor.keys.opening()
    # Frames sealed by one open for the other.
    sealed = Sealer(now[1], sender=5, epoch=now[0]).seal("audio", b"\x78opus")
    opener = Opener()
    for epoch, key in survivor.keys.opening().items():
        opener.hold(epoch, key)
    assert opener.open("audio", sealed) == b"\x78opus"


def test_the_key_moves_forward_when_someone_joins_and_is_new_when_someone_leaves() -> None:
    clock = Clock()
    people = (("S", "staff"), ("V", "survivor"), ("I", "interpreter"))
    staff, survivor, interpreter = (Py(i, r, clock=clock) for i, r in people)
    call = Call()
    call.join(staff)
    call.join(survivor)
    two_code, before = staff.keys.code, staff.keys.key
    assert before is not None
    call.join(interpreter)
    after = staff.keys.key
    assert after is not None
    assert {m.keys.key for m in (staff, survivor, interpreter)} == {after}
    assert len({m.keys.code for m in (staff, survivor, interpreter)}) == 1
    assert interpreter.keys.code != two_code
    # One way: the newcomer's key comes from the one before, and nothing leads back.
    assert after == next_key(before) == hkdf(before, b"quietroom next key")
    assert after != before and next_key(after) != before
    assert before not in interpreter.keys.opening().values()
    assert len(key_messages(call, "I")) == 1
    # Frames sealed under the earlier key do not open for the newcomer.
    old = Sealer(before, sender=9, epoch=(staff.keys.epoch - 1) % 256).seal("audio", b"\x78x")
    newcomer = Opener()
    for epoch, key in interpreter.keys.opening().items():
        newcomer.hold(epoch, key)
    with pytest.raises(FrameError):
        newcomer.open("audio", old)
    newcomer.hold((staff.keys.epoch - 1) % 256, after)  # nor under the key they hold
    with pytest.raises(FrameError):
        newcomer.open("audio", old)

    # The interpreter leaves: a fresh key for the others, none of it for them.
    sent_to_interpreter = len(key_messages(call, "I"))
    call.leave("I")
    fresh = staff.keys.key
    assert fresh is not None and survivor.keys.key == fresh
    assert fresh not in (after, next_key(after))
    assert survivor.keys.epoch == staff.keys.epoch
    assert survivor.keys.code == staff.keys.code == two_code  # the same two keys again
    assert len(key_messages(call, "I")) == sent_to_interpreter
    # Even given the message for the survivor, the interpreter's object learns nothing.
    for data in key_messages(call, "V")[-1:]:
        assert interpreter.receive("S", data) == []
    assert interpreter.keys.key == after and fresh not in interpreter.keys.opening().values()
    clock.now += 1.0
    sealing = survivor.keys.sealing()
    assert sealing is not None
    sealed = Sealer(sealing[1], sender=3, epoch=sealing[0]).seal("audio", b"\x78y")
    leaver = Opener()
    for epoch, key in interpreter.keys.opening().items():
        leaver.hold(epoch, key)
    with pytest.raises(FrameError):
        leaver.open("audio", sealed)


def test_a_link_with_another_secret_gets_no_key_and_both_sides_know() -> None:
    staff, survivor = Py("S", "staff"), Py("V", "survivor")
    stranger = Py("X", "interpreter", secret=OTHER_SECRET)
    call = Call()
    for member in (staff, survivor):
        call.join(member)
    code, key = staff.keys.code, staff.keys.key
    call.join(stranger)
    assert stranger.keys.state == "bad-link" and stranger.keys.mismatch
    assert stranger.keys.key is None and stranger.keys.code == ""
    assert stranger.keys.sealing() is None and stranger.keys.opening() == {}
    assert staff.keys.mismatched() == ["X"] and survivor.keys.mismatched() == ["X"]
    assert stranger.keys.mismatched() == ["S", "V"]
    assert key_messages(call, "X") == []
    # Nothing changed for the others: the same key and code.
    assert staff.keys.key == survivor.keys.key == key
    assert staff.keys.code == survivor.keys.code == code


def test_a_replayed_older_key_is_refused() -> None:
    staff, survivor, interpreter = Py("S", "staff"), Py("V", "survivor"), Py("I", "interpreter")
    call = Call()
    for member in (staff, survivor, interpreter):
        call.join(member)
    older, latest = key_messages(call, "V")[-2:]
    assert decoded(older)["made"] < decoded(latest)["made"]
    key, epoch = survivor.keys.key, survivor.keys.epoch
    for data in (older, latest):  # sent again by the server: neither is taken
        assert survivor.receive("S", data) == []
        assert (survivor.keys.key, survivor.keys.epoch) == (key, epoch)
    # The interpreter's key is not the survivor's: "to" is in the additional data.
    assert interpreter.receive("S", latest) == []
    # Only staff's page gives keys.
    assert staff.keys.key == key
    assert survivor.receive("I", latest) == []


def test_a_hello_again_with_the_same_key_gets_the_same_call_key_again() -> None:
    staff, survivor = Py("S", "staff"), Py("V", "survivor")
    call = Call()
    call.join(staff)
    call.join(survivor)
    epoch, made = staff.keys.epoch, staff.keys.made
    out = staff.receive("V", survivor.keys.hello("S", reply=False)[1])
    assert [(to, decoded(d)["t"]) for to, d in out] == [("V", "hello"), ("V", "key")]
    assert (decoded(out[1][1])["epoch"], decoded(out[1][1])["made"]) == (epoch, made)
    assert (staff.keys.epoch, staff.keys.made) == (epoch, made)


def test_the_staff_with_the_first_id_leads() -> None:
    first, second, survivor = Py("A", "staff"), Py("B", "staff"), Py("V", "survivor")
    call = Call()
    for member in (second, survivor, first):
        call.join(member)
    assert first.keys.leads() and not second.keys.leads() and not survivor.keys.leads()
    assert first.keys.key == second.keys.key == survivor.keys.key
    assert len({m.keys.code for m in (first, second, survivor)}) == 1


def test_junk_is_ignored() -> None:
    staff, survivor = Py("S", "staff"), Py("V", "survivor")
    call = Call()
    call.join(staff)
    call.join(survivor)
    before = (survivor.status(), staff.status())
    hello = decoded(survivor.keys.hello("", reply=True)[1])
    key = decoded(key_messages(call, "V")[-1])

    def data(value: Any) -> str:
        return to_base64url(json.dumps(value).encode())

    junk = [
        "", "not base64url!", "QUJD=", "x", to_base64url(b"\xff\xfe{"), data([1, 2]),
        data(None), data("hello"), data({"t": "hello"}), data({**hello, "pub": 5}),
        data({**hello, "mac": None}),
        data({**key, "epoch": 256}), data({**key, "epoch": True}), data({**key, "epoch": 1.5}),
        data({**key, "made": 2**32}), data({**key, "made": key["made"] + 1}),
        data({**key, "made": key["made"] + 1, "box": key["box"][:-4]}), data({**key, "iv": 7}),
        data({**key, "iv": "AAAA"}), data({**key, "t": "kee"}), to_base64url(b"NaN"),
        to_base64url(b"[" * 100000),
    ]  # fmt: skip
    for item in junk:
        assert survivor.receive("S", item) == [], item
    assert survivor.receive("nobody", data(hello)) == []
    assert survivor.status() == before[0]
    # A bad hello from someone in the call not yet proved marks them, and is answered so
    # they learn it (one from someone proved changes nothing: see the forged-hello test).
    late = Py("L", "interpreter")
    staff.peer_joined(info(late))
    bad = data({**hello, "mac": to_base64url(os.urandom(32)), "re": False})
    assert [decoded(d)["re"] for _, d in staff.receive("L", bad)] == [True]
    assert staff.keys.mismatched() == ["L"]
    assert staff.status()["key"] == before[1]["key"]


def test_the_safety_code_is_ten_digits_over_the_sorted_keys() -> None:
    keys = [bytes([n]) * 32 for n in (7, 3, 250)]
    code = safety_code(keys)
    assert code == safety_code(reversed(keys))
    assert len(code) == 14 and code.replace(" ", "").isdigit()
    assert [len(pair) for pair in code.split(" ")] == [2] * 5
    ordered = b"".join(sorted(keys, key=lambda k: base64.urlsafe_b64encode(k)))
    value = int.from_bytes(hashlib.sha256(ordered).digest()[:8], "big") % 10**10
    assert code.replace(" ", "") == f"{value:010d}"


def test_a_python_peer_seals_under_the_key_of_the_moment_and_opens_what_it_holds() -> None:
    """bench/client.py's LinkFrames, a page's worker: nothing sent before a key, a new key
    sealed under a second after it came, counted from 0, the one before dropped later."""
    clock = Clock()
    staff, survivor = Py("S", "staff", clock=clock), Py("V", "survivor", clock=clock)
    frames = LinkFrames(survivor.keys, sender=0x0BADCAFE)
    assert frames.seal("audio", b"\x78a") is None  # no key: nothing leaves
    call = Call()
    call.join(staff)
    call.join(survivor)
    first = survivor.keys.sealing()
    assert first is not None
    sealed = [frames.seal("audio", b"\x78a") for _ in range(2)]
    assert [s[-10:-6] for s in sealed if s] == [bytes(4), (1).to_bytes(4, "big")]  # counters
    assert all(s is not None and s[-2] == first[0] for s in sealed)
    call.join(Py("I", "interpreter", clock=clock))
    call.leave("I")
    latest = survivor.keys.sealing()
    assert latest == first  # the new keys seal a second later
    clock.now += 1.0
    latest = survivor.keys.sealing()
    assert latest is not None and latest != first
    again = frames.seal("video", b"\x31\x07\x00delta")
    assert again is not None and again[-2] == latest[0] and again[-10:-6] == bytes(4)
    frames.update_opener()
    assert set(frames.opener.call_keys) == {first[0], (first[0] + 1) % 256, latest[0]}
    assert frames.opener.open("video", again) == b"\x31\x07\x00delta"
    clock.now += 5.0
    frames.update_opener()
    assert frames.opener.call_keys == {latest[0]: latest[1]}
    assert frames.sealed == 3
    # Someone who cannot seal joins: everyone sends in the clear.
    survivor.peer_joined(PeerInfo("C", "C", "interpreter", e2ee=False))
    assert survivor.keys.state == "clear" and survivor.keys.code == ""
    assert frames.seal("audio", b"\x78a") == b"\x78a"


def test_a_browsers_vp8_packets_reassemble() -> None:
    """Chromium's VP8 payload descriptors carry a picture id (and more): the Python peer
    takes each off whole (RFC 7741), and reads the bench's own one-byte ones as before."""
    assert [vp8_descriptor_size(d) for d in (b"\x10", b"\x90\x80\x81\x02",
            b"\x90\x80\x05", b"\x80\xe0\x85\x01\x07\x20", b"\x80\x80", b"")] == [
        1, 4, 3, 6, 0, 0]  # fmt: skip
    frame = os.urandom(2500)
    parts = [frame[:1000], frame[1000:2000], frame[2000:]]
    descriptors = [b"\x90\x80\x81\x02", b"\x80\x80\x81\x02", b"\x80\x80\x81\x02"]
    frames = Reassembler("video")
    got = [frames.add(d + part, n == 2, 100 + n) for n, (d, part) in
           enumerate(zip(descriptors, parts, strict=True))]  # fmt: skip
    assert got == [None, None, frame]
    # A packet missing: the frame is left out.
    got = [frames.add(descriptors[n] + parts[n], n == 2, 200 + 2 * n) for n in range(3)]
    assert got == [None, None, None]


# ---------------------------------------------------------------- against the pages' own code

NODE_HARNESS = r"""
import { createInterface } from "node:readline";

// e2ee.js makes a worker for the frames: here one that only says it holds each key.
globalThis.Worker = class {
  constructor() { this.listeners = []; }
  addEventListener(type, listener) { if (type === "message") this.listeners.push(listener); }
  postMessage(message) {
    if (message.type !== "key") return;
    const event = { data: { type: "keyed", epoch: message.epoch } };
    queueMicrotask(() => { for (const listener of this.listeners) listener(event); });
  }
  terminate() {}
};
const { CallKeys, safetyCode, nextKey, splitInvite, toBase64url, fromBase64url } =
  await import(process.argv[2]);
const pages = new Map();

async function run(c) {
  if (c.op === "functions") {
    return {
      code: await safetyCode(c.keys.map(fromBase64url)),
      next: toBase64url(await nextKey(fromBase64url(c.key))),
      splits: c.fragments.map((f) => {
        const { invite, secret } = splitInvite(f);
        return [invite, secret ? toBase64url(secret) : null];
      }),
    };
  }
  if (c.op === "new") {
    const sent = [];
    const send = (to, data) => sent.push([to, data]);
    const keys = new CallKeys("script", fromBase64url(c.secret), send);
    await keys.ready;
    pages.set(c.name, { keys, sent });
    return {};
  }
  const { keys, sent } = pages.get(c.name);
  if (c.op === "enter") await keys.enter(c.joined);
  else if (c.op === "peerJoined") await keys.peerJoined(c.info);
  else if (c.op === "peerLeft") await keys.peerLeft(c.id);
  else if (c.op === "receive") await keys.receive(c.from, c.data);
  await keys.update();
  return {
    sent: sent.splice(0), state: keys.state, code: keys.code,
    key: keys.key ? toBase64url(keys.key) : null, epoch: keys.epoch,
    mismatch: keys.mismatch, mismatched: keys.mismatched(),
  };
}

for await (const line of createInterface({ input: process.stdin })) {
  let reply;
  try { reply = await run(JSON.parse(line)); } catch (error) { reply = { error: String(error) }; }
  process.stdout.write(JSON.stringify(reply) + "\n");
}
process.exit(0);
"""


class Node:
    """client_web/e2ee_keys.js in a Node process, one command a line."""

    def __init__(self, tmp: Path) -> None:
        script = tmp / "keys_harness.mjs"
        script.write_text(NODE_HARNESS)
        module = (REPO / "client_web" / "e2ee_keys.js").as_uri()
        self.proc = subprocess.Popen(
            ["node", str(script), module], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def ask(self, **command: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        reply: dict[str, Any] = json.loads(self.proc.stdout.readline())
        assert "error" not in reply, reply
        return reply

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    harness = Node(tmp_path)
    try:
        yield harness
    finally:
        harness.close()


class Js:
    """A page's CallKeys, in Node."""

    def __init__(self, node: Node, id_: str, role: str, secret: bytes = SECRET) -> None:
        self.node, self.id, self.role = node, id_, role
        self.last: dict[str, Any] = {}
        node.ask(op="new", name=id_, secret=to_base64url(secret))

    def _ask(self, **command: Any) -> list[Outgoing]:
        self.last = self.node.ask(name=self.id, **command)
        return [(to, data) for to, data in self.last["sent"]]

    def enter(self, peers: list[PeerInfo]) -> list[Outgoing]:
        joined = {"participant": self.id, "role": self.role, "peers": [peer_json(p) for p in peers]}
        return self._ask(op="enter", joined=joined)

    def peer_joined(self, info: PeerInfo) -> list[Outgoing]:
        return self._ask(op="peerJoined", info=peer_json(info))

    def peer_left(self, participant: str) -> list[Outgoing]:
        return self._ask(op="peerLeft", id=participant)

    def receive(self, sender: str, data: str) -> list[Outgoing]:
        return self._ask(op="receive", **{"from": sender, "data": data})

    def status(self) -> dict[str, Any]:
        self._ask(op="status")
        return {k: self.last[k] for k in ("state", "code", "key", "epoch", "mismatch",
                                          "mismatched")}  # fmt: skip


def peer_json(info: PeerInfo) -> dict[str, Any]:
    return {"participant": info.participant, "role": info.role, "e2ee": info.e2ee}


def test_the_pages_code_gives_the_same_safety_code_next_key_and_split_links(node: Node) -> None:
    keys = [os.urandom(32) for _ in range(4)] + [bytes(32), b"\xff" * 32]
    key = os.urandom(32)
    secret = to_base64url(os.urandom(32))
    fragments = [f"tok.{secret}", "tok", "tok.", "tok.abc", f"tok.{secret[:-1]}", "a.b.c",
                 f"tok.{secret}=", "é.ü", f"tok.{to_base64url(os.urandom(31))}"]  # fmt: skip
    js = node.ask(op="functions", keys=[to_base64url(k) for k in keys], key=to_base64url(key),
                  fragments=fragments)  # fmt: skip
    assert js["code"] == safety_code(keys)
    assert js["next"] == to_base64url(next_key(key))
    python = [
        [t, None if s is None else to_base64url(s)] for t, s in map(split_fragment, fragments)
    ]
    assert js["splits"] == python


@pytest.mark.parametrize("staff_in", ["js", "python"])
def test_pages_and_python_peers_agree_every_key(node: Node, staff_in: str) -> None:
    """Staff in one language, the survivor in the other, then an interpreter of each side;
    one leaves; a link with another secret is refused by both."""
    clock = Clock()
    if staff_in == "js":
        staff: Member = Js(node, "S", "staff")
        survivor: Member = Py("V", "survivor", clock=clock)
        others: list[Member] = [Py("P", "interpreter", clock=clock), Js(node, "J", "interpreter")]
    else:
        staff, survivor = Py("S", "staff", clock=clock), Js(node, "V", "survivor")
        others = [Js(node, "J", "interpreter"), Py("P", "interpreter", clock=clock)]
    call = Call()
    everyone = [staff, survivor]
    call.join(staff)
    call.join(survivor)

    def agree() -> dict[str, Any]:
        states = [m.status() for m in everyone]
        assert all(s["state"] == "on" for s in states), states
        assert len({s["code"] for s in states}) == 1, states
        assert len({(s["key"], s["epoch"]) for s in states}) == 1, states
        return states[0]

    two = agree()
    # The hellos are the same JSON on both sides, field for field.
    hellos = {
        s: json.loads(from_base64url(d)) for s, _, d in call.log if decoded(d)["t"] == "hello"
    }
    assert list(hellos["S"]) == list(hellos["V"]) == ["t", "pub", "mac", "re"]
    for member in others:
        call.join(member)
        everyone.append(member)
        moved = agree()
        assert moved["key"] == to_base64url(next_key(from_base64url(two["key"])))
        two = moved
    call.leave(everyone.pop(2).id)
    fresh = agree()
    assert fresh["key"] != to_base64url(next_key(from_base64url(two["key"])))
    assert fresh["epoch"] == (two["epoch"] + 1) % 256

    # A link with another secret, on either side: neither gets a key.
    strangers: list[Member] = [Js(node, "X", "interpreter", OTHER_SECRET),
                               Py("Y", "interpreter", OTHER_SECRET, clock)]  # fmt: skip
    for stranger in strangers:
        call.join(stranger)
        state = stranger.status()
        assert state["state"] == "bad-link" and state["key"] is None, state
    assert agree()["key"] == fresh["key"]
    assert all(m.status()["mismatched"] == ["X", "Y"] for m in everyone)


@pytest.mark.parametrize("language", ["js", "python"])
def test_a_forged_hello_for_someone_proved_and_a_key_that_agrees_nothing_change_nothing(
    node: Node, language: str
) -> None:
    """The server sends a hello in the name of someone whose link checked, with a bad proof:
    they stay proved, nothing is said of their link. A hello that checks but carries a
    public key that agrees no secret (all zeros: a point of low order) is not kept."""

    def member(id_: str, role: str) -> Member:
        return Js(node, id_, role) if language == "js" else Py(id_, role)

    staff, survivor = member("S", "staff"), member("V", "survivor")
    call = Call()
    call.join(staff)
    call.join(survivor)
    before = staff.status()
    forged = {"t": "hello", "pub": to_base64url(os.urandom(32)), "mac": to_base64url(bytes(32))}
    data = to_base64url(json.dumps(forged).encode())
    assert staff.receive("V", data) == []  # not even answered
    assert staff.status() == before and before["mismatched"] == []

    # Someone holding the link sends a key of low order: no pair, so no call key for them.
    low = Py("L", "interpreter")
    call.join(low)
    zeros = bytes(32)
    mac = hmac.digest(low.keys._auth, b"quietroom hello" + b"L\x00" + zeros, "sha256")
    bad = {"t": "hello", "pub": to_base64url(zeros), "mac": to_base64url(mac)}
    key_before = staff.status()["key"]
    staff.receive("L", to_base64url(json.dumps(bad).encode()))
    assert staff.status()["key"] == key_before  # no one new: the key did not move for it
