"""Browser: axe-core (WCAG 2.x A/AA, 2.2 included) on every survivor page state and the staff
page, in English and French, at phone (390x844, touch) and laptop (1280x800) size, with a
screenshot of each in tests/screenshots/. On a phone, the call fits the screen."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from a11y import available, describe, violations
from conftest import STAFF_NAME, STAFF_PASSWORD
from screens import (
    CONSENT_EN,
    LAPTOP,
    PHONE,
    SCREENSHOTS,
    Lab,
    admit,
    join_as,
    lab_with_server,
    open_page,
    set_language,
    shown,
    staff_in_new_call,
    wait_for,
)

from server import staff_file, totp

pytestmark = pytest.mark.browser

CODE_NAME = "code.staff"  # an admin account with a second factor

SIZES = {"phone": PHONE, "laptop": LAPTOP}
LANGUAGES = ("en", "fr")

# Shown elements matching each selector that are not wholly on screen, unscrolled.
OUT_OF_VIEW = """
(selectors) => {
  const out = [];
  for (const selector of selectors) {
    const all = [...document.querySelectorAll(selector)].filter(e => e.checkVisibility());
    if (!all.length) out.push(selector + ": none shown");
    for (const e of all) {
      const r = e.getBoundingClientRect();
      if (r.width < 1 || r.height < 1 || r.left < 0 || r.top < 0 ||
          r.right > innerWidth || r.bottom > innerHeight) {
        out.push(`${selector} at ${Math.round(r.left)},${Math.round(r.top)} ` +
                 `${Math.round(r.width)}x${Math.round(r.height)}`);
      }
    }
  }
  return out;
}
"""

Results = dict[str, list[dict[str, Any]]]


def check(page: Any, state: str, size: str, results: Results, full: bool = False) -> None:
    """axe and a screenshot of the page as it is, in each language (English again after).
    `full`: the whole page at laptop size; phones show what fits on their screen (a whole-page
    shot would draw the quick exit, fixed to the bottom of the screen, in mid-page)."""
    whole = full and size == "laptop"
    for language in LANGUAGES:
        set_language(page, language)
        results[f"{state}-{size}-{language}"] = violations(page)
        page.screenshot(path=str(SCREENSHOTS / f"{state}-{size}-{language}.png"), full_page=whole)
    set_language(page, "en")
    if size == "laptop":  # the dark colours too (prefers-color-scheme: dark), in English
        page.emulate_media(color_scheme="dark")
        results[f"{state}-{size}-en-dark"] = violations(page)
        page.screenshot(path=str(SCREENSHOTS / f"{state}-{size}-en-dark.png"), full_page=whole)
        page.emulate_media(color_scheme="light")


def fits_phone(page: Any) -> None:
    """The other person's video, the controls and the quick exit, all without scrolling."""
    page.evaluate("document.activeElement?.blur(); window.scrollTo(0, 0)")
    out = page.evaluate(OUT_OF_VIEW, ["#quick-exit", "#controls button", "video.remote"])
    assert not out, f"not on screen at phone size: {out}"
    assert page.evaluate("document.scrollingElement.scrollHeight <= innerHeight + 1")


def survivor_states(lab: Lab, staff: Any, link: str, size: str, results: Results) -> None:
    """One survivor through every state of the join page, then /guide."""
    phone = size == "phone"
    page = lab.page(lab.survivor_browser, SIZES[size], touch=phone)
    open_page(page, link, shown("consent"))
    page.wait_for_function(
        "t => document.querySelector('#org-consent').textContent.includes(t)",
        arg=CONSENT_EN.splitlines()[0],
    )
    page.click("[data-safe=no]")
    page.wait_for_selector(shown("not-safe"))
    check(page, "not-safe", size, results)
    page.click("[data-action=safe-again]")
    page.click("[data-safe=yes]")
    page.wait_for_selector("#join-form:not([hidden])")
    page.click("#history-help summary")  # the browser steps, opened
    page.evaluate("document.querySelector('#safe-question').scrollIntoView()")  # (phones)
    check(page, "consent", size, results, full=True)

    page.click("#test")
    page.wait_for_function(
        "() => document.querySelector('#echo-status').textContent.includes('work')",
        timeout=20000,
    )
    check(page, "test", size, results)
    page.click("#echo-done")
    join_as(page, "video", "Hannah")
    check(page, "lobby", size, results)

    admit(staff)
    page.wait_for_selector(shown("call"))
    page.wait_for_function(
        "() => [...document.querySelectorAll('video.remote')].some(v => v.videoWidth > 0)"
    )
    if phone:
        fits_phone(page)
    page.click("[data-action=chat]")
    page.fill("#chat-text", "Is the link the same next week?")
    page.keyboard.press("Enter")
    if staff.is_hidden("#chat"):
        staff.click("[data-action=chat]")
    staff.wait_for_selector("#chat-log li")
    staff.fill("#chat-text", "Yes, the same link.")
    staff.click("#chat-send")
    page.wait_for_selector("#chat-log li:nth-child(2)")
    staff.click("[data-action=check-in]")
    page.wait_for_selector(shown("check-in"))
    if phone:
        fits_phone(page)  # with the chat open and the check-in asked, still all on screen
    check(page, "call", size, results)
    if not phone:  # staff's page in the call, once, at both sizes
        for staff_size in SIZES:
            staff.set_viewport_size(SIZES[staff_size])
            check(staff, "staff-call", staff_size, results)
        staff.set_viewport_size(LAPTOP)
    page.click("[data-answer=ok]")

    page.keyboard.press("Alt+Shift+H")
    page.wait_for_selector(shown("cant-talk"))
    check(page, "cant-talk", size, results)
    page.click("[data-action=back]")
    page.wait_for_selector(shown("call"))
    page.click("[data-action=leave]")
    page.wait_for_selector(shown("done"))
    check(page, "done", size, results)

    open_page(page, f"{lab.origin}/guide", "#handout")
    page.wait_for_selector("#org-handout-box:not([hidden])")
    check(page, "guide", size, results, full=True)
    if not phone:  # as printed: no buttons, the organization's text framed
        page.emulate_media(media="print")
        assert page.is_hidden("#quick-exit") and page.is_hidden("[data-action=print]")
        page.screenshot(path=str(SCREENSHOTS / "guide-print-en.png"), full_page=True)
        page.emulate_media(media="screen")
    page.context.close()
    wait_for(lambda: staff.locator("[data-person]").count() == 0, what="the survivor gone")


def sign_in_with_code(lab: Lab, secret: str, results: Results) -> None:
    """The sign-in form, then its second step for an account with an authenticator app."""
    page = lab.page(lab.staff_browser, LAPTOP)
    open_page(page, f"{lab.origin}/staff", shown("sign-in"))
    assert page.is_hidden("#code")
    for size in SIZES:
        page.set_viewport_size(SIZES[size])
        check(page, "staff-sign-in", size, results)
    page.fill("#staff-name", CODE_NAME)
    page.fill("#password", STAFF_PASSWORD)
    page.click("#sign-in-button")
    page.wait_for_selector("#code:not([hidden])")
    assert "authenticator app" in page.inner_text("#sign-in-error")
    for size in SIZES:
        page.set_viewport_size(SIZES[size])
        check(page, "staff-sign-in-code", size, results)
    page.fill("#code", totp.code_at(secret, int(time.time() // 30)))
    page.click("#sign-in-button")
    page.wait_for_selector(shown("calls-view"))
    # Staff's own connection test, before joining a call of theirs.
    page.click("#new-call")
    page.click("[data-call] [data-action=test]")
    page.wait_for_function(
        "() => document.querySelector('#echo-status').textContent.includes('work')",
        timeout=20000,
    )
    for size in SIZES:
        page.set_viewport_size(SIZES[size])
        check(page, "staff-test", size, results)
    page.click("#echo-done")
    page.wait_for_selector(shown("calls-view"))
    # The admin's view: every call on the server, not whose; ending one takes two presses.
    page.wait_for_selector("[data-admin-call]")
    assert "1 call running" in page.inner_text("#admin")
    for size in SIZES:
        page.set_viewport_size(SIZES[size])
        check(page, "staff-admin", size, results, full=True)
    page.click("[data-admin-call] [data-action=admin-end]")
    assert "Really" in page.inner_text("[data-admin-call] [data-action=admin-end]")
    page.click("[data-admin-call] [data-action=admin-end]")
    page.wait_for_function("() => !document.querySelector('[data-admin-call]')")
    assert "0 calls running" in page.inner_text("#admin")
    page.context.close()


def test_pages_pass_axe_in_both_languages_at_both_sizes(tmp_path: Path) -> None:
    if not available():
        pytest.skip("axe-core is not installed: cd tests && npm ci")
    SCREENSHOTS.mkdir(exist_ok=True)
    staff_path = tmp_path / "staff.json"
    staff_file.add(staff_path, STAFF_NAME, STAFF_PASSWORD)
    staff_file.add(staff_path, CODE_NAME, STAFF_PASSWORD, admin=True)
    secret = totp.new_secret()
    staff_file.set_totp(staff_path, CODE_NAME, secret)
    results: Results = {}
    with lab_with_server(tmp_path, staff_path) as lab:
        sign_in_with_code(lab, secret, results)

        staff, links = staff_in_new_call(lab)
        for size in SIZES:
            survivor_states(lab, staff, links["survivor"], size, results)
        staff.click("[data-action=leave]")
        staff.wait_for_selector(shown("calls-view"))
        assert STAFF_NAME not in staff.inner_text("#calls")
        # A new sign-in asks the readiness checklist again.
        staff.click("#sign-out")
        staff.wait_for_selector(shown("sign-in"))
        staff.fill("#staff-name", STAFF_NAME)
        staff.fill("#password", STAFF_PASSWORD)
        staff.click("#sign-in-button")
        staff.wait_for_selector("#ready-form[data-asked]:not([hidden])")
        for size in SIZES:
            staff.set_viewport_size(SIZES[size])
            check(staff, "staff-calls", size, results, full=True)
        for answer in ("quiet_place", "headphones", "work_device"):
            staff.check(f"#ready-form [name={answer}]")
        staff.click("#ready-form button")
        staff.wait_for_selector("#ready-form", state="hidden")
        me = "() => fetch('/api/me').then(r => r.json())"
        assert staff.evaluate(me)["ready"] is True
        assert not lab.foreign_requests(), lab.foreign_requests()

    print(f"\naxe: {len(results)} page states checked")
    for name, found in sorted(results.items()):
        print(f"  {name}: {len(found)} violations")
    bad = {name: found for name, found in results.items() if found}
    assert not bad, "\n".join(f"{name}:\n{describe(found)}" for name, found in bad.items())
    for state in ("consent", "not-safe", "test", "lobby", "call", "cant-talk", "done", "guide"):
        for size in SIZES:
            for language in LANGUAGES:
                assert (SCREENSHOTS / f"{state}-{size}-{language}.png").exists()
