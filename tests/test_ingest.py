"""Ingest on small hand-made inputs: reasons, accounting, formats, reruns."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import functions as F

from campaign_revenue.ingest import IngestError, IngestQualityError, ingest

CLOCK = dt.datetime(2025, 7, 1)


def _clean() -> dict[str, pd.DataFrame]:
    ts = pd.Timestamp
    return {
        "campaigns": pd.DataFrame(
            {
                "campaign_id": ["cmp_1", "cmp_2"],
                "campaign_name": ["Spring search", "Summer social"],
                "channel": ["paid_search", "social"],
                "budget": [1000.0, 500.0],
                "start_date": [dt.date(2025, 3, 1), dt.date(2025, 5, 1)],
                "end_date": [dt.date(2025, 8, 1), None],
                "targeting": ["brand", "prospecting"],
                "daily_cap": [50.0, 20.0],
            }
        ),
        "customers": pd.DataFrame(
            {
                "customer_id": ["cus_1", "cus_2", "cus_3"],
                "segment": ["family", "student", "family"],
                "ltv_tier": ["high", "low", "mid"],
                "signup_date": [dt.date(2023, 1, 5)] * 3,
            }
        ),
        "touchpoints": pd.DataFrame(
            {
                "touchpoint_id": ["tp_1", "tp_2", "tp_3"],
                "customer_id": ["cus_1", "cus_2", "cus_3"],
                "campaign_id": ["cmp_1", "cmp_1", "cmp_2"],
                "event_type": ["click", "impression", "impression"],
                "ts": [ts("2025-05-01 10:00"), ts("2025-05-02"), ts("2025-06-01")],
            }
        ),
        "conversions": pd.DataFrame(
            {
                "conversion_id": ["cv_1", "cv_2"],
                "customer_id": ["cus_1", "cus_3"],
                "campaign_id": ["cmp_1", None],
                "revenue": [80.0, 20.0],
                "ts": [ts("2025-05-03"), ts("2025-06-03")],
            }
        ),
        "spend_daily": pd.DataFrame(
            {
                "campaign_id": ["cmp_1", "cmp_1", "cmp_2"],
                "date": [dt.date(2025, 5, 1), dt.date(2025, 5, 2), dt.date(2025, 6, 1)],
                "spend": [10.0, 12.0, 5.0],
                "impressions": [1000, 1100, 400],
                "clicks": [10, 12, 3],
            }
        ),
    }


def _write(tables: dict[str, pd.DataFrame], out: Path, fmt: str = "parquet") -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        if fmt == "parquet":
            df.to_parquet(out / f"{name}.parquet", index=False,
                          coerce_timestamps="us")
        elif fmt == "csv":
            df.to_csv(out / f"{name}.csv", index=False)
        elif fmt == "json":
            df.to_json(out / f"{name}.json", orient="records", lines=True,
                       date_format="iso")
    return out


def _silver(lakehouse, name: str) -> list[dict]:
    df = lakehouse.read(f"silver.{name}")
    key = [c for c in df.columns if c.endswith("_id")][:1] or df.columns[:1]
    return [r.asDict() for r in df.drop("_ingest_run_id", "_ingested_at")
            .orderBy(*key).collect()]


def test_clean_input_is_accepted_whole(spark, cfg, lakehouse, tmp_path):
    src = _write(_clean(), tmp_path / "src")
    summary = ingest(spark, cfg, str(src), clock=CLOCK)

    assert summary.table("touchpoints").accepted == 3
    assert all(t.quarantined == 0 and t.reconciles() for t in summary.tables)
    assert not lakehouse.exists("quarantine")
    # Extra columns are kept; the optional table absent is no error.
    camp = lakehouse.read("silver.campaigns")
    assert "daily_cap" in camp.columns
    assert camp.schema["start_date"].dataType.simpleString() == "date"
    assert {t.table for t in summary.tables} == set(_clean())


def _with_bad_rows() -> dict[str, pd.DataFrame]:
    tables = _clean()
    tables["touchpoints"] = tables["touchpoints"].astype({"ts": str})
    tp = tables["touchpoints"]
    bad = pd.DataFrame(
        {
            "touchpoint_id": [None, "tp_x1", "tp_x2", "tp_x3", "tp_d", "tp_d"],
            "customer_id": ["cus_1", "cus_9", "cus_1", "cus_1", "cus_1", "cus_2"],
            "campaign_id": ["cmp_1", "cmp_1", "cmp_1", "cmp_1", "cmp_1", "cmp_1"],
            "event_type": ["click"] * 6,
            "ts": [
                "2025-05-01 00:00:00",
                "2025-05-01 00:00:00",
                "2025-13-45 00:00:00",
                "2099-01-01 00:00:00",
                "2025-05-01 00:00:00",
                "2025-05-01 00:00:00",
            ],
        }
    )
    # An exact copy of a good row: removed and counted, not quarantined.
    tables["touchpoints"] = pd.concat([tp, bad, tp.iloc[[0]]], ignore_index=True)
    conv = tables["conversions"]
    neg = conv.iloc[[0]].assign(conversion_id="cv_neg", revenue=-5.0)
    tables["conversions"] = pd.concat([conv, neg], ignore_index=True)
    return tables


def test_every_bad_row_is_quarantined_with_its_reason(spark, cfg, lakehouse, tmp_path):
    cfg.quality.max_bad_fraction = 1.0
    src = _write(_with_bad_rows(), tmp_path / "src")
    summary = ingest(spark, cfg, str(src), clock=CLOCK)

    tp = summary.table("touchpoints")
    assert tp.read == 10
    assert (tp.accepted, tp.quarantined, tp.exact_duplicates) == (3, 6, 1)
    assert tp.reasons == {
        "null_key": 1,
        "unknown_foreign_key": 1,
        "unparseable_value": 1,
        "future_timestamp": 1,
        "conflicting_duplicate_key": 2,
    }
    assert summary.table("conversions").reasons == {"negative_value": 1}
    assert all(t.reconciles() for t in summary.tables)

    q = lakehouse.read("quarantine")
    rows = {
        (r["reason"], json.loads(r["record"]).get("touchpoint_id"))
        for r in q.where(F.col("table_name") == "touchpoints").collect()
    }
    assert rows == {
        ("null_key", None),
        ("unknown_foreign_key", "tp_x1"),
        ("unparseable_value", "tp_x2"),
        ("future_timestamp", "tp_x3"),
        ("conflicting_duplicate_key", "tp_d"),
    }
    # the record is the row as read: the date that did not parse, not a null
    bad_ts = q.where(F.col("reason") == "unparseable_value").first()
    assert json.loads(bad_ts["record"])["ts"] == "2025-13-45 00:00:00"
    # silver's change detector is the hash of that record as read (here ts
    # was read as a string): recomputed by hand for tp_1
    tp1 = lakehouse.read("silver.touchpoints").where(F.col("touchpoint_id") == "tp_1")
    record = '{"touchpoint_id":"tp_1","customer_id":"cus_1","campaign_id":"cmp_1",' \
        '"event_type":"click","ts":"2025-05-01 10:00:00"}'
    assert tp1.first()["_record_hash"] == hashlib.sha256(record.encode()).hexdigest()
    neg = q.where(F.col("reason") == "negative_value").first()
    assert json.loads(neg["record"])["revenue"] == -5.0
    assert neg["source"].endswith("conversions.parquet")
    # Silver holds only the good rows, typed.
    assert sorted(r["touchpoint_id"] for r in _silver(lakehouse, "touchpoints")) == [
        "tp_1",
        "tp_2",
        "tp_3",
    ]


def test_rerun_changes_nothing(spark, cfg, lakehouse, tmp_path):
    cfg.quality.max_bad_fraction = 1.0
    src = _write(_with_bad_rows(), tmp_path / "src")
    ingest(spark, cfg, str(src), clock=CLOCK)
    before = {n: _silver(lakehouse, n) for n in ("touchpoints", "conversions")}
    quarantine_before = lakehouse.read("quarantine").count()

    ingest(spark, cfg, str(src), clock=CLOCK)

    assert {n: _silver(lakehouse, n) for n in before} == before
    assert lakehouse.read("quarantine").count() == quarantine_before == 7
    for name in ("touchpoints", "conversions", "campaigns"):
        df = lakehouse.read(f"silver.{name}")
        key = df.columns[0]
        assert df.count() == df.select(key).distinct().count()


def test_later_batch_updates_a_known_key(spark, cfg, lakehouse, tmp_path):
    ingest(spark, cfg, str(_write(_clean(), tmp_path / "a")), clock=CLOCK)
    changed = _clean()
    changed["conversions"].loc[0, "revenue"] = 99.0
    ingest(spark, cfg, str(_write(changed, tmp_path / "b")), clock=CLOCK)

    rows = {r["conversion_id"]: r["revenue"] for r in _silver(lakehouse, "conversions")}
    assert rows == {"cv_1": 99.0, "cv_2": 20.0}


def test_threshold_fails_with_table_counts_and_reasons(spark, cfg, lakehouse, tmp_path):
    cfg.quality.max_bad_fraction = 0.2
    src = _write(_with_bad_rows(), tmp_path / "src")
    with pytest.raises(IngestQualityError, match=r"table touchpoints: 6 of 10 rows bad"
                       r" \(60\.0% > 20\.0%\); top reasons: conflicting_duplicate_key=2"):
        ingest(spark, cfg, str(src), clock=CLOCK)
    # The rejected rows are there to inspect; silver was not written.
    assert lakehouse.read("quarantine").count() == 7
    assert not lakehouse.exists("silver.touchpoints")


@pytest.mark.parametrize("fmt", ["csv", "json", "delta"])
def test_other_formats_give_the_same_silver(spark, cfg, lakehouse, tmp_path, fmt):
    tables = _clean()
    src = tmp_path / "src"
    if fmt == "delta":
        for name, df in tables.items():
            spark.createDataFrame(df).write.format("delta").save(str(src / name))
    else:
        _write(tables, src, fmt)
    summary = ingest(spark, cfg, str(src), clock=CLOCK)

    assert all(t.quarantined == 0 for t in summary.tables), summary
    conv = lakehouse.read("silver.conversions").orderBy("conversion_id").collect()
    assert [(r["conversion_id"], r["revenue"], r["ts"]) for r in conv] == [
        ("cv_1", 80.0, dt.datetime(2025, 5, 3)),
        ("cv_2", 20.0, dt.datetime(2025, 6, 3)),
    ]
    sd = lakehouse.read("silver.spend_daily").orderBy("campaign_id", "date").first()
    assert (sd["date"], sd["impressions"]) == (dt.date(2025, 5, 1), 1000)


def test_missing_column_names_table_column_and_type(spark, cfg, tmp_path):
    tables = _clean()
    tables["conversions"] = tables["conversions"].drop(columns=["revenue"])
    src = _write(tables, tmp_path / "src")
    with pytest.raises(
        IngestError,
        match=r"table conversions from .* is missing required column\(s\) "
        r"revenue \(double\)",
    ):
        ingest(spark, cfg, str(src), clock=CLOCK)


def test_missing_required_table(spark, cfg, tmp_path):
    tables = _clean()
    del tables["customers"]
    src = _write(tables, tmp_path / "src")
    with pytest.raises(IngestError, match=r"required table customers not found"):
        ingest(spark, cfg, str(src), clock=CLOCK)
