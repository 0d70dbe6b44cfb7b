"""The bench's table and its JSON."""

from __future__ import annotations

import json
import statistics
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
    if result.get("e2ee"):
        opened = f"{result['frames_opened']} / {result['frames_unopened']}"
        lines.append(f"{'e2ee frames opened / not':<{width}}  {opened}")
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


Round = tuple[dict[str, Any], dict[str, Any]]  # Quietroom's and Janus's run, back to back


def _median(values: list[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return round(statistics.median(known), 3) if len(known) == len(values) else None


def median_ratios(rounds: list[Round]) -> dict[str, dict[str, float | None]]:
    """Each figure's ratios, the median over the rounds: a round's two runs ran back to back,
    so its ratio is less swayed than either run by what else the machine was doing."""
    each = [ratios(quietroom, janus) for quietroom, janus in rounds]
    return {
        key: {way: _median([one[key][way] for one in each]) for way in each[0][key]}
        for _, key, _, _ in COMPARED
    }


def round_line(number: int, total: int, quietroom: dict[str, Any], janus: dict[str, Any]) -> str:
    key = "server_cpu_us_per_packet"
    share = ratios(quietroom, janus)[key]["quietroom/janus"]
    return (
        f"round {number} of {total}: server CPU per forwarded packet {quietroom[key]} us "
        f"(quietroom), {janus[key]} us (janus), quietroom/janus {share}"
    )


def comparison(rounds: list[Round]) -> str:
    """Both servers' figures with their ratios, one row per compared figure: over several
    rounds, each server's median figure and the median of the rounds' ratios."""
    both = median_ratios(rounds)

    def shown(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3g}x"

    def figure(results: list[dict[str, Any]], key: str, unit: str, scale: float) -> str:
        return f"{round(statistics.median(r[key] for r in results) * scale, 3)} {unit}"

    quietroom, janus = [q for q, _ in rounds], [j for _, j in rounds]
    first = quietroom[0]
    title = (
        f"quietroom vs janus · {first['scenario']} · {first['calls']} calls · "
        f"{first['duration_s']} / {janus[0]['duration_s']} s measured"
    )
    if len(rounds) > 1:
        title += f" · medians of {len(rounds)} rounds"
    header = ("", "quietroom", "janus", "janus/quietroom", "quietroom/janus")
    rows = [
        (
            name,
            figure(quietroom, key, unit, scale),
            figure(janus, key, unit, scale),
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
