"""A throwaway server on loopback for a bench run, with a staff account of its own."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

from server import staff_file

STAFF = "bench"


def stop_gently(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT, so the server ends its calls and stops cleanly; killed if it takes over 10 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class LocalServer:
    """`quietroom serve` on 127.0.0.1, ICE on 127.0.0.1, stopped on exit."""

    def __init__(
        self,
        *extra: str,
        cores: set[int] | None = None,
        env: dict[str, str] | None = None,
        password: str = "",
    ) -> None:
        self.extra = extra
        self.cores = cores  # CPU cores the server (and its workers) may run on
        self.env = env  # its environment (None: this one's)
        self.password = password or secrets.token_urlsafe(16)
        self.dir = tempfile.TemporaryDirectory(prefix="quietroom-bench-")
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def __enter__(self) -> LocalServer:
        path = Path(self.dir.name) / "staff.json"
        staff_file.add(path, STAFF, self.password)
        args = [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", "0"]
        args += ["--ice-addresses", "127.0.0.1", "--staff-file", str(path)]
        args += ["--log-level", "warning", "--calls-per-staff", "1000"]
        args += ["--media-port", "0", "--media-tcp-port", "0"]
        # Every simulated person comes from 127.0.0.1: up to 200 calls of 4 people.
        args += ["--sockets-per-address", "1000"]
        cores = self.cores

        def pin() -> None:
            if cores is not None:
                os.sched_setaffinity(0, cores)

        self.proc = subprocess.Popen(
            [*args, *self.extra], stdout=subprocess.PIPE, preexec_fn=pin, env=self.env
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 30
        line = b""
        while time.monotonic() < deadline and b"sign in at" not in line:
            line = self.proc.stdout.readline()
            if not line and self.proc.poll() is not None:
                break
        match = re.search(rb"(https?://\S+)/staff", line)
        if not match:
            self.__exit__(None, None, None)
            raise RuntimeError("the local server did not start")
        self.url = match.group(1).decode().replace("localhost", "127.0.0.1")
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.proc is not None:
            stop_gently(self.proc)
        self.dir.cleanup()
