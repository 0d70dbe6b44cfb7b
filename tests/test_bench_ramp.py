"""The bench's ramp: two 1-call steps of echo tests against a local server, its table, its plot."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.host_addresses import offer_addresses
from bench.local import STAFF, LocalServer
from bench.plot import plot
from bench.ramp import ramp, ramp_table, verdict
from bench.scenario import Plan

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
STEP_FIELDS = {
    "calls", "participants", "packet_loss", "latency_ms_p50", "latency_ms_p95",
    "latency_ms_p99", "server_cpu_percent", "server_rss_mb", "server_cpu_us_per_packet",
    "tracks_expected", "tracks_received", "ws_rtt_ms_p50", "ws_rtt_ms_p99", "ws_probes",
}  # fmt: skip


@pytest.fixture
def loopback_ice() -> Iterator[None]:
    """The participants offer 127.0.0.1 only, as `quietroom-bench --local` does."""
    offer_addresses(["127.0.0.1"])
    try:
        yield
    finally:
        offer_addresses([])  # every interface again, for the tests that follow


@pytest.mark.timeout(90)
async def test_ramp_against_a_local_server(tmp_path: Path, loopback_ice: None) -> None:
    with LocalServer() as server:
        plan = Plan(server.url, STAFF, server.password, "echo", 2, 1, 0.0, [server.pid])
        # limits out of reach: this checks the ramp's mechanics, not this machine's speed
        result = await ramp(
            plan, step_calls=1, step_seconds=2, max_calls=2, loss_limit=1.0,
            latency_p95_limit_ms=1e6,
        )  # fmt: skip
    assert server.proc is not None and server.proc.poll() is not None  # nothing left running

    assert result["target"] == "quietroom" and result["scenario"] == "echo"
    assert result["stopped_because"] == "max-calls" and result["knee_calls"] == 2
    steps = result["steps"]
    assert [s["calls"] for s in steps] == [1, 2]
    for step in steps:
        assert set(step) >= STEP_FIELDS
        assert step["participants"] == step["calls"]
        assert step["tracks_received"] == step["tracks_expected"] > 0
        assert step["packets_received"] > 0 and step["server_cpu_percent"] > 0
        assert 1.8 < step["duration_s"] < 3  # the window, not the whole step
        assert step["ws_probes"] >= 5 and 0 < step["ws_rtt_ms_p50"] <= step["ws_rtt_ms_p99"]

    table = ramp_table(result)
    assert "knee: 2 calls" in table and len(table.splitlines()) == 2 + 1 + 2 + 1
    out = tmp_path / "ramp.png"
    plot(result, out)
    assert out.read_bytes()[:8] == PNG_SIGNATURE


def fake_step(calls: int, loss: float, p95: float) -> dict[str, Any]:
    return {
        "target": "quietroom", "scenario": "echo", "calls": calls, "participants": calls,
        "duration_s": 2.0, "packet_loss": loss, "latency_ms_p50": 1.0, "latency_ms_p95": p95,
        "latency_ms_p99": p95, "server_cpu_percent": 10.0 * calls, "server_rss_mb": 90.0,
        "server_cpu_us_per_packet": 150.0,
    }  # fmt: skip


def test_verdict_checks_loss_then_latency() -> None:
    assert verdict(fake_step(1, 0.01, 50.0), 0.01, 50.0) is None  # at the limits is within
    assert verdict(fake_step(1, 0.02, 80.0), 0.01, 50.0) == "loss"
    assert verdict(fake_step(1, 0.0, 50.1), 0.01, 50.0) == "latency"


def test_plot_and_table_take_a_fixed_run(tmp_path: Path) -> None:
    fixed = fake_step(10, 0.0002, 10.0)  # what scenario.run returns: no steps, no WebSocket
    out = tmp_path / "fixed.png"
    plot(fixed, out)
    assert out.read_bytes()[:8] == PNG_SIGNATURE
    assert ramp_table(fixed).splitlines()[-1].split()[:3] == ["10", "10", "0.02"]


def test_plot_takes_a_ramp_that_measured_nothing(tmp_path: Path) -> None:
    result = {
        "target": "quietroom", "scenario": "call", "step_calls": 2, "step_seconds": 8.0,
        "max_calls": 40, "loss_limit": 0.01, "latency_p95_limit_ms": 50.0, "steps": [],
        "knee_calls": 0, "stopped_because": "setup-failed", "error": "TimeoutError",
    }  # fmt: skip
    out = tmp_path / "empty.png"
    plot(result, out)
    assert out.read_bytes()[:8] == PNG_SIGNATURE
    assert "setup failed: TimeoutError" in ramp_table(result)
