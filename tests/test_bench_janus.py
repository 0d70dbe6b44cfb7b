"""The bench against Janus: echo and 1:1 call runs end to end, and the options it refuses.

Janus comes from Debian (`apt-get install -y janus`); CI installs it, so a machine without it
fails these tests rather than skipping them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_bench_smoke import FIELDS

from bench.report import comparison, median_ratios, ratios


def require_janus() -> None:
    if shutil.which("janus") is None:
        pytest.fail("janus is not installed: run `apt-get install -y janus` (CI installs it)")


@pytest.mark.parametrize(("scenario", "people"), [("echo", 1), ("call", 2)])
def test_bench_janus_run(tmp_path: Path, scenario: str, people: int) -> None:
    require_janus()
    out = tmp_path / "bench.json"
    args = [sys.executable, "-m", "bench", scenario, "--target", "janus", "--calls", "1"]
    done = subprocess.run(
        [*args, "--duration", "4", "--json", str(out)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert set(result) == FIELDS
    assert result["target"] == "janus" and result["scenario"] == scenario
    assert result["calls"] == 1 and result["participants"] == people
    assert result["tracks_received"] == result["tracks_expected"] == 2 * people
    assert result["packets_expected"] > 0 and result["packets_received"] > 0
    assert result["bitrate_in_kbps"] > 0 and result["bitrate_out_kbps"] > 0
    assert result["server_cpu_percent"] > 0 and result["server_rss_mb"] > 0
    assert 0 < result["latency_ms_p50"] <= result["latency_ms_p99"]
    assert "janus · " + scenario in done.stdout  # the table


def test_bench_janus_call_end_to_end(tmp_path: Path) -> None:
    """With --e2ee the Janus peers seal too, as Quietroom's do, so --compare weighs the
    same packets: through Janus each end opens every frame of the other's."""
    require_janus()
    out = tmp_path / "bench.json"
    args = [sys.executable, "-m", "bench", "call", "--target", "janus", "--calls", "1", "--e2ee"]
    done = subprocess.run(
        [*args, "--duration", "4", "--json", str(out)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert result["e2ee"] is True and result["target"] == "janus"
    assert result["frames_opened"] > 100 and result["frames_unopened"] == 0, result


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["call", "--target", "janus", "--participants", "3"], "only carries 1:1 calls"),
        (["call", "--compare", "--participants", "4"], "only carries 1:1 calls"),
        (["echo", "--target", "janus", "--url", "https://127.0.0.1:1"], "leave out --url"),
        (["echo", "--compare", "--target", "janus"], "leave out --target"),
        (["echo", "--compare", "--rounds", "0"], "--rounds must be between 1 and 9"),
    ],
)
def test_bench_janus_refuses(extra: list[str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", *extra], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2 and message in done.stderr


# One run's figures as the bench reports them (the fields `--compare` sets side by side)
RUN = {
    "scenario": "call", "calls": 10, "duration_s": 20.0, "server_cpu_us_per_packet": 40.0,
    "server_cpu_percent": 30.0, "server_rss_mb": 100.0, "latency_ms_p50": 1.0,
    "latency_ms_p99": 20.0, "packet_loss": 0.0,
}  # fmt: skip


def test_comparison_ratios() -> None:
    quietroom = RUN
    janus = {**RUN, "server_cpu_us_per_packet": 20.0, "server_rss_mb": 25.0}
    both = ratios(quietroom, janus)
    assert both["server_cpu_us_per_packet"] == {"janus/quietroom": 0.5, "quietroom/janus": 2.0}
    assert both["server_rss_mb"] == {"janus/quietroom": 0.25, "quietroom/janus": 4.0}
    assert both["packet_loss"] == {"janus/quietroom": None, "quietroom/janus": None}
    text = comparison([(quietroom, janus)])
    assert "0.5x" in text and "4x" in text and "n/a" in text


def test_rounds_give_the_median_ratio() -> None:
    rounds = [
        ({**RUN, "server_cpu_us_per_packet": q}, {**RUN, "server_cpu_us_per_packet": j})
        for q, j in [(60.0, 40.0), (45.0, 50.0), (40.0, 80.0)]
    ]
    cpu = median_ratios(rounds)["server_cpu_us_per_packet"]
    assert cpu == {"quietroom/janus": 0.9, "janus/quietroom": 1.111}  # 1.5, 0.9, 0.5
    text = comparison(rounds)
    assert "medians of 3 rounds" in text and "45.0 us" in text and "0.9x" in text


def test_janus_log_lines_in_errors_have_no_addresses() -> None:
    from bench.redact import without_addresses

    line = "ICE 10.231.254.1:5000 fe80::1 ::1 [2001:db8::1]:80, Janus 1.1.2 at 12:34:56."
    assert without_addresses(line) == (
        "ICE <address> <address> <address> [<address>]:80, Janus 1.1.2 at 12:34:56."
    )
