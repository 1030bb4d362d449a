"""Every page renders for every role, and each role sees only its pages."""

from __future__ import annotations

import pytest

from copydesk.services import Desk
from copydesk.ui.navigation import PAGES
from tests.app.conftest import new_app, page_path, texts

#: user -> the pages their roles show (add_team: ana copywriter, ben reviewer,
#: max marketer, cy copywriter + reviewer, admin admin)
VISIBLE = {
    "admin": {"overview", "briefs", "library", "campaigns", "audit", "settings"},
    "ana": {"overview", "briefs", "generate", "library", "audit", "settings"},
    "ben": {"overview", "briefs", "review", "library", "audit", "settings"},
    "max": {"overview", "briefs", "library", "campaigns", "audit", "settings"},
    "cy": {"overview", "briefs", "generate", "review", "library", "audit", "settings"},
}
CASES = [(user, spec.module) for user in VISIBLE for spec in PAGES if spec.module in VISIBLE[user]]


@pytest.mark.parametrize(("user", "module"), CASES, ids=[f"{u}-{m}" for u, m in CASES])
def test_page_renders_for_role(stocked_desk: Desk, user: str, module: str) -> None:
    at = new_app(user).run()
    assert not at.exception, at.exception
    at.switch_page(page_path(module)).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    title = next(p.title for p in PAGES if p.module == module)
    assert title.split()[0] in texts(at)


@pytest.mark.parametrize("user", sorted(VISIBLE))
def test_hidden_pages_are_not_offered(stocked_desk: Desk, user: str) -> None:
    at = new_app(user).run()
    for spec in PAGES:
        if spec.module not in VISIBLE[user]:
            # every page has an address (deep links work); a page outside your roles says so
            at.switch_page(page_path(spec.module)).run()
            assert not at.exception
            assert f"Your roles do not include the {spec.title} page" in texts(at)
            assert not at.main.button


def test_signed_out_sees_only_sign_in(stocked_desk: Desk) -> None:
    at = new_app().run()
    assert [t.value for t in at.title] == ["Sign in to copydesk"]
    at.switch_page(page_path("library")).run()  # a bookmarked page, signed out
    assert [t.value for t in at.title] == ["Sign in to copydesk"]
    assert "Sign in to open Library." in texts(at)


def test_overview_shows_counts_and_coverage_gaps(stocked_desk: Desk) -> None:
    at = new_app("max").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["draft"], metrics["in review"], metrics["approved"]) == ("1", "1", "1")
    assert (metrics["rejected"], metrics["retired"]) == ("1", "1")
    matrix = at.dataframe[0].value
    assert matrix.loc["onboarding", "email"] == 1
    assert matrix.loc["loyal", "sms"] == 0
    assert "empty cell(s) highlighted" in texts(at)
