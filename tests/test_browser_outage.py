"""Browser: an 8-second network outage, then a survivor who does not come back.

Staff and survivor in Chromium, each in its own namespace. The survivor's link goes down for
8 s: both pages say the call is reconnecting, and media comes back by itself once the link
does. Then the survivor's browser goes away for good: after the grace period, staff see the
disruption plan.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import start_server
from netlab import NetLab, require_netns
from test_browser_call import frames_decoded, receiving_from, staff_admits_survivor, wait_for

pytestmark = pytest.mark.browser

OUTAGE = 8.0
GRACE = 6.0
STAFF_SEES_AWAY = (
    "() => [...document.querySelectorAll('figcaption')].some("
    "c => c.textContent.includes('reconnecting'))"
)


@pytest.fixture
def lab() -> Iterator[NetLab]:
    require_netns()
    with NetLab() as lab:
        yield lab


def test_an_outage_is_bridged_and_a_survivor_gone_for_good_shows_the_plan(
    lab: NetLab, tmp_path: Path, staff_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    hosts = {name: lab.add_host(name) for name in ("srv", "staff", "surv")}
    server = start_server(hosts["srv"], staff_path, "--reconnect-grace", str(GRACE))
    requests: list[str] = []
    try:
        with sync_playwright() as p:
            staff, survivor = staff_admits_survivor(
                p, hosts, tmp_path, server.url, requests, plan=("staff-calls-back", 5)
            )
            for page in (staff, survivor):
                wait_for(lambda: receiving_from(page, 1), what="media both ways")  # noqa: B023

            # The outage: both sides say so while it lasts.
            hosts["surv"].set_link(False)
            down = time.monotonic()
            staff.wait_for_function(STAFF_SEES_AWAY, timeout=OUTAGE * 1000)
            staff_told = time.monotonic() - down
            survivor.wait_for_selector("#call-status:not([hidden])", timeout=OUTAGE * 1000)
            survivor_told = time.monotonic() - down
            assert "Reconnecting" in survivor.inner_text("#call-status")
            # Staff's own network is fine: their page does not say it is reconnecting.
            assert staff.is_hidden("#call-status")
            assert "5 minutes" in survivor.inner_text("#call-status")  # the plan, counting down
            time.sleep(max(0.0, OUTAGE - (time.monotonic() - down)))
            before = {"staff": frames_decoded(staff), "surv": frames_decoded(survivor)}
            hosts["surv"].set_link(True)
            up = time.monotonic()

            # Back without a click: new frames on both sides, and the notices go away.
            wait_for(
                lambda: (
                    frames_decoded(staff) > before["staff"] + 5
                    and frames_decoded(survivor) > before["surv"] + 5
                ),
                timeout=5,
                what="media within 5 s of the link returning",
            )
            resumed = time.monotonic() - up
            staff.wait_for_function(f"() => !({STAFF_SEES_AWAY[6:]})", timeout=5000)
            survivor.wait_for_selector("#call-status", state="hidden", timeout=5000)

            # Gone for good: after the grace period staff see that, and the plan.
            survivor.context.browser.close()
            gone = time.monotonic()
            staff.wait_for_function(
                "() => document.querySelector('#call-status').textContent"
                ".includes('did not come back')",
                timeout=(GRACE + 10) * 1000,
            )
            plan_after = time.monotonic() - gone
            assert "I will call you back on this link (5 min)" in staff.inner_text("#call-status")
            assert staff.locator(".tile[data-participant]").count() == 0
    finally:
        server.stop()
    print(
        f"\noutage {OUTAGE:.0f} s: 'reconnecting' shown to staff after {staff_told:.1f} s, to "
        f"the survivor after {survivor_told:.1f} s; media back {resumed * 1000:.0f} ms after "
        "the link returned; "
        f"plan shown {plan_after:.1f} s after the survivor left (grace {GRACE:.0f} s)"
    )
