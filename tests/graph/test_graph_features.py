"""Campaign snapshot features by value on hand-made frames, and point in time."""

from __future__ import annotations

import datetime as dt

import pytest
from graph_frames import AS_OF, D, FUTURE_ROWS, T, pairs_frame, silver_tables

from campaign_revenue.config import FeaturesConfig
from campaign_revenue.features import FEATURE_COLUMNS, campaign_snapshot_features

DAYS_PER_MONTH = 365.0 / 12.0
PAIRS = [("c1", AS_OF), ("c2", AS_OF), ("c3", AS_OF)]


def _rows(spark, extra=None, pairs=PAIRS) -> dict[tuple[str, dt.date], dict]:
    feats = campaign_snapshot_features(
        silver_tables(spark, extra), pairs_frame(spark, pairs), FeaturesConfig()
    )
    return {(r["campaign_id"], r["as_of_date"]): r.asDict() for r in feats.collect()}


@pytest.fixture(scope="module")
def rows(spark):
    return _rows(spark)


def test_columns_and_keys(rows):
    assert set(rows) == set(PAIRS)
    row = rows[("c1", AS_OF)]
    assert list(row) == ["campaign_id", "as_of_date", *FEATURE_COLUMNS]


# Expected values worked out by hand from graph_frames.py (as_of 2025-01-15).
# c1 reached u1, u2, u3 before as_of (u4's touch is at as_of); u1 and u3 are
# high LTV; u1 bought organically 10 days before, u3 75 days before; u1 and u2
# were also reached by c2 (social).
C1 = {
    "is_launched": True,
    "channel": "display",
    "targeting": "retargeting",
    "audience_reached": 3,
    "audience_new_30d": 3,
    "audience_growth_30d": None,
    "audience_listed": 2,
    "high_ltv_share_reached": 2 / 3,
    "high_ltv_share_listed": 1 / 2,
    "organic_buyer_share_30d": 1 / 3,
    "organic_buyer_share_90d": 2 / 3,
    "overlap_share": 2 / 3,
    "overlap_share_same_channel": 0.0,
    "channel_saturation_7d": 2 / 2,
    "channel_saturation_30d": 4 / 3,
    "campaign_age_days": 14,
    "days_since_last_touch": 1,
    "click_rate_30d": 1 / 3,
    "spend_to_date": 140.0,
    "spend_7d": 70.0,
    "spend_30d": 140.0,
    "pacing": 140.0 / (1000.0 * 14 / 31),
    "planned_spend_30d": 860.0,
    "revenue_7d": 100.0,
    "revenue_30d": 100.0,
    "revenue_90d": 100.0,
    "roas_30d": 100.0 / 140.0,
    "roas_90d": 100.0 / 140.0,
    "has_holdout": True,
    "holdout_size": 1,
    "campaign_degree": 3,
    "overlap_neighbours": 1,
    "community_campaigns": 2,
    "community_audience_share": 3 / 5,
}
C2 = {
    "is_launched": True,
    "channel": "social",
    "audience_reached": 2,
    "audience_listed": 0,
    "high_ltv_share_reached": 1 / 2,
    "high_ltv_share_listed": None,
    "organic_buyer_share_30d": 1 / 2,
    "organic_buyer_share_90d": 1 / 2,
    "overlap_share": 1.0,
    "overlap_share_same_channel": 0.0,
    "channel_saturation_7d": 3 / 2,
    "channel_saturation_30d": 3 / 2,
    "campaign_age_days": 10,
    "days_since_last_touch": 3,
    "click_rate_30d": 1 / 2,
    "spend_to_date": 200.0,
    "spend_7d": 140.0,
    "pacing": 200.0 / (600.0 / DAYS_PER_MONTH * 10),
    "planned_spend_30d": 600.0 / DAYS_PER_MONTH * 30,
    "revenue_30d": 0.0,
    "roas_30d": 0.0,
    "has_holdout": False,
    "holdout_size": 0,
    "campaign_degree": 2,
    "overlap_neighbours": 1,
    "community_campaigns": 2,
    "community_audience_share": 2 / 5,
}
# c3 starts on 2025-01-20: planned. Its listed audience (u1, u3: both high LTV)
# and its channel are known; history is not. Plan: 500 over 40 flight days from
# 01-20, 25 of them in [01-15, 02-14).
C3 = {
    "is_launched": False,
    "channel": "display",
    "targeting": "lookalike",
    "audience_listed": 2,
    "high_ltv_share_listed": 1.0,
    "channel_saturation_7d": 1.0,
    "channel_saturation_30d": 4 / 3,
    "planned_spend_30d": 500.0 / 40 * 25,
    "has_holdout": False,
    "holdout_size": 0,
    "audience_reached": None,
    "campaign_age_days": None,
    "spend_to_date": None,
    "revenue_30d": None,
    "roas_30d": None,
    "pacing": None,
    "campaign_degree": None,
    "community_campaigns": None,
}


@pytest.mark.parametrize(
    "campaign, expected", [("c1", C1), ("c2", C2), ("c3", C3)], ids=["c1", "c2", "c3"]
)
def test_feature_values(rows, campaign, expected):
    row = rows[(campaign, AS_OF)]
    for name, value in expected.items():
        if isinstance(value, float):
            assert row[name] == pytest.approx(value), name
        else:
            assert row[name] == value, name


def test_future_rows_change_nothing(spark, rows):
    later = AS_OF + dt.timedelta(days=7)
    pairs = [*PAIRS, ("c1", later), ("c2", later), ("c3", later)]
    with_future = _rows(spark, FUTURE_ROWS, pairs)
    for campaign, _ in PAIRS:
        assert with_future[(campaign, AS_OF)] == rows[(campaign, AS_OF)], campaign
    # the later snapshot does see them: c2 reached u3 at as_of, u4 on 01-16
    assert with_future[("c2", later)]["audience_reached"] == 4
    assert with_future[("c3", later)]["is_launched"] is True


def test_lookback_cut_keeps_history_to_date(spark, rows):
    """A touch older than the lookback still counts to date, not in the audience.

    The sources are cut to a literal range before any shuffle (the history
    before the last as_of; the 90-day lookback before the first one for the
    customer-level features). u4's touch by c2 130 days before AS_OF is in the
    reach to date but in no active audience, whether one date is asked or two.
    """
    old = {"touchpoints": [("o1", "u4", "c2", "impression", T(2024, 9, 7, 12))]}
    alone = _rows(spark, old, [("c2", AS_OF)])[("c2", AS_OF)]
    assert alone["audience_reached"] == 3
    assert alone["campaign_degree"] == 2
    assert alone["overlap_share"] == pytest.approx(1.0)
    later = AS_OF + dt.timedelta(days=100)  # its lookback starts after every touch
    both = _rows(spark, old, [("c2", AS_OF), ("c2", later)])
    assert both[("c2", AS_OF)] == alone
    assert both[("c2", later)]["audience_reached"] == 3
    assert both[("c2", later)]["campaign_degree"] == 0
    assert both[("c2", later)]["days_since_last_touch"] == 103


def test_before_as_of_bounds(spark):
    from campaign_revenue.features.campaign import before_as_of

    facts = spark.createDataFrame(
        [
            ("before lookback", T(2024, 10, 16, 23, 59, 59)),
            ("lookback start", T(2024, 10, 17, 0, 0, 0)),
            ("inside", T(2025, 1, 20, 8)),
            ("at last as_of", T(2025, 2, 1, 0, 0, 0)),
        ],
        "name string, ts timestamp",
    )
    dates = spark.createDataFrame([(AS_OF,), (D(2025, 2, 1),)], "as_of_date date")
    # AS_OF - 90 days = 2024-10-17
    kept = {r["name"] for r in before_as_of(facts, dates, 90).collect()}
    assert kept == {"lookback start", "inside"}
    kept = {r["name"] for r in before_as_of(facts, dates).collect()}
    assert kept == {"before lookback", "lookback start", "inside"}
    none = spark.createDataFrame([], "as_of_date date")
    assert before_as_of(facts, none).count() == 0
