"""Rerun the weak-link figures of docs/weak-networks.md: a survivor's downlink capped for 20 s,
then lifted, several times at several depths, in a three-way call.

Needs root (network namespaces) and Debian's Chromium, as the browser tests do. For each
depth it starts a fresh call (server, staff, survivor and interpreter in their own
namespaces) and caps the survivor's downlink `--runs` times in it, letting video settle
`--settle` seconds in between. Staff and interpreter are Chromium pages; the survivor is one
too, or, with `--browser firefox`, Debian's firefox-esr in its namespace (tests/firefox.py).
Every run's figures are printed, then a summary:

    .venv/bin/python tests/weak_link_runs.py --runs 5 --caps 120,180,250
    .venv/bin/python tests/weak_link_runs.py --runs 5 --caps 120,180,250 --browser firefox

fallback: cap set -> the survivor's page says video is paused; audio gap: the longest run of
concealed audio at the survivor while capped; recovery: cap lifted -> video decoded again;
staff told: cap set -> staff's page (whose link is not capped) says the survivor's video is
paused, which is when the server paused it, give or take staff's signaling.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from browser import RECORD_PEER_CONNECTIONS, inbound
from conftest import STAFF_NAME, STAFF_PASSWORD
from firefox import FirefoxPage, require_firefox
from netlab import NetLab, require_netns
from test_browser_bandwidth import CAPTIONS
from test_browser_recovery import run_weak_link, start_call_hosts, three_way_call
from test_firefox_weak_link import transport_cc_negotiated

from server import staff_file


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--caps", default="120,180,250", help="kbit/s, comma-separated")
    parser.add_argument("--cap-seconds", type=float, default=20.0)
    parser.add_argument("--settle", type=float, default=15.0, help="seconds between runs")
    parser.add_argument("--logs", default="", help="a folder for each depth's server log")
    parser.add_argument("--browser", choices=("chromium", "firefox"), default="chromium",
                        help="the survivor's browser")  # fmt: skip
    args = parser.parse_args()
    require_netns()
    if args.browser == "firefox":
        require_firefox()
    from playwright.sync_api import sync_playwright

    caps = [int(c) for c in args.caps.split(",")]
    if args.logs:
        Path(args.logs).mkdir(parents=True, exist_ok=True)
    table: dict[int, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        staff_path = Path(tmp) / "staff.json"
        staff_file.add(staff_path, STAFF_NAME, STAFF_PASSWORD)
        for kbit in caps:
            with NetLab() as lab, sync_playwright() as p, contextlib.ExitStack() as stack:
                hosts, server = start_call_hosts(lab, staff_path)
                try:
                    workdir = Path(tmp) / f"cap{kbit}"
                    workdir.mkdir()
                    firefox = None
                    if args.browser == "firefox":
                        firefox = stack.enter_context(
                            FirefoxPage(
                                workdir / "firefox",
                                hosts["surv"].netns,
                                preload=(RECORD_PEER_CONNECTIONS,),
                            )
                        )
                    staff, survivor, _ = three_way_call(p, hosts, workdir, server.url, firefox)
                    print(
                        f"{kbit} kbit/s: {args.browser} survivor, transport-cc negotiated: "
                        f"{transport_cc_negotiated(survivor)}",
                        flush=True,
                    )
                    for run in range(1, args.runs + 1):
                        time.sleep(args.settle)
                        figures = run_weak_link(
                            hosts["surv"], staff, survivor, kbit, args.cap_seconds
                        )
                        table.setdefault(kbit, []).append(figures)
                        print(f"{kbit} kbit/s run {run}: {_row(figures)}", flush=True)
                        if max(figures.values()) == float("inf"):  # what the page shows
                            print(f"  survivor: {survivor.evaluate(CAPTIONS)} {inbound(survivor)}")
                            print(f"  staff: {staff.evaluate(CAPTIONS)}", flush=True)
                finally:
                    log = server.stop()
                    if args.logs:
                        Path(args.logs, f"server-{kbit}.log").write_text(log)
    print(
        "\ndepth | fallback s (each run) | longest audio gap ms | recovery s | worst recovery"
        " | staff told of the pause s"
    )
    for kbit, runs in table.items():
        recovery = [r["recovery"] for r in runs]
        print(
            f"{kbit} kbit/s | {_each(runs, 'fallback', 1)} | {_each(runs, 'audio_gap_ms', 0)} | "
            f"{_each(runs, 'recovery', 1)} | {max(recovery):.1f} "
            f"(median {statistics.median(recovery):.1f}) | {_each(runs, 'staff_told', 1)}"
        )
    return 0


def _row(figures: dict[str, float]) -> str:
    return (
        f"audio only after {figures['fallback']:.1f} s, longest audio gap "
        f"{figures['audio_gap_ms']:.0f} ms (at most {figures['concealed_step_ms']:.0f} ms "
        f"concealed between two samples), video back {figures['recovery']:.1f} s after the lift "
        f"(staff told of the pause {figures['staff_told']:.1f} s after the cap)"
    )


def _each(runs: list[dict[str, float]], key: str, digits: int) -> str:
    return ", ".join(f"{r[key]:.{digits}f}" for r in runs)


if __name__ == "__main__":
    sys.exit(main())
