"""A ramp's figures against the number of calls, as a PNG (matplotlib, Agg, no display)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator


def plot(result: dict[str, Any], path: Path) -> None:
    """Server CPU, packet loss and latency against calls: three panels, one x axis.

    `result` is a ramp's (`bench.ramp.ramp`) or a fixed run's (`bench.scenario.run`, drawn
    as a single point).
    """
    is_ramp = "steps" in result
    steps: list[dict[str, Any]] = result["steps"] if is_ramp else [result]
    calls = [s["calls"] for s in steps]
    figure = Figure(figsize=(8, 9), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)  # render with Agg whatever the default backend
    cpu, loss, latency = figure.subplots(3, 1, sharex=True)
    # unclipped, a marker on an axis (0 % loss) shows whole; but an empty line must stay
    # clipped, or the constrained layout takes it as unbounded and gives up
    clip = not steps

    cpu.plot(calls, [s["server_cpu_percent"] for s in steps], "o-", color="tab:blue", clip_on=clip)
    cpu.set_ylabel("server CPU (% of one core)")
    cpu.set_ylim(bottom=0, top=max([100.0, *(s["server_cpu_percent"] * 1.1 for s in steps)]))
    cpu.axhline(100, color="grey", linewidth=0.8, linestyle=":")  # one core

    loss_percent = [s["packet_loss"] * 100 for s in steps]
    loss.plot(calls, loss_percent, "o-", color="tab:red", label="packet loss", clip_on=clip)
    loss.set_ylabel("packet loss (%)")
    top = max(loss_percent, default=0.0)
    if is_ramp:
        limit = result["loss_limit"] * 100
        loss.axhline(limit, color="tab:red", linewidth=0.8, linestyle="--", label="limit")
        top = max(top, limit)
        loss.legend(loc="upper left")
    loss.set_ylim(bottom=0, top=max(top * 1.2, 0.1))

    latency.plot(calls, [s["latency_ms_p50"] for s in steps], "o-", label="added latency p50")
    latency.plot(calls, [s["latency_ms_p95"] for s in steps], "s-", label="added latency p95")
    ws = [s.get("ws_rtt_ms_p99") for s in steps]
    if any(v is not None for v in ws):  # a ramp's (a step without round trips is a gap)
        gaps = [math.nan if v is None else v for v in ws]
        latency.plot(calls, gaps, "^--", label="WebSocket round trip p99")
    if is_ramp:
        latency.axhline(
            result["latency_p95_limit_ms"],
            color="tab:orange",
            linewidth=0.8,
            linestyle="--",
            label=f"added latency p95 limit ({result['latency_p95_limit_ms']:g} ms)",
        )
    latency.set_ylabel("milliseconds")
    highest = [v for s in steps for v in (s["latency_ms_p95"], s.get("ws_rtt_ms_p99")) if v]
    if is_ramp:
        highest.append(result["latency_p95_limit_ms"])
    latency.set_ylim(bottom=0, top=max([1.0, *highest]) * 1.3)  # room for the legend
    latency.legend(loc="upper left")
    latency.set_xlabel("calls at once")
    latency.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(calls) == 1:
        latency.set_xlim(calls[0] - 1, calls[0] + 1)
    elif not calls:  # a ramp that could not set up its first step
        latency.set_xlim(0, result.get("max_calls", 1))
        loss.text(0.5, 0.5, "no step measured", ha="center", transform=loss.transAxes)

    axes: list[Axes] = [cpu, loss, latency]
    knee = result.get("knee_calls") if is_ramp else None
    for ax in axes:
        ax.grid(True, alpha=0.3)
        if knee:
            ax.axvline(knee, color="tab:green", linewidth=1, linestyle=":")
    figure.suptitle(title(result))
    figure.savefig(path, format="png")


def title(result: dict[str, Any]) -> str:
    if "steps" not in result:
        return (
            f"{result['target']} · {result['scenario']} · {result['calls']} calls · "
            f"{result['duration_s']} s measured"
        )
    return (
        f"{result['target']} · {result['scenario']} ramp · +{result['step_calls']} calls every "
        f"{result['step_seconds']:g} s\nknee {result['knee_calls']} calls (dotted) · "
        f"stopped: {result['stopped_because']}"
    )
