"""Planned spend: plan rows where given, else remaining budget or monthly rate."""

from __future__ import annotations

import datetime as dt

import pytest

from campaign_revenue.planning import planned_spend

D = dt.date


@pytest.fixture()
def frames(spark):
    campaigns = spark.createDataFrame(
        [
            ("cmp_a", 3000.0, D(2025, 5, 1), D(2025, 6, 30)),
            ("cmp_b", 3650.0, D(2025, 1, 1), None),
            ("cmp_c", 2000.0, D(2025, 6, 21), D(2025, 7, 10)),
            ("cmp_d", 900.0, D(2025, 4, 1), D(2025, 5, 15)),
        ],
        "campaign_id string, budget double, start_date date, end_date date",
    )
    spend = spark.createDataFrame(
        [
            ("cmp_a", D(2025, 5, 10), 500.0),
            ("cmp_a", D(2025, 5, 20), 500.0),
            # On or after as_of: not yet known, must not count as spent.
            ("cmp_a", D(2025, 6, 1), 999.0),
            ("cmp_d", D(2025, 5, 1), 100.0),
        ],
        "campaign_id string, date date, spend double",
    )
    pairs = spark.createDataFrame(
        [(c, D(2025, 6, 1)) for c in ("cmp_a", "cmp_b", "cmp_c", "cmp_d")],
        "campaign_id string, as_of_date date",
    )
    return campaigns, spend, pairs


def _by_campaign(df):
    return {
        r["campaign_id"]: (round(r["planned_spend"], 2), r["planned_days"])
        for r in df.collect()
    }


def test_derived_from_budget_and_flight(spark, frames):
    campaigns, spend, pairs = frames
    got = _by_campaign(planned_spend(campaigns, spend, None, pairs))
    assert got == {
        # 3000 budget - 1000 spent before June 1, over the 30 remaining days.
        "cmp_a": (2000.0, 30),
        # Ongoing: 3650 a month is 120 a day.
        "cmp_b": (3600.0, 30),
        # Starts June 21: 2000 over 20 flight days, 10 of them in the window.
        "cmp_c": (1000.0, 10),
        # Ended before the window.
        "cmp_d": (0.0, 0),
    }


def test_plan_rows_win_where_given(spark, frames):
    campaigns, spend, pairs = frames
    plan = spark.createDataFrame(
        [("cmp_a", D(2025, 6, d), 10.0) for d in range(1, 11)],
        "campaign_id string, date date, planned_spend double",
    )
    got = _by_campaign(planned_spend(campaigns, spend, plan, pairs))
    # Ten planned days at 10, twenty derived days at 2000 / 30.
    assert got["cmp_a"] == (round(100 + 20 * 2000 / 30, 2), 30)
    assert got["cmp_b"] == (3600.0, 30)
