"""Two reviewers on two connections act on the same revision: one wins, one is told."""

from __future__ import annotations

import threading

from copydesk.errors import CopydeskError, InvalidTransition, StaleRevisionError
from copydesk.services import Desk


def test_two_reviewers_two_connections(desk, bare_ws):
    v = desk.add_variant("boots-onboarding", {"subject": "Boot care", "body": "Dry them slowly."}, actor="ana")
    desk.submit(v.id, actor="ana")
    a, b = Desk.open(bare_ws), Desk.open(bare_ws)
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def act(name: str, d: Desk) -> None:
        barrier.wait()
        try:
            results[name] = d.approve(v.id, actor=name, expected_revision=1)
        except CopydeskError as exc:
            results[name] = exc

    threads = [threading.Thread(target=act, args=(n, d)) for n, d in (("ben", a), ("bea", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    errors = [r for r in results.values() if isinstance(r, CopydeskError)]
    wins = [r for r in results.values() if not isinstance(r, CopydeskError)]
    assert len(wins) == 1 and len(errors) == 1
    assert isinstance(errors[0], InvalidTransition)
    assert "approved by" in str(errors[0])
    assert len([r for r in desk.reviews(v.id) if r.decision == "approved"]) == 1
    ok, _ = desk.verify_audit()
    assert ok


def test_edit_between_look_and_approve_is_stale(desk, bare_ws):
    v = desk.add_variant("boots-onboarding", {"subject": "Boot care", "body": "Dry them slowly."}, actor="ana")
    desk.submit(v.id, actor="ana")
    reviewer = Desk.open(bare_ws)
    seen = reviewer.get_variant(v.id)
    writer = Desk.open(bare_ws)
    writer.edit_variant(v.id, {"body": "Dry them slowly, away from the fire."}, actor="ana")
    writer.submit(v.id, actor="ana")
    try:
        reviewer.approve(v.id, actor="ben", expected_revision=seen.current.number)
    except StaleRevisionError as exc:
        assert "revision 1" in str(exc) and "current one is 2" in str(exc)
    else:
        raise AssertionError("approving a stale revision must fail")
