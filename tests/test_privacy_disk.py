"""Integration: `quietroom serve` holds a whole call without writing anything to disk.

The real CLI runs under strace with its working directory, HOME and TMPDIR set to three
empty directories; clients in this process hold a 2-person call with media through it.
Afterwards the directories must still be empty and the trace must show no file opened for
writing, created, truncated, renamed, linked or removed (outside /dev and /proc; /dev/shm
counts as disk here: files there outlive the process).
"""

from __future__ import annotations

import re
import shutil
import signal
from pathlib import Path

import aiohttp
import pytest
import serverproc
from conftest import STAFF_NAME, STAFF_PASSWORD
from test_call_aiortc import wait_until

from bench.client import Participant, StaffApi
from bench.host_addresses import offer_addresses
from signaling.protocol import Admit, Join, LobbyWaiting

TRACED = [
    "open",
    "openat",
    "creat",
    "rename",
    "renameat",
    "renameat2",
    "mkdir",
    "mkdirat",
    "unlink",
    "unlinkat",
    "link",
    "symlink",
    "truncate",
]
WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC")
ALWAYS_WRITES = set(TRACED) - {"open", "openat"}
ALLOWED_PREFIXES = ("/dev/", "/proc/")
# "1234 openat(AT_FDCWD, "/path", O_RDONLY|O_CLOEXEC) = 3", also "<unfinished ...>" halves.
CALL = re.compile(r"^(?:\[pid\s+)?\d+\]?\s+(\w+)\((.*)$")
PATH = re.compile(r'"((?:[^"\\]|\\.)*)"')


def strace_or_fail() -> str:
    path = shutil.which("strace")
    if path is None:
        pytest.fail("strace is not installed: apt-get install strace (CI installs it)")
    return path


def offending(trace: str) -> list[str]:
    """Trace lines where the traced process wrote, created or removed a file."""
    bad = []
    for line in trace.splitlines():
        match = CALL.match(line)
        if not match or "resumed>" in line:
            continue
        name, rest = match.groups()
        if name in ALWAYS_WRITES:
            bad.append(line)
        elif name in ("open", "openat"):
            flags = rest.split('",', 1)[1] if '",' in rest else rest
            if not any(flag in flags for flag in WRITE_FLAGS):
                continue
            paths = PATH.findall(rest)
            path = paths[0] if paths else ""
            if not path.startswith(ALLOWED_PREFIXES) or path.startswith("/dev/shm/"):
                bad.append(line)
    return bad


def test_the_trace_check_can_fail() -> None:
    trace = "\n".join(
        [
            '10 openat(AT_FDCWD, "/etc/ssl/openssl.cnf", O_RDONLY) = 3',
            '10 openat(AT_FDCWD, "/dev/null", O_RDWR|O_CLOEXEC) = 4',
            '10 openat(AT_FDCWD, "/proc/self/fd/7", O_RDONLY) = 5',
            '11 openat(AT_FDCWD, "/tmp/x/call.log", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 6',
            '11 openat(AT_FDCWD, "notes", O_RDWR|O_APPEND <unfinished ...>',
            "11 <... openat resumed>) = 7",
            '[pid    12] open("/var/tmp/y", O_CREAT|O_WRONLY, 0600) = 8',
            '12 openat(AT_FDCWD, "/dev/shm/sem.x", O_RDWR|O_CREAT, 0600) = 9',
            '12 mkdir("/root/.cache", 0777) = -1 EEXIST (File exists)',
            '12 unlink("/tmp/x/a") = 0',
            '12 renameat2(AT_FDCWD, "a", AT_FDCWD, "b", RENAME_NOREPLACE) = 0',
        ]
    )
    found = offending(trace)
    assert len(found) == 7, found
    assert not any("openssl.cnf" in f or "/dev/null" in f or "/proc/self" in f for f in found)


def all_files(*dirs: Path) -> list[str]:
    return [str(p) for d in dirs for p in d.rglob("*")]


async def test_a_whole_call_writes_nothing_to_disk(
    tmp_path: Path, staff_path: Path, http: aiohttp.ClientSession
) -> None:
    strace = strace_or_fail()
    work, home, tmp = (tmp_path / name for name in ("cwd", "home", "tmp"))
    for d in (work, home, tmp):
        d.mkdir()
    trace_file = tmp_path / "trace.txt"
    # The clients in this process must offer loopback ICE candidates too, as the server does.
    offer_addresses(["127.0.0.1"])

    options = ["--host", "127.0.0.1", "--port", "0", "--ice-addresses", "127.0.0.1"]
    options += ["--staff-file", str(staff_path), "--log-level", "debug"]
    running = await serverproc.start(
        serverproc.serve_command(*options),
        cwd=work,
        # No bytecode caches: those would be Python's writes, not the server's.
        env=serverproc.clean_environment(
            HOME=str(home), TMPDIR=str(tmp), PYTHONDONTWRITEBYTECODE="1"
        ),
        stderr_path=tmp_path / "stderr.txt",
        trace=[strace, "-f", "-qq", "-e", "trace=" + ",".join(TRACED), "-o", str(trace_file)],
    )
    people: list[Participant] = []
    try:
        # The pages and a failed browser sign-in go through the same process.
        for page in ("/staff", "/join", "/static/style.css"):
            async with http.get(running.base + page) as r:
                assert r.status == 200, page
        async with http.post(
            f"{running.base}/api/login", json={"name": STAFF_NAME, "password": "wrong password"}
        ) as r:
            assert r.status == 401
        api = StaffApi(http, running.base)
        await api.sign_in(STAFF_NAME, STAFF_PASSWORD)
        call = await api.create_call()
        staff = Participant(http, running.base, headers=api.headers)
        people.append(staff)
        await staff.connect()
        await staff.send(Join(call=str(call["id"])))
        await staff.expect("joined")
        survivor = Participant(http, running.base)
        people.append(survivor)
        await survivor.connect()
        invite = str(call["links"]["survivor"]).split("#", 1)[1]
        await survivor.send(Join(invite=invite, name="Hannah Quinn"))
        await survivor.expect("waiting")
        waiting = await staff.expect("lobby-waiting")
        assert isinstance(waiting, LobbyWaiting)
        await staff.send(Admit(waiting.participant))
        await survivor.expect("joined")
        for person in (staff, survivor):
            await person.start_media(max_participants=4)
        await wait_until(
            lambda: all(
                viewer.received(kind, source.participant) >= 50
                for viewer, source in ((staff, survivor), (survivor, staff))
                for kind in ("audio", "video")
            ),
            timeout=20,
        )
        await staff.send('{"type": "end"}')
        await survivor.expect("ended")
        await staff.expect("ended")
        for person in people:
            await person.close()
        code = await serverproc.interrupt(running, timeout=30)
        assert code is not None, "the server did not stop within 30 s of SIGINT"
    finally:
        for person in people:
            await person.close()
        await serverproc.kill(running)

    stderr = running.stderr()
    assert "server started" in stderr and "server stopped" in stderr, stderr
    assert not all_files(work, home, tmp), f"files appeared: {all_files(work, home, tmp)}"
    trace = trace_file.read_text(errors="replace")
    # The trace covers the server and its threads: the staff file is read in a worker thread.
    assert f'"{staff_path}", O_RDONLY' in trace, trace[:3000]
    found = offending(trace)
    assert not found, "the server wrote to disk:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("sig", "group"),
    [(sig, group) for group in (False, True) for sig in (signal.SIGINT, signal.SIGTERM)],
    ids=["SIGINT", "SIGTERM", "SIGINT to the group", "SIGTERM to the group"],
)
async def test_a_normal_stop_exits_cleanly(
    tmp_path: Path, staff_path: Path, sig: int, group: bool
) -> None:
    """A stop by signal, to the server alone (`kill`) or to its whole process group, as a
    terminal's Ctrl-C and a service manager's stop send it: a clean exit, and no line that
    reads as a fault (a worker stopped when asked is not one)."""
    options = ["--host", "127.0.0.1", "--port", "0", "--ice-addresses", "127.0.0.1"]
    running = await serverproc.start(
        serverproc.serve_command(*options, "--staff-file", str(staff_path)),
        cwd=tmp_path,
        env=serverproc.clean_environment(PYTHONDONTWRITEBYTECODE="1"),
        stderr_path=tmp_path / "stderr.txt",
    )
    try:
        code = await serverproc.interrupt(running, timeout=30, sig=sig, group=group)
    finally:
        await serverproc.kill(running)
    assert code is not None, "the server did not stop within 30 s"
    assert "server stopped" in running.stderr(), running.stderr()
    faults = ("WARNING", "ERROR", "CRITICAL", "Traceback")
    assert not [line for line in running.stderr().splitlines() if line.startswith(faults)], (
        running.stderr()
    )
    # 0, or for SIGTERM also death by that signal, which service managers take as a clean stop.
    assert code in ((0,) if sig == signal.SIGINT else (0, -signal.SIGTERM)), (
        code,
        running.stderr(),
    )
