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
    "server_cpu_us_per_packet",
}  # fmt: skip


@pytest.mark.parametrize(("scenario", "calls", "people"), [("call", 2, 4), ("echo", 1, 1)])
def test_bench_smoke_run(tmp_path: Path, scenario: str, calls: int, people: int) -> None:
    out = tmp_path / "bench.json"
    args = [sys.executable, "-m", "bench", scenario, "--calls", str(calls), "--duration", "5"]
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


def test_bench_refuses_bad_options() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "call", "--calls", "0", "--local"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 2 and "--calls must be between" in done.stderr


def test_transport_cc_cost_runs_both_servers_and_gives_their_ratio(tmp_path: Path) -> None:
    out = tmp_path / "rounds.json"
    args = [sys.executable, "-m", "bench.transport_cc_cost", "--calls", "2", "--rounds", "1"]
    done = subprocess.run(
        [*args, "--duration", "3", "--json", str(out)], capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    (one,) = json.loads(out.read_text())
    with_, without = one["with"], one["without"]
    # Each side measured its own server: packets forwarded, CPU spent on them.
    for side in (with_, without):
        assert side["packets_received"] > 0 and side["server_cpu_us_per_packet"] > 0
    ratio = with_["server_cpu_us_per_packet"] / without["server_cpu_us_per_packet"]
    assert f"median with/without: {ratio:.3f}" in done.stdout


def test_transport_cc_cost_refuses_bad_options() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.transport_cc_cost", "--rounds", "0"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 2 and "--rounds 1 to 9" in done.stderr
