"""The run's snapshot: templates read once, and one hash of what every row rests on."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

from copydesk.render.chunk import ChunkRenderer, RenderJob
from copydesk.render.pipeline import render_campaign
from copydesk.render.templates import TemplateSnapshot
from tests.render.test_pipeline import CAMPAIGN, LIBRARY, TEMPLATES, campaign_file
from tests.rules.rules_helpers import NOW, TODAY, contact, content


def _job(templates: Path | TemplateSnapshot = TEMPLATES, library: list = LIBRARY) -> RenderJob:  # type: ignore[type-arg]
    return RenderJob.build(campaign_file(CAMPAIGN.replace("holdout: 0.1", "holdout: 0")), library, templates,
                           now=NOW, today=TODAY)


def test_every_row_carries_the_snapshot_hash(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    render_campaign(campaign_file(), [contact("C1", lifecycle_stage="onboarding")], out,
                    library=LIBRARY, templates_dir=TEMPLATES, today=TODAY, now=NOW)
    row = json.loads(out.read_text(encoding="utf-8"))
    expected = RenderJob.build(campaign_file(), LIBRARY, TEMPLATES, now=NOW, today=TODAY).snapshot_sha256
    assert row["snapshot_sha256"] == expected and len(expected) == 64


def test_the_hash_changes_with_templates_library_and_campaign(tmp_path: Path) -> None:
    base = _job().snapshot_sha256
    assert _job().snapshot_sha256 == base  # stable
    copy = tmp_path / "templates"
    shutil.copytree(TEMPLATES, copy)
    assert _job(copy).snapshot_sha256 == base  # same texts, other folder
    html = next(copy.glob("email/default.html.j2"))
    html.write_text(html.read_text(encoding="utf-8") + "\n<!-- footer -->", encoding="utf-8")
    assert _job(copy).snapshot_sha256 != base
    assert _job(library=[*LIBRARY, content("V77", "spring-generic")]).snapshot_sha256 != base
    job = _job()
    other = replace(job, campaign_file=replace(job.campaign_file, sha256="e" * 64))
    assert other.snapshot_sha256 != base


def test_templates_edited_after_the_snapshot_do_not_change_the_run(tmp_path: Path) -> None:
    copy = tmp_path / "templates"
    shutil.copytree(TEMPLATES, copy)
    job = _job(copy)
    for path in copy.rglob("*.j2"):
        path.write_text("{{ broken", encoding="utf-8")  # mid-run edits on disk
    renderer = ChunkRenderer(job)
    rows, rejects, _ = renderer.run([_record()])
    assert not rejects and "unsubscribe" in rows[0]["rendered_html"]


def test_executors_need_no_template_folder(tmp_path: Path) -> None:
    snapshot = TemplateSnapshot.read(TEMPLATES)
    job = RenderJob.build(campaign_file(), LIBRARY, snapshot, now=NOW, today=TODAY)
    assert job.templates.sources and all(not Path(name).is_absolute() for name in job.templates.sources)
    gone = TemplateSnapshot(str(tmp_path / "nowhere"), snapshot.sources)
    rows, _, _ = ChunkRenderer(replace(job, templates=gone)).run([_record()])
    assert rows[0]["contact_id"] == "C1"


def _record():  # type: ignore[no-untyped-def]
    from copydesk.render.audience import record_or_reject

    return record_or_reject(1, 2, contact("C1", lifecycle_stage="onboarding", first_name="Isla"))
