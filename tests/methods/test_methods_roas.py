"""Persistence and last-touch ROAS on hand-made frames with known answers."""

from __future__ import annotations

import pytest
from method_frames import campaigns, context, conversions, pairs, spend_daily

from campaign_revenue import planning
from campaign_revenue.methods import get_method
from campaign_revenue.methods.base import MethodContext


@pytest.fixture(scope="module")
def tables(spark):
    cmp = campaigns(spark, [
        ("A", "display", "2024-01-01", None, 1000),
        ("B", "social", "2024-01-01", None, 1000),
        ("C", "display", "2024-04-01", "2024-04-30", 600),
    ])
    convs = conversions(spark, [
        ("A", 100.0, "2024-02-20 10:00:00"),
        ("A", 50.0, "2024-01-15"),
        ("A", 70.0, "2024-03-01"),  # at as_of: the label's, never a feature
        (None, 40.0, "2024-02-25"),
        ("B", 0.0, "2024-02-25"),
    ])
    spend = spend_daily(spark, "A", "2024-01-01", 60, 10.0).unionByName(
        spend_daily(spark, "B", "2024-01-01", 60, 5.0)
    )
    return {"campaigns": cmp, "conversions": convs, "spend_daily": spend}


def _values(df, col="prediction"):
    return {r["campaign_id"]: r[col] for r in df.collect()}


def test_persistence_sums_last_30_days(spark, tables):
    snaps = pairs(spark, [("A", "2024-03-01"), ("B", "2024-03-01"),
                          ("A", "2024-03-02")])
    out = get_method("persistence").predict(snaps, context(tables))
    got = {(r["campaign_id"], str(r["as_of_date"])): r["prediction"]
           for r in out.collect()}
    assert got == {("A", "2024-03-01"): 100.0, ("B", "2024-03-01"): 0.0,
                   ("A", "2024-03-02"): 170.0}
    assert all(r["lower"] is None for r in out.collect())


def test_last_touch_roas_times_planned_spend(spark, tables):
    snaps = pairs(spark, [("A", "2024-03-01"), ("B", "2024-03-01"),
                          ("C", "2024-03-01", None, False)])
    ctx = context(tables)
    method = get_method("last_touch_roas")
    roas = {r["campaign_id"]: (r["roas"], r["roas_source"])
            for r in method.roas(snaps, ctx).collect()}
    # A: 150 credited over 600 spent in the 90 days before as_of.
    assert roas["A"] == (pytest.approx(0.25), "campaign")
    assert roas["B"] == (pytest.approx(0.0), "campaign")
    # C has no history: the display channel's pooled ROAS (A only).
    assert roas["C"] == (pytest.approx(0.25), "channel")
    got = _values(method.predict(snaps, ctx))
    assert got["A"] == pytest.approx(0.25 * 30 * 1000 / planning.DAYS_PER_MONTH)
    assert got["C"] == pytest.approx(0.0)  # not in flight in the window


def test_roas_lookback_is_configurable(spark, tables):
    snaps = pairs(spark, [("A", "2024-03-01")])
    roas = get_method("last_touch_roas", lookback_days=30).roas(snaps, context(tables))
    # 100 credited over 10 days x 10 of spend (Feb 20 to Feb 29 of the window).
    assert roas.first()["roas"] == pytest.approx(100.0 / 300.0)


def test_every_roas_method_uses_planning(spark, tables, monkeypatch):
    calls = []

    def fake(campaigns_, spend_daily_, spend_plan, pairs_, horizon_days=30):
        calls.append(horizon_days)
        return pairs_.selectExpr("campaign_id", "as_of_date",
                                 "1000.0 as planned_spend", "30 as planned_days")

    monkeypatch.setattr(planning, "planned_spend", fake)
    snaps = pairs(spark, [("A", "2024-03-01")])
    ctx = MethodContext(tables=tables, horizon_days=30)
    got = _values(get_method("last_touch_roas").predict(snaps, ctx))
    assert got["A"] == pytest.approx(250.0)
    assert calls == [30]


def test_context_names_missing_table(spark, tables):
    with pytest.raises(ValueError, match="lacks spend_daily"):
        MethodContext(tables={"campaigns": tables["campaigns"],
                              "conversions": tables["conversions"]})


def test_unknown_method_lists_valid():
    with pytest.raises(ValueError, match="unknown method 'nope'; valid methods: "
                                         "persistence"):
        get_method("nope")
