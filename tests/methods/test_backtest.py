"""The rolling-origin backtest: no leakage, metric rows, idempotent MERGE."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from method_frames import campaigns, context, conversions, day, spend_daily

from campaign_revenue.config import BacktestConfig
from campaign_revenue.evaluation.backtest import (
    BACKTEST_METRICS,
    backtest_predictions,
    choose_origins,
    origin_split,
    run_backtest,
    slice_metrics,
)

IDS = [f"c{i}" for i in range(8)]
DATES = [dt.date(2024, 1, 1) + dt.timedelta(days=7 * k) for k in range(14)]
ORIGIN = dt.date(2024, 3, 4)


def _examples(spike_at: dt.date | None = None) -> list[tuple]:
    rows = []
    for i, cid in enumerate(IDS):
        for d in DATES:
            label = 100.0 + 10.0 * i + d.toordinal() % 7
            if d == spike_at:
                label = 1e9
            rows.append((cid, d, label, "train", i != 7, True))
    return rows


EXAMPLES_DDL = ("campaign_id string, as_of_date date, label double, split string, "
                "is_launched boolean, label_complete boolean")


@pytest.fixture(scope="module")
def silver(spark):
    cmp = campaigns(spark, [(c, "display" if i % 2 else "social", "2023-12-01",
                             None, 300) for i, c in enumerate(IDS)])
    convs = conversions(spark, [
        (c, 10.0 + i, f"2024-0{1 + k % 3}-{10 + k:02d}")
        for i, c in enumerate(IDS) for k in range(6)
    ])
    spend = None
    for c in IDS:
        s = spend_daily(spark, c, "2023-12-01", 120, 3.0)
        spend = s if spend is None else spend.unionByName(s)
    feats = spark.createDataFrame(
        [(c, d, float(i), float(d.toordinal() % 7), "display" if i % 2 else "social",
          "prospecting") for i, c in enumerate(IDS) for d in DATES],
        "campaign_id string, as_of_date date, x double, weekday double, "
        "channel string, targeting string")
    return {"campaigns": cmp, "conversions": convs, "spend_daily": spend}, feats


def test_choose_origins_steps_back_from_last_complete():
    cfg = BacktestConfig(origins=3, step_days=28)
    assert choose_origins(DATES, cfg) == [day("2024-02-05"), day("2024-03-04"),
                                          day("2024-04-01")]
    cfg = BacktestConfig(as_of_dates=[day("2024-03-04")])
    assert choose_origins(DATES, cfg) == [day("2024-03-04")]
    with pytest.raises(ValueError, match="have no complete examples"):
        choose_origins(DATES, BacktestConfig(as_of_dates=[day("2030-01-01")]))


def test_origin_split_keeps_only_closed_windows(spark):
    ex = spark.createDataFrame(_examples(), EXAMPLES_DDL)
    train, test = origin_split(ex, ORIGIN, 30)
    latest = train.agg({"as_of_date": "max"}).first()[0]
    assert latest + dt.timedelta(days=30) <= ORIGIN
    assert latest == day("2024-01-29")
    assert {r[0] for r in test.select("as_of_date").distinct().collect()} == {ORIGIN}


def test_spike_after_origin_changes_nothing(spark, silver):
    tables, feats = silver
    ctx = context(tables, feats, gbm_estimators=30)
    # The window of 2024-02-12 ends 2024-03-13, after the origin.
    runs = []
    for spike in (None, day("2024-02-12")):
        ex = spark.createDataFrame(_examples(spike), EXAMPLES_DDL)
        runs.append(
            backtest_predictions(ex, ctx, ["lightgbm"], [ORIGIN])
            .sort_values("campaign_id")["prediction"].to_numpy()
        )
    assert np.array_equal(runs[0], runs[1])
    # A spike inside the training windows does move the predictions.
    ex = spark.createDataFrame(_examples(day("2024-01-29")), EXAMPLES_DDL)
    moved = (backtest_predictions(ex, ctx, ["lightgbm"], [ORIGIN])
             .sort_values("campaign_id")["prediction"].to_numpy())
    assert not np.array_equal(runs[0], moved)


def test_slice_metrics_rows_and_counts():
    preds = pd.DataFrame({
        "method": "m",
        "campaign_id": ["a", "b", "c", "d"],
        "as_of_date": [day("2024-01-01")] * 2 + [day("2024-01-08")] * 2,
        "label": [10.0, 20.0, 30.0, 40.0],
        "prediction": [12.0, 18.0, 33.0, 40.0],
        "lower": np.nan,
        "upper": np.nan,
        "is_launched": [True, False, True, True],
        "channel": ["x", "x", "y", "y"],
    })
    m = slice_metrics(preds)
    pooled = m[m["as_of_date"].isna()].set_index(["slice", "metric"])
    assert pooled.loc[("all", "wape"), "value"] == pytest.approx(7.0 / 100.0)
    assert pooled.loc[("all", "wape"), "n"] == 4
    assert pooled.loc[("not_launched", "mae"), "value"] == pytest.approx(2.0)
    assert pooled.loc[("channel=y", "mae"), "n"] == 2
    assert "coverage" not in set(m["metric"])
    one = m[(m["as_of_date"] == day("2024-01-01")) & (m["slice"] == "all")]
    assert one.set_index("metric").loc["mae", "value"] == pytest.approx(2.0)


@pytest.mark.slow
def test_run_backtest_writes_gold_idempotently(spark, cfg, lakehouse, silver):
    tables, feats = silver
    for name, df in tables.items():
        lakehouse.overwrite(df, f"silver.{name}")
    lakehouse.overwrite(feats, "features.campaign_snapshots")
    lakehouse.overwrite(spark.createDataFrame(_examples(), EXAMPLES_DDL),
                        "features.training_examples")
    cfg.backtest.origins = 2
    cfg.backtest.gbm_estimators = 30
    methods = ["persistence", "last_touch_roas", "lightgbm"]
    first = run_backtest(spark, cfg, lakehouse, methods, run_id="r1")
    assert first.origins == [day("2024-03-04"), day("2024-04-01")]
    gold = lakehouse.read(BACKTEST_METRICS).toPandas()
    assert set(gold["method"]) == set(methods)
    assert set(first.summary.index) == set(methods)
    assert "coverage" in set(gold[gold["method"] == "lightgbm"]["metric"])
    assert first.mlflow_runs.keys() == set(methods)

    cfg.backtest.log_mlflow = False
    run_backtest(spark, cfg, lakehouse, methods, run_id="r1")
    again = lakehouse.read(BACKTEST_METRICS).toPandas()
    key = ["run_id", "query", "method", "as_of_date", "slice", "metric"]
    assert len(again) == len(gold)
    assert not again.duplicated(key).any()
    merged = gold.merge(again, on=key, suffixes=("", "_2"))
    assert len(merged) == len(gold)
    assert np.allclose(merged["value"], merged["value_2"], equal_nan=True)
