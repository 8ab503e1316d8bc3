"""Scoring's gold writes: plain-word attributions, MERGE reruns, BI readers."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from campaign_revenue.scoring import top_attributions, write_scores

AS_OF = dt.date(2025, 7, 1)
SCORED_AT = dt.datetime(2025, 7, 1, 6, 0)


def _long(**overrides) -> pd.DataFrame:
    values = {
        "high_ltv_share_reached": (0.12, 30.0),
        "organic_buyer_share_90d": (0.40, -50.0),
        "spend_30d": (1234.0, 15.0),
        "revenue_30d": (900.0, 5.0),
        "channel_saturation_7d": (2.5, -0.5),
        "campaign_age_days": (14.0, 0.0),
    }
    values.update(overrides)
    return pd.DataFrame(
        [
            {
                "campaign_id": "cmp_1",
                "as_of_date": AS_OF,
                "feature": f,
                "feature_value": v,
                "attribution": a,
            }
            for f, (v, a) in values.items()
        ]
    )


def test_top_five_in_plain_words_with_shares_of_all_features():
    top = top_attributions(_long())
    assert list(top["feature"]) == [
        "organic_buyer_share_90d",
        "high_ltv_share_reached",
        "spend_30d",
        "revenue_30d",
        "channel_saturation_7d",
    ]
    assert list(top["rank"]) == [1, 2, 3, 4, 5]
    assert list(top["direction"]) == ["lowers", "raises", "raises", "raises", "lowers"]
    assert top.loc[1, "display_value"] == "12%"
    assert top.loc[1, "description"] == "audience overlap with high-LTV customers"
    # Shares are over all six features (sum of |a| = 100.5); the sixth is 0.
    assert top["share"].tolist() == pytest.approx(
        [50 / 100.5, 30 / 100.5, 15 / 100.5, 5 / 100.5, 0.5 / 100.5]
    )


def test_top_feature_follows_its_input():
    top = top_attributions(_long(spend_30d=(9000.0, 400.0)))
    assert top.loc[0, "feature"] == "spend_30d"
    assert top.loc[0, "share"] == pytest.approx(400 / 485.5)


def _predictions(revenue: float) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "campaign_id": c,
                "as_of_date": AS_OF,
                "is_launched": launched,
                "predicted_revenue": revenue,
                "revenue_lower": revenue * 0.5,
                "revenue_upper": revenue * 1.6,
                "interval_level": 0.8,
                "predicted_incremental_revenue": None,
                "incremental_lower": None,
                "incremental_upper": None,
                "incremental_roas": None,
                "last_touch_roas": 2.0,
                "planned_spend": 500.0,
                "model_name": "campaign-revenue-gnn",
                "model_version": "1",
                "mlflow_run_id": "abc",
                "scored_at": SCORED_AT,
            }
            for c, launched in (("cmp_1", True), ("cmp_2", False))
        ]
    )


def test_merge_reruns_replace_and_never_duplicate(spark, lakehouse):
    attrs = top_attributions(_long())
    for revenue in (100.0, 200.0, 300.0):
        write_scores(spark, lakehouse, _predictions(revenue), attrs, AS_OF)
    preds = lakehouse.read("gold.campaign_predictions")
    assert preds.count() == 2
    assert {r["predicted_revenue"] for r in preds.collect()} == {300.0}
    assert lakehouse.read("gold.prediction_attributions").count() == 5

    # A rerun that no longer scores cmp_2 removes its row for that date.
    write_scores(spark, lakehouse, _predictions(300.0).iloc[:1], attrs, AS_OF)
    assert [r["campaign_id"] for r in lakehouse.read("gold.campaign_predictions")
            .collect()] == ["cmp_1"]


def test_gold_tables_are_documented_and_readable_without_spark(spark, lakehouse):
    from deltalake import DeltaTable

    write_scores(
        spark, lakehouse, _predictions(120.0), top_attributions(_long()), AS_OF
    )
    dt_ = DeltaTable(lakehouse.location("gold.campaign_predictions"))
    meta = dt_.metadata()
    assert meta.configuration.get("delta.enableChangeDataFeed") == "true"
    assert "30-day revenue forecast" in meta.description
    read = dt_.to_pandas().sort_values("campaign_id")
    spark_rows = (
        lakehouse.read("gold.campaign_predictions").orderBy("campaign_id").toPandas()
    )
    assert read["predicted_revenue"].tolist() == spark_rows["predicted_revenue"].tolist()
    assert read["campaign_id"].tolist() == ["cmp_1", "cmp_2"]
    fields = {f.name: f for f in dt_.schema().fields}
    assert fields["predicted_revenue"].metadata["comment"].startswith(
        "platform-credited revenue"
    )
