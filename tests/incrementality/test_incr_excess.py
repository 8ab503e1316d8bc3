"""The exposure excess on a hand-made world whose answer is computed by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from campaign_revenue.incrementality.excess import (
    carryover_tails,
    daily_season,
    exposure_excess,
)

AS_OF = dt.date(2025, 1, 31)
BASELINE = 20  # Jan 11 .. Jan 30
LOOKBACK = 10  # Jan 21 .. Jan 30


def _day(d: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2025, 1, d, hour)


def _tables(spark, later_rows: bool = False):
    customers = spark.createDataFrame(
        [
            ("a", "regular", "high", dt.date(2024, 1, 1)),
            ("b", "regular", "high", dt.date(2024, 1, 1)),
            # signs up after as_of: no rate, no effect
            ("z", "regular", "high", dt.date(2025, 3, 1)),
        ],
        "customer_id string, segment string, ltv_tier string, signup_date date",
    )
    conv = []
    # a buys 10 every day, 30 on Jan 25 when x and y both touch it.
    for d in range(11, 31):
        conv.append((f"a{d}", "a", None, 30.0 if d == 25 else 10.0, _day(d, 18)))
    # b buys 5 on four clean days and nothing on Jan 28 when y touches it.
    for d in (12, 16, 20, 24):
        conv.append((f"b{d}", "b", None, 5.0, _day(d, 18)))
    # before the baseline: ignored
    conv.append(("old", "a", None, 999.0, dt.datetime(2025, 1, 2, 9)))
    if later_rows:
        conv.append(("late", "a", "x", 500.0, dt.datetime(2025, 2, 3, 9)))
    touches = [
        ("t1", "a", "x", "click", _day(25, 9)),
        ("t2", "a", "y", "impression", _day(25, 10)),
        ("t3", "a", "y", "impression", _day(25, 11)),  # same day: one exposure
        ("t4", "b", "y", "impression", _day(28, 9)),
        # x touches b on Jan 15: outside the lookback, but not a clean day
        ("t5", "b", "x", "impression", _day(15, 9)),
    ]
    if later_rows:
        touches.append(("t9", "b", "y", "impression", dt.datetime(2025, 2, 2, 9)))
    conversions = spark.createDataFrame(
        conv,
        "conversion_id string, customer_id string, campaign_id string, "
        "revenue double, ts timestamp",
    )
    touchpoints = spark.createDataFrame(
        touches,
        "touchpoint_id string, customer_id string, campaign_id string, "
        "event_type string, ts timestamp",
    )
    return {"customers": customers, "conversions": conversions, "touchpoints": touchpoints}


def _excess(spark, later_rows=False, **kw):
    args = dict(
        lookback_days=LOOKBACK, window_days=1, baseline_days=BASELINE,
        prior_days=0.0, smooth_days=2 * BASELINE,  # a flat season: 1 every day
    )
    args.update(kw)
    rows = exposure_excess(_tables(spark, later_rows), AS_OF, **args).collect()
    return {r.campaign_id: (r.excess_revenue, r.exposed_days) for r in rows}


def test_excess_over_own_organic_rate(spark):
    got = _excess(spark)
    # a: 19 clean days at 10, so 30 - 10 = 20 above its rate on Jan 25,
    # shared by x and y. b: 4 x 5 over 18 clean days (Jan 15 and 28 are
    # exposed), so Jan 28 is 20 / 18 below its rate.
    assert set(got) == {"x", "y"}
    assert got["x"] == (pytest.approx(10.0), 1)
    assert got["y"] == (pytest.approx(10.0 - 20.0 / 18.0), 2)


def test_excess_reads_nothing_from_as_of_on(spark):
    assert _excess(spark, later_rows=True) == _excess(spark)


def test_exposure_window_and_rate_prior(spark):
    # Two-day exposures: a's Jan 26 (10, at its rate) is exposed too, and
    # x and y share it; b's Jan 29 is exposed to y; b's Jan 16 (a purchase of
    # 5) is exposed to x, outside the lookback.
    got = _excess(spark, window_days=2)
    a_rate = 180.0 / 18.0  # Jan 25 (30) and Jan 26 (10) are exposed
    b_rate = 15.0 / 16.0  # the Jan 16 purchase is no longer clean
    assert got["x"][1] == 2 and got["y"][1] == 4
    assert got["x"][0] == pytest.approx((30 - a_rate + 10 - a_rate) / 2)
    assert got["y"][0] == pytest.approx(got["x"][0] - 2 * b_rate)

    # A rate prior pulls a's and b's rates toward their group's.
    shrunk = _excess(spark, prior_days=1000.0)
    group = (190.0 + 20.0) / (19.0 + 18.0)
    assert shrunk["x"][0] == pytest.approx((30.0 - group) / 2, rel=0.02)


def test_excess_argument_errors(spark):
    tables = _tables(spark)
    with pytest.raises(ValueError, match="window_days"):
        exposure_excess(tables, AS_OF, window_days=0)
    with pytest.raises(ValueError, match="must cover lookback_days"):
        exposure_excess(tables, AS_OF, lookback_days=90, baseline_days=30)


def test_daily_season_from_clean_rates():
    start = dt.date(2025, 1, 1)
    day = [start + dt.timedelta(days=k) for k in range(3)]
    daily = pd.DataFrame({
        # nobody has signed up on day 1: nothing known, season 1
        "d": day[1:],
        "new": [10, 0],
        # day 3: 20 from the 8 clean customers (two exposed ones spend 6),
        # 2.5 per clean customer against 1.0 on day 2
        "rev": [10.0, 26.0],
        "exp": [0, 2],
        "exp_rev": [0.0, 6.0],
    })
    out = daily_season(daily, start, 3, smooth_days=0)
    assert out["d"].tolist() == day
    assert out["s"].tolist() == pytest.approx([1.0, 1.0 / 1.75, 2.5 / 1.75])
    assert out["s_before"].tolist() == pytest.approx(
        np.r_[0.0, np.cumsum(out["s"].to_numpy())[:-1]]
    )
    # a window over all days flattens it
    flat = daily_season(daily, start, 3, smooth_days=6)
    assert flat["s"].tolist() == pytest.approx([1.0, 1.0, 1.0])


def _carry_world(spark):
    """Display keeps selling for days after its touch; search only on the day.

    Customers v1..v4 buy 10 a day and, after display campaign ``v`` touches
    them on Jan 21, 40 * 0.5**k more k days later. s1 and s2 buy 10 a day and
    30 more on Jan 22 only, when search campaign ``q`` touches them.
    """
    people = [f"v{i}" for i in range(1, 5)] + ["s1", "s2"]
    customers = spark.createDataFrame(
        [(p, "regular", "high", dt.date(2024, 1, 1)) for p in people],
        "customer_id string, segment string, ltv_tier string, signup_date date",
    )
    conv, touches = [], []
    for p in people:
        for d in range(11, 31):
            extra = 0.0
            if p.startswith("v") and d >= 21:
                extra = 40.0 * 0.5 ** (d - 21)
            if p.startswith("s") and d == 22:
                extra = 30.0
            conv.append((f"{p}-{d}", p, None, 10.0 + extra, _day(d, 18)))
        campaign, day = ("v", 21) if p.startswith("v") else ("q", 22)
        touches.append((f"t-{p}", p, campaign, "impression", _day(day, 9)))
    campaigns = spark.createDataFrame(
        [("v", "display"), ("q", "paid_search")], "campaign_id string, channel string"
    )
    return {
        "customers": customers,
        "campaigns": campaigns,
        "conversions": spark.createDataFrame(
            conv, "conversion_id string, customer_id string, campaign_id string, "
            "revenue double, ts timestamp",
        ),
        "touchpoints": spark.createDataFrame(
            touches, "touchpoint_id string, customer_id string, campaign_id string, "
            "event_type string, ts timestamp",
        ),
    }


def test_carryover_scales_the_window_excess_by_the_channel_tail(spark):
    tables = _carry_world(spark)
    args = dict(
        lookback_days=LOOKBACK, window_days=1, baseline_days=BASELINE,
        prior_days=0.0, smooth_days=2 * BASELINE,
    )
    got = {
        r.campaign_id: r
        for r in exposure_excess(tables, AS_OF, carryover_days=6, **args).collect()
    }
    off = {
        r.campaign_id: r
        for r in exposure_excess(tables, AS_OF, carryover_days=0, **args).collect()
    }
    # v's customers: the touch day is their only exposed day, so their rate
    # counts the tail days (Jan 22..30) as clean.
    extra = [40.0 * 0.5**k for k in range(10)]
    v_rate = (19 * 10.0 + sum(extra[1:])) / 19.0
    assert off["v"].excess_revenue == pytest.approx(4 * (50.0 - v_rate))
    assert off["v"].carryover == 1.0
    # The profile the fit sees, by hand: 4 rows a day, k = 0..5 after Jan 21.
    profile = pd.DataFrame({
        "channel": "display", "k": range(6), "rows": 4.0,
        "excess": [4 * (10.0 + e - v_rate) for e in extra[:6]],
    })
    tail = float(carryover_tails(profile, 1)["tail"].iloc[0])
    assert tail > 0.5
    assert got["v"].carryover == pytest.approx(1.0 + tail)
    assert got["v"].excess_revenue == pytest.approx(off["v"].excess_revenue * (1 + tail))
    # Search's extra is all on the touch day: no tail, nothing scaled.
    assert got["q"].carryover == pytest.approx(1.0)
    assert got["q"].excess_revenue == pytest.approx(off["q"].excess_revenue)
    assert off["q"].excess_revenue == pytest.approx(2 * 30.0)
    # Before any touch there is no profile to fit, and no campaign to report.
    early = exposure_excess(tables, dt.date(2025, 1, 15), carryover_days=6, **args)
    assert early.collect() == []


def test_carryover_tails_recovers_a_decay_and_refuses_a_negative_effect():
    k = np.arange(12)
    rows = np.linspace(200, 100, 12)  # fewer rows far from the touch
    profile = pd.concat([
        pd.DataFrame({"channel": "video", "k": k, "rows": rows,
                      "excess": rows * 2.0 * 0.8**k}),
        pd.DataFrame({"channel": "email", "k": k, "rows": rows,
                      "excess": rows * -1.0 * 0.5**k}),
    ])
    got = carryover_tails(profile, 3, max_decay=0.9).set_index("channel")
    assert got.loc["video", "decay"] == pytest.approx(0.8)
    fitted = rows * 0.8**k
    assert got.loc["video", "tail"] == pytest.approx(fitted[3:].sum() / fitted[:3].sum())
    assert got.loc["email", "tail"] == 0.0
    # The bound caps how long a tail may be: the fit stops at max_decay.
    capped = carryover_tails(profile, 3, max_decay=0.6).set_index("channel")
    assert capped.loc["video", "decay"] == pytest.approx(0.6)
    assert capped.loc["video", "tail"] < got.loc["video", "tail"]
