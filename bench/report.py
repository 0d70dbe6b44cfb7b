"""The bench's table and its JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROWS: list[tuple[str, str]] = [
    ("calls", "{calls}"),
    ("participants", "{participants}"),
    ("tracks received / expected", "{tracks_received} / {tracks_expected}"),
    ("packets received / expected", "{packets_received} / {packets_expected}"),
    ("bitrate into server", "{bitrate_in_kbps} kbps"),
    ("bitrate out of server", "{bitrate_out_kbps} kbps"),
    ("packet loss", "{loss_percent:.2f} %"),
    ("added latency p50 / p95 / p99", "{latency_ms_p50} / {latency_ms_p95} / {latency_ms_p99} ms"),
    ("join time p50 / p95", "{join_ms_p50} / {join_ms_p95} ms"),
    ("server CPU (all processes)", "{server_cpu_percent} %"),
    ("server RSS (start → end)", "{server_rss_start_mb} → {server_rss_mb} MB"),
    ("server CPU per forwarded packet", "{server_cpu_us_per_packet} us"),
]


def table(result: dict[str, Any]) -> str:
    values = {**result, "loss_percent": result["packet_loss"] * 100}
    title = (
        f"{result['target']} · {result['scenario']} · {result['calls']} calls · "
        f"{result['duration_s']} s measured"
    )
    width = max(len(name) for name, _ in ROWS)
    lines = [title, "-" * len(title)]
    lines += [f"{name:<{width}}  {form.format(**values)}" for name, form in ROWS]
    return "\n".join(lines)


def write_json(result: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(result, indent=2) + "\n")


# Figures set side by side by `--compare`: (label, result field, unit, scale for display)
COMPARED: list[tuple[str, str, str, float]] = [
    ("server CPU per forwarded packet", "server_cpu_us_per_packet", "us", 1.0),
    ("server CPU (all processes)", "server_cpu_percent", "%", 1.0),
    ("server RSS", "server_rss_mb", "MB", 1.0),
    ("added latency p50", "latency_ms_p50", "ms", 1.0),
    ("added latency p99", "latency_ms_p99", "ms", 1.0),
    ("packet loss", "packet_loss", "%", 100.0),
]


def ratio(top: float, bottom: float) -> float | None:
    return round(top / bottom, 3) if bottom else None


def ratios(quietroom: dict[str, Any], janus: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """janus/quietroom and quietroom/janus for each compared figure (None where one is 0)."""
    return {
        key: {
            "janus/quietroom": ratio(janus[key], quietroom[key]),
            "quietroom/janus": ratio(quietroom[key], janus[key]),
        }
        for _, key, _, _ in COMPARED
    }


def comparison(quietroom: dict[str, Any], janus: dict[str, Any]) -> str:
    """Both servers' figures with their ratios, one row per compared figure."""
    both = ratios(quietroom, janus)

    def shown(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3g}x"

    title = (
        f"quietroom vs janus · {quietroom['scenario']} · {quietroom['calls']} calls · "
        f"{quietroom['duration_s']} / {janus['duration_s']} s measured"
    )
    header = ("", "quietroom", "janus", "janus/quietroom", "quietroom/janus")
    rows = [
        (
            name,
            f"{round(quietroom[key] * scale, 3)} {unit}",
            f"{round(janus[key] * scale, 3)} {unit}",
            shown(both[key]["janus/quietroom"]),
            shown(both[key]["quietroom/janus"]),
        )
        for name, key, unit, scale in COMPARED
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [title, "-" * len(title)]
    for row in [header, *rows]:
        cells = [cell.rjust(width) for cell, width in zip(row, widths, strict=True)]
        cells[0] = row[0].ljust(widths[0])
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
