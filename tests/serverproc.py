"""`quietroom serve` as a real subprocess (optionally under strace), for tests that need one."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ANNOUNCE = re.compile(r"Staff sign in at (https?)://[^/\s]+:(\d+)/staff")


@dataclass
class ServerProcess:
    proc: asyncio.subprocess.Process  # the server, or strace running it
    base: str  # https://127.0.0.1:PORT
    stderr_path: Path
    traced: bool

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def server_pid(self) -> int:
        """The server's own pid: strace's child when traced."""
        if not self.traced:
            return self.proc.pid
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        pids = children.read_text().split()
        if len(pids) != 1:
            raise RuntimeError(f"strace has children {pids}, expected the server alone")
        return int(pids[0])


def serve_command(*options: str) -> list[str]:
    return [sys.executable, "-m", "server.cli", "serve", *options]


def clean_environment(**changes: str) -> dict[str, str]:
    """This environment without QUIETROOM_* settings or TLS key logging, plus `changes`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("QUIETROOM_") and k not in ("SSLKEYLOGFILE", "PYTHONSTARTUP")
    }
    # Media on free ports, so servers of several tests can run side by side.
    env["QUIETROOM_MEDIA_PORT"] = env["QUIETROOM_MEDIA_TCP_PORT"] = "0"
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH", "")])]
    )
    env.update(changes)
    return env


async def start(
    command: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    stderr_path: Path,
    trace: list[str] | None = None,
    timeout: float = 30.0,
) -> ServerProcess:
    """Start `command` (prefixed by `trace`, e.g. an strace command) and wait for its URL."""
    traced = bool(trace)
    with stderr_path.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            *(trace or []),
            *command,
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            start_new_session=True,  # a Ctrl-C in the terminal is not for it
        )
    running = ServerProcess(proc, "", stderr_path, traced)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"the server did not announce its address in {timeout} s")
            line = (await asyncio.wait_for(proc.stdout.readline(), remaining)).decode()
            if not line:
                raise RuntimeError(
                    f"the server exited early (code {await proc.wait()}):\n"
                    + "".join(seen)
                    + running.stderr()
                )
            seen.append(line)
            match = ANNOUNCE.search(line)
            if match:
                running.base = f"{match.group(1)}://127.0.0.1:{match.group(2)}"
                return running
    except BaseException:
        await kill(running)
        raise


async def interrupt(
    running: ServerProcess, timeout: float = 30.0, sig: int = signal.SIGINT, group: bool = False
) -> int | None:
    """Stop the server with `sig` (SIGINT: as Ctrl-C does), sent to it alone or, with `group`,
    to its whole process group, workers included, as a terminal and a service manager send
    it; its exit code, None if it did not stop."""
    if running.proc.returncode is None:
        with contextlib.suppress(ProcessLookupError, FileNotFoundError, RuntimeError):
            pid = running.server_pid()
            if group:
                os.killpg(os.getpgid(pid), sig)
            else:
                os.kill(pid, sig)
    try:
        await asyncio.wait_for(running.proc.wait(), timeout)
    except TimeoutError:
        return None
    return running.proc.returncode


async def kill(running: ServerProcess) -> None:
    """Make sure the process (and a traced server) is gone; harmless if it already is."""
    if running.proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError, FileNotFoundError, RuntimeError, ValueError):
        os.kill(running.server_pid(), signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        running.proc.kill()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(running.proc.wait(), 10)
