"""Browser: a survivor's link whose call had its own time, which has just ended (issue 12).
The page says so calmly, in both languages, reaches no lobby, and passes axe."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from a11y import available, describe, violations
from browser import confirm_ready
from conftest import STAFF_NAME, STAFF_PASSWORD
from netlab import require_netns
from screens import (
    LAPTOP,
    PHONE,
    SCREENSHOTS,
    lab_with_server,
    open_page,
    set_language,
    shown,
)

from server import staff_file

pytestmark = pytest.mark.browser

# A call whose links are open for a few seconds only, made through the page's own origin.
NEW_SHORT_CALL = """
async ([start, end]) => {
  const r = await fetch("/api/calls", {
    method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({window: {start, end}}),
  });
  return await r.json();
}
"""


def test_a_link_whose_window_just_closed_says_so_and_reaches_nobody(tmp_path: Path) -> None:
    require_netns()
    staff_path = tmp_path / "staff.json"
    staff_file.add(staff_path, STAFF_NAME, STAFF_PASSWORD)
    SCREENSHOTS.mkdir(exist_ok=True)
    with lab_with_server(tmp_path, staff_path) as lab:
        staff = lab.page(lab.staff_browser, LAPTOP)
        open_page(staff, f"{lab.origin}/staff", shown("sign-in"))
        staff.fill("#staff-name", STAFF_NAME)
        staff.fill("#password", STAFF_PASSWORD)
        staff.click("#sign-in-button")
        confirm_ready(staff)
        now = datetime.now(UTC)
        window = [
            (now - timedelta(minutes=5)).isoformat(),
            (now + timedelta(seconds=4)).isoformat(),
        ]
        call = staff.evaluate(NEW_SHORT_CALL, window)
        assert call["open_now"] is True, call
        time.sleep(max(0.0, 4.5 - (datetime.now(UTC) - now).total_seconds()))

        for size in (PHONE, LAPTOP):
            survivor = lab.page(lab.survivor_browser, size, touch=size is PHONE)
            open_page(survivor, call["links"]["survivor"], shown("done"))
            for language, words in (
                ("en", "This link is closed now."),
                ("fr", "Ce lien est fermé pour l'instant."),
            ):
                set_language(survivor, language)
                survivor.wait_for_function(
                    "w => document.querySelector('#notice').textContent.includes(w)", arg=words
                )
                if available():
                    found = violations(survivor)
                    assert not found, describe(found)
                name = "phone" if size is PHONE else "laptop"
                survivor.screenshot(path=str(SCREENSHOTS / f"link-closed-{name}-{language}.png"))
            assert survivor.is_hidden("#consent") and survivor.is_hidden("#lobby")
            survivor.context.close()
        # Nobody reached the lobby: the call has no one waiting.
        calls = staff.evaluate("() => fetch('/api/calls').then(r => r.json())")["calls"]
        assert [c["waiting"] for c in calls if c["id"] == call["id"]] == [0]
        assert [c["open_now"] for c in calls if c["id"] == call["id"]] == [False]
        assert not lab.foreign_requests(), lab.foreign_requests()
