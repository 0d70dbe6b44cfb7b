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
    ("server RSS", "{server_rss_mb} MB"),
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
