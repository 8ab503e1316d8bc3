"""The optimizer on known concave curves, its bounds, and the written plan."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from campaign_revenue.config import AllocationConfig
from campaign_revenue.incrementality.allocate import (
    Bounds,
    allocation_bounds,
    optimize,
    spend_plan_rows,
    top_moves,
)
from campaign_revenue.incrementality.curves import (
    curve_functions,
    exponential_shape,
    response_curves,
)

A = {"c1": 300.0, "c2": 200.0, "c3": 100.0, "c4": 50.0}
B = {"c1": 50.0, "c2": 30.0, "c3": 20.0, "c4": 10.0}


def _log_curves():
    return {c: (lambda x, a=A[c], b=B[c]: a * np.log1p(x / b)) for c in A}


def test_optimum_of_log_curves():
    total = 400.0
    # Marginal a / (b + x) equal to lam for all: x = a / lam - b.
    lam = sum(A.values()) / (total + sum(B.values()))
    expected = {c: A[c] / lam - B[c] for c in A}
    bounds = Bounds({c: 0.0 for c in A}, {c: 1e6 for c in A})
    got = optimize(_log_curves(), total, bounds, steps=4000)
    assert sum(got.values()) == pytest.approx(total)
    for c in A:
        assert got[c] == pytest.approx(expected[c], abs=0.5)


def test_every_bound_respected():
    current = {"c1": 100.0, "c2": 100.0, "c3": 100.0, "c4": 100.0}
    channel = {"c1": "social", "c2": "social", "c3": "email", "c4": "display"}
    cfg = AllocationConfig(
        min_ratio=0.5, max_ratio=1.5, floors={"c4": 90.0}, channel_caps={"social": 230.0}
    )
    bounds = allocation_bounds(current, channel, cfg)
    got = optimize(_log_curves(), 400.0, bounds)
    assert sum(got.values()) == pytest.approx(400.0)
    for c, v in got.items():
        assert bounds.lower[c] - 1e-9 <= v <= bounds.upper[c] + 1e-9
    assert got["c4"] >= 90.0
    assert got["c1"] + got["c2"] <= 230.0 + 1e-9
    # Social is capped, so c3 takes what the cap leaves, up to 1.5 x 100.
    assert got["c3"] == pytest.approx(80.0, abs=0.2)


@pytest.mark.parametrize(
    ("total", "match"),
    [(90.0, "below the sum of lower bounds"), (1000.0, "above what the bounds allow")],
    ids=["too-small", "too-large"],
)
def test_infeasible_budget(total, match):
    bounds = allocation_bounds({"c1": 100.0, "c2": 100.0}, {}, AllocationConfig())
    with pytest.raises(ValueError, match=match):
        optimize({c: _log_curves()[c] for c in ("c1", "c2")}, total, bounds)


def test_curves_pass_through_estimate():
    est = pd.DataFrame({
        "campaign_id": ["a", "z"], "as_of_date": [None, None],
        "channel": ["social", "social"], "planned_spend": [100.0, 0.0],
        "predicted_incremental_revenue": [250.0, 0.0],
        "incremental_lower": [100.0, 0.0], "incremental_upper": [400.0, 0.0],
    })
    curves = response_curves(est, {}, np.linspace(0, 3, 31), exponential_shape(1.0))
    a = curves[curves.campaign_id == "a"]
    y = a["expected_incremental_revenue"].to_numpy()
    assert y[0] == 0.0 and np.all(np.diff(y) > 0) and np.all(np.diff(y, 2) <= 1e-9)
    assert curve_functions(curves)["a"](100.0) == pytest.approx(250.0)
    assert (a["lower"] <= a["expected_incremental_revenue"]).all()
    assert (a["upper"] >= a["expected_incremental_revenue"]).all()
    assert curves[curves.campaign_id == "z"]["spend"].tolist() == [0.0]


def test_written_plan_reads_back_to_same_revenue(spark):
    from campaign_revenue.planning import planned_spend

    as_of = dt.date(2025, 7, 1)
    campaigns = pd.DataFrame({
        "campaign_id": ["a", "b"],
        "budget": [1000.0, 300.0],
        "start_date": [dt.date(2025, 1, 1), dt.date(2025, 7, 11)],
        "end_date": [None, dt.date(2025, 12, 31)],
    })
    recommended = {"a": 321.5, "b": 77.25}
    plan = spend_plan_rows(recommended, campaigns, as_of, 30)
    assert len(plan[plan.campaign_id == "b"]) == 20  # in flight from day 11
    camp = spark.createDataFrame(
        campaigns, "campaign_id string, budget double, start_date date, end_date date"
    )
    spend = spark.createDataFrame([], "campaign_id string, date date, spend double")
    pairs = spark.createDataFrame([("a", as_of), ("b", as_of)], "campaign_id string, as_of_date date")
    back = planned_spend(camp, spend, spark.createDataFrame(plan), pairs).toPandas()
    back = dict(zip(back.campaign_id, back.planned_spend))
    curve = {"a": lambda x: 9 * np.log1p(x / 40), "b": lambda x: 4 * np.log1p(x / 10)}
    for c in recommended:
        assert back[c] == pytest.approx(recommended[c])
        assert curve[c](back[c]) == pytest.approx(curve[c](recommended[c]))


def test_top_moves_pair_donors_with_recipients():
    alloc = pd.DataFrame({
        "campaign_id": ["a", "b", "c"],
        "current_spend": [100.0, 100.0, 100.0],
        "recommended_spend": [40.0, 130.0, 130.0],
    })
    moves = top_moves(alloc)
    assert moves["from_campaign"].tolist() == ["a", "a"]
    assert sorted(moves["to_campaign"]) == ["b", "c"]
    assert moves["amount"].tolist() == pytest.approx([30.0, 30.0])


def test_guard_scales_back_moves_the_intervals_cannot_support():
    from campaign_revenue.incrementality.allocate import gain_interval, guard_gain

    current = {"a": 100.0, "b": 100.0}
    recommended = {"a": 50.0, "b": 150.0}

    def linear(roas):
        return lambda x: roas * x

    mean = {"a": linear(1.0), "b": linear(1.2)}
    # precise: the whole move stands
    plan, t = guard_gain(recommended, current, mean, mean, mean)
    assert t == 1.0 and plan == pytest.approx(recommended)
    # b's interval is wide: at any t the gain (0.2 per unit moved) is below
    # its half-width (1.0 per unit), so the current plan stays
    low = {"a": linear(1.0), "b": linear(0.2)}
    high = {"a": linear(1.0), "b": linear(2.2)}
    plan, t = guard_gain(recommended, current, mean, low, high)
    assert t == 0.0 and plan == current
    gain, half = gain_interval(recommended, current, mean, low, high)
    assert gain == pytest.approx(10.0) and half == pytest.approx(50.0)
    # a concave gain whose uncertainty grows with the square of the move:
    # the full move's gain (31) is below its half-width (50), half of it
    # (gain 20, half-width 12.5) is not
    mean_c = {"a": linear(1.0), "b": lambda x: 100.0 + 200.0 * np.log(x / 100.0)}
    low_c = {"a": linear(1.0), "b": lambda x: mean_c["b"](x) - 0.02 * (x - 100.0) ** 2}
    high_c = {"a": linear(1.0), "b": lambda x: mean_c["b"](x) + 0.02 * (x - 100.0) ** 2}
    plan, t = guard_gain(recommended, current, mean_c, low_c, high_c)
    assert 0.0 < t < 1.0
    assert sum(plan.values()) == pytest.approx(200.0)
    g, h = gain_interval(plan, current, mean_c, low_c, high_c)
    assert g - h >= 0.0
