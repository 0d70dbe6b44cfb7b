"""Runs the bench inside a network namespace of its own, for the Janus comparison.

Janus 1.1.2 never offers ICE candidates on loopback, so its media needs another address. The
bench makes a namespace with only loopback and a veth pair whose two ends are both inside
it, and runs itself there:
Janus, the Quietroom server it is compared with and every simulated participant share that
namespace, which has no route anywhere, so no packet can leave it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence

from bench.redact import without_addresses

ENV = "QUIETROOM_BENCH_NETNS"
ADDRESS = "10.231.254.1"
TIMEOUT = 30.0


def inside() -> bool:
    return bool(os.environ.get(ENV))


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=TIMEOUT)


def run_isolated(argv: Sequence[str]) -> int:
    """Run `python -m bench ARGV` in a fresh namespace; returns its exit code."""
    if os.geteuid() != 0:
        print("quietroom-bench: the Janus comparison runs in a network namespace: run as root",
              file=sys.stderr)  # fmt: skip
        return 2
    name = f"qrbench{os.getpid()}"
    try:
        _ip("netns", "add", name)
        _ip("-n", name, "link", "set", "lo", "up")
        # A veth pair with both ends inside: an interface with an address, going nowhere.
        _ip("-n", name, "link", "add", "qrb0", "type", "veth", "peer", "name", "qrb1")
        _ip("-n", name, "addr", "add", f"{ADDRESS}/24", "dev", "qrb0")
        _ip("-n", name, "link", "set", "qrb0", "up")
        _ip("-n", name, "link", "set", "qrb1", "up")
        command = ["ip", "netns", "exec", name, sys.executable, "-m", "bench", *argv]
        return subprocess.run(command, env={**os.environ, ENV: name}, check=False).returncode
    except subprocess.CalledProcessError as exc:
        # ip's own complaint, not the command line (which holds the namespace's address)
        said = (exc.stderr or b"").decode(errors="replace").strip().splitlines()
        reason = without_addresses(said[-1]) if said else f"ip exited with {exc.returncode}"
        print(f"quietroom-bench: could not make a network namespace: {reason}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"quietroom-bench: could not make a network namespace: {exc.strerror}",
              file=sys.stderr)  # fmt: skip
        return 2
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=TIMEOUT)
