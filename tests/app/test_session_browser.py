"""In a real browser (Debian's Chromium, the real ``streamlit run``): the session cookie
the page's script sets keeps a reload, a new tab and a bookmarked page signed in;
sign-out deletes it and ends the session; a bookmark opened signed out lands on its
page after the sign-in form. Screenshots go to ``test-artifacts/e2e/``."""

from __future__ import annotations

from typing import Any

import pytest

from copydesk.services import Desk
from copydesk.services.sessions import session_sha256
from copydesk.ui.session import COOKIE
from copydesk.workspace import Workspace
from tests.app import test_e2e_browser as e2e
from tests.app.browser import CHROMIUM, CHROMIUM_ARGS, STEP
from tests.app.test_e2e_browser import Walk
from tests.conftest import PASSWORD

pytestmark = pytest.mark.slow
# The real app on a free port, as the end-to-end walk serves it.
served_app = e2e.served_app
fake_llm = e2e.fake_llm


def _cookie(context: Any) -> dict[str, Any] | None:
    return next((c for c in context.cookies() if c["name"] == COOKIE), None)


def _heading(walk: Walk, title: str) -> None:
    walk.page.get_by_role("heading", name=title).first.wait_for(state="visible", timeout=STEP)
    walk.settle()


def test_reload_new_tab_bookmark_and_sign_out(served_app: str, sample_ws: Workspace) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            walk = Walk(context.new_page(), served_app)

            # a bookmark opened signed out: the sign-in form, then the page it named
            walk.page.goto(served_app + "/library")
            walk.see("Sign in to open Library.")
            walk.step("session-bookmark-signed-out")
            assert walk.page.get_by_text("Page not found").count() == 0
            walk.page.get_by_role("textbox", name="User name").fill("ana")
            walk.page.get_by_role("textbox", name="Password").fill(PASSWORD)
            walk.page.get_by_role("button", name="Sign in").click()
            walk.see("Signed in as ana")
            _heading(walk, "Library")
            walk.step("session-bookmark-after-sign-in")

            cookie = _cookie(context)
            assert cookie is not None and cookie["value"].startswith("cds_")
            assert cookie["sameSite"] == "Strict" and cookie["path"] == "/"
            assert not cookie["httpOnly"]  # script-set: see docs/security.md#app-sessions
            d = Desk.open(sample_ws)
            try:
                assert d.db.execute("SELECT user_name FROM sessions WHERE id = ?",
                                    [session_sha256(cookie["value"])]).fetchone() == ("ana",)
            finally:
                d.close()

            walk.page.reload()
            walk.see("Signed in as ana")
            _heading(walk, "Library")
            walk.step("session-reloaded")

            tab = Walk(context.new_page(), served_app)
            tab.n = walk.n  # one numbering for both tabs' screenshots
            tab.page.goto(served_app + "/briefs")
            tab.see("Signed in as ana")
            _heading(tab, "Briefs")
            tab.step("session-new-tab-briefs")

            tab.sign_out()
            tab.step("session-signed-out")
            tab.settle()
            assert _cookie(context) is None
            walk.n = tab.n
            walk.page.reload()
            walk.see("Sign in to open Library.")
            walk.step("session-reloaded-after-sign-out")
        finally:
            browser.close()
