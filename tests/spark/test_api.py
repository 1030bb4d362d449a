"""copydesk.spark.render for contacts already in a DataFrame: history as a DataFrame,
traces, the start-of-run snapshot, and a bad history row failing closed."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from copydesk.errors import CopydeskError
from copydesk.render.pipeline import render_campaign
from copydesk.spark import render
from tests.rules.rules_helpers import NOW, TODAY
from tests.spark.test_identity import HISTORY, LIBRARY, TEMPLATES, campaign_file, people, write_parquet


def history_frame(spark: Any, rows: list[dict[str, Any]]) -> Any:
    return spark.createDataFrame(rows, "contact_id string, campaign_id string, channel string, "
                                       "sent_at timestamp, holdout boolean")


def test_a_dataframe_with_history_as_a_dataframe_renders_as_the_local_engine(spark: Any, tmp_path: Path) -> None:
    audience = tmp_path / "people.parquet"
    write_parquet(audience, people())
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    local = render_campaign(campaign_file(), audience, tmp_path / "local.parquet", library=LIBRARY,
                            templates_dir=templates, history=HISTORY, today=TODAY, now=NOW, explain=True)
    sends = history_frame(spark, [rec.model_dump(include={"contact_id", "campaign_id", "channel", "sent_at",
                                                           "holdout"}) | {"channel": rec.channel.value}
                                  for rec in HISTORY])
    result = render(spark.read.parquet(str(audience)), campaign_file(), library=LIBRARY, templates_dir=templates,
                    history=sends, today=TODAY, now=NOW, explain=True)
    # the templates were read when the run began: an edit now changes nothing in it
    for path in templates.rglob("*.txt.j2"):
        path.write_text("edited mid-run", encoding="utf-8")
    summary = result.write(tmp_path / "spark")

    mine = {r["contact_id"]: r for r in pq.read_table(tmp_path / "local.parquet").to_pylist()}
    theirs = {r["contact_id"]: r for r in pq.read_table(tmp_path / "spark").to_pylist()}
    assert mine == theirs
    assert summary.capped == local.capped > 0 and summary.total == local.total
    traced = next(r for r in theirs.values() if r["decision"] == "capped")
    assert any(step["stage"] == "frequency_cap" for step in json.loads(traced["trace"]))
    assert not any("edited mid-run" in (r["rendered_txt"] or "") for r in theirs.values())


def test_a_history_row_that_is_not_a_send_stops_the_run(spark: Any, tmp_path: Path) -> None:
    audience = tmp_path / "people.parquet"
    write_parquet(audience, people()[:10])
    bad = history_frame(spark, [{"contact_id": "C1", "campaign_id": "x", "channel": "carrier-pigeon",
                                 "sent_at": NOW - timedelta(days=1), "holdout": False}])
    result = render(spark.read.parquet(str(audience)), campaign_file(), library=LIBRARY, templates_dir=TEMPLATES,
                    history=bad, today=TODAY, now=NOW)
    with pytest.raises(CopydeskError, match="send history: field .channel.: not a valid send") as caught:
        result.write(tmp_path / "out")
    assert "\n" not in str(caught.value) and "Traceback" not in str(caught.value)


def test_without_file_moves_spark_connect_style_the_output_is_the_same(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from copydesk.spark import engine

    audience = tmp_path / "people.parquet"
    write_parquet(audience, people()[:20])
    contacts = spark.read.parquet(str(audience))
    render(contacts, campaign_file(), library=LIBRARY, templates_dir=TEMPLATES, today=TODAY,
           now=NOW).write(tmp_path / "moved")
    monkeypatch.setattr(engine._HadoopFiles, "of", classmethod(lambda cls, spark: None))
    twice = render(contacts, campaign_file(), library=LIBRARY, templates_dir=TEMPLATES, today=TODAY, now=NOW)
    summary = twice.write(tmp_path / "written")
    for name in ("moved", "written"):
        assert (tmp_path / name / "_SUCCESS").exists() and (tmp_path / f"{name}.rejects").is_dir()
    key = "contact_id"
    assert sorted(pq.read_table(tmp_path / "moved").to_pylist(), key=lambda r: r[key]) == \
        sorted(pq.read_table(tmp_path / "written").to_pylist(), key=lambda r: r[key])
    assert summary.total == 22 and summary.rejected >= 2  # with the repeat of C5 and the row without an id
    with pytest.raises(CopydeskError, match="already exists"):
        twice.write(tmp_path / "written")  # nothing existing is replaced on this path
