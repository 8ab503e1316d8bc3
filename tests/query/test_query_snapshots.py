"""Snapshots: the as_of grid, time splits without leaks, the runner and sample."""

from __future__ import annotations

import datetime as dt
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from query_frames import campaigns, conversions, day

from campaign_revenue.config import SnapshotsConfig
from campaign_revenue.query import (
    TRAINING_EXAMPLES,
    assign_splits,
    build_training_examples,
    read_silver_tables,
    run_snapshots,
    sample_labels,
)
from campaign_revenue.query.snapshots import as_of_grid

QUERY = "PREDICT SUM(conversions.revenue, 0, 14, days) FOR EACH campaigns.campaign_id"
CFG = SnapshotsConfig(
    step_days=7, warmup_days=14, validation_fraction=0.2, test_fraction=0.2
)
DAY_S = 86400


def _seconds(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days * DAY_S


def _dates(start: str, count: int, step: int = 7) -> list[str]:
    first = day(start)
    return [(first + dt.timedelta(days=step * i)).isoformat() for i in range(count)]


EXPECTED_SPLITS = {
    "train": _dates("2024-01-15", 8),
    "validation": _dates("2024-03-18", 4),
    "test": _dates("2024-04-22", 4),
    "score": ["2024-06-01"],
}


def test_as_of_grid_ends_on_the_scoring_origin() -> None:
    grid = as_of_grid(day("2024-01-15"), day("2024-02-01"), 7)
    assert [d.isoformat() for d in grid] == [
        "2024-01-15",
        "2024-01-22",
        "2024-01-29",
        "2024-02-01",
    ]
    with pytest.raises(ValueError, match="first_as_of 2024-03-01 is after last_as_of"):
        as_of_grid(day("2024-03-01"), day("2024-02-01"), 7)


def test_assign_splits_leaves_gaps_before_each_split() -> None:
    grid = as_of_grid(day("2024-01-15"), day("2024-06-01"), 7)
    ends = {d: _seconds(d) + 14 * DAY_S for d in grid}
    splits = assign_splits(ends, day("2024-06-01"), 0.2, 0.2)
    got = {
        name: [d.isoformat() for d in sorted(splits) if splits[d] == name]
        for name in EXPECTED_SPLITS
    }
    assert got == EXPECTED_SPLITS
    # 03-11 (window to 03-25) and 04-15 (to 04-29) are the gaps; 05-20 and
    # 05-27 have incomplete windows
    for dropped in ("2024-03-11", "2024-04-15", "2024-05-20", "2024-05-27"):
        assert day(dropped) not in splits


def test_assign_splits_warns_when_history_is_short() -> None:
    grid = as_of_grid(day("2024-01-01"), day("2024-03-25"), 7)
    ends = {d: _seconds(d) + 30 * DAY_S for d in grid}
    with pytest.warns(RuntimeWarning, match="0 train and 1 validation as_of dates"):
        splits = assign_splits(ends, day("2024-03-25"), 0.15, 0.15)
    assert sorted(splits.values()) == ["score", "test", "validation"]


@settings(max_examples=200, deadline=None)
@given(
    step=st.integers(1, 14),
    window=st.integers(1, 60),
    count=st.integers(1, 80),
    validation=st.sampled_from([0.0, 0.1, 0.15, 0.3]),
    test=st.sampled_from([0.0, 0.1, 0.15, 0.3]),
    tail=st.integers(0, 40),
)
def test_no_window_crosses_a_split_boundary(
    step, window, count, validation, test, tail
) -> None:
    grid = [day("2024-01-01") + dt.timedelta(days=step * i) for i in range(count)]
    ends = {d: _seconds(d) + window * DAY_S for d in grid}
    data_end = grid[-1] + dt.timedelta(days=tail)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        splits = assign_splits(ends, data_end, validation, test)

    by_split = {
        name: sorted(d for d, s in splits.items() if s == name)
        for name in ("train", "validation", "test", "score")
    }
    order = by_split["train"] + by_split["validation"] + by_split["test"]
    assert order == sorted(order)
    for earlier, later in (("train", "validation"), ("validation", "test"),
                           ("train", "test")):
        if by_split[earlier] and by_split[later]:
            boundary = _seconds(by_split[later][0])
            assert all(ends[d] <= boundary for d in by_split[earlier])
    assert all(ends[d] <= _seconds(data_end) for d in order)
    assert by_split["score"] in ([], [grid[-1]])
    if by_split["score"]:
        assert ends[grid[-1]] > _seconds(data_end)


def _inputs(spark, extra_campaigns=(), extra_conversions=()):
    start = day("2024-01-01")
    rows = [
        ("c1", 1.0, f"{start + dt.timedelta(days=i)} 12:00:00") for i in range(152)
    ]
    rows += [
        ("c2", 10.0, f"{day('2024-02-15') + dt.timedelta(days=i)} 12:00:00")
        for i in range(30)
    ]
    entities = [
        ("c1", "search", "2024-01-01", None),
        ("c2", "social", "2024-02-15", "2024-03-15"),
        ("c3", "email", "2024-05-20", None),
    ]
    return {
        "campaigns": campaigns(spark, entities + list(extra_campaigns)),
        "conversions": conversions(spark, rows + list(extra_conversions)),
    }


@pytest.fixture(scope="module")
def examples(spark):
    frame = build_training_examples(spark, QUERY, _inputs(spark), CFG)
    return frame, [r.asDict() for r in frame.collect()]


def test_examples_columns(examples) -> None:
    frame, _ = examples
    assert frame.dtypes == [
        ("campaign_id", "string"),
        ("as_of_date", "date"),
        ("split", "string"),
        ("is_launched", "boolean"),
        ("label", "double"),
        ("label_complete", "boolean"),
        ("window_start_ts", "timestamp"),
        ("window_end_ts", "timestamp"),
    ]


def test_examples_splits_and_labels(examples) -> None:
    _, rows = examples
    splits = {}
    for r in rows:
        splits.setdefault(r["split"], set()).add(r["as_of_date"].isoformat())
    assert {k: sorted(v) for k, v in splits.items()} == EXPECTED_SPLITS

    c1 = {r["as_of_date"].isoformat(): r for r in rows if r["campaign_id"] == "c1"}
    assert {k: r["label"] for k, r in c1.items() if r["split"] != "score"} == {
        d: 14.0 for splits in list(EXPECTED_SPLITS.values())[:3] for d in splits
    }
    assert c1["2024-01-15"]["window_start_ts"].isoformat() == "2024-01-15T00:00:00"
    assert c1["2024-01-15"]["window_end_ts"].isoformat() == "2024-01-29T00:00:00"

    # c2 runs 02-15 .. 03-15: planned on 02-05, gone after 03-15
    c2 = {r["as_of_date"].isoformat(): r for r in rows if r["campaign_id"] == "c2"}
    assert sorted(c2) == _dates("2024-02-05", 5)  # 03-11 is a gap date
    assert (c2["2024-02-05"]["label"], c2["2024-02-05"]["is_launched"]) == (40.0, False)
    assert (c2["2024-03-04"]["label"], c2["2024-03-04"]["is_launched"]) == (120.0, True)

    # c3 starts 05-20: planned on the last test date, launched when scored
    c3 = {r["as_of_date"].isoformat(): r for r in rows if r["campaign_id"] == "c3"}
    assert {k: (r["label"], r["is_launched"]) for k, r in c3.items()} == {
        "2024-05-13": (0.0, False),
        "2024-06-01": (None, True),
    }


def test_scoring_origin_has_no_label(examples) -> None:
    _, rows = examples
    score = [r for r in rows if r["split"] == "score"]
    assert sorted(r["campaign_id"] for r in score) == ["c1", "c3"]
    assert all(r["label"] is None and not r["label_complete"] for r in score)
    assert all(r["label_complete"] for r in rows if r["split"] != "score")


def test_rows_after_data_end_change_nothing(spark) -> None:
    cfg = CFG.model_copy(update={"last_as_of": day("2024-05-01")})
    data_end = day("2024-05-01")
    later = [("c1", 500.0, "2024-05-01 00:00:00"), ("c3", 900.0, "2024-06-10")]
    base = build_training_examples(spark, QUERY, _inputs(spark), cfg, data_end)
    more = build_training_examples(
        spark,
        QUERY,
        _inputs(spark, [("c9", "video", "2024-06-01", None)], later),
        cfg,
        data_end,
    )
    rows = sorted(tuple(r) for r in base.collect())
    assert rows == sorted(tuple(r) for r in more.collect())
    # 04-22 and 04-29 have windows past the data end and are dropped
    assert sorted({r[1].isoformat() for r in rows})[-2:] == ["2024-04-15", "2024-05-01"]
    assert {r[2] for r in rows if r[1].isoformat() == "2024-05-01"} == {"score"}


def test_run_snapshots_writes_the_table(spark, cfg, lakehouse) -> None:
    for name, frame in _inputs(spark).items():
        lakehouse.overwrite(frame, f"silver.{name}")
    cfg.snapshots = CFG
    summary = run_snapshots(spark, cfg, lakehouse, QUERY)

    assert list(summary["split"]) == ["train", "validation", "test", "score"]
    got = {
        r.split: (r.rows, r.as_of_dates) for r in summary.itertuples(index=False)
    }
    # train: 8 dates x c1 + c2 on 02-05 .. 03-04; test: c3 joins on 05-13
    assert got == {
        "train": (13, 8),
        "validation": (4, 4),
        "test": (5, 4),
        "score": (2, 1),
    }
    assert summary.set_index("split").loc["train", "label_mean"] == pytest.approx(
        (8 * 14.0 + 40.0 + 110.0 + 140.0 + 140.0 + 120.0) / 13
    )
    assert read_silver_tables(lakehouse).keys() == {"campaigns", "conversions"}
    written = lakehouse.read(TRAINING_EXAMPLES)
    assert written.count() == 24
    assert written.where("split = 'train'").agg({"label": "sum"}).first()[0] == (
        8 * 14.0 + 40.0 + 110.0 + 140.0 + 140.0 + 120.0
    )


def test_sample_labels(spark) -> None:
    sample = sample_labels(spark, QUERY, _inputs(spark), n=3)
    assert list(sample["campaign_id"]) == ["c1", "c3", "c1"]
    assert [d.isoformat() for d in sample["as_of_date"]] == [
        "2024-05-13",
        "2024-05-13",
        "2024-05-06",
    ]
    assert list(sample["label"]) == [14.0, 0.0, 14.0]


@pytest.mark.slow
def test_default_query_matches_simulator_truth(spark, tmp_path) -> None:
    from pyspark.sql import functions as F

    from campaign_revenue.config import DEFAULT_QUERY
    from campaign_revenue.query import label_frame
    from campaign_revenue.schema import INPUT_TABLES
    from campaign_revenue.simulate import generate

    summary = generate(tmp_path / "tiny", preset="tiny", seed=0)

    def read(name: str):
        frame = spark.read.parquet(str(tmp_path / "tiny" / f"{name}.parquet"))
        spec = INPUT_TABLES[name]
        return frame.select(
            *[
                F.col(c.name).cast(c.dtype)
                for c in spec.columns
                if c.name in frame.columns
            ]
        )

    truth = spark.read.parquet(
        str(tmp_path / "tiny" / "truth" / "campaign_windows.parquet")
    )
    # only windows that close inside the data: the truth's later windows also
    # hold simulated future revenue
    data_end = summary.data_end + dt.timedelta(days=1)
    as_of = F.col("as_of_date").cast("date")
    complete = truth.where(F.date_add(as_of, 30) <= F.lit(data_end)).select(
        "campaign_id", as_of.alias("as_of_date"), "attributed_revenue"
    )
    labels = label_frame(
        DEFAULT_QUERY, read("campaigns"), read("conversions"), complete
    )
    joined = labels.join(complete, ["campaign_id", "as_of_date"]).collect()

    assert len(joined) >= 40
    assert sum(r["label"] for r in joined) > 0
    for r in joined:
        assert r["label"] == pytest.approx(r["attributed_revenue"], abs=0.011), r
