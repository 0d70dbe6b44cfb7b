"""Browser: the honest fallback of end-to-end encryption (issue 14).

Every browser this machine has can transform encoded frames, so a browser that cannot is
made here by removing both ways from the page before its scripts run (`NO_TRANSFORMS`).

- Such a survivor is told before joining, in plain words, that the call will be protected on
  its way but not end to end; the connection test says end to end does not work here; in the
  call every page says the call is not end to end, staff's page names who cannot; media
  flows both ways. Pages checked with axe and shot at phone and laptop size.
- With `--require-e2ee`, that browser, and a link without the call's secret, are told they
  cannot join (the button is off, and the server refuses a join that tries anyway); a browser
  that can joins end to end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser import CHROMIUM_FLAGS, start_server
from netlab import NetLab, require_netns
from screens import (
    LAPTOP,
    PHONE,
    SCREENSHOTS,
    admit,
    consent_to,
    join_as,
    lab_with_server,
    shown,
    staff_in_new_call,
)
from test_browser_a11y import Results, available, check
from test_browser_call import receiving_from, staff_joins_new_call, wait_for

pytestmark = pytest.mark.browser

# A browser without encoded transforms: neither RTCRtpScriptTransform nor createEncodedStreams.
NO_TRANSFORMS = """
(() => {
  delete window.RTCRtpScriptTransform;
  if (window.RTCRtpSender) delete RTCRtpSender.prototype.createEncodedStreams;
})();
"""

STATE = "() => document.getElementById('e2ee').dataset.e2ee || ''"


def without_transforms(context: Any) -> Any:
    context.add_init_script(NO_TRANSFORMS)
    return context.new_page()


def test_a_browser_that_cannot_is_told_and_the_call_goes_on_not_end_to_end(
    tmp_path: Path, staff_path: Path
) -> None:
    results: Results = {}
    axe = available()
    SCREENSHOTS.mkdir(exist_ok=True)
    with lab_with_server(tmp_path, staff_path) as lab:
        staff, links = staff_in_new_call(lab)
        # Alone in a call of their own, end to end once the page has made its key.
        wait_for(lambda: staff.evaluate(STATE) == "on", what="staff's page end to end")
        survivor = without_transforms(lab.context(lab.survivor_browser, PHONE))
        consent_to(survivor, links["survivor"])
        assert survivor.evaluate("typeof RTCRtpScriptTransform") == "undefined"
        # Before joining: in plain words, and the end-to-end line of the privacy list gone.
        assert survivor.is_visible("#e2ee-before")
        assert "cannot encrypt the call end to end" in survivor.inner_text("#e2ee-before")
        assert survivor.is_hidden("#e2ee-private")
        assert survivor.is_enabled("#join")
        if axe:
            survivor.set_viewport_size(LAPTOP)
            check(survivor, "consent-no-e2ee", "laptop", results)
            survivor.set_viewport_size(PHONE)
            survivor.locator("#e2ee-before").scroll_into_view_if_needed()
            check(survivor, "consent-no-e2ee", "phone", results)

        # The connection test says so too, and still shows the media work.
        survivor.click("#test")
        survivor.wait_for_selector("#echo-status[data-e2ee=fails]", timeout=30000)
        said = survivor.inner_text("#echo-status")
        assert "connection work" in said and "does not work in this browser" in said, said
        survivor.click("#echo-done")

        join_as(survivor, "video", "Hannah")
        # Staff are told before admitting that this would end end to end for the call.
        staff.wait_for_selector("[data-waiting]")
        assert "admitting them makes the call not end to end" in staff.inner_text("#lobby")
        admit(staff)
        survivor.wait_for_selector(shown("call"))
        for page in (staff, survivor):
            wait_for(lambda: page.evaluate(STATE) == "clear", what="not end to end")  # noqa: B023
            wait_for(lambda: receiving_from(page, 1), what="media both ways")  # noqa: B023
        assert "Not end-to-end encrypted" in survivor.inner_text("#e2ee")
        staff.wait_for_selector("#e2ee [data-e2ee-why=cannot]")
        assert "Hannah cannot encrypt end to end" in staff.inner_text("#e2ee")
        assert not survivor.locator("[data-safety-code]").count()
        if axe:
            check(survivor, "call-no-e2ee", "phone", results)
            check(staff, "staff-call-no-e2ee", "laptop", results)
    bad = {state: found for state, found in results.items() if found}
    assert not bad, bad


def test_when_the_organization_requires_end_to_end_only_browsers_that_can_join(
    tmp_path: Path, staff_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    require_netns()
    with NetLab() as net:
        hosts = {name: net.add_host(name) for name in ("srv", "staff", "surv")}
        server = start_server(hosts["srv"], staff_path, "--require-e2ee")
        try:
            with sync_playwright() as p:

                def browser(host: str) -> Any:
                    wrapper = hosts[host].chromium_wrapper(tmp_path)
                    return p.chromium.launch(executable_path=str(wrapper), args=CHROMIUM_FLAGS)

                def context(launched: Any) -> Any:
                    return launched.new_context(ignore_https_errors=True, viewport=PHONE)

                staff = context(browser("staff")).new_page()
                link = staff_joins_new_call(staff, server.url)

                survivors = browser("surv")
                # A browser that cannot: told, and not offered to join.
                cannot = without_transforms(context(survivors))
                consent_to(cannot, link)
                cannot.wait_for_function(
                    "() => document.getElementById('e2ee-before').textContent.includes('asks')"
                )
                assert cannot.is_disabled("#join")
                cannot.screenshot(path=str(SCREENSHOTS / "consent-e2ee-required-phone-en.png"))
                # If it joins anyway, the server refuses it, and the page says why.
                cannot.evaluate("document.getElementById('join').disabled = false")
                cannot.fill("#name", "Sam")
                cannot.click("#join")
                cannot.wait_for_selector(shown("done"))
                refused = cannot.inner_text("#notice")
                assert "asks that every call be encrypted end to end" in refused
                cannot.close()
                # A link without the call's secret cannot either.
                bare = context(survivors).new_page()
                consent_to(bare, link.rsplit(".", 1)[0])
                bare.wait_for_function(
                    "() => document.getElementById('e2ee-before').textContent.includes('link')"
                )
                assert "has no end-to-end key" in bare.inner_text("#e2ee-before")
                assert bare.is_disabled("#join")
                bare.close()
                # A browser that can, with the link: in, end to end.
                can = context(survivors).new_page()
                consent_to(can, link)
                assert can.is_hidden("#e2ee-before") and can.is_visible("#e2ee-private")
                join_as(can, "video", "Hannah")
                admit(staff)
                for page in (staff, can):
                    page.wait_for_selector("#e2ee[data-e2ee=on] [data-safety-code]", timeout=20000)
                assert not staff.locator("[data-waiting]").count()
        finally:
            server.stop()
