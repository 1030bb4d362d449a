"""A listed variant (library, review queue, overview) shows its findings as they stand:
a waived finding comes with its waiver, as when the variant is read on its own."""

from __future__ import annotations

from copydesk.services import Desk
from tests.core.test_waiver_request import WHY, blocked, pdesk  # noqa: F401 (the fixture)


def test_listed_variants_carry_their_waivers(pdesk: Desk) -> None:  # noqa: F811
    vid = blocked(pdesk)
    other = blocked(pdesk)  # never waived
    pdesk.submit(vid, actor="ana", waiver_request={"claims.absolute": WHY})
    pdesk.grant_waiver_request(vid, actor="ben", reason="checked the warranty page")
    listed = {v.id: v for v in pdesk.list_variants()}
    assert listed[vid].current.waivers == pdesk.get_variant(vid).current.waivers
    [w] = listed[vid].current.waivers
    assert (w.rule_id, w.by) == ("claims.absolute", "ben")
    assert listed[other].current.waivers == []
    assert [v.id for v in pdesk.search("guaranteed") if v.current.waivers] == [vid]
