"""Measured lift on a hand-made holdout with a known effect."""

from __future__ import annotations

import datetime as dt

import pytest

from campaign_revenue.incrementality.lift import measure_lift, write_lift

START = dt.date(2025, 3, 1)


def _tables(spark):
    members = [(f"e{i}", False) for i in range(10)] + [(f"h{i}", True) for i in range(10)]
    audiences = spark.createDataFrame(
        [("c1", cid, dt.date(2025, 2, 1), hold) for cid, hold in members],
        "campaign_id string, customer_id string, assigned_date date, is_holdout boolean",
    )
    ts = dt.datetime(2025, 3, 5, 12)
    rows = [(f"x{i}", f"e{i}", "c1" if i % 3 else None, 10.0 if i % 2 else 14.0, ts)
            for i in range(10)]
    # Half the holdout buys 4 (the other half is zero and must count as zero).
    rows += [(f"y{i}", f"h{i}", None, 4.0, ts) for i in range(0, 10, 2)]
    # Outside the window: ignored.
    rows += [("late", "e0", "c1", 1000.0, dt.datetime(2025, 3, 31, 0))]
    conversions = spark.createDataFrame(
        rows,
        "conversion_id string, customer_id string, campaign_id string, "
        "revenue double, ts timestamp",
    )
    windows = spark.createDataFrame([("c1", START)], "campaign_id string, window_start date")
    return {"campaign_audiences": audiences, "conversions": conversions}, windows


def test_lift_of_known_effect(spark):
    tables, windows = _tables(spark)
    row = measure_lift(tables, windows, horizon_days=30, level=0.95).first()

    # 10 exposed at 12 each against 10 holdout at 2: 10 per member, 100 in all.
    assert row.exposed_members == 10 and row.holdout_members == 10
    assert row.revenue_per_exposed == pytest.approx(12.0)
    assert row.revenue_per_holdout == pytest.approx(2.0)
    assert row.incremental_revenue == pytest.approx(100.0)
    # Both groups: deviations of +-2, sample variance 40 / 9; Welch se per
    # member sqrt(2 * 40 / 9 / 10) = 0.9428, times 10 members.
    assert row.se == pytest.approx(9.4281, abs=1e-3)
    assert row.ci_lower == pytest.approx(100 - 1.959964 * 9.4281, abs=1e-2)
    assert row.ci_upper == pytest.approx(118.479, abs=1e-2)


def test_lift_write_is_idempotent(spark, lakehouse):
    tables, windows = _tables(spark)
    lifts = measure_lift(tables, windows)
    write_lift(lakehouse, lifts)
    write_lift(lakehouse, lifts)
    assert lakehouse.read("gold.lift_measurements").count() == 1


def test_lift_needs_audiences(spark):
    _, windows = _tables(spark)
    with pytest.raises(ValueError, match="campaign_audiences"):
        measure_lift({}, windows)
