"""CPU time and resident memory of the server's processes, read from /proc."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Sample:
    cpu_seconds: float  # user + system, all processes
    rss_bytes: int


def _stat_fields(pid: int) -> list[str]:
    raw = (PROC / str(pid) / "stat").read_text()
    return raw[raw.rindex(")") + 2 :].split()  # fields after "pid (comm)"


def descendants(pids: list[int]) -> list[int]:
    """The processes and every process below them (media workers, for instance)."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                parent = int(_stat_fields(int(entry.name))[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], list(pids)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.append(pid)
            todo += children.get(pid, [])
    return found


def find_servers() -> list[int]:
    """Processes running `quietroom serve` (or `python -m server.cli serve`)."""
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        text = b" ".join(args)
        if b"serve" in args and (b"quietroom" in text or b"server.cli" in text):
            found.append(int(entry.name))
    return found


def sample(pids: list[int]) -> Sample:
    cpu = 0.0
    rss = 0
    for pid in descendants(pids):
        try:
            fields = _stat_fields(pid)
            status = (PROC / str(pid) / "status").read_text()
        except OSError:
            continue  # it ended
        cpu += (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss += int(line.split()[1]) * 1024
    return Sample(cpu, rss)
