"""The MMM method on Spark tables and the attribution-vs-truth comparison."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from method_frames import campaigns, context, conversions, day, pairs

from campaign_revenue.evaluation import attribution_vs_truth
from campaign_revenue.methods import get_method


@pytest.fixture(scope="module")
def tables(spark):
    cmp = campaigns(spark, [("A", "display", "2024-01-01", None, 300, "crm"),
                            ("B", "display", "2024-01-01", None, 600, "crm"),
                            ("S", "social", "2024-01-01", None, 300, "brand")])
    rng = np.random.default_rng(0)
    days = pd.date_range("2024-01-01", periods=70, freq="D")
    spend_a = rng.uniform(0, 20, 70)
    rows = [("A", d.date(), float(s), None, None) for d, s in zip(days, spend_a)]
    rows += [("S", d.date(), 5.0, None, None) for d in days]
    spend = spark.createDataFrame(
        rows, "campaign_id string, date date, spend double, impressions long, "
        "clicks long")
    # Revenue: 100 a day plus 3x display spend; credited to A.
    convs = conversions(spark, [
        ("A" if k % 2 else None, 100.0 + 3.0 * float(s), f"{d.date()} 12:00:00")
        for k, (d, s) in enumerate(zip(days, spend_a))
    ])
    return {"campaigns": cmp, "conversions": convs, "spend_daily": spend}


@pytest.mark.slow
def test_mmm_splits_channel_effect_by_planned_share(spark, tables):
    ctx = context(tables)
    method = get_method("mmm")
    snaps = pairs(spark, [("A", "2024-03-11"), ("B", "2024-03-11"),
                          ("S", "2024-03-11")])
    out = {r["campaign_id"]: r["prediction"]
           for r in method.predict(snaps, ctx).collect()}
    # A and B share the display effect in proportion to planned spend 1:2.
    assert out["B"] == pytest.approx(2 * out["A"], rel=1e-6)
    assert out["A"] > 0
    curve = method.response_curve("display", np.array([0.0, 100.0, 200.0]))
    assert curve[0] == 0.0 and curve[2] >= curve[1] > 0
    with pytest.raises(ValueError, match="unknown channel 'tv'"):
        method.response_curve("tv", np.array([1.0]))


@pytest.mark.slow
def test_attribution_vs_truth_reports_groups(spark, tables):
    truth = pd.DataFrame({
        "campaign_id": ["A", "S", "A", "S"],
        "as_of_date": [day("2024-02-12"), day("2024-02-12"),
                       day("2024-02-19"), day("2024-02-19")],
        "incremental_revenue": [300.0, 10.0, 200.0, 20.0],
    })
    got = attribution_vs_truth(context(tables), truth, ["last_touch_roas"])
    assert {"all", "channel=display", "targeting=crm"} <= set(got["group"])
    row = got.set_index("group").loc["all"]
    assert row["n"] == 4
