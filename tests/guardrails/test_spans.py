"""Property: every finding's span indexes the original, un-normalised field text."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copydesk.guardrails import Policy
from copydesk.guardrails.normalize import normalize

from .conftest import SAMPLE

PIECES = st.sampled_from(
    ["cheapest", "che\u200bapest", "сheapest", "ｃｈｅａｐ", "f*ck", "Peakway", "SALE", "!!", "you're pregnant",
     "{{ first_name }}", '{{ city | default("x") }}', "{{", "ﬁ", "İ", "\u202e", "🥾", "£50", "15%", " ", "\n",
     "waterproof", "jo@example.com", "020 7946 0958", "raincoat", "e\u0301"]
)  # fmt: skip
TEXT = st.lists(st.one_of(PIECES, st.text(max_size=8)), max_size=12).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(subject=TEXT, body=TEXT)
def test_spans_index_original_text(sample_policy: Policy, subject: str, body: str) -> None:
    fields = {"subject": subject, "body": body}
    for f in sample_policy.check("email", fields):
        text = fields[f.field]
        assert 0 <= f.start <= f.end <= len(text)
        assert text[f.start : f.end] == f.match


@given(st.text(max_size=40))
def test_normalize_map_points_into_original(text: str) -> None:
    norm = normalize(text)
    for i in range(len(norm.text)):
        s, e = norm.span(i, i + 1)
        assert 0 <= s < e <= len(text)


def test_sample_is_there() -> None:
    assert (SAMPLE / "policy.yaml").is_file()
