"""End to end in a real browser: ``streamlit run app.py`` on a free 127.0.0.1 port with a
temporary copy of the sample workspace, driven by playwright in Debian's Chromium.

Walks: sign in as a copywriter → generate a draft against the fake OpenAI-compatible
server → submit → sign in as a reviewer → approve → sign in as a marketer → campaign
preview of a decision. A screenshot of each step goes to ``test-artifacts/e2e/``;
any Streamlit exception element on any step fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from copydesk.services import Desk
from copydesk.vocab import Status
from copydesk.workspace import Workspace
from tests.app.browser import CHROMIUM, CHROMIUM_ARGS, STEP, running_app
from tests.conftest import PASSWORD, add_team
from tests.fake_openai import FakeOpenAI, Reply

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "e2e"
CLEAN_DRAFT = {
    "subject": "Caring for your Summit Trail Boots, {{ first_name | default(\"there\") }}",
    "preheader": "Two minutes after each walk",
    "body": "A few minutes of care after each walk keeps your Summit Trail Boots comfortable for years. "
            "Brush off the mud and let them dry slowly. The Boot Care Kit has everything you need.",
    "cta": "Read the care guide",
}

if not CHROMIUM.exists():  # pragma: no cover - depends on the machine
    pytest.skip("/usr/bin/chromium is missing: install Debian's chromium (apt-get install chromium); "
                "the browser test never downloads a browser", allow_module_level=True)


@pytest.fixture
def fake_llm() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        server.default = Reply.draft(**CLEAN_DRAFT)
        yield server


@pytest.fixture
def served_app(sample_ws: Workspace, fake_llm: FakeOpenAI, tmp_path: Path) -> Iterator[str]:
    """The real app with the team and the sample briefs in its library."""
    d = Desk.open(sample_ws)
    add_team(d)
    for path in sorted(sample_ws.briefs_dir.glob("*.yaml")):
        d.add_brief_file(path, actor="ana")
    d.close()
    with running_app(sample_ws, fake_llm, tmp_path) as url:
        yield url


class Walk:
    """The browser page plus step bookkeeping: screenshot, and fail on any exception."""

    #: where the step screenshots go
    artifacts = ARTIFACTS

    def __init__(self, page: Any, url: str) -> None:
        self.page = page
        self.url = url
        self.n = 0

    def settle(self) -> None:
        """Wait until the script run finished (the running indicator is gone)."""
        self.page.wait_for_timeout(300)
        self.page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=STEP)
        self.page.wait_for_timeout(200)

    def step(self, name: str) -> None:
        """Screenshot the step and fail if Streamlit shows an exception."""
        self.settle()
        self.n += 1
        self.artifacts.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(self.artifacts / f"{self.n:02d}-{name}.png"), full_page=True)
        errors = self.page.locator('[data-testid="stException"]')
        assert errors.count() == 0, f"step {name}: exception on the page: {errors.first.inner_text()}"

    def see(self, text: str) -> None:
        self.page.get_by_text(text, exact=False).first.wait_for(state="visible", timeout=STEP)

    def sign_in(self, name: str) -> None:
        self.page.goto(self.url)
        self.see("Sign in to copydesk")
        self.page.get_by_role("textbox", name="User name").fill(name)
        self.page.get_by_role("textbox", name="Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Sign in").click()
        self.see(f"Signed in as {name}")
        self.step(f"signed-in-{name}")

    def sign_out(self) -> None:
        self.page.get_by_role("button", name="Sign out").click()
        self.see("Sign in to copydesk")

    def go(self, title: str) -> None:
        self.page.get_by_role("link", name=title).first.click()
        self.page.get_by_role("heading", name=title).first.wait_for(state="visible", timeout=STEP)
        self.settle()

    def choose(self, label: str, option: str) -> None:
        """Pick ``option`` (a prefix of its text) in the selectbox labelled ``label``."""
        box = self.page.get_by_test_id("stSelectbox").filter(has=self.page.get_by_text(label, exact=True))
        box.first.click()
        self.page.get_by_role("option").filter(has_text=option).first.click()
        self.settle()


def test_sign_in_generate_approve_preview(served_app: str, sample_ws: Workspace, fake_llm: FakeOpenAI) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            walk = Walk(page, served_app)

            walk.sign_in("ana")
            walk.go("Generate")
            walk.choose("Brief", "boots-onboarding")
            walk.see("fake-model via openai")
            walk.page.get_by_label("Variants").fill("1")
            walk.page.get_by_label("Variants").press("Enter")
            walk.settle()
            walk.page.get_by_role("button", name="Generate drafts").click()
            walk.see("1 of 1 draft(s) created")
            walk.step("generated")
            walk.page.get_by_role("button", name="Submit for review").first.click()
            walk.see("submitted for review")
            walk.step("submitted")
            walk.sign_out()

            d = Desk.open(sample_ws)
            [variant] = d.list_variants(status="in_review")
            assert variant.current.provenance["model"] == "fake-model"

            walk.sign_in("ben")
            walk.go("Review")
            walk.see(variant.id)
            walk.step("review-queue")
            walk.page.get_by_role("button", name="Approve").first.click()
            walk.see(f"{variant.id} revision 1 approved.")
            walk.step("approved")
            walk.sign_out()
            assert d.get_variant(variant.id).status == Status.APPROVED
            assert d.get_variant(variant.id).approved_by == "ben"
            d.close()

            walk.sign_in("max")
            walk.go("Campaigns")
            walk.choose("Campaign file", "spring-boots.yaml")
            walk.see("Valid: campaign")
            walk.page.get_by_role("tab", name="Preview").click()
            walk.settle()
            walk.choose("Contact", "C1003")
            walk.see(f"send variant {variant.id}")
            walk.step("campaign-decision")
            walk.page.locator("iframe").first.scroll_into_view_if_needed()
            walk.step("campaign-rendered-email")
            documents = [f.content() for f in walk.page.frames if f.url == "about:srcdoc"]
            assert any("Isla" in doc and "Summit Trail Boots" in doc for doc in documents), "rendered email"
        finally:
            browser.close()
    assert len(fake_llm.chat_requests()) >= 1
