"""Browser: the readiness checklist is asked of every sign-in, even when the page learns
late whether this sign-in has confirmed it (issue 12).

The staff page asks the server once on load (signed out: nothing to confirm) and again on
signing in. An answer from before the sign-in must not stand for the sign-in: the page would
show no checklist, and the server would then refuse the join with `not-ready`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser import confirm_ready
from conftest import STAFF_NAME, STAFF_PASSWORD
from netlab import require_netns
from screens import LAPTOP, lab_with_server, open_page, shown, wait_for

from server import staff_file

pytestmark = pytest.mark.browser


def test_a_late_answer_about_readiness_still_asks_for_the_checklist(tmp_path: Path) -> None:
    require_netns()
    staff_path = tmp_path / "staff.json"
    staff_file.add(staff_path, STAFF_NAME, STAFF_PASSWORD)
    with lab_with_server(tmp_path, staff_path) as lab:
        staff = lab.page(lab.staff_browser, LAPTOP)
        open_page(staff, f"{lab.origin}/staff", shown("sign-in"))
        staff.wait_for_selector("#ready-form[data-asked]", state="attached")  # signed out

        held: list[Any] = []  # the sign-in's question, answered when the test lets it go
        staff.route("**/api/me", lambda route: held.append(route))
        staff.fill("#staff-name", STAFF_NAME)
        staff.fill("#password", STAFF_PASSWORD)
        staff.click("#sign-in-button")
        staff.wait_for_selector(shown("calls-view"))
        # (the page's events, the route's among them, come in while Playwright waits)
        wait_for(lambda: staff.wait_for_timeout(50) or held, what="the sign-in's question")
        # Signed in, the answer not in yet: nothing may say it is.
        assert staff.locator("#ready-form[data-asked]").count() == 0
        for route in held:
            route.continue_()
        staff.wait_for_selector("#ready-form[data-asked]:not([hidden])")

        confirm_ready(staff)
        staff.click("#new-call")
        staff.wait_for_selector("[data-call] [data-action=join-call]")
        staff.click("[data-action=join-call]")
        lab.wait_shown(staff, "call")
        staff.context.close()
