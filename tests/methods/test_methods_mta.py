"""Multi-touch attribution: rule weights, Markov removal effects, MTA ROAS."""

from __future__ import annotations

import pytest
from method_frames import (
    campaigns,
    context,
    conversions,
    pairs,
    spend_daily,
    touchpoints,
)
from pyspark.sql import functions as F

from campaign_revenue.methods import get_method
from campaign_revenue.methods.mta import (
    CONVERSION,
    NULL,
    START,
    credit,
    journeys,
    linear_weight,
    markov_paths,
    markov_removal_effects,
    markov_shares,
    position_weight,
    time_decay_raw,
)


@pytest.fixture(scope="module")
def journey_tables(spark):
    touches = touchpoints(spark, [
        # u1: three touches before one conversion of 90.
        ("u1", "A", "2024-03-01"),
        ("u1", "B", "2024-03-05"),
        ("u1", "C", "2024-03-08"),
        # u2: two touches; u3: one; u4: a touch too old for its conversion.
        ("u2", "A", "2024-03-02"),
        ("u2", "B", "2024-03-03"),
        ("u3", "C", "2024-03-04"),
        ("u4", "A", "2024-01-01"),
    ])
    convs = conversions(spark, [
        ("C", 90.0, "2024-03-10", "u1"),
        ("B", 10.0, "2024-03-04", "u2"),
        ("C", 8.0, "2024-03-05", "u3"),
        (None, 5.0, "2024-03-06", "u4"),
    ])
    return touches, convs


def _credit(touches, convs, weight, normalize=False):
    j = journeys(touches, convs, lookback_days=30)
    rows = credit(j, weight, normalize).collect()
    return {(r["conversion_id"], r["campaign_id"]): r["credit"] for r in rows}


def test_linear_splits_evenly(journey_tables):
    got = _credit(*journey_tables, linear_weight())
    assert got[("cv0", "A")] == pytest.approx(30.0)
    assert got[("cv0", "B")] == pytest.approx(30.0)
    assert got[("cv0", "C")] == pytest.approx(30.0)
    assert got[("cv1", "A")] == pytest.approx(5.0)
    assert got[("cv2", "C")] == pytest.approx(8.0)


def test_organic_conversion_gets_no_credit(journey_tables):
    got = _credit(*journey_tables, linear_weight())
    assert not any(cid == "cv3" for cid, _ in got)


def test_time_decay_follows_half_life(journey_tables):
    got = _credit(*journey_tables, time_decay_raw(7.0), normalize=True)
    # Ages 9, 5 and 2 days before the conversion, half-life 7 days.
    w = [2 ** (-9 / 7), 2 ** (-5 / 7), 2 ** (-2 / 7)]
    expected = [90.0 * x / sum(w) for x in w]
    assert got[("cv0", "A")] == pytest.approx(expected[0])
    assert got[("cv0", "B")] == pytest.approx(expected[1])
    assert got[("cv0", "C")] == pytest.approx(expected[2])


def test_position_based_u_shape(journey_tables):
    got = _credit(*journey_tables, position_weight())
    assert got[("cv0", "A")] == pytest.approx(36.0)
    assert got[("cv0", "B")] == pytest.approx(18.0)
    assert got[("cv0", "C")] == pytest.approx(36.0)
    assert got[("cv1", "A")] == pytest.approx(5.0)
    assert got[("cv1", "B")] == pytest.approx(5.0)
    assert got[("cv2", "C")] == pytest.approx(8.0)


def test_position_based_splits_middle_of_four(spark):
    touches = touchpoints(spark, [("u1", c, f"2024-03-0{i + 1}") for i, c in
                                  enumerate("ABCD")])
    convs = conversions(spark, [("D", 100.0, "2024-03-09", "u1")])
    got = _credit(touches, convs, position_weight())
    assert [got[("cv0", c)] for c in "ABCD"] == pytest.approx([40, 10, 10, 40])


# Paths: A -> conversion, A -> B -> conversion, B -> null.
CHAIN = {
    (START, "A"): 2.0,
    (START, "B"): 1.0,
    ("A", CONVERSION): 1.0,
    ("A", "B"): 1.0,
    ("B", CONVERSION): 1.0,
    ("B", NULL): 1.0,
}


def test_markov_removal_effect_on_known_chain():
    # P(conv) = 2/3*(1/2 + 1/2*1/2) + 1/3*1/2 = 2/3.
    # Without A: 1/3*1/2 = 1/6 -> 0.75. Without B: 2/3*1/2 = 1/3 -> 0.5.
    effects = markov_removal_effects(["A", "B"], CHAIN)
    assert effects == pytest.approx({"A": 0.75, "B": 0.5})
    assert markov_shares(effects) == pytest.approx({"A": 0.6, "B": 0.4})


@pytest.fixture(scope="module")
def chain_tables(spark):
    touches = touchpoints(spark, [
        ("u1", "A", "2024-03-01"),
        ("u2", "A", "2024-03-01"),
        ("u2", "B", "2024-03-02"),
        ("u3", "B", "2024-03-01"),
    ])
    convs = conversions(spark, [
        ("A", 30.0, "2024-03-02", "u1"),
        ("B", 70.0, "2024-03-03", "u2"),
    ])
    return touches, convs


def test_markov_paths_count_transitions(chain_tables):
    paths = markov_paths(*chain_tables, lookback_days=30)
    counts = {
        (r["src"], r["dst"]): float(r["n"])
        for r in paths.groupBy("src", "dst").agg(F.count("*").alias("n")).collect()
    }
    assert counts == CHAIN


def test_markov_credits_by_removal_share(spark, chain_tables):
    touches, convs = chain_tables
    cmp = campaigns(spark, [("A", "display", "2024-01-01", None, 1000),
                            ("B", "social", "2024-01-01", None, 1000)])
    spend = spend_daily(spark, "A", "2024-02-01", 30, 10.0).unionByName(
        spend_daily(spark, "B", "2024-02-01", 30, 10.0)
    )
    ctx = context({"campaigns": cmp, "conversions": convs, "spend_daily": spend,
                   "touchpoints": touches})
    method = get_method("mta_markov")
    as_ofs = spark.createDataFrame([(pairs(spark, [("A", "2024-03-10")])
                                     .first()["as_of_date"],)], "as_of_date date")
    got = {r["campaign_id"]: r["credited"]
           for r in method.credited_by_as_of(as_ofs, ctx).collect()}
    assert got == pytest.approx({"A": 60.0, "B": 40.0})
    roas = {r["campaign_id"]: r["roas"] for r in method.roas(
        pairs(spark, [("A", "2024-03-10"), ("B", "2024-03-10")]), ctx).collect()}
    assert roas == pytest.approx({"A": 60.0 / 300.0, "B": 40.0 / 300.0})


def test_mta_linear_roas_uses_journey_credit(spark, journey_tables):
    touches, convs = journey_tables
    cmp = campaigns(spark, [("A", "display", "2024-01-01", None, 1000),
                            ("B", "social", "2024-01-01", None, 1000),
                            ("C", "social", "2024-01-01", None, 1000)])
    spend = spend_daily(spark, "A", "2024-02-20", 20, 5.0)
    ctx = context({"campaigns": cmp, "conversions": convs, "spend_daily": spend,
                   "touchpoints": touches})
    roas = get_method("mta_linear").roas(pairs(spark, [("A", "2024-03-11")]), ctx)
    row = roas.first()
    # A: 30 from cv0 and 5 from cv1 over 100 of spend.
    assert row["roas"] == pytest.approx(0.35)
    assert row["roas_source"] == "campaign"
