"""The whole walk in a real browser, from an empty library: first admin → users →
brief → generate → waiver request → review → waive and approve → library → campaign
preview → dry run → results import.

``streamlit run app.py`` serves a copy of the sample workspace with no users (so the
first screen is the first-admin setup), its LLM pointed at the fake OpenAI-compatible
server. Every draft the fake returns carries an absolute claim ("Guaranteed"), a
``claims.absolute`` block finding a reviewer may waive, so the repair loop cannot clear
it and the copywriter must ask for a waiver. A screenshot of each step goes to
``test-artifacts/e2e-walk/``; any Streamlit exception on any step fails the test.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from copydesk.services import Desk
from copydesk.vocab import Status
from copydesk.workspace import Workspace
from tests.app.browser import CHROMIUM, CHROMIUM_ARGS, REPO, STEP, running_app
from tests.app.test_e2e_browser import Walk
from tests.conftest import PASSWORD
from tests.fake_openai import FakeOpenAI, Reply

pytestmark = pytest.mark.slow

ARTIFACTS = REPO / "test-artifacts" / "e2e-walk"
#: A draft a sample policy rule blocks (claims.absolute: 'Guaranteed'), waivable: not
#: template code, not personal data. Every reply is this one, so no repair clears it.
BLOCKED_DRAFT = {
    "subject": "Caring for your Summit Trail Boots, {{ first_name | default(\"there\") }}",
    "preheader": "Two minutes after each walk",
    "body": "A few minutes of care after each walk keeps your Summit Trail Boots comfortable for years. "
            "Brush off the mud and let them dry slowly. Guaranteed dry feet.",
    "cta": "Read the care guide",
}
WHY = "the two-year waterproof guarantee is in the product terms"
GRANT = "checked the product terms: the guarantee is registered"
TEAM = {"ana": "copywriter", "ben": "reviewer", "max": "marketer"}

if not CHROMIUM.exists():  # pragma: no cover - depends on the machine
    pytest.skip("/usr/bin/chromium is missing: install Debian's chromium (apt-get install chromium); "
                "the browser test never downloads a browser", allow_module_level=True)


@pytest.fixture
def blocked_llm() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        server.default = Reply.draft(**BLOCKED_DRAFT)
        yield server


@pytest.fixture
def empty_app(sample_ws: Workspace, blocked_llm: FakeOpenAI, tmp_path: Path) -> Iterator[str]:
    """The real app over a workspace with no users and no briefs in the library."""
    with running_app(sample_ws, blocked_llm, tmp_path) as url:
        yield url


class FullWalk(Walk):
    """:class:`Walk` with its screenshots in ``test-artifacts/e2e-walk/`` and a few more moves."""

    artifacts = ARTIFACTS

    def tab(self, name: str) -> Any:
        """Open the tab ``name`` and return its panel."""
        self.page.get_by_role("tab", name=name).click()
        self.settle()
        return self.page.get_by_role("tabpanel", name=name)

    def upload(self, scope: Any, label: str, name: str, data: bytes, mime: str = "text/csv") -> None:
        """Put a file into the uploader labelled ``label`` inside ``scope``."""
        box = scope.get_by_test_id("stFileUploader").filter(has=self.page.get_by_text(label, exact=True))
        box.locator('input[type="file"]').set_input_files({"name": name, "mimeType": mime, "buffer": data})
        box.get_by_text(name).first.wait_for(state="visible", timeout=STEP)
        self.settle()

    def download(self, button: str) -> bytes:
        """Click the download button ``button`` and return the file it gave."""
        with self.page.expect_download(timeout=STEP) as info:
            self.page.get_by_role("button", name=button).first.click()
        return Path(info.value.path()).read_bytes()

    def add_user(self, name: str, role: str) -> None:
        form = self.page.get_by_test_id("stForm").filter(has=self.page.get_by_text("Add a user", exact=True))
        form.get_by_role("textbox", name="User name").fill(name)
        form.get_by_role("textbox", name="Initial password").fill(PASSWORD)
        # typed and entered: a click on the box does not always open its list after a form reset
        roles = form.get_by_test_id("stMultiSelect").get_by_role("combobox")
        roles.click()
        roles.press_sequentially(role)
        roles.press("Enter")
        self.page.keyboard.press("Escape")
        form.get_by_test_id("stMultiSelect").get_by_text(role, exact=True).wait_for(state="visible", timeout=STEP)
        form.get_by_role("button", name="Add user").click()
        self.see(f"User {name} added.")
        self.settle()


def test_whole_walk_from_first_admin_to_results(empty_app: str, sample_ws: Workspace,
                                                blocked_llm: FakeOpenAI) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
            walk = FullWalk(page, empty_app)

            # first admin (the workspace's briefs imported with them)
            page.goto(empty_app)
            walk.see("Welcome to copydesk")
            walk.step("first-admin-form")
            page.get_by_role("textbox", name="User name").fill("admin")
            page.get_by_role("textbox", name="Password", exact=True).fill(PASSWORD)
            page.get_by_role("textbox", name="Repeat the password").fill(PASSWORD)
            page.get_by_role("button", name="Create admin").click()
            walk.see("Admin admin created and signed in.")
            walk.see("Signed in as admin")
            walk.step("first-admin-created")

            # users
            walk.go("Settings")
            for name, role in TEAM.items():
                walk.add_user(name, role)
            walk.step("users-added")
            walk.sign_out()

            # brief, generate, waiver request
            walk.sign_in("ana")
            walk.go("Briefs")
            walk.choose("Details of", "boots-onboarding")
            walk.see("by admin")  # imported with the first admin
            walk.step("briefs")
            walk.go("Generate")
            walk.choose("Brief", "boots-onboarding")
            walk.see("fake-model via openai")
            page.get_by_label("Variants").fill("1")
            page.get_by_label("Variants").press("Enter")
            walk.settle()
            page.get_by_role("button", name="Generate drafts").click()
            walk.see("Submit with a waiver request")
            walk.step("generated-blocked")
            page.get_by_role("textbox", name="is a false positive").first.fill(WHY)
            page.get_by_role("button", name="Submit with a waiver request").click()
            walk.see("submitted for review with a waiver request.")
            walk.step("waiver-requested")
            walk.sign_out()

            d = Desk.open(sample_ws)
            [variant] = d.list_variants(status="in_review")
            request = d.waiver_request(variant.id)
            assert request is not None and [i.reason for i in request.items] == [WHY]

            # review: the card shows the request; waive and approve
            walk.sign_in("ben")
            walk.go("Review")
            walk.see(variant.id)
            walk.see(WHY)
            walk.step("review-waiver-request")
            page.get_by_role("textbox", name="Your reason the requested findings are false positives").fill(GRANT)
            page.get_by_role("button", name="Waive and approve").click()
            walk.see("approved")
            walk.step("waived-and-approved")
            walk.sign_out()
            approved = d.get_variant(variant.id)
            assert approved.status == Status.APPROVED and approved.approved_by == "ben"
            assert [(w.by, w.reason) for w in approved.current.waivers] == [("ben", GRANT)]

            # library: the approved variant and one-click downloads
            walk.sign_in("max")
            walk.go("Library")
            walk.choose("Variant", variant.id)
            walk.see("Approved revision 1 by ben")
            walk.see("claims.absolute on body by ben")  # the waived finding, with its waiver
            walk.step("library")
            exported = walk.download("Download CSV (1 variant(s))").decode("utf-8")
            assert variant.id in exported
            assert variant.id in walk.download("Download JSON (1 variant(s))").decode("utf-8")

            # campaign preview: the inbox line
            walk.go("Campaigns")
            walk.choose("Campaign file", "spring-boots.yaml")
            walk.see("Valid: campaign")
            walk.tab("Preview")
            walk.choose("Contact", "C1003")
            walk.see(f"send variant {variant.id}")
            inbox = page.locator(".st-key-camp_inbox")
            inbox.wait_for(state="visible", timeout=STEP)
            assert "Caring for your Summit Trail Boots, Isla" in inbox.inner_text()
            assert "Two minutes after each walk" in inbox.inner_text()
            walk.step("campaign-preview")

            # dry run on the sample audience: counters that add up
            dry = walk.tab("Dry run")
            audience = (sample_ws.root / "audiences" / "sample-contacts.csv").read_bytes()
            walk.upload(dry, "Audience (CSV or JSONL with a contact_id column)", "sample-contacts.csv", audience)
            dry.get_by_role("button", name="Dry run").click()
            dry.get_by_test_id("stMetric").first.wait_for(state="visible", timeout=STEP)
            walk.settle()
            metrics = {}
            for m in dry.get_by_test_id("stMetric").all():
                label = m.get_by_test_id("stMetricLabel").inner_text().strip()
                metrics[label] = int(m.get_by_test_id("stMetricValue").inner_text().replace(",", ""))
            total = metrics.pop("contacts")
            assert total == len(audience.decode("utf-8").strip().splitlines()) - 1
            assert sum(metrics.values()) == total, metrics
            dry.get_by_text(f"= {total} contacts").wait_for(state="visible", timeout=STEP)
            walk.step("dry-run")
            messages = walk.download("Download rendered messages (CSV)")

            # results: record the sends, import outcomes built from them
            results = walk.tab("Results")
            walk.upload(results, "Messages file (CSV or JSONL)", "messages.csv", messages)
            results.get_by_role("button", name="Record these sends").click()
            walk.see("new send(s) recorded")
            walk.step("sends-recorded")
            rows = list(csv.DictReader(io.StringIO(messages.decode("utf-8"))))
            sent = [r for r in rows if r.get("variant_id")]
            assert sent, rows[:3]
            at = datetime.now(UTC).isoformat()  # after the dry run's sends, to the microsecond
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(["contact_id", "campaign_id", "event", "at", "value"])
            for r in sent:
                writer.writerow([r["contact_id"], r["campaign_id"], "delivered", at, ""])
            writer.writerow([sent[0]["contact_id"], sent[0]["campaign_id"], "converted", at, "49.90"])
            walk.upload(results, "Outcomes file (CSV or JSONL)", "outcomes.csv", out.getvalue().encode("utf-8"))
            results.get_by_role("button", name="Import these outcomes").click()
            n = len(sent) + 1
            walk.see(f"{n} outcome(s) imported of {n} row(s) read")
            walk.see("Results: spring-boots")
            walk.step("outcomes-imported")
            d.close()
        finally:
            browser.close()
    assert len(blocked_llm.chat_requests()) >= 1
