"""LightGBM on a tiny feature frame: deterministic, with an 80% interval."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from method_frames import campaigns, context, conversions, spend_daily

from campaign_revenue.methods import get_method


@pytest.fixture(scope="module")
def setup(spark):
    rng = np.random.default_rng(0)
    ids = [f"c{i}" for i in range(12)]
    dates = [dt.date(2024, 1, 1) + dt.timedelta(days=7 * k) for k in range(8)]
    feats, labels = [], []
    for i, cid in enumerate(ids):
        for d in dates:
            x = float(rng.uniform(0, 10))
            ch = "display" if i % 2 else "social"
            feats.append((cid, d, x, ch, "prospecting"))
            labels.append((cid, d, 100.0 * x + (50.0 if ch == "social" else 0.0),
                           True))
    features = spark.createDataFrame(
        feats, "campaign_id string, as_of_date date, x double, channel string, "
        "targeting string")
    train = spark.createDataFrame(
        labels, "campaign_id string, as_of_date date, label double, "
        "is_launched boolean")
    tables = {
        "campaigns": campaigns(spark, [(c, "display", "2024-01-01", None, 100)
                                       for c in ids]),
        "conversions": conversions(spark, [("c0", 1.0, "2024-01-02")]),
        "spend_daily": spend_daily(spark, "c0", "2024-01-01", 3, 1.0),
    }
    return train, context(tables, features, gbm_estimators=50)


def test_lightgbm_learns_and_gives_interval(setup):
    train, ctx = setup
    method = get_method("lightgbm").fit(train, ctx)
    out = method.predict(train, ctx).toPandas().sort_values(["campaign_id",
                                                              "as_of_date"])
    labels = train.toPandas().sort_values(["campaign_id", "as_of_date"])
    corr = np.corrcoef(out["prediction"], labels["label"])[0, 1]
    assert corr > 0.9
    assert (out["lower"] <= out["prediction"]).all()
    assert (out["prediction"] <= out["upper"]).all()
    assert method.gives_intervals


def test_lightgbm_is_deterministic(setup):
    train, ctx = setup
    a = get_method("lightgbm").fit(train, ctx).predict(train, ctx).toPandas()
    b = get_method("lightgbm").fit(train, ctx).predict(train, ctx).toPandas()
    key = ["campaign_id", "as_of_date"]
    a, b = a.sort_values(key), b.sort_values(key)
    assert np.array_equal(a["prediction"].to_numpy(), b["prediction"].to_numpy())


def test_lightgbm_predict_before_fit_fails(setup):
    train, ctx = setup
    with pytest.raises(ValueError, match="not fitted"):
        get_method("lightgbm").predict(train, ctx)
