"""``copydesk render --engine spark`` through ``copydesk.cli.main``, and the one-line
errors when pyspark or Java is missing."""

from __future__ import annotations

import sys
from typing import Any

import pyarrow.parquet as pq
import pytest

from copydesk.workspace import Workspace
from tests.render.test_cli import summary_of


@pytest.fixture
def ws(campaign_ws: Workspace) -> Workspace:
    return campaign_ws


def test_render_on_spark_writes_parquet_folders_with_the_local_engines_counts(
    cli: Any, ws: Workspace, spark: Any
) -> None:
    audience = str(ws.audiences_dir / "sample-contacts.csv")
    local = cli("-w", str(ws.root), "render", "spring-boots", "--audience", audience,
                "--out", str(ws.root / "local.parquet"))
    assert local.code == 0, local
    out = ws.root / "messages"
    r = cli("-w", str(ws.root), "render", "spring-boots", "--audience", audience, "--out", str(out),
            "--engine", "spark", "--master", "local[2]")
    assert r.code == 0, r
    assert summary_of(r.out) == summary_of(local.out)
    assert f"messages: {out}" in r.out
    parts = sorted(out.glob("part-*.parquet"))
    assert parts and (out / "_SUCCESS").exists()
    rows = pq.read_table(out).to_pylist()
    mine = {row["contact_id"]: row for row in pq.read_table(ws.root / "local.parquet").to_pylist()}
    assert len(rows) == len(mine) == 40
    for row in rows:
        assert {k: v for k, v in row.items() if k != "decided_at"} == \
            {k: v for k, v in mine[row["contact_id"]].items() if k != "decided_at"}
    assert (ws.root / "messages.rejects").is_dir()


def test_an_unknown_engine_is_a_usage_error(cli: Any, ws: Workspace) -> None:
    r = cli("-w", str(ws.root), "render", "spring-boots", "--audience", str(ws.audiences_dir / "sample-contacts.csv"),
            "--out", str(ws.root / "m"), "--engine", "dask")
    assert r.code == 2 and "--engine must be one of local, spark" in r.err and "Traceback" not in r.err


def test_missing_pyspark_is_a_one_line_error(cli: Any, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark now raises ImportError
    r = cli("-w", str(ws.root), "render", "spring-boots", "--audience", str(ws.audiences_dir / "sample-contacts.csv"),
            "--out", str(ws.root / "m"), "--engine", "spark")
    assert r.code == 1, r
    assert "error: the Spark engine needs pyspark, which is not installed" in r.err
    assert "pip install 'copydesk[spark]'" in r.err and "Traceback" not in r.err + r.out


def test_missing_java_is_a_one_line_error(cli: Any, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    from copydesk.spark import session

    monkeypatch.setattr(SparkSession, "getActiveSession", classmethod(lambda cls: None))
    monkeypatch.setattr(session, "java_available", lambda: False)
    r = cli("-w", str(ws.root), "render", "spring-boots", "--audience", str(ws.audiences_dir / "sample-contacts.csv"),
            "--out", str(ws.root / "m"), "--engine", "spark")
    assert r.code == 1, r
    assert "error: the Spark engine needs a Java runtime (17 or later)" in r.err and "Traceback" not in r.err + r.out


def test_spark_never_replaces_a_folder_it_did_not_write(cli: Any, ws: Workspace, spark: Any) -> None:
    keep = ws.root / "keep"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine", encoding="utf-8")
    audience = str(ws.audiences_dir / "sample-contacts.csv")
    r = cli("-w", str(ws.root), "render", "spring-boots", "--audience", audience, "--out", str(keep),
            "--engine", "spark")
    assert r.code == 2 and "is not a Parquet dataset written by Spark" in r.err, r
    assert (keep / "notes.txt").read_text(encoding="utf-8") == "mine"
    r = cli("-w", str(ws.root), "render", "spring-boots", "--audience", audience, "--out",
            str(ws.root / "messages.jsonl"), "--engine", "spark")
    assert r.code == 2 and "Spark writes a folder of Parquet files" in r.err, r


def test_a_table_is_an_audience(cli: Any, ws: Workspace, spark: Any) -> None:
    spark.read.option("header", "true").csv(str(ws.audiences_dir / "sample-contacts.csv")) \
        .createOrReplaceTempView("sample_contacts")
    out = ws.root / "from-table"
    r = cli("-w", str(ws.root), "render", "spring-boots", "--audience", "table:sample_contacts", "--out", str(out),
            "--engine", "spark")
    assert r.code == 0, r
    assert pq.read_table(out).num_rows == 40
    r = cli("-w", str(ws.root), "render", "spring-boots", "--audience", "table:no_such_table", "--out",
            str(ws.root / "x"), "--engine", "spark")
    assert r.code == 1 and "cannot read table" in r.err and "Traceback" not in r.err, r
