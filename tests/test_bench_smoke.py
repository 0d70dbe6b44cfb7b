"""The bench runs end to end: a 2-call, 5-second run and an echo run against a local server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

FIELDS = {
    "target", "scenario", "calls", "participants", "duration_s", "tracks_expected",
    "tracks_received", "packets_expected", "packets_received", "bitrate_in_kbps",
    "bitrate_out_kbps", "packet_loss", "latency_ms_p50", "latency_ms_p95", "latency_ms_p99",
    "join_ms_p50", "join_ms_p95", "server_cpu_percent", "server_rss_start_mb", "server_rss_mb",
    "server_cpu_us_per_packet", "e2ee", "frames_opened", "frames_unopened",
}  # fmt: skip


@pytest.mark.parametrize(
    ("scenario", "calls", "people", "e2ee"),
    [("call", 2, 4, False), ("echo", 1, 1, False), ("call", 1, 2, True), ("echo", 1, 1, True)],
)
def test_bench_smoke_run(
    tmp_path: Path, scenario: str, calls: int, people: int, e2ee: bool
) -> None:
    out = tmp_path / "bench.json"
    args = [sys.executable, "-m", "bench", scenario, "--calls", str(calls), "--duration", "5"]
    args += ["--e2ee"] if e2ee else []
    done = subprocess.run(
        [*args, "--local", "--json", str(out)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert set(result) == FIELDS
    assert result["calls"] == calls and result["participants"] == people
    assert result["tracks_received"] == result["tracks_expected"] > 0
    assert result["packets_received"] > 0 and result["packets_expected"] > 0
    assert result["bitrate_in_kbps"] > 0 and result["bitrate_out_kbps"] > 0
    assert result["server_cpu_percent"] > 0 and result["server_rss_mb"] > 0
    assert 0 < result["latency_ms_p50"] <= result["latency_ms_p99"]
    assert "packets received / expected" in done.stdout  # the table
    # End to end, every frame received opened (a frame with a packet lost is not counted).
    assert result["e2ee"] is e2ee and result["frames_unopened"] == 0
    assert (result["frames_opened"] > 100) is e2ee


def test_bench_refuses_bad_options() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "call", "--calls", "0", "--local"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 2 and "--calls must be between" in done.stderr


@pytest.mark.parametrize("feature", ["transport-cc", "e2ee"])
def test_side_by_side_runs_both_servers_and_gives_their_ratio(tmp_path: Path, feature: str) -> None:
    out = tmp_path / "rounds.json"
    args = [sys.executable, "-m", "bench.side_by_side", feature, "--calls", "2", "--rounds", "1"]
    done = subprocess.run(
        [*args, "--duration", "3", "--json", str(out)], capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    (one,) = json.loads(out.read_text())
    with_, without = one["with"], one["without"]
    # Each side measured its own server: packets forwarded, CPU spent on them.
    for side in (with_, without):
        assert side["packets_received"] > 0 and side["server_cpu_us_per_packet"] > 0
    assert with_["e2ee"] is (feature == "e2ee") and without["e2ee"] is False
    ratio = with_["server_cpu_us_per_packet"] / without["server_cpu_us_per_packet"]
    assert f"median with/without: {ratio:.3f}" in done.stdout


def test_side_by_side_refuses_bad_options() -> None:
    for args, said in ((["e2ee", "--rounds", "0"], "--rounds 1 to 9"), (["dance"], "invalid")):
        done = subprocess.run(
            [sys.executable, "-m", "bench.side_by_side", *args],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert done.returncode == 2 and said in done.stderr


def test_the_cluster_bench_spreads_calls_and_gives_the_ratio() -> None:
    """`python -m bench.cluster`: three nodes on a throwaway Redis, every call made through
    node 1, against one node; both tables, the calls per node and a ratio."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.cluster", "--nodes", "3", "--calls", "3",
         "--duration", "5"],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.count("packet loss") == 2
    spread = out.split("calls per node [", 1)[1].split("]", 1)[0]
    assert sorted(int(n) for n in spread.split(",")) == [1, 1, 1], out
    assert "median cluster/single CPU per forwarded packet:" in out


def test_the_cluster_bench_refuses_bad_options() -> None:
    for bad in (["--nodes", "1"], ["--calls", "0"], ["--rounds", "10"], ["--duration", "1"]):
        done = subprocess.run(
            [sys.executable, "-m", "bench.cluster", *bad], capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip
        assert done.returncode == 2, bad
